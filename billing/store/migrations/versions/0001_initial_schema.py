"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-23
"""
from alembic import op
import sqlalchemy as sa
import billing.store.types


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audit_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('user', sa.String(length=120), nullable=False),
    sa.Column('action', sa.String(length=60), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_event'))
    )
    op.create_table('budget_line',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('fiscal_year', sa.Integer(), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('business_line_code', sa.String(length=40), nullable=False),
    sa.Column('service_code', sa.String(length=40), nullable=False),
    sa.Column('amount', billing.store.types.ExactDecimal(), nullable=False),
    sa.Column('quantity', billing.store.types.ExactDecimal(), nullable=True),
    sa.Column('tier_code', sa.String(length=40), nullable=True),
    sa.Column('file_name', sa.String(length=500), nullable=False),
    sa.Column('location', sa.String(length=80), nullable=False),
    sa.Column('loaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_budget_line')),
    sa.UniqueConstraint('month', 'business_line_code', 'service_code', name=op.f('uq_budget_line_month'))
    )
    op.create_table('business_line',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('head_name', sa.String(length=200), nullable=True),
    sa.Column('head_email', sa.String(length=200), nullable=True),
    sa.Column('division', sa.String(length=200), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_business_line')),
    sa.UniqueConstraint('code', name=op.f('uq_business_line_code'))
    )
    op.create_table('catalogue_service',
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('definition', sa.Text(), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('loaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_catalogue_service'))
    )
    op.create_table('catalogue_unit',
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_catalogue_unit'))
    )
    op.create_table('cost_center',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('gl_code', sa.String(length=40), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cost_center')),
    sa.UniqueConstraint('code', name=op.f('uq_cost_center_code'))
    )
    op.create_table('cost_feed',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('file_name', sa.String(length=500), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('replaced_by_id', sa.Integer(), nullable=True),
    sa.Column('months', sa.String(length=400), nullable=False),
    sa.Column('loaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('loaded_by', sa.String(length=120), nullable=False),
    sa.Column('rows_read', sa.Integer(), nullable=False),
    sa.Column('rows_loaded', sa.Integer(), nullable=False),
    sa.Column('rows_rejected', sa.Integer(), nullable=False),
    sa.Column('rows_duplicate', sa.Integer(), nullable=False),
    sa.Column('amount_total', billing.store.types.ExactDecimal(), nullable=False),
    sa.ForeignKeyConstraint(['replaced_by_id'], ['cost_feed.id'], name=op.f('fk_cost_feed_replaced_by_id_cost_feed')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cost_feed'))
    )
    with op.batch_alter_table('cost_feed', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cost_feed_content_hash'), ['content_hash'], unique=False)

    op.create_table('driver_value',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('driver', sa.String(length=40), nullable=False),
    sa.Column('business_line_code', sa.String(length=40), nullable=False),
    sa.Column('value', billing.store.types.ExactDecimal(), nullable=False),
    sa.Column('file_name', sa.String(length=500), nullable=False),
    sa.Column('row_no', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_driver_value')),
    sa.UniqueConstraint('month', 'driver', 'business_line_code', name=op.f('uq_driver_value_month'))
    )
    op.create_table('invoice_counter',
    sa.Column('fiscal_year', sa.Integer(), nullable=False),
    sa.Column('next_seq', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('fiscal_year', name=op.f('pk_invoice_counter'))
    )
    op.create_table('period',
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_by', sa.String(length=120), nullable=True),
    sa.PrimaryKeyConstraint('month', name=op.f('pk_period'))
    )
    op.create_table('rating_run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('run_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('run_by', sa.String(length=120), nullable=False),
    sa.Column('usage_rows', sa.Integer(), nullable=False),
    sa.Column('total', billing.store.types.ExactDecimal(), nullable=False),
    sa.Column('inputs_hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rating_run'))
    )
    with op.batch_alter_table('rating_run', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rating_run_month'), ['month'], unique=False)

    op.create_table('setting',
    sa.Column('key', sa.String(length=80), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_setting'))
    )
    op.create_table('sla_measurement',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('service_code', sa.String(length=40), nullable=False),
    sa.Column('tier_code', sa.String(length=40), nullable=False),
    sa.Column('business_line_code', sa.String(length=40), nullable=False),
    sa.Column('metric', sa.String(length=40), nullable=False),
    sa.Column('achieved', billing.store.types.ExactDecimal(), nullable=False),
    sa.Column('file_name', sa.String(length=500), nullable=False),
    sa.Column('row_no', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sla_measurement')),
    sa.UniqueConstraint('month', 'service_code', 'tier_code', 'business_line_code', 'metric', name=op.f('uq_sla_measurement_month'))
    )
    op.create_table('tariff_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('service_code', sa.String(length=40), nullable=False),
    sa.Column('version', sa.String(length=40), nullable=False),
    sa.Column('effective_from', sa.Date(), nullable=False),
    sa.Column('effective_to', sa.Date(), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('definition', sa.Text(), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('loaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tariff_version')),
    sa.UniqueConstraint('service_code', 'version', name=op.f('uq_tariff_version_service_code'))
    )
    op.create_table('usage_feed',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=80), nullable=False),
    sa.Column('file_name', sa.String(length=500), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('format', sa.String(length=20), nullable=False),
    sa.Column('months', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('replaced_by_id', sa.Integer(), nullable=True),
    sa.Column('loaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('loaded_by', sa.String(length=120), nullable=False),
    sa.Column('rows_read', sa.Integer(), nullable=False),
    sa.Column('rows_loaded', sa.Integer(), nullable=False),
    sa.Column('rows_rejected', sa.Integer(), nullable=False),
    sa.Column('rows_duplicate', sa.Integer(), nullable=False),
    sa.Column('quantity_total', billing.store.types.ExactDecimal(), nullable=False),
    sa.Column('cost_total', billing.store.types.ExactDecimal(), nullable=False),
    sa.ForeignKeyConstraint(['replaced_by_id'], ['usage_feed.id'], name=op.f('fk_usage_feed_replaced_by_id_usage_feed')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_usage_feed'))
    )
    with op.batch_alter_table('usage_feed', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_usage_feed_content_hash'), ['content_hash'], unique=False)

    op.create_table('charge',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('line_no', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('business_line_id', sa.Integer(), nullable=False),
    sa.Column('service_code', sa.String(length=40), nullable=False),
    sa.Column('tier_code', sa.String(length=40), nullable=False),
    sa.Column('tariff_version_id', sa.Integer(), nullable=False),
    sa.Column('charging_mode', sa.String(length=20), nullable=False),
    sa.Column('segment_from', sa.Date(), nullable=False),
    sa.Column('segment_to', sa.Date(), nullable=False),
    sa.Column('model', sa.String(length=20), nullable=False),
    sa.Column('quantity', billing.store.types.ExactDecimal(), nullable=False),
    sa.Column('included', billing.store.types.ExactDecimal(), nullable=False),
    sa.Column('billable', billing.store.types.ExactDecimal(), nullable=False),
    sa.Column('cost', billing.store.types.ExactDecimal(), nullable=False),
    sa.Column('exact_amount', billing.store.types.ExactDecimal(), nullable=False),
    sa.Column('amount', billing.store.types.ExactDecimal(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('flags', sa.String(length=200), nullable=True),
    sa.Column('credit_of_line', sa.Integer(), nullable=True),
    sa.Column('usage_rows', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['business_line_id'], ['business_line.id'], name=op.f('fk_charge_business_line_id_business_line')),
    sa.ForeignKeyConstraint(['run_id'], ['rating_run.id'], name=op.f('fk_charge_run_id_rating_run')),
    sa.ForeignKeyConstraint(['tariff_version_id'], ['tariff_version.id'], name=op.f('fk_charge_tariff_version_id_tariff_version')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_charge'))
    )
    with op.batch_alter_table('charge', schema=None) as batch_op:
        batch_op.create_index('ix_charge_month', ['month', 'business_line_id'], unique=False)

    op.create_table('cost_center_owner',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cost_center_id', sa.Integer(), nullable=False),
    sa.Column('business_line_id', sa.Integer(), nullable=False),
    sa.Column('effective_from', sa.Date(), nullable=False),
    sa.Column('effective_to', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['business_line_id'], ['business_line.id'], name=op.f('fk_cost_center_owner_business_line_id_business_line')),
    sa.ForeignKeyConstraint(['cost_center_id'], ['cost_center.id'], name=op.f('fk_cost_center_owner_cost_center_id_cost_center')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cost_center_owner')),
    sa.UniqueConstraint('cost_center_id', 'effective_from', name=op.f('uq_cost_center_owner_cost_center_id'))
    )
    op.create_table('cost_entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('feed_id', sa.Integer(), nullable=False),
    sa.Column('row_no', sa.Integer(), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('scenario', sa.String(length=20), nullable=False),
    sa.Column('cost_pool', sa.String(length=40), nullable=False),
    sa.Column('gl_account', sa.String(length=40), nullable=False),
    sa.Column('amount', billing.store.types.ExactDecimal(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('source_ref', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['feed_id'], ['cost_feed.id'], name=op.f('fk_cost_entry_feed_id_cost_feed')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cost_entry'))
    )
    with op.batch_alter_table('cost_entry', schema=None) as batch_op:
        batch_op.create_index('ix_cost_entry_month', ['month', 'scenario'], unique=False)

    op.create_table('cost_reject',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('feed_id', sa.Integer(), nullable=False),
    sa.Column('file_name', sa.String(length=500), nullable=False),
    sa.Column('row_no', sa.Integer(), nullable=True),
    sa.Column('column', sa.String(length=80), nullable=True),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['feed_id'], ['cost_feed.id'], name=op.f('fk_cost_reject_feed_id_cost_feed')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cost_reject'))
    )
    op.create_table('invoice',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=40), nullable=False),
    sa.Column('fiscal_year', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('issue_date', sa.Date(), nullable=False),
    sa.Column('business_line_id', sa.Integer(), nullable=False),
    sa.Column('buyer_code', sa.String(length=40), nullable=False),
    sa.Column('buyer_name', sa.String(length=200), nullable=False),
    sa.Column('buyer_head', sa.String(length=200), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('total', billing.store.types.ExactDecimal(), nullable=False),
    sa.Column('original_invoice_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('issued_by', sa.String(length=120), nullable=False),
    sa.ForeignKeyConstraint(['business_line_id'], ['business_line.id'], name=op.f('fk_invoice_business_line_id_business_line')),
    sa.ForeignKeyConstraint(['original_invoice_id'], ['invoice.id'], name=op.f('fk_invoice_original_invoice_id_invoice')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invoice')),
    sa.UniqueConstraint('fiscal_year', 'seq', name=op.f('uq_invoice_fiscal_year')),
    sa.UniqueConstraint('number', name=op.f('uq_invoice_number'))
    )
    with op.batch_alter_table('invoice', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invoice_month'), ['month'], unique=False)

    op.create_table('subscription',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('business_line_id', sa.Integer(), nullable=False),
    sa.Column('service_code', sa.String(length=40), nullable=False),
    sa.Column('tier_code', sa.String(length=40), nullable=False),
    sa.Column('effective_from', sa.Date(), nullable=False),
    sa.Column('effective_to', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['business_line_id'], ['business_line.id'], name=op.f('fk_subscription_business_line_id_business_line')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subscription')),
    sa.UniqueConstraint('business_line_id', 'service_code', 'effective_from', name=op.f('uq_subscription_business_line_id'))
    )
    op.create_table('usage_part',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('feed_id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=80), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('part_no', sa.Integer(), nullable=False),
    sa.Column('row_count', sa.Integer(), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['feed_id'], ['usage_feed.id'], name=op.f('fk_usage_part_feed_id_usage_feed')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_usage_part'))
    )
    with op.batch_alter_table('usage_part', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_usage_part_feed_id'), ['feed_id'], unique=False)
        batch_op.create_index('ix_usage_part_month', ['month', 'kind'], unique=False)
        batch_op.create_index('ix_usage_part_source', ['source', 'month', 'kind'], unique=False)

    op.create_table('usage_reject',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('feed_id', sa.Integer(), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=True),
    sa.Column('file_name', sa.String(length=500), nullable=False),
    sa.Column('row_no', sa.Integer(), nullable=True),
    sa.Column('column', sa.String(length=80), nullable=True),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['feed_id'], ['usage_feed.id'], name=op.f('fk_usage_reject_feed_id_usage_feed')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_usage_reject'))
    )
    with op.batch_alter_table('usage_reject', schema=None) as batch_op:
        batch_op.create_index('ix_usage_reject_month', ['month'], unique=False)

    op.create_table('charge_cost_center',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('charge_id', sa.Integer(), nullable=False),
    sa.Column('cost_center_id', sa.Integer(), nullable=True),
    sa.Column('quantity', billing.store.types.ExactDecimal(), nullable=False),
    sa.Column('amount', billing.store.types.ExactDecimal(), nullable=False),
    sa.ForeignKeyConstraint(['charge_id'], ['charge.id'], name=op.f('fk_charge_cost_center_charge_id_charge'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['cost_center_id'], ['cost_center.id'], name=op.f('fk_charge_cost_center_cost_center_id_cost_center')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_charge_cost_center'))
    )
    with op.batch_alter_table('charge_cost_center', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_charge_cost_center_charge_id'), ['charge_id'], unique=False)

    op.create_table('invoice_line',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('line_no', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('service_code', sa.String(length=40), nullable=False),
    sa.Column('service_name', sa.String(length=200), nullable=False),
    sa.Column('tier_code', sa.String(length=40), nullable=False),
    sa.Column('tier_name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('quantity', billing.store.types.ExactDecimal(), nullable=False),
    sa.Column('unit', sa.String(length=40), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('amount', billing.store.types.ExactDecimal(), nullable=False),
    sa.Column('charge_id', sa.Integer(), nullable=True),
    sa.Column('original_line_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['charge_id'], ['charge.id'], name=op.f('fk_invoice_line_charge_id_charge')),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoice.id'], name=op.f('fk_invoice_line_invoice_id_invoice')),
    sa.ForeignKeyConstraint(['original_line_id'], ['invoice_line.id'], name=op.f('fk_invoice_line_original_line_id_invoice_line')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invoice_line')),
    sa.UniqueConstraint('invoice_id', 'line_no', name=op.f('uq_invoice_line_invoice_id'))
    )
    with op.batch_alter_table('invoice_line', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invoice_line_charge_id'), ['charge_id'], unique=False)

    op.create_table('invoice_line_cost_center',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('invoice_line_id', sa.Integer(), nullable=False),
    sa.Column('cost_center_code', sa.String(length=40), nullable=False),
    sa.Column('gl_code', sa.String(length=40), nullable=False),
    sa.Column('amount', billing.store.types.ExactDecimal(), nullable=False),
    sa.ForeignKeyConstraint(['invoice_line_id'], ['invoice_line.id'], name=op.f('fk_invoice_line_cost_center_invoice_line_id_invoice_line')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invoice_line_cost_center'))
    )
    with op.batch_alter_table('invoice_line_cost_center', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invoice_line_cost_center_invoice_line_id'), ['invoice_line_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('invoice_line_cost_center', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_invoice_line_cost_center_invoice_line_id'))

    op.drop_table('invoice_line_cost_center')
    with op.batch_alter_table('invoice_line', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_invoice_line_charge_id'))

    op.drop_table('invoice_line')
    with op.batch_alter_table('charge_cost_center', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_charge_cost_center_charge_id'))

    op.drop_table('charge_cost_center')
    with op.batch_alter_table('usage_reject', schema=None) as batch_op:
        batch_op.drop_index('ix_usage_reject_month')

    op.drop_table('usage_reject')
    with op.batch_alter_table('usage_part', schema=None) as batch_op:
        batch_op.drop_index('ix_usage_part_source')
        batch_op.drop_index('ix_usage_part_month')
        batch_op.drop_index(batch_op.f('ix_usage_part_feed_id'))

    op.drop_table('usage_part')
    op.drop_table('subscription')
    with op.batch_alter_table('invoice', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_invoice_month'))

    op.drop_table('invoice')
    op.drop_table('cost_reject')
    with op.batch_alter_table('cost_entry', schema=None) as batch_op:
        batch_op.drop_index('ix_cost_entry_month')

    op.drop_table('cost_entry')
    op.drop_table('cost_center_owner')
    with op.batch_alter_table('charge', schema=None) as batch_op:
        batch_op.drop_index('ix_charge_month')

    op.drop_table('charge')
    with op.batch_alter_table('usage_feed', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_usage_feed_content_hash'))

    op.drop_table('usage_feed')
    op.drop_table('tariff_version')
    op.drop_table('sla_measurement')
    op.drop_table('setting')
    with op.batch_alter_table('rating_run', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rating_run_month'))

    op.drop_table('rating_run')
    op.drop_table('period')
    op.drop_table('invoice_counter')
    op.drop_table('driver_value')
    with op.batch_alter_table('cost_feed', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cost_feed_content_hash'))

    op.drop_table('cost_feed')
    op.drop_table('cost_center')
    op.drop_table('catalogue_unit')
    op.drop_table('catalogue_service')
    op.drop_table('business_line')
    op.drop_table('budget_line')
    op.drop_table('audit_event')
