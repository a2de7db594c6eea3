"""Change a setting, checking its value by its rule (billing.core.settings.RULES)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from billing.core.problems import ChargebackError
from billing.core.settings import PREFIX_LENGTH, read_setting, setting_text
from billing.store import audit
from billing.store import locks
from billing.store.audit import set_setting

__all__ = ["PREFIX_LENGTH", "check_setting", "change_setting"]


def check_setting(key: str, value: str) -> str:
    """The text to store for ``key`` (read by its rule in billing.core.settings, then written
    back as stored: trimmed, USD for usd, yes for YES); a clear error when either is wrong."""
    return setting_text(read_setting(key, value))


def change_setting(session: Session, key: str, value: str) -> None:
    value = check_setting(key, value)
    locks.lock_master_data(session)  # no close (which reads the settings) meanwhile
    if key == "fiscal_year_start_month":
        from billing.store import documents

        if documents.any_numbered(session):
            raise ChargebackError("the fiscal year start cannot change once invoices have been numbered")
    set_setting(session, key, value)
    audit.record(session, "settings.set", key, value)
