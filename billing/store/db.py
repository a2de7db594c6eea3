"""Engines, sessions and schema upgrades (Alembic, run automatically on first use)."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError
from sqlalchemy.orm import Session, sessionmaker

from billing.problems import ChargebackError

DEFAULT_URL = "sqlite:///chargeback.db"
MIGRATIONS = Path(__file__).with_name("migrations")
HEAD = "0004"
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
        else:
            engine = create_engine(parsed, pool_pre_ping=True)
    except (NoSuchModuleError, ImportError):
        raise ChargebackError(f"{parsed.drivername!r} is not a database this engine can use: "
                              f"give sqlite:///file.db or postgresql://user@host/db") from None
    return engine


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def alembic_config(engine: Engine):
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
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

    command.upgrade(alembic_config(engine), "head")
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
    return sessionmaker(engine, expire_on_commit=False)


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


SQLITE_MAGIC = b"SQLite format 3\x00"


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
            raise ChargebackError(f"no chargeback store at {path} yet (nothing has been loaded there): check --db or "
                                  f"CHARGEBACK_DB, or start with `chargeback tariffs load`")
        return
    try:
        with path.open("rb") as handle:
            head = handle.read(len(SQLITE_MAGIC))
    except OSError as exc:
        raise ChargebackError(f"{shown} cannot be read: {exc.strerror}") from None
    if head and head != SQLITE_MAGIC:
        raise ChargebackError(f"{shown} is not a usable store: {path} is not a SQLite database file")
    if head:  # looked at read-only first: someone else's database is left exactly as it was
        import sqlite3

        try:
            with contextlib.closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as connection:
                tables = sorted(r[0] for r in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'"))
                revision = (connection.execute("SELECT version_num FROM alembic_version").fetchone() or [None])[0] \
                    if "alembic_version" in tables else None
        except sqlite3.Error as exc:
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
        raise ChargebackError(f"no chargeback store at {shown} yet (nothing has been loaded there): check --db or "
                              f"CHARGEBACK_DB, or start with `chargeback tariffs load`")


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
