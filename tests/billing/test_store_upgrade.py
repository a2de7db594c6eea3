"""A store made at any older revision upgrades to the newest with every row it holds.

For every revision R of the migration chain (billing/store/migrations), oldest to newest and
R = the newest itself, a store is built at R by Alembic and filled, then opened as every
command opens a store (``billing.store.db.upgrade_store``: every migration after R), and
each row put in must still be there with the values it held, its foreign keys resolving:

- ``TestEveryTableFilled``: every table at R gets rows generated from the schema reflected at
  R (parents before children so each foreign key holds, every column filled, values of its
  type and length, unique where a key needs it); nothing about any migration is assumed, so a
  migration added later is covered as it lands.
- ``TestAMonthEndStore``: the rows of a real month-end (the ``chargeback init`` sample
  loaded, rated and closed, its statements, a credit note, people, a sign-in, a token and an
  accepted dispute) made at the newest revision, put into a store at R column for column (the
  columns R has): a store made by the demo before a migration, upgraded without a downgrade.

SQLite stores run with ``PRAGMA foreign_keys=ON`` as the store's own connections do, so a
migration that rebuilds a table other tables refer to (migration 0015 once did, and failed
with "FOREIGN KEY constraint failed" on a populated store) fails here. On PostgreSQL the
same runs in a schema of its own (``CHARGEBACK_TEST_PG_URL``).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory

from billing import api
from billing.store import locks
from billing.store.db import HEAD, MIGRATIONS, alembic_config, current_revision, make_engine, upgrade_store
from billing.store.schema import Base
from billing.store.types import ExactDecimal
from tests.conftest import EXAMPLE_SOURCES, EXAMPLE_TARIFFS, ROOT

REVISIONS = [script.revision for script in reversed(list(ScriptDirectory(str(MIGRATIONS)).walk_revisions()))]
START = ROOT / "examples" / "start"
NOT_DATA = {"alembic_version"}

#: Values that make the migrations' data steps run on the generated rows (a closed month is
#: frozen by 0002, a credit note dated in its invoice's month is a reopen's cancellation, a
#: service credit's metric is read from its detail, an accepted dispute gets its amounts in
#: 0014); used where the column exists at R.
MEANINGFUL = {
    ("period", "status"): "closed",
    ("invoice", "kind"): "credit_note",
    ("charge", "kind"): "sla_credit",
    ("charge", "detail"): "service credit gold: availability pct target 99.9 missed",
    ("dispute", "state"): "accepted",
}


def test_the_chain_runs_from_the_first_migration_to_the_head():
    assert REVISIONS[0] == "0001" and REVISIONS[-1] == HEAD and len(set(REVISIONS)) == len(REVISIONS)


# --- building a store at a revision, and what it holds -------------------------------------


def store_at(url: str, revision: str) -> sa.Engine:
    """An engine on a new store that Alembic brought to ``revision`` (and no further)."""
    engine = make_engine(url)
    with locks.schema_transaction(engine) as connection:
        config = alembic_config(engine)
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
    assert current_revision(engine) == revision
    return engine


def typed_tables(connection: sa.Connection) -> list[sa.Table]:
    """The tables as they are in the store now, parents before children, each column with the
    type schema.py declares for it when it declares the column (an exact decimal is text on
    SQLite, which reflection cannot tell from a name), else the type reflected."""
    metadata = sa.MetaData()
    metadata.reflect(connection)
    for table in metadata.tables.values():
        declared = Base.metadata.tables.get(table.name)
        for column in table.columns:
            if declared is not None and column.name in declared.columns:
                column.type = declared.columns[column.name].type
    return [t for t in metadata.sorted_tables if t.name not in NOT_DATA]


def key_of(table: sa.Table) -> list[sa.Column]:
    return list(table.primary_key.columns) or list(table.columns)


def rows_of(connection: sa.Connection, table: sa.Table, columns: list[str] | None = None) -> set[tuple]:
    names = columns or [c.name for c in table.columns]
    return {tuple(row) for row in connection.execute(sa.select(*(table.c[n] for n in names)))}


def snapshot(connection: sa.Connection) -> dict[str, tuple[list[str], set[tuple]]]:
    """Every table's columns and rows."""
    return {t.name: ([c.name for c in t.columns], rows_of(connection, t)) for t in typed_tables(connection)}


def advance_sequences(connection: sa.Connection, tables: list[sa.Table]) -> None:
    """On PostgreSQL, rows given their ids leave the ids' sequences behind: move them on, as
    rows the engine had inserted would have."""
    if connection.dialect.name != "postgresql":
        return
    for table in tables:
        for column in table.primary_key.columns:
            sequence = connection.execute(sa.text("SELECT pg_get_serial_sequence(:t, :c)"),
                                          {"t": table.name, "c": column.name}).scalar()
            if sequence is not None:
                connection.execute(sa.text(f'SELECT setval(:s, (SELECT COALESCE(MAX("{column.name}"), 0) + 1 '
                                           f'FROM "{table.name}"), false)'), {"s": sequence})


def upgraded_keeps_everything(url: str, engine: sa.Engine, before: dict[str, tuple[list[str], set[tuple]]]) -> None:
    """Open the store as a command does (upgrading it to the newest revision), then: every row
    put in is there with the values it held in each column still there, and every foreign key
    resolves (``PRAGMA foreign_key_check`` on SQLite, a look-up of each key on both)."""
    engine.dispose()
    engine, _ = upgrade_store(url, create=False)
    try:
        assert current_revision(engine) == HEAD
        with engine.connect() as connection:
            tables = {t.name: t for t in typed_tables(connection)}
            for name, (columns, rows) in before.items():
                assert name in tables, f"table {name} is gone after the upgrade"
                kept = [c for c in columns if c in tables[name].columns]
                assert kept, f"every column of {name} is gone after the upgrade"
                after = rows_of(connection, tables[name], kept)
                was = {tuple(row[columns.index(c)] for c in kept) for row in rows}
                assert len(after) >= len(was), f"{name}: {len(was)} rows before the upgrade, {len(after)} after"
                assert was <= after, f"{name}: rows lost or changed by the upgrade: {sorted(was - after, key=repr)[:3]}"
            if connection.dialect.name == "sqlite":
                assert connection.execute(sa.text("PRAGMA foreign_key_check")).all() == []
            for table in tables.values():
                for key in table.foreign_key_constraints:
                    parent = key.referred_table.alias("parent")
                    found = sa.exists().where(*(parent.c[e.column.name] == e.parent for e in key.elements))
                    dangling = connection.execute(sa.select(sa.func.count()).select_from(table).where(
                        *(c.isnot(None) for c in key.columns), ~found)).scalar()
                    assert dangling == 0, f"{table.name}: {dangling} rows whose {key.column_keys} refer to nothing"
    finally:
        engine.dispose()


# --- rows generated from the schema ------------------------------------------------------------

ROWS = 2
"""Rows per table: two, so a key, a unique column or a copy that keeps one row shows."""


def generated_value(table: sa.Table, column: sa.Column, n: int):
    """Row ``n``'s (1, 2, ...) value for ``column``: of its type, within its length, different
    in every row."""
    if (table.name, column.name) in MEANINGFUL:
        return MEANINGFUL[table.name, column.name]
    kind = column.type
    if isinstance(kind, ExactDecimal) or isinstance(kind, sa.Numeric) and not isinstance(kind, sa.Float):
        return Decimal(f"{n}.25")
    if isinstance(kind, sa.Float):
        return n + 0.5
    if isinstance(kind, sa.Boolean):
        return n % 2 == 1
    if isinstance(kind, sa.DateTime):
        return dt.datetime(2026, 1, n, 12, 30, tzinfo=dt.timezone.utc)
    if isinstance(kind, sa.Date):
        return dt.date(2026, 1, n)
    if isinstance(kind, sa.Integer):
        return n
    if isinstance(kind, sa.LargeBinary):
        return f"{table.name}.{column.name} {n}".encode()
    if isinstance(kind, sa.String):
        text = f"{column.name}-{n}"
        length = kind.length
        if length is not None and len(text) > length:
            text = (str(n) + column.name)[:length]
        return text
    raise AssertionError(f"{table.name}.{column.name}: no value for a column of type {kind!r}: add one here")


def fill(connection: sa.Connection) -> None:
    """``ROWS`` rows in every table, parents first; a foreign key takes the matching row of its
    parent (row n refers to the parent's row n; a table referring to itself, to its row 1)."""
    tables = typed_tables(connection)
    made: dict[str, list[dict]] = {}
    for table in tables:
        check = [c for c in table.constraints if isinstance(c, sa.CheckConstraint)]
        assert not check, f"{table.name} has check constraints {[str(c.sqltext) for c in check]}: " \
                          f"generate values that satisfy them (MEANINGFUL)"
        own = [key for key in table.foreign_key_constraints if key.referred_table is table]
        rows = []
        for n in range(1, ROWS + 1):
            row = {c.name: generated_value(table, c, n) for c in table.columns}
            for key in table.foreign_key_constraints:
                if key in own:
                    for element in key.elements:
                        row[element.parent.name] = row[element.column.name] if n == 1 else rows[0][element.column.name]
                    continue
                parent = made[key.referred_table.name][n - 1]
                for element in key.elements:
                    row[element.parent.name] = parent[element.column.name]
            rows.append(row)
        connection.execute(table.insert(), rows)
        made[table.name] = rows
    advance_sequences(connection, tables)


class TestEveryTableFilled:
    @pytest.mark.parametrize("revision", REVISIONS)
    def test_a_store_filled_at_the_revision_upgrades_with_every_row(self, db_url, revision):
        engine = store_at(db_url, revision)
        with locks.schema_transaction(engine) as connection:
            fill(connection)
            before = snapshot(connection)
        assert all(len(rows) == ROWS for _, rows in before.values()), {t: len(r) for t, (_, r) in before.items()}
        upgraded_keeps_everything(db_url, engine, before)


# --- a real month-end's rows, at every revision --------------------------------------------


def month_end(url: str, folder: Path) -> None:
    """The ``chargeback init`` sample through a month-end, with what the portal adds."""
    with api.open_store(url, create=True) as store:
        api.load_tariffs(store, EXAMPLE_TARIFFS)
        api.load_org(store, START / "business_lines.csv")
        api.load_org(store, START / "cost_centers.csv")
        api.load_subscriptions(store, START / "subscriptions.csv")
        api.load_usage(store, START / "usage.csv", source="internal", sources=EXAMPLE_SOURCES)
        api.load_usage(store, START / "tickets.csv", source="servicedesk", new_source=True, sources=EXAMPLE_SOURCES)
        api.load_usage(store, START / "focus-cloud.csv", source="focus-cloud", sources=EXAMPLE_SOURCES)
        api.run_month(store, "2026-03")
        closed = api.close_month(store, "2026-03", issue_date=dt.date(2026, 4, 2), confirm=True)
        api.write_statements(store, "2026-03", folder / "statements")
        first = closed.invoices[0]
        api.adjust(store, first.number, line=1, amount=Decimal("1.00"), reason="goodwill")
        api.add_user(store, "fin", roles=("finance",))
        api.add_user(store, "head", roles=("head",), lines=(first.business_line,), password="a long pass phrase")
        api.sign_in(store, "head", "a long pass phrase")
        api.add_token(store, name="desk export", source="servicedesk")
        raised = api.raise_dispute(store, first.number, 2, reason="one ticket twice", amount=Decimal("0.50"))
        api.accept_dispute(store, raised.id)


@pytest.fixture(scope="module")
def month_end_rows(tmp_path_factory) -> dict[str, list[dict]]:
    """The rows of every table of a real month-end's store (SQLite, the newest revision)."""
    folder = tmp_path_factory.mktemp("month-end")
    url = f"sqlite:///{folder / 'chargeback.db'}"
    month_end(url, folder)
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            rows = {t.name: [dict(r._mapping) for r in connection.execute(sa.select(t).order_by(*key_of(t)))]
                    for t in typed_tables(connection)}
    finally:
        engine.dispose()
    return rows


def test_the_month_end_fills_the_tables_the_portal_and_the_close_write(month_end_rows):
    for table in ("app_user", "app_user_role", "web_session", "api_token", "dispute", "invoice", "invoice_line",
                  "month_close", "close_snapshot", "usage_part", "charge", "audit_event"):
        assert month_end_rows[table], f"the month-end wrote no {table} rows"


class TestAMonthEndStore:
    @pytest.mark.parametrize("revision", REVISIONS)
    def test_a_month_end_store_at_the_revision_upgrades_with_every_row(self, db_url, revision, month_end_rows):
        engine = store_at(db_url, revision)
        with locks.schema_transaction(engine) as connection:
            tables = typed_tables(connection)
            for table in tables:
                rows = [{c.name: row[c.name] if c.name in row else generated_value(table, c, n)
                         for c in table.columns} for n, row in enumerate(month_end_rows.get(table.name, ()), 1)]
                if rows:
                    connection.execute(table.insert(), rows)
            advance_sequences(connection, tables)
            before = snapshot(connection)
        assert sum(len(rows) for _, rows in before.values()) > 100
        upgraded_keeps_everything(db_url, engine, before)


def test_a_migration_that_rebuilds_a_referenced_table_is_caught(db_url):
    """The test's own check: migration 0015 as it first was (a batch rebuild of app_user, which
    sessions, tokens and disputes refer to) fails on a store filled at 0014."""
    if make_engine(db_url).dialect.name != "sqlite":
        pytest.skip("the rebuild is SQLite's way of altering a table; PostgreSQL alters app_user in place")
    engine = store_at(db_url, "0014")
    with locks.schema_transaction(engine) as connection:
        fill(connection)
    from alembic.operations import Operations
    from alembic.runtime.migration import MigrationContext

    with pytest.raises(sa.exc.IntegrityError, match="FOREIGN KEY constraint failed"):
        with locks.schema_transaction(engine) as connection:
            operations = Operations(MigrationContext.configure(connection, opts={"render_as_batch": True}))
            with operations.batch_alter_table("app_user") as batch:
                batch.add_column(sa.Column("sso_issuer", sa.String(300), nullable=True))
                batch.create_unique_constraint("uq_app_user_sso_issuer", ["sso_issuer"])
    engine.dispose()

