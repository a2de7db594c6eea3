"""Engines, sessions and schema upgrades (Alembic, run automatically on first use)."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from billing.problems import ChargebackError

DEFAULT_URL = "sqlite:///chargeback.db"
MIGRATIONS = Path(__file__).with_name("migrations")
HEAD = "0001"
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


def open_store(url: str | None = None, *, auto_upgrade: bool = True) -> sessionmaker[Session]:
    """A session factory for the store at ``url``, its schema upgraded on first use."""
    engine = make_engine(database_url(url))
    try:
        if auto_upgrade:
            upgrade(engine)
    except OperationalError as exc:
        raise ChargebackError(f"cannot open the database {engine.url.render_as_string()}: {exc.orig}") from None
    return sessionmaker(engine, expire_on_commit=False)
