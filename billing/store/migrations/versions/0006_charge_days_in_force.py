"""a charge keeps the days its tier and tariff version were in force (its proration)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # charges rated before keep NULL: rate setting finds their proration again (billing/recovery/rates.py)
    with op.batch_alter_table('charge', schema=None) as batch_op:
        batch_op.add_column(sa.Column('days_in_force', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('charge', schema=None) as batch_op:
        batch_op.drop_column('days_in_force')
