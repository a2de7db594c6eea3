"""The locks that make writing commands take turns (docs/store.md, "Commands at the same time").

A command that writes calls these functions by what it is about to change, before it reads
anything it decides on, and holds what it took until its transaction commits or rolls back:

============================  =========================================================
``lock_master_data``          the catalogue, tariffs, subscriptions, organisation,
                              settings, budgets and service levels (exclusive)
``lock_month(m)``             month ``m``: run, close, reopen, a note dated in it
``lock_month(m, shared=True)``  usage arriving in ``m``; statements and journal of ``m``
``lock_usage``                usage feeds of every source: content hashes, record ids,
                              declared sources
``lock_costs``                cost feeds and allocation drivers
``lock_access``               people, their roles and sessions, API tokens
``lock_for_writing``          nothing in particular (a command that only records that it ran)
``lock_invoice_numbers(fy)``  the fiscal year's number sequence (taken by the store when a
                              document is numbered)
============================  =========================================================

Every lock but ``lock_master_data`` also holds the master data shared, so master data never
changes under a load, a run or a close. Locks are taken in this order (the master data, the
usage feeds or the costs, months in ascending order, invoice numbers), except that a load shares
the months its file turns out to hold as it reads them; shared locks never wait for one
another, so loads cannot deadlock among themselves.

PostgreSQL: transaction-scoped advisory locks (``pg_advisory_xact_lock``, shared or
exclusive), one key for each of the names above within the store's schema, so stores in other
schemas of the same database never wait for each other.

SQLite allows one writer at a time: the first lock a transaction takes begins it with
``BEGIN IMMEDIATE``, which holds the database's write lock until commit (readers go on, from
their own snapshot, in WAL mode); the names are recorded, the finer locks are implied. That is
why the first lock must come before the transaction reads anything: a transaction that has read
began ``DEFERRED`` and its snapshot could be stale by the time it writes (``UnlockedWrite``).

A command that must wait says so once (``waiting for another command ...``) and waits up to
``CHARGEBACK_LOCK_WAIT`` seconds (default 600: a 10M-row load takes about 25 s), then gives up
with one line (``StoreBusy``) and leaves the store as it was. A write that no lock covers is
refused (``UnlockedWrite``): a missing lock is a defect, found by any test that runs the
command.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import Session

from billing.core.problems import ChargebackError

WAIT_ENV = "CHARGEBACK_LOCK_WAIT"
DEFAULT_WAIT_SECONDS = 600

ON_WAIT = "chargeback.on_wait"
"""``session.info`` key of a callable ``(what, seconds)`` told when a lock must be waited for."""

WRITING = "chargeback_writing"
"""Execution option that makes a SQLite transaction begin IMMEDIATE (billing.store.db)."""

LOCKED = "chargeback.locked"  # connection info: this transaction holds its writing lock
BEGUN = "chargeback.begun"  # connection info: how this transaction began on SQLite
WAITED = "chargeback.waited"  # connection info: BEGIN IMMEDIATE had to wait
_HELD = "chargeback.locks"  # session info: the locks of the current transaction
_CONNECTED = "chargeback.connected"  # session info: the transaction that has its connection

MASTER = "master data"
MASTER_WHAT = "the catalogue, organisation or settings"


class StoreBusy(ChargebackError):
    """Another command held what this one needs for longer than it would wait, or the
    database stopped this one to let another finish; nothing was done."""


class UnlockedWrite(ChargebackError):
    """A command wrote without taking its lock first, or read before it: a defect."""


@dataclass(frozen=True, slots=True)
class Waiting:
    """How long a command waits for a lock, and whom it tells."""

    seconds: float
    notify: Callable[[str, float], None] | None
    what: str


@dataclass(slots=True)
class _Held:
    transaction: object
    modes: dict[str, str] = field(default_factory=dict)  # name → "shared" or "exclusive"
    waited: bool = False


# --- what commands call --------------------------------------------------------------------------


def lock_master_data(session: Session) -> None:
    """Before changing the catalogue, tariffs, subscriptions, organisation, settings, budgets or
    service levels: no load, run, close or other change of them runs meanwhile."""
    _take(session, MASTER, shared=False, what=MASTER_WHAT)


def lock_for_writing(session: Session) -> None:
    """Before a command whose writes need no lock of their own (its audit event), or before it
    reads what tells it which month to lock (:func:`lock_month` follows)."""
    _take(session, MASTER, shared=True, what=MASTER_WHAT)


def lock_month(session: Session, month: str, *, shared: bool = False) -> None:
    """Before changing ``month`` (run, close, reopen, a note dated in it), or, ``shared``,
    before adding usage to it or writing its documents: a close and a load of one month take
    turns, two loads into it do not wait for each other."""
    lock_for_writing(session)
    _take(session, f"month {month}", shared=shared, what=f"month {month}")


def lock_months(session: Session, months: Iterable[str]) -> None:
    """:func:`lock_month` for several months, in ascending order."""
    for month in sorted(set(months)):
        lock_month(session, month)


def lock_usage(session: Session) -> None:
    """Before declaring a usage source or loading usage: two loads take turns (the same file,
    or files with records in common, under one source or two), so each record is loaded once
    and the checks against other sources' feeds hold."""
    lock_for_writing(session)
    _take(session, "usage feeds", shared=False, what="usage feeds")


def lock_costs(session: Session) -> None:
    """Before loading cost feeds or allocation drivers."""
    lock_for_writing(session)
    _take(session, "costs", shared=False, what="the cost feeds and drivers")


def lock_access(session: Session) -> None:
    """Before adding, disabling or resetting a person, signing one in or out, or making or
    revoking an API token: two such changes take turns (a disable never misses a session
    opened meanwhile)."""
    lock_for_writing(session)
    _take(session, "access", shared=False, what="the users, sessions and API tokens")


def lock_invoice_numbers(session: Session, fiscal_year: int) -> None:
    """Before drawing a number from fiscal year ``fiscal_year``'s sequence (the counter row is
    then read FOR UPDATE; the lock also covers the row's creation)."""
    lock_for_writing(session)
    _take(session, f"numbers {fiscal_year}", shared=False, what=f"invoice numbers of {fiscal_year}")


def lock_new_business_line(session: Session, code: str) -> None:
    """Before creating business line ``code`` outside an organisation load (the unallocated
    line a load parks rows on): two loads do not both create it."""
    lock_for_writing(session)
    _take(session, f"business line {code}", shared=False, what=f"business line {code}")


def waited(session: Session) -> bool:
    """Whether this transaction had to wait for another command's lock: a state found after
    waiting (a month closed, a file loaded) is that command's doing."""
    held = _held(session)
    return bool(held and held.waited)


# --- how ---------------------------------------------------------------------------------------


def wait_seconds() -> float:
    value = os.environ.get(WAIT_ENV, "")
    try:
        seconds = float(value) if value.strip() else DEFAULT_WAIT_SECONDS
    except ValueError:
        raise ChargebackError(f"{WAIT_ENV}={value!r} is not a number of seconds (e.g. 600)") from None
    if seconds < 0:
        raise ChargebackError(f"{WAIT_ENV}={value!r}: give a number of seconds, 0 or more")
    return seconds


def busy(what: str, seconds: float) -> StoreBusy:
    return StoreBusy(f"another command has been writing {what} for {seconds:g} s; nothing was done: try again when it "
                     f"has finished ({WAIT_ENV} sets how many seconds to wait)")


def _held(session: Session) -> _Held | None:
    held = session.info.get(_HELD)
    if held is None or held.transaction is not session.get_transaction():
        return None
    return held


def _take(session: Session, name: str, *, shared: bool, what: str) -> None:
    held = _held(session)
    mode = "shared" if shared else "exclusive"
    if held is not None:
        have = held.modes.get(name)
        if have == "exclusive" or have == mode:
            return
        if have == "shared":  # two holders upgrading at once would deadlock
            raise UnlockedWrite(f"internal error: {name} is held shared and cannot become exclusive; take it exclusive first")
    waiting = Waiting(seconds=wait_seconds(), notify=session.info.get(ON_WAIT), what=what)
    if held is None:
        connection = _begin(session, waiting)
        held = _Held(transaction=session.get_transaction())
        held.waited = bool(connection.info.get(WAITED))
        session.info[_HELD] = held
    else:
        connection = session.connection()
    if connection.dialect.name == "postgresql":
        held.waited |= _advisory(connection, name, shared=shared, waiting=waiting)
    connection.info[LOCKED] = True
    held.modes[name] = mode


def _begin(session: Session, waiting: Waiting) -> Connection:
    """The transaction's connection for its first lock; on SQLite it begins IMMEDIATE here."""
    if session.get_bind().dialect.name != "sqlite":
        return session.connection()
    whole = Waiting(seconds=waiting.seconds, notify=waiting.notify, what="to the store")  # one writer at a time
    transaction = session.get_transaction()
    began = transaction is not None and session.info.get(_CONNECTED) is transaction
    connection = session.connection() if began else session.connection(execution_options={WRITING: whole})
    if connection.info.get(BEGUN) != "IMMEDIATE":
        raise UnlockedWrite("internal error: the command read the store before taking its lock "
                            "(billing.store.locks); its checks could be stale, so nothing was done")
    return connection


def note_connected(session: Session, transaction, _connection) -> None:
    """Session event ``after_begin`` (billing.store.db.open_store): the transaction has begun
    on its connection, so a first lock can no longer choose how it begins."""
    session.info[_CONNECTED] = transaction


def _advisory(connection: Connection, name: str, *, shared: bool, waiting: Waiting) -> bool:
    """Take advisory lock ``name``; True when it had to wait for another transaction."""
    suffix = "_shared" if shared else ""
    key = "hashtextextended(current_schema() || '/' || :name, 0)"
    got = connection.execute(
        text(f"SELECT set_config('lock_timeout', :timeout, true), pg_try_advisory_xact_lock{suffix}({key})"),
        {"timeout": f"{max(1, int(waiting.seconds * 1000))}ms", "name": name},
    ).one()[1]
    if got:
        return False
    if not waiting.seconds:
        raise busy(waiting.what, waiting.seconds)
    if waiting.notify is not None:
        waiting.notify(waiting.what, waiting.seconds)
    try:
        connection.execute(text(f"SELECT pg_advisory_xact_lock{suffix}({key})"), {"name": name})
    except OperationalError as exc:
        if _sqlstate(exc) == "55P03":  # lock_not_available: lock_timeout passed
            raise busy(waiting.what, waiting.seconds) from None
        raise
    return True


@contextlib.contextmanager
def schema_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction for upgrading the schema (Alembic's): two commands opening a new store at
    once upgrade it once."""
    waiting = Waiting(seconds=wait_seconds(), notify=None, what="the store's schema")
    with engine.connect() as connection:
        connection = connection.execution_options(**{WRITING: waiting})
        with connection.begin():
            if connection.dialect.name == "postgresql":
                _advisory(connection, "schema", shared=False, waiting=waiting)
            connection.info[LOCKED] = True
            yield connection


def _sqlstate(exc: DBAPIError) -> str | None:
    return getattr(exc.orig, "sqlstate", None)


def race_error(exc: DBAPIError) -> ChargebackError | None:
    """The one line for a database error that another command's writes caused, or None when
    the error is not of that kind."""
    state = _sqlstate(exc)
    message = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else str(exc)
    if state in ("40001", "40P01") or (state is None and isinstance(exc, OperationalError)
                                        and "locked" in message.lower()):
        return StoreBusy("another command was writing the same data at the same time and the database stopped this one; "
                         "nothing was done: try again")
    if state == "55P03":
        return busy("to the store", wait_seconds())
    if isinstance(exc, IntegrityError):
        return StoreBusy(f"the store refused a change ({message}): another command may have written the same records at "
                         f"the same time; nothing was done: try again")
    return None
