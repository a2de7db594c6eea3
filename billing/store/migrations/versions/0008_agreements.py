"""a business line's commitments and negotiated discounts for a service and fiscal year (agreement)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('agreement',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('business_line_code', sa.String(length=40), nullable=False),
    sa.Column('service_code', sa.String(length=40), nullable=False),
    sa.Column('fiscal_year', sa.Integer(), nullable=True),
    sa.Column('definition', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agreement'))
    )


def downgrade() -> None:
    op.drop_table('agreement')
