"""people who sign in to the portal, their roles, sessions, API tokens and disputes

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""
from alembic import op
import sqlalchemy as sa

from billing.store.types import ExactDecimal


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('app_user',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('password_hash', sa.String(length=200), nullable=False),
    sa.Column('must_change_password', sa.Boolean(), nullable=False),
    sa.Column('disabled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=120), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_app_user')),
    sa.UniqueConstraint('name', name=op.f('uq_app_user_name'))
    )
    op.create_table('app_user_role',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('business_line_code', sa.String(length=40), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_app_user_role_user_id_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_app_user_role')),
    sa.UniqueConstraint('user_id', 'role', 'business_line_code', name=op.f('uq_app_user_role_user_id'))
    )
    op.create_index(op.f('ix_app_user_role_user_id'), 'app_user_role', ['user_id'], unique=False)
    op.create_table('web_session',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_web_session_user_id_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_web_session')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_web_session_token_hash'))
    )
    op.create_index(op.f('ix_web_session_user_id'), 'web_session', ['user_id'], unique=False)
    op.create_table('api_token',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('prefix', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('scope', sa.String(length=20), nullable=False),
    sa.Column('source', sa.String(length=80), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=120), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_by', sa.String(length=120), nullable=True),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_token')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_api_token_token_hash'))
    )
    op.create_table('dispute',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('business_line_code', sa.String(length=40), nullable=False),
    sa.Column('invoice_line_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('amount', ExactDecimal(), nullable=True),
    sa.Column('quantity', ExactDecimal(), nullable=True),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('raised_by', sa.String(length=120), nullable=False),
    sa.Column('raised_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_by', sa.String(length=120), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decision', sa.Text(), nullable=True),
    sa.Column('note_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['invoice_line_id'], ['invoice_line.id'], name=op.f('fk_dispute_invoice_line_id_invoice_line')),
    sa.ForeignKeyConstraint(['note_id'], ['invoice.id'], name=op.f('fk_dispute_note_id_invoice')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dispute'))
    )
    op.create_index(op.f('ix_dispute_business_line_code'), 'dispute', ['business_line_code'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_dispute_business_line_code'), table_name='dispute')
    op.drop_table('dispute')
    op.drop_table('api_token')
    op.drop_index(op.f('ix_web_session_user_id'), table_name='web_session')
    op.drop_table('web_session')
    op.drop_index(op.f('ix_app_user_role_user_id'), table_name='app_user_role')
    op.drop_table('app_user_role')
    op.drop_table('app_user')
