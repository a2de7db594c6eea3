"""usage batches posted to the API, by source and Idempotency-Key, with the answer given

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""
from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('api_batch',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=80), nullable=False),
    sa.Column('idempotency_key', sa.String(length=200), nullable=False),
    sa.Column('body_hash', sa.String(length=64), nullable=False),
    sa.Column('status', sa.Integer(), nullable=False),
    sa.Column('answer', sa.Text(), nullable=False),
    sa.Column('feed_id', sa.Integer(), nullable=True),
    sa.Column('token_id', sa.Integer(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['feed_id'], ['usage_feed.id'], name=op.f('fk_api_batch_feed_id_usage_feed')),
    sa.ForeignKeyConstraint(['token_id'], ['api_token.id'], name=op.f('fk_api_batch_token_id_api_token')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_batch')),
    sa.UniqueConstraint('source', 'idempotency_key', name=op.f('uq_api_batch_source'))
    )


def downgrade() -> None:
    op.drop_table('api_batch')
