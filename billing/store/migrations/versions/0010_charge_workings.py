"""a charge keeps how it was priced, step by step (charge.workings: JSON, what the statement explains a line with)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02
"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # charges rated before keep none: NULL (their statements show the one-line detail)
    with op.batch_alter_table('charge', schema=None) as batch_op:
        batch_op.add_column(sa.Column('workings', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('charge', schema=None) as batch_op:
        batch_op.drop_column('workings')
