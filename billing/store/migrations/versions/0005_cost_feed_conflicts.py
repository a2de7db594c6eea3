"""the lines of a cost feed quarantined because their identity came before with other values

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # cost feeds loaded before counted a conflicting line as a duplicate: they keep that count
    with op.batch_alter_table('cost_feed', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rows_conflict', sa.Integer(), nullable=False, server_default='0'))


def downgrade() -> None:
    with op.batch_alter_table('cost_feed', schema=None) as batch_op:
        batch_op.drop_column('rows_conflict')
