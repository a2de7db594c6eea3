"""declared usage sources, and a sample of each feed's record ids

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('usage_source',
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('format', sa.String(length=20), nullable=False),
    sa.Column('origin', sa.String(length=20), nullable=False),
    sa.Column('declared_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('declared_by', sa.String(length=120), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_usage_source'))
    )
    # every source that already sent a feed is declared, as it was used
    op.execute(
        "INSERT INTO usage_source (name, format, origin, declared_at, declared_by) "
        "SELECT source, MIN(format), 'existing', MIN(loaded_at), MIN(loaded_by) FROM usage_feed GROUP BY source"
    )
    with op.batch_alter_table('usage_feed', schema=None) as batch_op:
        batch_op.add_column(sa.Column('id_sample', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('usage_feed', schema=None) as batch_op:
        batch_op.drop_column('id_sample')
    op.drop_table('usage_source')
