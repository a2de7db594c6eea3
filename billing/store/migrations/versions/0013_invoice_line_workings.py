"""an invoice line keeps how its amount was reached, as issued (invoice_line.workings: JSON; a credit or debit note's line what was charged, what it corrects and why)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03
"""
from alembic import op
import sqlalchemy as sa


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # lines issued before keep none: NULL (documents show their one-line detail)
    with op.batch_alter_table('invoice_line', schema=None) as batch_op:
        batch_op.add_column(sa.Column('workings', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('invoice_line', schema=None) as batch_op:
        batch_op.drop_column('workings')
