"""a dispute accepted keeps what the claim came to and what finance accepted (dispute.asked_amount, dispute.accepted_amount: signed as the note; less when accepted in part)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03
"""
from alembic import op
import sqlalchemy as sa

from billing.store.types import ExactDecimal


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('dispute', schema=None) as batch_op:
        batch_op.add_column(sa.Column('asked_amount', ExactDecimal(), nullable=True))
        batch_op.add_column(sa.Column('accepted_amount', ExactDecimal(), nullable=True))
    # disputes accepted before were accepted whole: both are the note's total (the same text on SQLite)
    op.execute("UPDATE dispute SET accepted_amount = (SELECT total FROM invoice WHERE invoice.id = dispute.note_id), "
               "asked_amount = (SELECT total FROM invoice WHERE invoice.id = dispute.note_id) "
               "WHERE state = 'accepted' AND note_id IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table('dispute', schema=None) as batch_op:
        batch_op.drop_column('accepted_amount')
        batch_op.drop_column('asked_amount')
