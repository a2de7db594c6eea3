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
    # Plain ADD COLUMN and a unique index: a batch (copy-and-move) rebuild of app_user on SQLite
    # fails on a store whose sessions, tokens and disputes refer to its people.
    op.add_column('app_user', sa.Column('sso_issuer', sa.String(length=300), nullable=True))
    op.add_column('app_user', sa.Column('sso_subject', sa.String(length=255), nullable=True))
    op.create_index('uq_app_user_sso_issuer', 'app_user', ['sso_issuer', 'sso_subject'], unique=True)


def downgrade() -> None:
    op.drop_index('uq_app_user_sso_issuer', table_name='app_user')
    with op.batch_alter_table('app_user', schema=None) as batch_op:
        batch_op.drop_column('sso_subject')
        batch_op.drop_column('sso_issuer')
