"""Engines, sessions and schema upgrades (Alembic, run automatically on first use).

Transactions begin as billing.store.locks needs them: on SQLite the driver's own transaction
handling is switched off (SQLAlchemy's documented recipe, "Enabling Non-Legacy SQLite
Transactional Modes") and each transaction begins with an explicit ``BEGIN``, ``IMMEDIATE``
for one that writes, so every statement of a command, reads included, is in its transaction.
On both backends a write that no lock covers is refused.
"""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError
from sqlalchemy.orm import Session, sessionmaker

from billing.core.problems import Ask, ChargebackError
from billing.store import locks

DEFAULT_URL = "sqlite:///chargeback.db"
MIGRATIONS = Path(__file__).with_name("migrations")
HEAD = "0015"
"""The newest migration's revision. A store already there opens without importing Alembic
(about 0.7 s of every command's start); tests check it is Alembic's head."""


def database_url(url: str | None = None) -> str:
    """The store's URL: the argument, else ``CHARGEBACK_DB``, else ``chargeback.db`` here."""
    return url or os.environ.get("CHARGEBACK_DB") or DEFAULT_URL


def make_engine(url: str) -> Engine:
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ChargebackError(f"not a database URL: {url!r} (e.g. sqlite:///chargeback.db)") from None
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    try:
        if parsed.get_backend_name() == "sqlite":
            engine = create_engine(parsed)
            event.listen(engine, "connect", _sqlite_pragmas)
            event.listen(engine, "begin", _sqlite_begin)
        else:
            engine = create_engine(parsed, pool_pre_ping=True)
            event.listen(engine, "begin", _new_transaction)
    except (NoSuchModuleError, ImportError):
        raise ChargebackError(f"{parsed.drivername!r} is not a database this engine can use: "
                              f"give sqlite:///file.db or postgresql://user@host/db") from None
    event.listen(engine, "before_cursor_execute", _refuse_unlocked_writes)
    return engine


BUSY_MS = 10_000
"""How long a SQLite statement waits for a lock other than the write lock (a reader during a
checkpoint, rare in WAL mode); the write lock itself is waited for as billing.store.locks says."""


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    dbapi_connection.isolation_level = None  # the driver begins nothing: _sqlite_begin does
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_MS}")
    cursor.close()


def _new_transaction(connection: Connection) -> None:
    connection.info[locks.LOCKED] = False
    connection.info[locks.WAITED] = False


def _sqlite_begin(connection: Connection) -> None:
    """BEGIN, or BEGIN IMMEDIATE for a transaction that writes (billing.store.locks asks for it
    with the WRITING execution option): that takes the write lock now, waiting for the writer
    that holds it as long as the command would wait, and saying so."""
    _new_transaction(connection)
    waiting: locks.Waiting | None = connection.get_execution_options().get(locks.WRITING)
    raw = connection.connection.dbapi_connection
    if waiting is None:
        raw.execute("BEGIN")
        connection.info[locks.BEGUN] = "DEFERRED"
        return
    try:
        raw.execute("PRAGMA busy_timeout=0")
        try:
            raw.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if not _sqlite_busy(exc):
                raise
            if not waiting.seconds:
                raise locks.busy(waiting.what, waiting.seconds) from None
            if waiting.notify is not None:
                waiting.notify(waiting.what, waiting.seconds)
            raw.execute(f"PRAGMA busy_timeout={int(waiting.seconds * 1000)}")
            try:
                raw.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as again:
                if _sqlite_busy(again):
                    raise locks.busy(waiting.what, waiting.seconds) from None
                raise
            connection.info[locks.WAITED] = True
    finally:
        raw.execute(f"PRAGMA busy_timeout={BUSY_MS}")
    connection.info[locks.BEGUN] = "IMMEDIATE"


def _sqlite_busy(exc: sqlite3.OperationalError) -> bool:
    return getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_BUSY or "locked" in str(exc)


_WRITES = re.compile(r"\s*(INSERT|UPDATE|DELETE|REPLACE)\b", re.IGNORECASE)


def _refuse_unlocked_writes(connection, _cursor, statement, _parameters, _context, _executemany) -> None:
    if not connection.info.get(locks.LOCKED) and _WRITES.match(statement):
        raise locks.UnlockedWrite(f"internal error: a write without its lock (billing.store.locks): "
                                  f"{statement.split('(')[0].strip()[:80]}; nothing was done")


@contextlib.contextmanager
def transaction(factory: sessionmaker[Session], *, on_wait: Callable[[str, float], None] | None = None
                ) -> Iterator[Session]:
    """One command's transaction: commits when the body succeeds, rolls back otherwise. A
    database error that another command's writes caused (a deadlock, a serialisation failure,
    a lock given up, a unique key taken meanwhile) becomes one line (locks.StoreBusy)."""
    try:
        with factory.begin() as session:
            if on_wait is not None:
                session.info[locks.ON_WAIT] = on_wait
            yield session
    except DBAPIError as exc:
        error = locks.race_error(exc)
        if error is None:
            raise
        raise error from None


def alembic_config(engine: Engine):
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return _revision(connection)


def _revision(connection: Connection) -> str | None:
    if not inspect(connection).has_table("alembic_version"):
        return None
    return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def head_revision(engine: Engine) -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


def upgrade(engine: Engine) -> bool:
    """Bring the schema to the newest migration. True when anything was applied."""
    if current_revision(engine) == HEAD:
        return False
    from alembic import command

    with locks.schema_transaction(engine) as connection:  # another command may be upgrading it right now
        if _revision(connection) == HEAD:
            return False
        config = alembic_config(engine)
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    return True


def open_store(url: str | None = None, *, auto_upgrade: bool = True, create: bool = True) -> sessionmaker[Session]:
    """A session factory for the store at ``url``, its schema upgraded on first use.

    Anything at ``url`` that is not a usable store is refused in one line before a byte is
    written: a file that is not a SQLite database, a folder, a folder that does not exist, a
    database holding another application's tables, a schema newer than this engine. With
    ``create`` false a store that does not exist yet is refused too (commands that only read
    or work on loaded data never create one as a side effect of a mistyped ``--db``).
    """
    engine, _ = upgrade_store(url, create=create, apply=auto_upgrade)
    factory = sessionmaker(engine, expire_on_commit=False)
    event.listen(factory, "after_begin", locks.note_connected)
    return factory


def upgrade_store(url: str | None = None, *, create: bool = True, apply: bool = True) -> tuple[Engine, bool]:
    """The checked engine of the store at ``url`` and whether a migration was applied."""
    engine = make_engine(database_url(url))
    shown = engine.url.render_as_string()
    if engine.url.get_backend_name() == "sqlite":
        _check_sqlite_file(engine.url.database, shown, create=create)
    try:
        revision = current_revision(engine)
        if revision is None:
            _check_empty(engine, shown, create=create)
        else:
            _refuse_unknown(shown, revision)
        return engine, upgrade(engine) if apply else False
    except DBAPIError as exc:
        engine.dispose()
        raise ChargebackError(f"{shown} is not a usable store: {_reason(exc)}") from None


def _check_sqlite_file(database: str | None, shown: str, *, create: bool) -> None:
    if not database or database == ":memory:" or "mode=memory" in database:
        raise ChargebackError(f"{shown} is an in-memory database, which keeps nothing from one command to the next: "
                              f"give a file, e.g. sqlite:///chargeback.db")
    if database.startswith("file:"):
        return
    path = Path(database)
    if path.is_dir():
        raise ChargebackError(f"{shown} is a folder, not a database file: give sqlite:///{path / 'chargeback.db'}")
    if not path.exists():
        if not path.parent.is_dir():
            raise ChargebackError(f"{shown}: the folder {path.parent} does not exist")
        if not create:
            raise ChargebackError(f"no chargeback store at {path} yet (nothing has been loaded there): check the store "
                                  f"named or CHARGEBACK_DB, or start with `chargeback tariffs load`", asks_for=(Ask.STORE,))
        return
    if not os.access(path, os.R_OK):
        raise ChargebackError(f"{shown} cannot be read: permission denied")
    # Looked at read-only first, so someone else's database is left exactly as it was; and only
    # through SQLite, never with open()/close() of our own: closing any descriptor of the file
    # drops every POSIX lock this process holds on it, those of its other SQLite connections
    # included, and another process may then checkpoint and delete the WAL under them.
    try:
        # As patient as the store's own connections: another command may be creating it right now.
        with contextlib.closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True,
                                                timeout=BUSY_MS / 1000)) as connection:
            tables = sorted(r[0] for r in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'"))
            revision = (connection.execute("SELECT version_num FROM alembic_version").fetchone() or [None])[0] \
                if "alembic_version" in tables else None
    except sqlite3.DatabaseError as exc:
        if getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_NOTADB or "not a database" in str(exc):
            raise ChargebackError(f"{shown} is not a usable store: {path} is not a SQLite database file") from None
        raise ChargebackError(f"{shown} is not a usable store: {exc}") from None
    if revision is None:
        _refuse_foreign(shown, tables)
    else:
        _refuse_unknown(shown, revision)


def _check_empty(engine: Engine, shown: str, *, create: bool) -> None:
    """A database without a schema version: empty (a new store), or someone else's."""
    with engine.connect() as connection:
        tables = sorted(inspect(connection).get_table_names())
    _refuse_foreign(shown, tables)
    if not create:
        raise ChargebackError(f"no chargeback store at {shown} yet (nothing has been loaded there): check the store "
                              f"named or CHARGEBACK_DB, or start with `chargeback tariffs load`", asks_for=(Ask.STORE,))


def _refuse_foreign(shown: str, tables: list[str]) -> None:
    if tables:
        listed = ", ".join(tables[:5]) + (f" and {len(tables) - 5} more" if len(tables) > 5 else "")
        raise ChargebackError(f"{shown} is not a chargeback store: it holds other tables ({listed}) and no schema "
                              f"version; give the URL of a chargeback store or of an empty database")


def _refuse_unknown(shown: str, revision: str) -> None:
    if revision != HEAD and revision not in known_revisions():
        raise ChargebackError(f"{shown} was made by a newer version of chargeback (schema {revision}; this "
                              f"version knows up to {HEAD}): upgrade the engine to use it")


def known_revisions() -> set[str]:
    """The revisions of the migrations this engine ships (their file names start with it)."""
    return {p.name.split("_", 1)[0] for p in (MIGRATIONS / "versions").glob("*.py")}


def _reason(exc: DBAPIError) -> str:
    text = str(exc.orig).strip().splitlines()
    return text[0] if text else type(exc.orig).__name__
