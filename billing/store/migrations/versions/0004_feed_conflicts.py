"""the records of a feed quarantined because their id came before with other values

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # feeds loaded before counted a conflicting re-send as a duplicate: they keep that count
    with op.batch_alter_table('usage_feed', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rows_conflict', sa.Integer(), nullable=False, server_default='0'))


def downgrade() -> None:
    with op.batch_alter_table('usage_feed', schema=None) as batch_op:
        batch_op.drop_column('rows_conflict')
