"""How every text column of the store stays within its length, on every database.

PostgreSQL refuses a text longer than its ``VARCHAR(n)`` with a ``DataError``; SQLite keeps
it silently. So no value may reach the store unchecked: each text column is here, with what
fills it and how that is held to the length (docs/store.md, "Limits"):

- :class:`Input`: a value from input (a file, a YAML document, an option, the environment),
  checked where it enters with a ``too-long`` problem or a one-line refusal that names the
  field and the limit (the lengths are declared in :mod:`billing.core.limits`);
- :class:`Copy`: a copy of another column's value (a document keeps the names it was issued
  with), so it is held by that column's check;
- :class:`Engine`: text the engine writes itself: a state, a kind, a month, a hash; where it
  is one of known values, ``values`` lists them;
- :class:`Shortened`: a label (an audit subject, the column of a rejected row) that is cut to
  fit, with ``…``, by the function named.

``tests/billing/test_limits.py`` holds this table to the schema: a text column missing here,
a length that differs, a copy of a longer column or an engine value that does not fit fails
the suite, and every :class:`Input` column has a test that sends an over-long value through
the command that writes it, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from billing.core import limits

__all__ = ["Input", "Copy", "Engine", "Shortened", "COLUMNS"]


@dataclass(frozen=True, slots=True)
class Input:
    length: int
    source: str  # what fills it and where it is checked


@dataclass(frozen=True, slots=True)
class Copy:
    of: str  # table.column


@dataclass(frozen=True, slots=True)
class Engine:
    reason: str
    values: Callable[[], Iterable[str]] | None = None


@dataclass(frozen=True, slots=True)
class Shortened:
    length: int
    by: str  # the function that cuts it


def _months() -> Iterable[str]:
    return ["2026-03"]  # billing.core.periods.parse_month always writes YYYY-MM


def _hash() -> Iterable[str]:
    return ["0" * 64]  # SHA-256 in hex


def _enum(path: str) -> Callable[[], Iterable[str]]:
    def values() -> Iterable[str]:
        module, _, name = path.rpartition(".")
        return [member.value for member in getattr(__import__(module, fromlist=[name]), name)]
    return values


def _problem_codes() -> Iterable[str]:
    from billing.core.problems import ProblemCode

    return [code.value for code in ProblemCode]


def _settings() -> Iterable[str]:
    from billing.store.audit import DEFAULTS

    return list(DEFAULTS)


def _invoice_numbers() -> Iterable[str]:
    from billing.core.settings import PREFIX_LENGTH

    return [f"{'C' * PREFIX_LENGTH}-9999-{9_999_999}"]  # PREFIX-FY-NNNNNN, up to 10 million documents a year


def _flags() -> Iterable[str]:
    from billing.rating.month import NO_COST_CENTER, NO_SUBSCRIPTION, NO_SUBSCRIPTION_NAMED

    return ["; ".join((NO_SUBSCRIPTION, NO_SUBSCRIPTION_NAMED, NO_COST_CENTER))]  # every flag at once


def _actions() -> Iterable[str]:
    from billing.store.access import ACTIONS
    from billing.store.disputes import ACTIONS as DISPUTE_ACTIONS

    return ["subscriptions.load", "adjust.credit_note", "adjust.debit_note", "source.declare", "rates.propose", *ACTIONS,
            *DISPUTE_ACTIONS]


CODE, NAME = limits.CODE, limits.NAME
_ORG = "the organisation file (billing/organisation/org.py)"
_TARIFFS = "a tariff file (tariffs/validate.py)"
_PATH = "a loaded file's path (billing.core.limits.path_problem: billing/files/tables.py read_table, the usage and budget loads)"
_DIMENSION_VALUE = ("a usage row's dimension value, or a value under by_value in a tariff file "
                    "(billing/feeds/dimensions.py too_long_checks, tariffs/validate.py)")
_USER = "CHARGEBACK_USER, else the login name (billing/store/audit.py current_user)"

COLUMNS: dict[str, Input | Copy | Engine | Shortened] = {
    # audit and settings
    "audit_event.user": Input(limits.USER, _USER),
    "audit_event.action": Engine("the engine's action names", _actions),
    "audit_event.subject": Shortened(limits.SUBJECT, "billing.store.audit.record"),
    "setting.key": Engine("one of the known settings (billing/jobs/settings.py refuses others)", _settings),
    # organisation
    "business_line.code": Input(CODE, f"business_line in {_ORG}"),
    "business_line.name": Input(NAME, f"name in {_ORG}"),
    "business_line.head_name": Input(NAME, f"head_name in {_ORG}"),
    "business_line.head_email": Input(NAME, f"head_email in {_ORG}"),
    "business_line.division": Input(NAME, f"division in {_ORG}"),
    "cost_center.code": Input(CODE, f"cost_center in {_ORG}"),
    "cost_center.name": Input(NAME, f"name in {_ORG}"),
    "cost_center.gl_code": Input(CODE, f"gl_cost_center in {_ORG}"),
    # catalogue, tariffs, subscriptions
    "catalogue_unit.code": Input(CODE, f"units[].code in {_TARIFFS}"),
    "catalogue_unit.name": Input(NAME, f"units[].name in {_TARIFFS}"),
    "catalogue_service.code": Input(CODE, f"services[].code in {_TARIFFS}"),
    "catalogue_service.content_hash": Engine("a SHA-256", _hash),
    "tariff_version.service_code": Copy("catalogue_service.code"),
    "tariff_version.version": Input(CODE, f"tariffs[].version in {_TARIFFS}"),
    "tariff_version.currency": Input(limits.CURRENCY, f"tariffs[].currency in {_TARIFFS} (three capital letters)"),
    "tariff_version.content_hash": Engine("a SHA-256", _hash),
    "subscription.service_code": Input(CODE, "service in a subscriptions file (billing/organisation/subscriptions.py), a catalogue code"),
    "subscription.tier_code": Input(CODE, "tier in a subscriptions file (billing/organisation/subscriptions.py), a catalogue code"),
    # usage
    "usage_source.name": Input(limits.SOURCE_NAME, "a source's name: a new source's (billing/jobs/usage_sources.py) or "
                                                   "a source definition (billing/feeds/sources.py)"),
    "usage_source.format": Engine("a feed format", _enum("billing.feeds.sources.FeedFormat")),
    "usage_source.origin": Engine("how the source was declared", lambda: ["definition", "registered", "existing"]),
    "usage_source.declared_by": Input(limits.USER, _USER),
    "usage_feed.source": Copy("usage_source.name"),
    "usage_feed.file_name": Input(limits.PATH, _PATH),
    "usage_feed.content_hash": Engine("a SHA-256", _hash),
    "usage_feed.format": Engine("a feed format", _enum("billing.feeds.sources.FeedFormat")),
    "usage_feed.months": Input(limits.USAGE_FEED_MONTHS, "the months of a usage feed's rows: at most 25 "
                                                         "(billing/jobs/usage.py refuses a file with more)"),
    "usage_feed.status": Engine("a feed's state", lambda: ["active", "replaced"]),
    "usage_feed.loaded_by": Input(limits.USER, _USER),
    "usage_part.source": Copy("usage_source.name"),
    "usage_part.month": Engine("a month", _months),
    "usage_part.kind": Engine("a part's kind", lambda: ["rows", "daily"]),
    "usage_reject.month": Engine("a month", _months),
    "usage_reject.file_name": Shortened(limits.PATH, "billing.store.usage.insert_rejects"),
    "usage_reject.column": Shortened(limits.LABEL, "billing.store.usage.insert_rejects"),
    "usage_reject.code": Engine("a problem code", _problem_codes),
    # periods, rating, service levels
    "period.month": Engine("a month", _months),
    "period.status": Engine("a period's state", lambda: ["open", "closed"]),
    "period.closed_by": Input(limits.USER, _USER),
    "month_close.month": Engine("a month", _months),
    "month_close.closed_by": Input(limits.USER, _USER),
    "close_snapshot.section": Engine("the section of a close snapshot",
                                     lambda: ["settings", "business_line", "service", "sla", "statement", "tier_month"]),
    "close_snapshot.key": Copy("business_line.code"),
    "rating_run.month": Engine("a month", _months),
    "rating_run.run_by": Input(limits.USER, _USER),
    "rating_run.inputs_hash": Engine("a SHA-256", _hash),
    "charge.month": Engine("a month", _months),
    "charge.kind": Engine("a charge's kind", _enum("billing.core.records.ChargeKind")),
    "charge.label": Input(NAME, f"tiers.<tier>.fees[].name in {_TARIFFS}"),
    "charge.dimension": Input(CODE, f"services[].dimension in {_TARIFFS}"),
    "charge.dimension_value": Input(limits.DIMENSION_VALUE, _DIMENSION_VALUE),
    "agreement.business_line_code": Input(CODE, f"agreements[].business_line in {_TARIFFS}"),
    "agreement.service_code": Copy("catalogue_service.code"),
    "charge.service_code": Copy("catalogue_service.code"),
    "charge.tier_code": Input(CODE, f"services[].tiers[].code in {_TARIFFS}"),
    "charge.charging_mode": Engine("a charging mode", _enum("tariffs.model.ChargingMode")),
    "charge.model": Engine("a pricing model", _enum("tariffs.model.PricingModel")),
    "charge.currency": Copy("tariff_version.currency"),
    "charge.flags": Engine("the engine's flags, joined", _flags),
    "charge.credit_metric": Engine("a service-level metric", _enum("tariffs.model.Metric")),
    "sla_measurement.month": Engine("a month", _months),
    "sla_measurement.service_code": Input(CODE, "service in a service-level file (billing/jobs/sla.py)"),
    "sla_measurement.tier_code": Input(CODE, "tier in a service-level file (billing/jobs/sla.py)"),
    "sla_measurement.business_line_code": Input(CODE, "business_line in a service-level file (billing/jobs/sla.py)"),
    "sla_measurement.metric": Input(CODE, "metric in a service-level file (billing/jobs/sla.py), a metric's name"),
    "sla_measurement.file_name": Input(limits.PATH, _PATH),
    # documents
    "invoice.number": Engine("PREFIX-FY-NNNNNN; invoice_prefix has at most 20 characters (billing/jobs/settings.py)",
                             _invoice_numbers),
    "invoice.kind": Engine("a document's kind", _enum("billing.core.records.DocumentKind")),
    "invoice.role": Engine("a document's role", _enum("billing.core.records.DocumentRole")),
    "invoice.month": Engine("a month", _months),
    "invoice.buyer_code": Copy("business_line.code"),
    "invoice.buyer_name": Copy("business_line.name"),
    "invoice.buyer_head": Copy("business_line.head_name"),
    "invoice.currency": Copy("tariff_version.currency"),
    "invoice.issued_by": Input(limits.USER, _USER),
    "invoice_line.kind": Engine("a line's kind", _enum("billing.core.records.LineKind")),
    "invoice_line.service_code": Copy("catalogue_service.code"),
    "invoice_line.service_name": Input(NAME, f"services[].name in {_TARIFFS}"),
    "invoice_line.tier_code": Input(CODE, f"services[].tiers[].code in {_TARIFFS}"),
    "invoice_line.tier_name": Input(NAME, f"services[].tiers[].name in {_TARIFFS}"),
    "invoice_line.unit": Input(CODE, f"services[].unit in {_TARIFFS}"),
    "invoice_line.dimension": Input(CODE, f"services[].dimension in {_TARIFFS}"),
    "invoice_line.dimension_value": Input(limits.DIMENSION_VALUE, _DIMENSION_VALUE),
    "held_usage.month": Engine("a month", _months),
    "held_usage.business_line_code": Copy("business_line.code"),
    "held_usage.service_code": Copy("catalogue_service.code"),
    "held_usage.tier_code": Copy("charge.tier_code"),
    "held_usage.tariff_version": Copy("tariff_version.version"),
    "held_usage.dimension": Input(CODE, f"services[].dimension in {_TARIFFS}"),
    "held_usage.value": Input(limits.DIMENSION_VALUE, _DIMENSION_VALUE),
    "invoice_line_cost_center.cost_center_code": Copy("cost_center.code"),
    "invoice_line_cost_center.gl_code": Copy("cost_center.gl_code"),
    # cost recovery
    "cost_feed.file_name": Input(limits.PATH, _PATH),
    "cost_feed.content_hash": Engine("a SHA-256", _hash),
    "cost_feed.status": Engine("a feed's state", lambda: ["active", "replaced"]),
    "cost_feed.months": Input(limits.COST_FEED_MONTHS, "the months of a cost file's lines: at most 50 "
                                                       "(billing/jobs/costs.py refuses a file with more)"),
    "cost_feed.loaded_by": Input(limits.USER, _USER),
    "cost_entry.month": Engine("a month", _months),
    "cost_entry.scenario": Engine("a cost scenario (billing/recovery/costs.py refuses others)", lambda: ["actual", "budget"]),
    "cost_entry.cost_pool": Input(CODE, "cost_pool in a cost file (billing/recovery/costs.py)"),
    "cost_entry.gl_account": Input(CODE, "gl_account in a cost file (billing/recovery/costs.py)"),
    "cost_entry.currency": Copy("tariff_version.currency"),
    "cost_entry.source_ref": Input(limits.REFERENCE, "source_ref in a cost file (billing/recovery/costs.py)"),
    "cost_reject.file_name": Shortened(limits.PATH, "billing.store.costs.insert_rejects"),
    "cost_reject.column": Shortened(limits.LABEL, "billing.store.costs.insert_rejects"),
    "cost_reject.code": Engine("a problem code", _problem_codes),
    "driver_value.month": Engine("a month", _months),
    "driver_value.driver": Input(CODE, "driver in a driver file (billing/recovery/costs.py)"),
    "driver_value.business_line_code": Input(CODE, "business_line in a driver file (billing/recovery/costs.py)"),
    "driver_value.file_name": Input(limits.PATH, _PATH),
    # budgets
    "budget_line.month": Engine("a month", _months),
    "budget_line.business_line_code": Input(CODE, "business_line in a budget file (billing/planning/budgets.py)"),
    "budget_line.service_code": Input(CODE, "service in a budget file (billing/planning/budgets.py)"),
    "budget_line.tier_code": Input(CODE, "tier in a budget file (billing/planning/budgets.py)"),
    "budget_line.file_name": Input(limits.PATH, _PATH),
    "budget_line.location": Shortened(limits.LABEL, "billing.store.budgets.replace_budget"),
    # people, sessions, API tokens, disputes (billing/store/access.py)
    "app_user.name": Input(limits.USER, "NAME of `chargeback users add` (billing/core/access.py check_user_name)"),
    "app_user.password_hash": Engine("an argon2id hash in its PHC string", lambda: ["$argon2id$v=19$m=65536,t=3,p=4$"
                                                                              + "s" * 22 + "$" + "h" * 43]),
    "app_user.created_by": Input(limits.USER, _USER),
    "app_user.sso_issuer": Input(limits.SSO_ISSUER, "issuer of the single sign-on settings (billing/core/sso.py)"),
    "app_user.sso_subject": Input(limits.SSO_SUBJECT, "the ID token's sub (billing/jobs/access.py sso_sign_in)"),
    "app_user_role.role": Engine("a role", _enum("billing.core.access.Role")),
    "app_user_role.business_line_code": Copy("business_line.code"),
    "web_session.token_hash": Engine("a SHA-256", _hash),
    "api_token.token_hash": Engine("a SHA-256", _hash),
    "api_token.prefix": Engine("the token's first characters (billing/jobs/access.py)", lambda: ["cb_" + "x" * 8]),
    "api_token.name": Input(NAME, "a token's name (`chargeback tokens add`, billing/jobs/access.py)"),
    "api_token.scope": Engine("a token's scope", _enum("billing.core.access.TokenScope")),
    "api_token.source": Copy("usage_source.name"),
    "api_token.created_by": Input(limits.USER, _USER),
    "api_token.revoked_by": Input(limits.USER, _USER),
    "api_batch.source": Copy("usage_source.name"),
    "api_batch.idempotency_key": Input(limits.IDEMPOTENCY_KEY, "the Idempotency-Key header of a usage batch "
                                                               "(billing/jobs/usage_batches.py check_key)"),
    "api_batch.body_hash": Engine("a SHA-256", _hash),
    "dispute.business_line_code": Copy("business_line.code"),
    "dispute.state": Engine("a dispute's state", lambda: ["open", "accepted", "rejected"]),
    "dispute.raised_by": Copy("app_user.name"),
    "dispute.decided_by": Copy("app_user.name"),
}
