"""document role, credit metric, close snapshots

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02

- ``invoice.role``: why a document was issued (invoice, credit_note, debit_note,
  reopen_cancellation), so no behaviour reads the text of a reason. Existing rows: a credit
  note dated in the month of the invoice it corrects is the cancellation of a reopen (a
  ``chargeback adjust`` note is always dated in a later month, the next open one); every other
  note keeps its kind as its role.
- ``charge.credit_metric``: the metric a service credit was given for (was only in its detail
  text). Existing credit lines take it from that text, once, here.
- ``month_close`` and ``close_snapshot``: one row per close of a month, and what its documents
  are rendered from, frozen in the close transaction. Months already closed get a close row
  with the settings (stored values over the defaults of this release), business lines and
  services as they are at this upgrade: the best record there is of what they were.
"""
from __future__ import annotations

import json
import re

from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

#: The settings and their defaults in this release (billing/store/audit.py DEFAULTS then).
SETTING_DEFAULTS = {
    "fiscal_year_start_month": "1",
    "currency": "USD",
    "anomaly_pct": "25",
    "invoice_prefix": "CB",
    "expense_account": "6810",
    "recovery_account": "4810",
    "it_cost_center": "IT-RECOVERY",
    "unallocated_business_line": "UNALLOCATED",
}

_CREDIT_METRIC = re.compile(r"^service credit [^:]*: (availability pct|response minutes|restore hours) target")


def _canonical(data) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"))


def upgrade() -> None:
    op.create_table('month_close',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_by', sa.String(length=120), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['rating_run.id'], name=op.f('fk_month_close_run_id_rating_run')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_month_close'))
    )
    with op.batch_alter_table('month_close', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_month_close_month'), ['month'], unique=False)

    op.create_table('close_snapshot',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('close_id', sa.Integer(), nullable=False),
    sa.Column('section', sa.String(length=40), nullable=False),
    sa.Column('key', sa.String(length=80), nullable=False),
    sa.Column('data', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['close_id'], ['month_close.id'], name=op.f('fk_close_snapshot_close_id_month_close')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_close_snapshot')),
    sa.UniqueConstraint('close_id', 'section', 'key', name=op.f('uq_close_snapshot_close_id'))
    )

    # A plain ADD COLUMN (no table rebuild: other tables' foreign keys point at invoice).
    op.add_column('invoice', sa.Column('role', sa.String(length=30), nullable=False, server_default='invoice'))
    op.add_column('charge', sa.Column('credit_metric', sa.String(length=40), nullable=True))

    connection = op.get_bind()
    connection.execute(sa.text("UPDATE invoice SET role = kind WHERE kind IN ('invoice', 'credit_note', 'debit_note')"))
    connection.execute(sa.text(
        "UPDATE invoice SET role = 'reopen_cancellation' WHERE kind = 'credit_note' AND EXISTS "
        "(SELECT 1 FROM invoice AS original WHERE original.id = invoice.original_invoice_id "
        "AND original.month = invoice.month)"
    ))

    metrics = {"availability pct": "availability_pct", "response minutes": "response_minutes",
               "restore hours": "restore_hours"}
    credits = connection.execute(sa.text("SELECT id, detail FROM charge WHERE kind = 'sla_credit'")).all()
    for charge_id, detail in credits:
        found = _CREDIT_METRIC.match(detail or "")
        if found:
            connection.execute(sa.text("UPDATE charge SET credit_metric = :metric WHERE id = :id"),
                               {"metric": metrics[found.group(1)], "id": charge_id})

    _freeze_closed_months(connection)


def _freeze_closed_months(connection) -> None:
    when = sa.DateTime(timezone=True)
    period = sa.table("period", sa.column("month", sa.String), sa.column("status", sa.String),
                      sa.column("closed_at", when), sa.column("closed_by", sa.String))
    invoice = sa.table("invoice", sa.column("month", sa.String), sa.column("issued_at", when))
    rating_run = sa.table("rating_run", sa.column("id", sa.Integer), sa.column("month", sa.String),
                          sa.column("run_at", when))
    closed = connection.execute(sa.select(period.c.month, period.c.closed_at, period.c.closed_by)
                                .where(period.c.status == "closed").order_by(period.c.month)).all()
    if not closed:
        return
    settings = dict(SETTING_DEFAULTS)
    settings.update({key: value for key, value in connection.execute(sa.text("SELECT key, value FROM setting"))
                     if key in SETTING_DEFAULTS})
    lines = {
        code: _canonical({"code": code, "name": name, "head_name": head, "head_email": email, "division": division})
        for code, name, head, email, division in connection.execute(sa.text(
            "SELECT code, name, head_name, head_email, division FROM business_line ORDER BY code"))
    }
    services = dict(connection.execute(sa.text("SELECT code, definition FROM catalogue_service ORDER BY code")).all())
    month_close = sa.table("month_close", sa.column("id", sa.Integer), sa.column("month", sa.String),
                           sa.column("run_id", sa.Integer), sa.column("closed_at", sa.DateTime(timezone=True)),
                           sa.column("closed_by", sa.String))
    snapshot = sa.table("close_snapshot", sa.column("close_id", sa.Integer), sa.column("section", sa.String),
                        sa.column("key", sa.String), sa.column("data", sa.Text))
    for month, closed_at, closed_by in closed:
        run_id = connection.execute(sa.select(sa.func.max(rating_run.c.id)).where(rating_run.c.month == month)).scalar()
        if closed_at is None:
            closed_at = connection.execute(sa.select(invoice.c.issued_at).where(invoice.c.month == month)
                                           .order_by(invoice.c.issued_at.desc()).limit(1)).scalar()
        if closed_at is None:
            closed_at = connection.execute(sa.select(rating_run.c.run_at).where(rating_run.c.month == month)
                                           .order_by(rating_run.c.run_at.desc()).limit(1)).scalar()
        close_id = connection.execute(
            month_close.insert().returning(month_close.c.id),
            {"month": month, "run_id": run_id, "closed_at": closed_at, "closed_by": closed_by or ""},
        ).scalar()
        rows = [{"close_id": close_id, "section": "settings", "key": "", "data": _canonical(settings)}]
        rows += [{"close_id": close_id, "section": "business_line", "key": code, "data": data} for code, data in lines.items()]
        rows += [{"close_id": close_id, "section": "service", "key": code, "data": data} for code, data in services.items()]
        connection.execute(snapshot.insert(), rows)


def downgrade() -> None:
    with op.batch_alter_table('charge', schema=None) as batch_op:
        batch_op.drop_column('credit_metric')
    with op.batch_alter_table('invoice', schema=None) as batch_op:
        batch_op.drop_column('role')
    op.drop_table('close_snapshot')
    with op.batch_alter_table('month_close', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_month_close_month'))
    op.drop_table('month_close')
