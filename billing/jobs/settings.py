"""Change a setting, checking its value."""

from __future__ import annotations

import re

from sqlalchemy.orm import Session

from billing.close.journal import gl_code_problem
from billing.core.addresses import address_problem
from billing.core.limits import CODE, NAME, RATIO, too_long
from billing.core.money import D
from billing.core.problems import ChargebackError, excerpt, has_control
from billing.store import audit
from billing.store import locks
from billing.store.audit import DEFAULTS, set_setting

GL_CODES = ("expense_account", "recovery_account", "it_cost_center")
PREFIX_LENGTH = 20  # the number PREFIX-YYYY-NNNNNN(N) fits the store's 40 characters
_HOST = re.compile(r"[A-Za-z0-9]([A-Za-z0-9.:-]{0,251}[A-Za-z0-9])?")
_PREFIX = re.compile(rf"[A-Za-z0-9][A-Za-z0-9._-]{{0,{PREFIX_LENGTH - 1}}}")


def check_setting(key: str, value: str) -> str:
    """The value to store for ``key`` (checked, trimmed); a clear error when either is wrong."""
    if key not in DEFAULTS:
        raise ChargebackError(f"unknown setting {key!r}; known settings: {', '.join(DEFAULTS)}")
    value = value.strip()
    if key == "fiscal_year_start_month" and not (value.isdigit() and 1 <= int(value) <= 12):
        raise ChargebackError("fiscal_year_start_month must be a month number from 1 to 12")
    if key in ("anomaly_pct", "anomaly_floor_pct", "low_usage_pct") and not (value.isascii() and value.replace(".", "", 1).isdigit()):
        raise ChargebackError(f"{key} must be a positive number, e.g. {DEFAULTS[key]}")
    if key in ("anomaly_pct", "anomaly_floor_pct", "low_usage_pct") and (beyond := RATIO.problem(key, D(value))) is not None:
        raise ChargebackError(beyond[1])
    if key == "low_usage_pct" and float(value) > 100:
        raise ChargebackError("low_usage_pct is a share of the usual usage, from 0 to 100")
    if key == "currency" and not (len(value) == 3 and value.isascii() and value.isalpha()):
        raise ChargebackError("currency must be a three-letter ISO code, e.g. USD")
    if key in (*GL_CODES, "unallocated_business_line") and (message := too_long(key, value, CODE)):
        raise ChargebackError(f"{message}: codes have at most {CODE} characters")
    if key == "unallocated_business_line" and (not value or has_control(value)):
        raise ChargebackError("unallocated_business_line must be a business line code, e.g. UNALLOCATED")
    if key in GL_CODES:
        reason = "it is empty" if not value else gl_code_problem(value)
        if reason:
            raise ChargebackError(f"{key} {excerpt(value)!r} cannot go to the GL journal: {reason}; "
                                  f"write the code exactly as the ERP knows it, e.g. {DEFAULTS[key]}")
    if key == "invoice_prefix" and not _PREFIX.fullmatch(value):
        raise ChargebackError(f"invoice_prefix {excerpt(value)!r} must be 1 to {PREFIX_LENGTH} letters, digits, '.', '_' "
                              f"or '-', starting with a letter or digit (numbers read PREFIX-2026-000001), e.g. CB")
    if key == "mail_from" and value and (reason := address_problem(value)):
        raise ChargebackError(f"mail_from {excerpt(value)!r} is not one e-mail address: {reason}; "
                              f"write the sender's address alone, e.g. it-billing@example.com")
    if key == "smtp_host" and value and not _HOST.fullmatch(value):
        raise ChargebackError(f"smtp_host {excerpt(value)!r} must be a host name or IP address, e.g. smtp.example.com")
    if key == "smtp_port" and not (value.isascii() and value.isdigit() and 1 <= int(value) <= 65535):
        raise ChargebackError("smtp_port must be a port number from 1 to 65535, e.g. 587")
    if key == "smtp_starttls" and value.lower() not in ("yes", "no"):
        raise ChargebackError("smtp_starttls must be yes (upgrade the connection with STARTTLS, required) or no")
    if key == "smtp_user" and (has_control(value) or too_long(key, value, NAME)):
        raise ChargebackError(f"smtp_user must be a user name without control characters, at most {NAME} characters")
    if key == "smtp_starttls":
        return value.lower()
    return value.upper() if key == "currency" else value


def change_setting(session: Session, key: str, value: str) -> None:
    value = check_setting(key, value)
    locks.lock_master_data(session)  # no close (which reads the settings) meanwhile
    if key == "fiscal_year_start_month":
        from billing.store import documents

        if documents.any_numbered(session):
            raise ChargebackError("the fiscal year start cannot change once invoices have been numbered")
    set_setting(session, key, value)
    audit.record(session, "settings.set", key, value)
