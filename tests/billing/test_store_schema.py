"""The store's schema comes only from migrations, and money survives it exactly."""

import datetime as dt
from decimal import Decimal

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from billing.store.locks import lock_master_data
from billing.store.db import HEAD, current_revision, head_revision, make_engine, open_store, upgrade
from billing.store.schema import Base, BusinessLine, CostEntry, CostFeed


def test_migrations_build_exactly_the_declared_tables(db_url):
    engine = make_engine(db_url)
    assert upgrade(engine) is True
    assert upgrade(engine) is False  # second time: nothing to do
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection, opts={"compare_type": False}), Base.metadata)
    assert diff == []


def test_the_declared_head_is_the_newest_migration(db_url):
    """A store at ``HEAD`` opens without running Alembic, so ``HEAD`` must be Alembic's head."""
    engine = make_engine(db_url)
    assert current_revision(engine) is None
    upgrade(engine)
    assert current_revision(engine) == HEAD == head_revision(engine)


def test_decimals_come_back_exact_with_their_scale(db_url):
    factory = open_store(db_url)
    now = dt.datetime.now(dt.timezone.utc)
    amounts = [Decimal("0.1"), Decimal("470.00"), Decimal("-0.00000000000123"), Decimal("12345678901234567890.123456789")]
    with factory.begin() as session:
        lock_master_data(session)  # a write without its lock is refused
        session.add(BusinessLine(code="FIN", name="Finance"))
        feed = CostFeed(file_name="x", content_hash="h", months="", loaded_at=now, loaded_by="t", rows_read=0,
                        rows_loaded=0, rows_rejected=0, rows_duplicate=0, amount_total=Decimal(0))
        session.add(feed)
        session.flush()
        for n, amount in enumerate(amounts):
            session.add(CostEntry(feed_id=feed.id, row_no=n, month="2026-01", scenario="actual", cost_pool="P",
                                  gl_account="1", amount=amount, currency="USD", source_ref=str(n)))
    with factory.begin() as session:
        stored = [e.amount for e in session.query(CostEntry).order_by(CostEntry.row_no)]
    assert stored == amounts
    assert [str(a) for a in stored[:2]] == ["0.1", "470.00"]
    assert all(isinstance(a, Decimal) for a in stored)
