"""Change a setting, checking its value."""

from __future__ import annotations

from sqlalchemy.orm import Session

from billing.problems import ChargebackError
from billing.store import audit
from billing.store.audit import DEFAULTS, set_setting


def check_setting(key: str, value: str) -> str:
    """The value to store for ``key`` (checked, trimmed); a clear error when either is wrong."""
    if key not in DEFAULTS:
        raise ChargebackError(f"unknown setting {key!r}; known settings: {', '.join(DEFAULTS)}")
    value = value.strip()
    if key == "fiscal_year_start_month" and not (value.isdigit() and 1 <= int(value) <= 12):
        raise ChargebackError("fiscal_year_start_month must be a month number from 1 to 12")
    if key in ("anomaly_pct", "low_usage_pct") and not value.replace(".", "", 1).isdigit():
        raise ChargebackError(f"{key} must be a positive number, e.g. {DEFAULTS[key]}")
    if key == "low_usage_pct" and float(value) > 100:
        raise ChargebackError("low_usage_pct is a share of the usual usage, from 0 to 100")
    if key == "currency" and not (len(value) == 3 and value.isalpha()):
        raise ChargebackError("currency must be a three-letter ISO code, e.g. USD")
    return value.upper() if key == "currency" else value


def change_setting(session: Session, key: str, value: str) -> None:
    value = check_setting(key, value)
    if key == "fiscal_year_start_month":
        from sqlalchemy import select

        from billing.store.schema import Invoice

        if session.scalar(select(Invoice.id).limit(1)) is not None:
            raise ChargebackError("the fiscal year start cannot change once invoices have been numbered")
    set_setting(session, key, value)
    audit.record(session, "settings.set", key, value)
