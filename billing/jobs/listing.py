"""What the list and show commands read: one job each, records out, nothing printed.

`settings show`, `audit`, `org list`, `subscriptions list`, `usage feeds`, `usage rejects`,
`costs rejects`, `drivers list`, `invoices list` and `invoices show` are shells over these
(cli.py prints them; the library API and the portal may read the same), so no shell reads the
store itself.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.orm import Session

from billing.core.problems import ChargebackError
from billing.core.records import BusinessLine, Invoice, Ownership, RejectedRow, Subscription
from billing.jobs.usage_sources import check_source_name
from billing.store import audit
from billing.store import catalogue as catalogue_store
from billing.store import costs as cost_store
from billing.store import documents as document_store
from billing.store import org as org_store
from billing.store import usage as usage_store
from billing.store.audit import AuditEntry
from billing.store.usage import FeedInfo

__all__ = [
    "AuditTrail", "DriverTotal", "audit_trail", "business_lines", "cost_centre_owners", "cost_rejects", "document",
    "driver_totals", "month_documents", "setting_texts", "subscriptions_in_force", "usage_feeds", "usage_rejects",
]


def setting_texts(session: Session) -> dict[str, str]:
    """Every setting as its stored text (a default where none is stored), in the settings' order."""
    return audit.all_settings(session)


@dataclass(frozen=True, slots=True)
class AuditTrail:
    """The newest events of the audit trail, newest first, and how many older ones are not in it."""

    events: tuple[AuditEntry, ...]
    older: int


def audit_trail(session: Session, *, limit: int) -> AuditTrail:
    found = tuple(audit.events(session, limit=limit))
    return AuditTrail(events=found, older=max(0, audit.event_count(session) - limit))


def business_lines(session: Session) -> list[BusinessLine]:
    return org_store.business_lines(session)


def cost_centre_owners(session: Session) -> list[Ownership]:
    """Every cost centre's effective-dated owners."""
    return org_store.ownerships(session)


def subscriptions_in_force(session: Session, *, on: dt.date | None = None) -> list[Subscription]:
    """The subscriptions (those in force ``on`` a day, when given)."""
    return [s for s in catalogue_store.load_subscriptions(session) if on is None or s.in_force(on)]


def usage_feeds(session: Session, *, month: str | None = None, source: str | None = None) -> list[FeedInfo]:
    """The usage feeds loaded (of a month or a known source), with their reconciliation counts."""
    if source:
        check_source_name(session, source)
    return usage_store.feeds(session, month=month, source=source)


def usage_rejects(session: Session, *, month: str | None = None, source: str | None = None,
                  feed: int | None = None) -> list[RejectedRow]:
    """The usage rows active feeds refused (of a month, a known source or a feed)."""
    if source:
        check_source_name(session, source)
    return usage_store.rejects(session, month=month, source=source, feed=feed)


def cost_rejects(session: Session) -> list[RejectedRow]:
    """The cost rows active cost feeds refused."""
    return cost_store.rejects(session)


@dataclass(frozen=True, slots=True)
class DriverTotal:
    """A loaded allocation driver in a month: how many business lines carry it and its total."""

    month: str
    driver: str
    business_lines: int
    total: Decimal


def driver_totals(session: Session) -> list[DriverTotal]:
    return [DriverTotal(month=m, driver=d, business_lines=n, total=total) for m, d, n, total in cost_store.driver_summary(session)]


def month_documents(session: Session, month: str) -> list[Invoice]:
    """The documents (invoices, credit and debit notes) dated in ``month``."""
    return document_store.documents_for_month(session, month)


def document(session: Session, number: str) -> Invoice:
    """The document numbered ``number``; refused when there is none."""
    found = document_store.by_number(session, number)
    if found is None:
        raise ChargebackError(f"no document numbered {number!r}")
    return found
