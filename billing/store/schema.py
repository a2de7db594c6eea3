"""The store's tables (SQLAlchemy 2.0 typed mappings).

ORM objects never leave ``billing.store``: repository modules return plain records. Text
lengths that input fills come from :mod:`billing.core.limits`, where they are checked;
``billing/store/bounds.py`` says how every text column is held to its length.
Every change to this file needs an Alembic migration in ``billing/store/migrations``.
See docs/store.md for what each table is for.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import (
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from billing.core import limits
from billing.store.types import ExactDecimal

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {Decimal: ExactDecimal(), dt.datetime: DateTime(timezone=True)}


# --- organisation -------------------------------------------------------------------------


class BusinessLine(Base):
    __tablename__ = "business_line"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(limits.CODE), unique=True)
    name: Mapped[str] = mapped_column(String(limits.NAME))
    head_name: Mapped[str | None] = mapped_column(String(limits.NAME))
    head_email: Mapped[str | None] = mapped_column(String(limits.NAME))
    division: Mapped[str | None] = mapped_column(String(limits.NAME))


class CostCenter(Base):
    __tablename__ = "cost_center"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(limits.CODE), unique=True)
    name: Mapped[str] = mapped_column(String(limits.NAME))
    gl_code: Mapped[str] = mapped_column(String(limits.CODE))


class CostCenterOwner(Base):
    """Which business line owns a cost centre, effective-dated (both ends inclusive)."""

    __tablename__ = "cost_center_owner"
    __table_args__ = (UniqueConstraint("cost_center_id", "effective_from"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    cost_center_id: Mapped[int] = mapped_column(ForeignKey("cost_center.id"))
    business_line_id: Mapped[int] = mapped_column(ForeignKey("business_line.id"))
    effective_from: Mapped[dt.date] = mapped_column(Date)
    effective_to: Mapped[dt.date | None] = mapped_column(Date)


# --- catalogue and tariffs ----------------------------------------------------------------


class CatalogueUnit(Base):
    __tablename__ = "catalogue_unit"
    code: Mapped[str] = mapped_column(String(limits.CODE), primary_key=True)
    name: Mapped[str] = mapped_column(String(limits.NAME))


class CatalogueService(Base):
    """A service with its tiers, kept as canonical JSON (tariffs.load.service_to_dict)."""

    __tablename__ = "catalogue_service"
    code: Mapped[str] = mapped_column(String(limits.CODE), primary_key=True)
    definition: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))
    loaded_at: Mapped[dt.datetime]


class AgreementRow(Base):
    """A business line's commitment or negotiated discount for a service and fiscal year, as
    canonical JSON (tariffs.load.agreement_to_dict); replaced by each catalogue load (since 0008)."""

    __tablename__ = "agreement"
    id: Mapped[int] = mapped_column(primary_key=True)
    business_line_code: Mapped[str] = mapped_column(String(limits.CODE))
    service_code: Mapped[str] = mapped_column(String(limits.CODE))
    fiscal_year: Mapped[int | None] = mapped_column(Integer)
    definition: Mapped[str] = mapped_column(Text)


class TariffVersionRow(Base):
    """A tariff version as canonical JSON; immutable once a charge refers to it."""

    __tablename__ = "tariff_version"
    __table_args__ = (UniqueConstraint("service_code", "version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    service_code: Mapped[str] = mapped_column(String(limits.CODE))
    version: Mapped[str] = mapped_column(String(limits.CODE))
    effective_from: Mapped[dt.date] = mapped_column(Date)
    effective_to: Mapped[dt.date | None] = mapped_column(Date)
    currency: Mapped[str] = mapped_column(String(limits.CURRENCY))
    definition: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))
    loaded_at: Mapped[dt.datetime]


class Subscription(Base):
    """A business line takes a service at a tier, effective-dated (both ends inclusive)."""

    __tablename__ = "subscription"
    __table_args__ = (UniqueConstraint("business_line_id", "service_code", "effective_from"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    business_line_id: Mapped[int] = mapped_column(ForeignKey("business_line.id"))
    service_code: Mapped[str] = mapped_column(String(limits.CODE))
    tier_code: Mapped[str] = mapped_column(String(limits.CODE))
    effective_from: Mapped[dt.date] = mapped_column(Date)
    effective_to: Mapped[dt.date | None] = mapped_column(Date)


# --- usage ---------------------------------------------------------------------------------


class UsageSource(Base):
    """A declared source of usage: one with a source definition, or one registered on first
    use with ``usage load --new-source``. A feed's source must be one of these, so a mistyped
    name is refused instead of becoming a new source whose record ids repeat another's."""

    __tablename__ = "usage_source"
    name: Mapped[str] = mapped_column(String(limits.SOURCE_NAME), primary_key=True)
    format: Mapped[str] = mapped_column(String(20))  # usage | focus
    origin: Mapped[str] = mapped_column(String(20))  # definition | registered | existing (fed before 0002)
    declared_at: Mapped[dt.datetime]
    declared_by: Mapped[str] = mapped_column(String(limits.USER))


class UsageFeed(Base):
    """One loaded file. A replaced feed stays, with its rows, for audit.

    ``id_sample``: a sample of the record ids it stored (JSON list; ``billing.feeds.overlap``),
    every id of a small feed: a feed of another source with any of them is flagged as a repeat."""

    __tablename__ = "usage_feed"
    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(limits.SOURCE_NAME))
    file_name: Mapped[str] = mapped_column(String(limits.PATH))
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    format: Mapped[str] = mapped_column(String(20))
    months: Mapped[str] = mapped_column(String(limits.NAME))  # comma-separated YYYY-MM the rows fall in
    status: Mapped[str] = mapped_column(String(20), default="active")  # active | replaced
    replaced_by_id: Mapped[int | None] = mapped_column(ForeignKey("usage_feed.id"))
    loaded_at: Mapped[dt.datetime]
    loaded_by: Mapped[str] = mapped_column(String(limits.USER))
    rows_read: Mapped[int] = mapped_column(Integer)
    rows_loaded: Mapped[int] = mapped_column(Integer)
    rows_rejected: Mapped[int] = mapped_column(Integer)
    rows_duplicate: Mapped[int] = mapped_column(Integer)
    rows_conflict: Mapped[int] = mapped_column(Integer, default=0)  # record ids sent before with other values
    quantity_total: Mapped[Decimal]
    cost_total: Mapped[Decimal]
    id_sample: Mapped[str | None] = mapped_column(Text)


class UsagePart(Base):
    """Accepted usage of one feed and month, as a Parquet (zstd) blob with exact decimals.

    ``kind`` ``rows``: every accepted input row with its row number and record id (the audit
    trail behind a charge, and what record identity is checked against), one part per load
    batch. ``kind`` ``daily``: the same rows summed per day, business line, cost centre, service
    and tier, one part per feed and month: what rating reads. Millions of rows load and rate in
    seconds this way, on SQLite and PostgreSQL alike.
    """

    __tablename__ = "usage_part"
    __table_args__ = (
        Index("ix_usage_part_month", "month", "kind"),
        Index("ix_usage_part_source", "source", "month", "kind"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    feed_id: Mapped[int] = mapped_column(ForeignKey("usage_feed.id"), index=True)
    source: Mapped[str] = mapped_column(String(limits.SOURCE_NAME))
    month: Mapped[str] = mapped_column(String(7))
    kind: Mapped[str] = mapped_column(String(10))  # rows | daily
    part_no: Mapped[int] = mapped_column(Integer)
    row_count: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class UsageReject(Base):
    """A row that was not loaded, with where it was and why."""

    __tablename__ = "usage_reject"
    __table_args__ = (Index("ix_usage_reject_month", "month"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    feed_id: Mapped[int] = mapped_column(ForeignKey("usage_feed.id"))
    month: Mapped[str | None] = mapped_column(String(7))
    file_name: Mapped[str] = mapped_column(String(limits.PATH))
    row_no: Mapped[int | None] = mapped_column(Integer)
    column: Mapped[str | None] = mapped_column(String(limits.LABEL))
    code: Mapped[str] = mapped_column(String(40))
    message: Mapped[str] = mapped_column(Text)


# --- periods, rating and service levels -----------------------------------------------------


class Period(Base):
    __tablename__ = "period"
    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    status: Mapped[str] = mapped_column(String(10), default="open")  # open | closed
    closed_at: Mapped[dt.datetime | None]
    closed_by: Mapped[str | None] = mapped_column(String(limits.USER))


class RatingRun(Base):
    __tablename__ = "rating_run"
    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[str] = mapped_column(String(7), index=True)
    run_at: Mapped[dt.datetime]
    run_by: Mapped[str] = mapped_column(String(limits.USER))
    usage_rows: Mapped[int] = mapped_column(Integer)
    total: Mapped[Decimal]
    inputs_hash: Mapped[str] = mapped_column(String(64))  # what the run priced; close compares it


class Charge(Base):
    """A priced segment (business line, service, tier, tariff version) or its service credit."""

    __tablename__ = "charge"
    __table_args__ = (Index("ix_charge_month", "month", "business_line_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("rating_run.id"))
    month: Mapped[str] = mapped_column(String(7))
    line_no: Mapped[int] = mapped_column(Integer)  # stable order within the month
    kind: Mapped[str] = mapped_column(String(20))  # usage | sla_credit
    business_line_id: Mapped[int] = mapped_column(ForeignKey("business_line.id"))
    service_code: Mapped[str] = mapped_column(String(limits.CODE))
    tier_code: Mapped[str] = mapped_column(String(limits.CODE))
    tariff_version_id: Mapped[int] = mapped_column(ForeignKey("tariff_version.id"))
    charging_mode: Mapped[str] = mapped_column(String(20))
    segment_from: Mapped[dt.date] = mapped_column(Date)
    segment_to: Mapped[dt.date] = mapped_column(Date)
    days_in_force: Mapped[int | None] = mapped_column(Integer)  # the tier and version's days (None: rated before 0006)
    model: Mapped[str] = mapped_column(String(20))
    quantity: Mapped[Decimal]
    included: Mapped[Decimal]
    billable: Mapped[Decimal]
    cost: Mapped[Decimal]
    exact_amount: Mapped[Decimal]
    amount: Mapped[Decimal]  # rounded to the currency's minor unit: the invoice line amount
    currency: Mapped[str] = mapped_column(String(limits.CURRENCY))
    detail: Mapped[str] = mapped_column(Text)
    flags: Mapped[str | None] = mapped_column(String(limits.FLAGS))
    credit_of_line: Mapped[int | None] = mapped_column(Integer)
    usage_rows: Mapped[int] = mapped_column(Integer)
    credit_metric: Mapped[str | None] = mapped_column(String(40))  # sla_credit: the metric the credit was given for
    label: Mapped[str | None] = mapped_column(String(limits.NAME))  # fee: its name (since 0007)
    period_from: Mapped[dt.date | None] = mapped_column(Date)  # fee: the days of its quarter or year in force
    period_to: Mapped[dt.date | None] = mapped_column(Date)
    workings: Mapped[str | None] = mapped_column(Text)  # how it was priced, step by step: JSON (since 0010)
    dimension: Mapped[str | None] = mapped_column(String(limits.CODE))  # a price by dimension: region (since 0012)
    dimension_value: Mapped[str | None] = mapped_column(String(limits.DIMENSION_VALUE))  # eu-west; None: the tier's terms


class HeldUsage(Base):
    """Usage a rating run did not price because its tier's price by dimension quarantines a
    value it does not list (``unknown: quarantine``): kept, with where it came from and why,
    until the tariff lists the value (or the feed is corrected) and the month is run again."""

    __tablename__ = "held_usage"
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("rating_run.id"), index=True)
    month: Mapped[str] = mapped_column(String(7), index=True)
    business_line_code: Mapped[str] = mapped_column(String(limits.CODE))
    service_code: Mapped[str] = mapped_column(String(limits.CODE))
    tier_code: Mapped[str] = mapped_column(String(limits.CODE))
    tariff_version: Mapped[str] = mapped_column(String(limits.CODE))
    dimension: Mapped[str] = mapped_column(String(limits.CODE))
    value: Mapped[str] = mapped_column(String(limits.DIMENSION_VALUE))  # "" when the usage names none
    quantity: Mapped[Decimal]
    cost: Mapped[Decimal]
    usage_rows: Mapped[int] = mapped_column(Integer)
    first_day: Mapped[dt.date | None] = mapped_column(Date)
    last_day: Mapped[dt.date | None] = mapped_column(Date)
    came_from: Mapped[str] = mapped_column(Text)  # the feeds (file, days, rows) the usage is in
    reason: Mapped[str] = mapped_column(Text)


class ChargeCostCenter(Base):
    """A charge's split over the business line's cost centres; parts sum to the charge."""

    __tablename__ = "charge_cost_center"
    id: Mapped[int] = mapped_column(primary_key=True)
    charge_id: Mapped[int] = mapped_column(ForeignKey("charge.id", ondelete="CASCADE"), index=True)
    cost_center_id: Mapped[int | None] = mapped_column(ForeignKey("cost_center.id"))  # None: the business line has none
    quantity: Mapped[Decimal]
    amount: Mapped[Decimal]


class SlaMeasurement(Base):
    __tablename__ = "sla_measurement"
    __table_args__ = (
        UniqueConstraint("month", "service_code", "tier_code", "business_line_code", "metric"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[str] = mapped_column(String(7))
    service_code: Mapped[str] = mapped_column(String(limits.CODE))
    tier_code: Mapped[str] = mapped_column(String(limits.CODE))
    business_line_code: Mapped[str] = mapped_column(String(limits.CODE), default="")  # "" = all
    metric: Mapped[str] = mapped_column(String(limits.CODE))
    achieved: Mapped[Decimal]
    file_name: Mapped[str] = mapped_column(String(limits.PATH))
    row_no: Mapped[int] = mapped_column(Integer)


# --- month-end documents ---------------------------------------------------------------------


class InvoiceCounter(Base):
    """The next number of a gap-free sequence per fiscal year, taken in the close transaction."""

    __tablename__ = "invoice_counter"
    fiscal_year: Mapped[int] = mapped_column(Integer, primary_key=True)
    next_seq: Mapped[int] = mapped_column(Integer)


class Invoice(Base):
    """An issued document (invoice, credit note or debit note). Never updated once issued."""

    __tablename__ = "invoice"
    __table_args__ = (UniqueConstraint("fiscal_year", "seq"), UniqueConstraint("number"))
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(40))
    fiscal_year: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))  # invoice | credit_note | debit_note
    role: Mapped[str] = mapped_column(String(30))  # billing.core.records.DocumentRole: why it was issued
    month: Mapped[str] = mapped_column(String(7), index=True)
    issue_date: Mapped[dt.date] = mapped_column(Date)
    business_line_id: Mapped[int] = mapped_column(ForeignKey("business_line.id"))
    buyer_code: Mapped[str] = mapped_column(String(limits.CODE))
    buyer_name: Mapped[str] = mapped_column(String(limits.NAME))
    buyer_head: Mapped[str | None] = mapped_column(String(limits.NAME))
    currency: Mapped[str] = mapped_column(String(limits.CURRENCY))
    total: Mapped[Decimal]
    original_invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoice.id"))
    reason: Mapped[str | None] = mapped_column(Text)
    issued_at: Mapped[dt.datetime]
    issued_by: Mapped[str] = mapped_column(String(limits.USER))


class InvoiceLine(Base):
    __tablename__ = "invoice_line"
    __table_args__ = (UniqueConstraint("invoice_id", "line_no"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoice.id"))
    line_no: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))  # usage | sla_credit | adjustment
    service_code: Mapped[str] = mapped_column(String(limits.CODE))
    service_name: Mapped[str] = mapped_column(String(limits.NAME))
    tier_code: Mapped[str] = mapped_column(String(limits.CODE))
    tier_name: Mapped[str] = mapped_column(String(limits.NAME))
    description: Mapped[str] = mapped_column(Text)
    quantity: Mapped[Decimal]
    unit: Mapped[str] = mapped_column(String(limits.CODE))
    detail: Mapped[str] = mapped_column(Text)
    amount: Mapped[Decimal]
    charge_id: Mapped[int | None] = mapped_column(ForeignKey("charge.id"), index=True)
    original_line_id: Mapped[int | None] = mapped_column(ForeignKey("invoice_line.id"))
    dimension: Mapped[str | None] = mapped_column(String(limits.CODE))  # as issued, since 0012
    dimension_value: Mapped[str | None] = mapped_column(String(limits.DIMENSION_VALUE))
    workings: Mapped[str | None] = mapped_column(Text)  # how the amount was reached, as issued: JSON (since 0013)


class InvoiceLineCostCenter(Base):
    """An invoice line's split over cost centres, frozen at issue; parts sum to the line."""

    __tablename__ = "invoice_line_cost_center"
    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_line_id: Mapped[int] = mapped_column(ForeignKey("invoice_line.id"), index=True)
    cost_center_code: Mapped[str] = mapped_column(String(limits.CODE))
    gl_code: Mapped[str] = mapped_column(String(limits.CODE))
    amount: Mapped[Decimal]


class MonthClose(Base):
    """One close of a month: when, by whom, and which rating run it invoiced. Written in the
    close transaction and never updated; a month closed again after a reopen gets a new row,
    and the newest row of a closed month is the one its documents are rendered from."""

    __tablename__ = "month_close"
    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[str] = mapped_column(String(7), index=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("rating_run.id"))
    closed_at: Mapped[dt.datetime]
    closed_by: Mapped[str] = mapped_column(String(limits.USER))


class CloseSnapshot(Base):
    """What a closed month's documents are rendered from, frozen at close as canonical JSON:
    one row per ``section`` (settings, business_line, service, sla, statement, tier_month) and
    ``key`` (a code, or "" for the whole section). Never updated (billing/store/snapshots.py)."""

    __tablename__ = "close_snapshot"
    __table_args__ = (UniqueConstraint("close_id", "section", "key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    close_id: Mapped[int] = mapped_column(ForeignKey("month_close.id"))
    section: Mapped[str] = mapped_column(String(40))
    key: Mapped[str] = mapped_column(String(80))
    data: Mapped[str] = mapped_column(Text)


# --- cost recovery: IT costs, drivers --------------------------------------------------------


class CostFeed(Base):
    """One loaded cost file (actual or budgeted IT cost per month and cost pool)."""

    __tablename__ = "cost_feed"
    id: Mapped[int] = mapped_column(primary_key=True)
    file_name: Mapped[str] = mapped_column(String(limits.PATH))
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(20), default="active")  # active | replaced
    replaced_by_id: Mapped[int | None] = mapped_column(ForeignKey("cost_feed.id"))
    months: Mapped[str] = mapped_column(String(limits.COST_FEED_MONTHS))
    loaded_at: Mapped[dt.datetime]
    loaded_by: Mapped[str] = mapped_column(String(limits.USER))
    rows_read: Mapped[int] = mapped_column(Integer)
    rows_loaded: Mapped[int] = mapped_column(Integer)
    rows_rejected: Mapped[int] = mapped_column(Integer)
    rows_duplicate: Mapped[int] = mapped_column(Integer)
    rows_conflict: Mapped[int] = mapped_column(Integer, default=0)  # cost lines sent before with other values
    amount_total: Mapped[Decimal]


class CostEntry(Base):
    """A cost per month, cost pool and GL account; ``scenario`` is actual or budget."""

    __tablename__ = "cost_entry"
    __table_args__ = (Index("ix_cost_entry_month", "month", "scenario"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    feed_id: Mapped[int] = mapped_column(ForeignKey("cost_feed.id"))
    row_no: Mapped[int] = mapped_column(Integer)
    month: Mapped[str] = mapped_column(String(7))
    scenario: Mapped[str] = mapped_column(String(20))  # actual | budget
    cost_pool: Mapped[str] = mapped_column(String(limits.CODE))
    gl_account: Mapped[str] = mapped_column(String(limits.CODE))
    amount: Mapped[Decimal]
    currency: Mapped[str] = mapped_column(String(limits.CURRENCY))
    source_ref: Mapped[str] = mapped_column(String(limits.REFERENCE))
    description: Mapped[str | None] = mapped_column(Text)


class CostReject(Base):
    __tablename__ = "cost_reject"
    id: Mapped[int] = mapped_column(primary_key=True)
    feed_id: Mapped[int] = mapped_column(ForeignKey("cost_feed.id"))
    file_name: Mapped[str] = mapped_column(String(limits.PATH))
    row_no: Mapped[int | None] = mapped_column(Integer)
    column: Mapped[str | None] = mapped_column(String(limits.LABEL))
    code: Mapped[str] = mapped_column(String(40))
    message: Mapped[str] = mapped_column(Text)


class DriverValue(Base):
    """A driver (headcount, revenue, ...) per business line and month, for allocation."""

    __tablename__ = "driver_value"
    __table_args__ = (UniqueConstraint("month", "driver", "business_line_code"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[str] = mapped_column(String(7))
    driver: Mapped[str] = mapped_column(String(limits.CODE))
    business_line_code: Mapped[str] = mapped_column(String(limits.CODE))
    value: Mapped[Decimal]
    file_name: Mapped[str] = mapped_column(String(limits.PATH))
    row_no: Mapped[int] = mapped_column(Integer)


# --- budgets ---------------------------------------------------------------------------------


class BudgetLine(Base):
    """A budgeted amount (and optionally volume) per business line, service and month."""

    __tablename__ = "budget_line"
    __table_args__ = (UniqueConstraint("month", "business_line_code", "service_code"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    fiscal_year: Mapped[int] = mapped_column(Integer)
    month: Mapped[str] = mapped_column(String(7))
    business_line_code: Mapped[str] = mapped_column(String(limits.CODE))
    service_code: Mapped[str] = mapped_column(String(limits.CODE))
    amount: Mapped[Decimal]
    quantity: Mapped[Decimal | None]
    tier_code: Mapped[str | None] = mapped_column(String(limits.CODE))
    file_name: Mapped[str] = mapped_column(String(limits.PATH))
    location: Mapped[str] = mapped_column(String(limits.LABEL))  # row number, or sheet!cell for a workbook
    loaded_at: Mapped[dt.datetime]


# --- settings and audit ----------------------------------------------------------------------


class Setting(Base):
    __tablename__ = "setting"
    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class AuditEvent(Base):
    __tablename__ = "audit_event"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime]
    user: Mapped[str] = mapped_column(String(limits.USER))
    action: Mapped[str] = mapped_column(String(60))
    subject: Mapped[str] = mapped_column(String(limits.SUBJECT))
    detail: Mapped[str | None] = mapped_column(Text)


# --- portal and API: people, roles, sessions, tokens, disputes ---------------------------------


class AppUser(Base):
    """A person who signs in to the portal (billing/jobs/access.py); never deleted, disabled."""

    __tablename__ = "app_user"
    __table_args__ = (Index("uq_app_user_sso_issuer", "sso_issuer", "sso_subject", unique=True),)
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(limits.USER), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))  # argon2id, with its parameters and salt; "" signs in by SSO only
    must_change_password: Mapped[bool] = mapped_column(default=True)  # a one-time password was given
    disabled_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime]
    created_by: Mapped[str] = mapped_column(String(limits.USER))
    # a person who signs in by single sign-on: the provider's issuer and the ID token's subject
    sso_issuer: Mapped[str | None] = mapped_column(String(limits.SSO_ISSUER))
    sso_subject: Mapped[str | None] = mapped_column(String(limits.SSO_SUBJECT))


class AppUserRole(Base):
    """A role a person holds; a head's row names the business line (one row per line)."""

    __tablename__ = "app_user_role"
    __table_args__ = (UniqueConstraint("user_id", "role", "business_line_code"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    role: Mapped[str] = mapped_column(String(20))
    business_line_code: Mapped[str] = mapped_column(String(limits.CODE), default="")  # "" = every line


class WebSession(Base):
    """A signed-in browser: the cookie's token is kept hashed; revoked at logout (or all of a
    person's at once: logout everywhere, disable, password reset)."""

    __tablename__ = "web_session"
    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    created_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime]
    revoked_at: Mapped[dt.datetime | None]


class ApiTokenRow(Base):
    """An API token, kept hashed: for one usage source, or read-only. Never deleted, revoked."""

    __tablename__ = "api_token"
    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(limits.NAME))
    scope: Mapped[str] = mapped_column(String(20))  # source | read
    source: Mapped[str | None] = mapped_column(String(limits.SOURCE_NAME))
    created_at: Mapped[dt.datetime]
    created_by: Mapped[str] = mapped_column(String(limits.USER))
    revoked_at: Mapped[dt.datetime | None]
    revoked_by: Mapped[str | None] = mapped_column(String(limits.USER))
    last_used_at: Mapped[dt.datetime | None]


class ApiBatch(Base):
    """A usage batch posted to the API under an Idempotency-Key: the same key and body again
    answers the first answer; the same key with another body is refused (409)."""

    __tablename__ = "api_batch"
    __table_args__ = (UniqueConstraint("source", "idempotency_key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(limits.SOURCE_NAME))
    idempotency_key: Mapped[str] = mapped_column(String(limits.IDEMPOTENCY_KEY))
    body_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[int] = mapped_column(Integer)  # the HTTP status answered
    answer: Mapped[str] = mapped_column(Text)  # the JSON answered
    feed_id: Mapped[int | None] = mapped_column(ForeignKey("usage_feed.id"))
    token_id: Mapped[int] = mapped_column(ForeignKey("api_token.id"))
    received_at: Mapped[dt.datetime]


class Dispute(Base):
    """A head's dispute of a statement line: raised, then accepted (with the note issued) or
    rejected with a reason by finance. Kept whole: states, times and users."""

    __tablename__ = "dispute"
    id: Mapped[int] = mapped_column(primary_key=True)
    business_line_code: Mapped[str] = mapped_column(String(limits.CODE), index=True)
    invoice_line_id: Mapped[int] = mapped_column(ForeignKey("invoice_line.id"))
    reason: Mapped[str] = mapped_column(Text)
    amount: Mapped[Decimal | None]
    quantity: Mapped[Decimal | None]
    state: Mapped[str] = mapped_column(String(20))  # open | accepted | rejected
    raised_by: Mapped[str] = mapped_column(String(limits.USER))
    raised_at: Mapped[dt.datetime]
    decided_by: Mapped[str | None] = mapped_column(String(limits.USER))
    decided_at: Mapped[dt.datetime | None]
    decision: Mapped[str | None] = mapped_column(Text)
    note_id: Mapped[int | None] = mapped_column(ForeignKey("invoice.id"))
    # once accepted, signed as the note: what the claim came to (a quantity priced at the line's
    # average price) and what finance accepted, the note's total (less, when accepted in part)
    asked_amount: Mapped[Decimal | None]
    accepted_amount: Mapped[Decimal | None]


__all__ = [name for name in dir() if name[0].isupper() and name not in ("Decimal",)]
