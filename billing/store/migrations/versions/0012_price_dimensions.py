"""a charge and an invoice line name the price dimension and value they price (dimension, dimension_value); usage a price by dimension quarantines is kept (held_usage)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02
"""
from alembic import op
import sqlalchemy as sa
import billing.store.types


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # charges rated before price no dimension: NULL; daily usage keeps its values in its parts
    with op.batch_alter_table('charge', schema=None) as batch_op:
        batch_op.add_column(sa.Column('dimension', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('dimension_value', sa.String(length=100), nullable=True))
    with op.batch_alter_table('invoice_line', schema=None) as batch_op:  # as issued
        batch_op.add_column(sa.Column('dimension', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('dimension_value', sa.String(length=100), nullable=True))
    op.create_table('held_usage',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('business_line_code', sa.String(length=40), nullable=False),
    sa.Column('service_code', sa.String(length=40), nullable=False),
    sa.Column('tier_code', sa.String(length=40), nullable=False),
    sa.Column('tariff_version', sa.String(length=40), nullable=False),
    sa.Column('dimension', sa.String(length=40), nullable=False),
    sa.Column('value', sa.String(length=100), nullable=False),
    sa.Column('quantity', billing.store.types.ExactDecimal(), nullable=False),
    sa.Column('cost', billing.store.types.ExactDecimal(), nullable=False),
    sa.Column('usage_rows', sa.Integer(), nullable=False),
    sa.Column('first_day', sa.Date(), nullable=True),
    sa.Column('last_day', sa.Date(), nullable=True),
    sa.Column('came_from', sa.Text(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['rating_run.id'], name=op.f('fk_held_usage_run_id_rating_run')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_held_usage'))
    )
    with op.batch_alter_table('held_usage', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_held_usage_month'), ['month'], unique=False)
        batch_op.create_index(batch_op.f('ix_held_usage_run_id'), ['run_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('held_usage', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_held_usage_run_id'))
        batch_op.drop_index(batch_op.f('ix_held_usage_month'))
    op.drop_table('held_usage')
    with op.batch_alter_table('invoice_line', schema=None) as batch_op:
        batch_op.drop_column('dimension_value')
        batch_op.drop_column('dimension')
    with op.batch_alter_table('charge', schema=None) as batch_op:
        batch_op.drop_column('dimension_value')
        batch_op.drop_column('dimension')
