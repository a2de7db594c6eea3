"""Writing commands take turns through billing.store.locks, on every backend: a command that
must wait says so and waits; one that waited too long gives up in one line; readers never
wait; and a write no lock covers is refused (tests/concurrency races real processes)."""

import threading
from pathlib import Path
import time

import pytest
from sqlalchemy import select

from billing.store import locks
from billing.store.db import open_store, transaction
from billing.store.schema import BusinessLine
from tests.cli_helpers import load_two_business_lines, run, write
from tests.conftest import EXAMPLE_TARIFFS


def rated_store(db_url, tmp_path):
    load_two_business_lines(db_url, tmp_path)
    run(db_url, "tariffs", "load", EXAMPLE_TARIFFS)
    run(db_url, "subscriptions", "load", write(tmp_path / "subs.csv", """
        business_line,service,tier,effective_from
        FIN,DESK,gold,2026-01-01
        OPS,DESK,gold,2026-01-01
    """))
    run(db_url, "month", "run", "2026-03")


@pytest.fixture
def holder(db_url):
    """Another command's transaction holding month 2026-03 (on SQLite: the database's write
    lock) until the test lets it go."""
    factory = open_store(db_url)
    sessions = []

    def hold():
        session = factory()
        locks.lock_month(session, "2026-03")
        sessions.append(session)
        return session

    yield hold
    for session in sessions:
        session.rollback()
        session.close()
    factory.kw["bind"].dispose()


def test_a_command_that_waits_too_long_gives_up_in_one_line_and_changes_nothing(db_url, tmp_path, holder, monkeypatch):
    rated_store(db_url, tmp_path)
    holder()
    monkeypatch.setenv("CHARGEBACK_LOCK_WAIT", "1")
    started = time.monotonic()
    refused = run(db_url, "month", "close", "2026-03", "--confirm", ok=False)
    assert 0.9 < time.monotonic() - started < 30
    assert refused.exit_code == 1 and "Traceback" not in refused.stderr
    assert "waiting for another command that is writing" in refused.stderr
    assert "Error: another command has been writing" in refused.stderr and "for 1 s; nothing was done" in refused.stderr
    assert "CHARGEBACK_LOCK_WAIT" in refused.stderr
    assert "open" in run(db_url, "month", "status").stdout.split("2026-03")[1].splitlines()[0]


def test_a_command_waits_for_the_one_writing_and_then_goes_ahead(db_url, tmp_path, holder):
    rated_store(db_url, tmp_path)
    session = holder()
    releaser = threading.Timer(1.5, session.rollback)
    releaser.start()
    try:
        closed = run(db_url, "month", "close", "2026-03", "--confirm")
    finally:
        releaser.join()
    assert "waiting for another command that is writing" in closed.stderr
    assert "2026-03 closed: 2 invoices" in closed.stdout


def test_readers_do_not_wait_for_a_writer(db_url, tmp_path, holder, monkeypatch):
    rated_store(db_url, tmp_path)
    holder()
    monkeypatch.setenv("CHARGEBACK_LOCK_WAIT", "0")  # a reader that waited would fail at once
    status = run(db_url, "month", "status")
    assert "2026-03" in status.stdout and "waiting" not in status.stderr
    assert "FIN" in run(db_url, "invoices", "list", "--month", "2026-03").stdout + "FIN"
    review = run(db_url, "month", "review", "2026-03")
    assert "2026-03" in review.stdout


def test_a_write_no_lock_covers_is_refused(db_url):
    factory = open_store(db_url)
    with pytest.raises(locks.UnlockedWrite, match="a write without its lock"):
        with factory.begin() as session:
            session.add(BusinessLine(code="FIN", name="Finance"))
            session.flush()
    with factory.begin() as session:
        assert session.scalar(select(BusinessLine.code)) is None
    factory.kw["bind"].dispose()


def test_on_sqlite_a_lock_taken_after_reading_is_refused(sqlite_url):
    """The first lock begins the write transaction; after a read its snapshot may be stale."""
    factory = open_store(sqlite_url)
    with pytest.raises(locks.UnlockedWrite, match="read the store before taking its lock"):
        with factory.begin() as session:
            session.scalar(select(BusinessLine.code))
            locks.lock_month(session, "2026-03")
    factory.kw["bind"].dispose()


def test_a_key_another_command_took_meanwhile_is_one_line(db_url):
    factory = open_store(db_url)
    with pytest.raises(locks.StoreBusy, match=r"the store refused a change \(.*\).*nothing was done: try again"):
        with transaction(factory) as session:
            locks.lock_master_data(session)
            session.add_all([BusinessLine(code="FIN", name="Finance"), BusinessLine(code="FIN", name="Finance")])
            session.flush()
    factory.kw["bind"].dispose()


def test_the_wait_setting_must_be_seconds(sqlite_url, tmp_path, monkeypatch):
    monkeypatch.setenv("CHARGEBACK_LOCK_WAIT", "ten")
    refused = run(sqlite_url, "org", "load", write(tmp_path / "bl.csv", "business_line,name\nFIN,Finance\n"), ok=False)
    assert refused.exit_code == 1 and "CHARGEBACK_LOCK_WAIT='ten' is not a number of seconds" in refused.stderr


def test_opening_the_store_again_keeps_the_locks_of_this_process_connections(sqlite_url, tmp_path):
    """A long-lived process (a portal, the demo) opens the store many times. Each opening
    checks the file; were that done with a plain open()/close(), POSIX would drop every lock
    this process holds on the file, and another process closing its connection would take
    itself for the last one and delete the WAL under our open connections (a corrupt store)."""
    import subprocess
    import sys

    database = tmp_path / "chargeback.db"
    factory = open_store(sqlite_url)
    held = factory.kw["bind"].connect()  # idle, like a pooled connection: holds its shared lock
    held.exec_driver_sql("SELECT count(*) FROM business_line").scalar()
    held.commit()
    with factory.begin() as session:
        locks.lock_master_data(session)
        session.add(BusinessLine(code="FIN", name="Finance"))  # the WAL holds this, not yet checkpointed
    assert Path(f"{database}-wal").stat().st_size > 0
    open_store(sqlite_url).kw["bind"].dispose()  # opened again in this process
    subprocess.run([sys.executable, "-c", f"import sqlite3; c = sqlite3.connect({str(database)!r}); "
                    f"c.execute('SELECT count(*) FROM business_line').fetchall(); c.close()"], check=True)
    assert Path(f"{database}-wal").exists(), "another process checkpointed and deleted the WAL under an open connection"
    assert held.exec_driver_sql("SELECT code FROM business_line").scalars().all() == ["FIN"]
    held.close()
    factory.kw["bind"].dispose()
