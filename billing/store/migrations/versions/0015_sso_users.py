"""people who sign in by single sign-on: app_user.sso_issuer and sso_subject (the provider and the ID token's subject, unique together)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03
"""
from alembic import op
import sqlalchemy as sa


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('app_user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sso_issuer', sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column('sso_subject', sa.String(length=255), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_app_user_sso_issuer'), ['sso_issuer', 'sso_subject'])


def downgrade() -> None:
    with op.batch_alter_table('app_user', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_app_user_sso_issuer'), type_='unique')
        batch_op.drop_column('sso_subject')
        batch_op.drop_column('sso_issuer')
