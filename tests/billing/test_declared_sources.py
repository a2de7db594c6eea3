"""A mistyped source name never charges the same records twice (issue 12, defect 6).

A source is declared (a source definition, or registered on first use with --new-source);
an unknown name is refused with the known ones; a file, or records, already loaded under
another source are refused before anything is stored, unless --allow-other-source."""

from __future__ import annotations

import sqlite3

import polars as pl
import pytest

from billing.feeds.overlap import SAMPLE_SIZE, IdSample
from tests.cli_helpers import run, write
from tests.conftest import EXAMPLE_SOURCES, EXAMPLE_TARIFFS, FOCUS_SAMPLE

HEADER = "record_id,usage_date,cost_center,service,quantity,unit,description\n"


def base_store(url: str, folder) -> None:
    run(url, "org", "load", write(folder / "bl.csv", """
        business_line,name
        ENG,Engineering
        FIN,Finance
    """))
    run(url, "org", "load", write(folder / "cc.csv", """
        cost_center,name,business_line,gl_cost_center
        CC-ENG,Engineering,ENG,100
        CC-FIN,Finance,FIN,200
    """))
    run(url, "tariffs", "load", EXAMPLE_TARIFFS)


def tickets(folder, name: str, numbers, *, day: str = "2026-03-02", quantity: int = 1):
    return write(folder / name, HEADER + "".join(f"T-{n},{day},CC-ENG,DESK,{quantity},ticket,x\n" for n in numbers))


def feeds(url: str) -> str:
    return run(url, "usage", "feeds").stdout


def month_rows(url: str, month: str = "2026-03") -> int:
    out = run(url, "month", "run", month).stdout
    return int(out.split(" usage rows")[0].rsplit(" ", 1)[-1].replace(",", ""))


def test_a_mistyped_source_is_refused_with_the_known_ones(db_url, tmp_path):
    base_store(db_url, tmp_path)
    feed = tickets(tmp_path, "desk.csv", range(1, 6))
    run(db_url, "usage", "load", feed, "--source", "servicedesk", "--new-source")
    typo = run(db_url, "usage", "load", feed, "--source", "servicdesk", "--sources", EXAMPLE_SOURCES, ok=False)
    assert typo.exit_code == 1
    assert "unknown source 'servicdesk' (did you mean servicedesk?)" in typo.stderr
    assert "known sources: focus-cloud, internal, servicedesk" in typo.stderr and "--new-source" in typo.stderr
    assert feeds(db_url).count("desk.csv") == 1 and month_rows(db_url) == 5
    # without --sources (no definitions there) the store's own sources are still listed
    tmp_empty = tmp_path / "no-definitions"
    tmp_empty.mkdir()
    assert "known sources: servicedesk" in run(db_url, "usage", "load", feed, "--source", "ServiceDesk",
                                               "--sources", tmp_empty, ok=False).stderr


def test_the_same_file_under_a_new_source_is_refused_and_nothing_is_declared(db_url, tmp_path):
    base_store(db_url, tmp_path)
    feed = tickets(tmp_path, "desk.csv", range(1, 6))
    run(db_url, "usage", "load", feed, "--source", "servicedesk", "--new-source")
    refused = run(db_url, "usage", "load", feed, "--source", "helpdesk", "--new-source", ok=False)
    assert refused.exit_code == 1
    assert "was already loaded under source servicedesk: the same file was loaded as feed 1" in refused.stderr
    assert "would charge these records twice" in refused.stderr
    assert "nothing was loaded under source helpdesk" in refused.stderr and "--allow-other-source" in refused.stderr
    assert month_rows(db_url) == 5 and "helpdesk" not in feeds(db_url)
    # the refused load declared nothing: helpdesk is still unknown
    assert "unknown source 'helpdesk'" in run(db_url, "usage", "load", feed, "--source", "helpdesk", ok=False).stderr


def test_the_same_records_in_another_file_under_another_source_are_refused(db_url, tmp_path):
    base_store(db_url, tmp_path)
    run(db_url, "usage", "load", tickets(tmp_path, "desk.csv", range(1, 6)), "--source", "servicedesk", "--new-source")
    # another export of the same tickets: other order, other quantities, one more row
    again = tickets(tmp_path, "desk-again.csv", [5, 3, 1, 2, 4, 6], quantity=2)
    refused = run(db_url, "usage", "load", again, "--source", "helpdesk", "--new-source", ok=False)
    assert refused.exit_code == 1
    assert "its 2026-03 records include record ids of feed 1 ('T-1', 'T-2', 'T-3' ...)" in refused.stderr
    assert month_rows(db_url) == 5
    # meant: two systems that truly send the same records
    loaded = run(db_url, "usage", "load", again, "--source", "helpdesk", "--new-source", "--allow-other-source")
    assert "rows read 6 = loaded 6" in loaded.stdout and month_rows(db_url) == 11
    audit = run(db_url, "audit").stdout
    assert "usage.other-source" in audit and "feed 1 (servicedesk) already hold records of it" in audit


def test_other_records_under_another_source_load_and_other_months_do_not_count(db_url, tmp_path):
    base_store(db_url, tmp_path)
    run(db_url, "usage", "load", tickets(tmp_path, "desk.csv", range(1, 6)), "--source", "servicedesk", "--new-source")
    run(db_url, "usage", "load", tickets(tmp_path, "phones.csv", range(100, 105)), "--source", "phones", "--new-source")
    # the same ids a month later, from another system, are not the March records
    run(db_url, "usage", "load", tickets(tmp_path, "april.csv", range(1, 6), day="2026-04-02"), "--source", "network",
        "--new-source")
    assert month_rows(db_url) == 10 and month_rows(db_url, "2026-04") == 5


def test_a_large_feed_repeated_in_part_is_found_through_its_sample(db_url, tmp_path):
    base_store(db_url, tmp_path)
    run(db_url, "usage", "load", tickets(tmp_path, "big.csv", range(3 * SAMPLE_SIZE)), "--source", "servicedesk",
        "--new-source")
    half = tickets(tmp_path, "half.csv", range(3 * SAMPLE_SIZE // 2, 3 * SAMPLE_SIZE))
    refused = run(db_url, "usage", "load", half, "--source", "helpdesk", "--new-source", ok=False)
    assert refused.exit_code == 1 and "record ids of feed 1" in refused.stderr


def test_new_source_is_for_new_names_only(db_url, tmp_path):
    base_store(db_url, tmp_path)
    feed = tickets(tmp_path, "desk.csv", range(1, 3))
    run(db_url, "usage", "load", feed, "--source", "servicedesk", "--new-source")
    again = run(db_url, "usage", "load", tickets(tmp_path, "more.csv", [3]), "--source", "servicedesk", "--new-source",
                ok=False)
    assert "source servicedesk is already declared" in again.stderr and "load it without declaring a new source (drop --new-source)" in again.stderr
    defined = run(db_url, "usage", "load", feed, "--source", "internal", "--new-source", "--sources", EXAMPLE_SOURCES, ok=False)
    assert "already declared by its definition" in defined.stderr
    for bad in ("has space", "-dash", "x" * 81, "semi;colon"):
        refused = run(db_url, "usage", "load", feed, "--source", bad, "--new-source", ok=False)
        assert refused.exit_code == 1 and "cannot name a source" in refused.stderr, bad
    twin = run(db_url, "usage", "load", feed, "--source", "ServiceDesk", "--new-source", ok=False)
    assert "differs from the known source 'servicedesk' only by case" in twin.stderr
    focus = run(db_url, "usage", "load", FOCUS_SAMPLE, "--source", "cloud2", "--new-source", "--format", "focus", ok=False)
    assert "needs a source definition" in focus.stderr


def test_a_source_from_a_definition_is_not_read_without_it(db_url, tmp_path):
    base_store(db_url, tmp_path)
    run(db_url, "usage", "load", tickets(tmp_path, "a.csv", [1]), "--source", "internal", "--sources", EXAMPLE_SOURCES)
    empty = tmp_path / "elsewhere"
    empty.mkdir()
    refused = run(db_url, "usage", "load", tickets(tmp_path, "b.csv", [2]), "--source", "internal", "--sources", empty,
                  ok=False)
    assert "read with its source definition, which is not in" in refused.stderr and "--sources DIR" in refused.stderr


def test_source_filters_refuse_unknown_names(db_url, tmp_path):
    base_store(db_url, tmp_path)
    run(db_url, "usage", "load", tickets(tmp_path, "desk.csv", [1, 2]), "--source", "servicedesk", "--new-source")
    bad = write(tmp_path / "bad.csv", HEADER + "P-1,2026-03-02,CC-NOPE,DESK,1,ticket,x\n")
    run(db_url, "usage", "load", bad, "--source", "phones", "--new-source")
    for command in (["usage", "feeds"], ["usage", "rejects"]):
        refused = run(db_url, *command, "--source", "servicdesk", ok=False)
        assert refused.exit_code == 1 and "did you mean servicedesk?" in refused.stderr
    assert "desk.csv" in run(db_url, "usage", "feeds", "--source", "servicedesk").stdout
    assert "bad.csv" not in run(db_url, "usage", "feeds", "--source", "servicedesk").stdout
    assert "CC-NOPE" in run(db_url, "usage", "rejects", "--source", "phones").stdout
    assert run(db_url, "usage", "rejects", "--source", "servicedesk").stdout == ""


def test_sources_that_sent_feeds_before_the_upgrade_are_declared(sqlite_url, tmp_path):
    from alembic import command

    from billing.store.db import alembic_config, make_engine, open_store

    engine = make_engine(sqlite_url)
    command.upgrade(alembic_config(engine), "0002")
    with sqlite3.connect(tmp_path / "chargeback.db") as connection:
        connection.execute(
            "INSERT INTO usage_feed (source, file_name, content_hash, format, months, status, loaded_at, loaded_by, rows_read, "
            "rows_loaded, rows_rejected, rows_duplicate, quantity_total, cost_total) VALUES ('legacy', 'old.csv', 'h', 'usage', "
            "'2026-01', 'active', '2026-02-01 00:00:00', 'finance', 0, 0, 0, 0, 0, 0)")
    engine.dispose()
    open_store(sqlite_url).kw["bind"].dispose()  # upgrades to the newest schema
    base_store(sqlite_url, tmp_path)
    loaded = run(sqlite_url, "usage", "load", tickets(tmp_path, "desk.csv", [1]), "--source", "legacy")
    assert "rows read 1 = loaded 1" in loaded.stdout


def test_a_sample_keeps_the_smallest_hashes_whatever_the_batches():
    ids = [f"R-{n}" for n in range(5000)]
    whole, batched = IdSample(size=64), IdSample(size=64)
    whole.add(pl.Series(ids))
    for start in range(0, 5000, 700):
        batched.add(pl.Series(ids[start:start + 700]))
    batched.add(pl.Series(ids[:10]))  # ids met again change nothing
    assert whole.ids() == batched.ids() and len(whole.ids()) == 64
    small = IdSample(size=64)
    small.add(pl.Series(["a", "b", None, "a"]))
    assert sorted(small.ids()) == ["a", "b"]


@pytest.mark.parametrize("name", ["servicedesk", "focus-cloud"])
def test_a_refused_name_changes_nothing(sqlite_url, tmp_path, name):
    base_store(sqlite_url, tmp_path)
    before = run(sqlite_url, "audit", "--limit", "1000").stdout
    run(sqlite_url, "usage", "load", tickets(tmp_path, "desk.csv", [1]), "--source", name + "x", ok=False)
    assert run(sqlite_url, "audit", "--limit", "1000").stdout == before


def test_sources_list_shows_every_source_a_feed_may_name(db_url, tmp_path):
    base_store(db_url, tmp_path)
    run(db_url, "usage", "load", tickets(tmp_path, "desk.csv", [1, 2]), "--source", "servicedesk", "--new-source")
    run(db_url, "usage", "load", tickets(tmp_path, "internal.csv", [7]), "--source", "internal", "--sources", EXAMPLE_SOURCES)
    listed = run(db_url, "sources", "list", "--sources", EXAMPLE_SOURCES)
    rows = {line.split()[0]: line.split() for line in listed.stdout.splitlines()[2:]}
    assert set(rows) == {"focus-cloud", "internal", "servicedesk"}
    assert rows["servicedesk"][1:3] == ["usage", "registered"] and rows["servicedesk"][-2] == "1"
    assert rows["internal"][1:3] == ["usage", "definition"]
    assert "not loaded yet" in listed.stdout.splitlines()[2 + sorted(rows).index("focus-cloud")]
    assert "--new-source" in listed.stderr
