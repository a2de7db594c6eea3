"""Close and reopen a month: the only place invoices are issued.

Closing checks the stored charges are still what the inputs give (else finance reviewed stale
figures), issues one invoice per business line with numbers from the fiscal year's gap-free
sequence, and locks the month. Reopening (for mistakes) is recorded with its reason and
cancels the month's invoices with credit notes, so issued documents never change.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.orm import Session

from billing.close.invoicing import cancellation, draft_invoices
from billing.core.money import ZERO
from billing.core.periods import fiscal_year, parse_month
from billing.core.problems import Ask, Asked, ChargebackError, NeedsConfirmation
from billing.core.records import Invoice
from billing.store import audit
from billing.store import catalogue as catalogue_store
from billing.store import charges as charge_store
from billing.store import documents
from billing.store import locks
from billing.store import org as org_store
from tariffs.model import ChargingMode


@dataclass(frozen=True, slots=True)
class CloseResult:
    month: str
    invoices: tuple[Invoice, ...]
    total: Decimal
    showback_total: Decimal
    confirmed: tuple[str, ...] = ()  # the warnings the close was confirmed over
    currency: str = ""  # the month's charges' currency ("" when nothing was rated)


def fiscal_year_of(session: Session, month: str) -> int:
    return fiscal_year(month, audit.settings(session).fiscal_year_start_month)


def closed_meanwhile(session: Session, month: str) -> str | None:
    """The line for a month found closed after waiting for another command's lock: that
    command closed it. None when this command did not wait."""
    closing = charge_store.closing(session, month)
    if closing is None or not locks.waited(session):
        return None
    by, at = closing
    return f"{month} was closed by another command ({by}) at {at:%Y-%m-%d %H:%M} while this one waited; nothing was done"


def close_month(session: Session, month: str, *, issue_date: dt.date | None = None, confirm: bool = False,
                today: dt.date | None = None) -> CloseResult:
    month = parse_month(month)
    locks.lock_month(session, month)  # every check below holds until the commit
    if charge_store.period_status(session, month) == "closed":
        raise ChargebackError(closed_meanwhile(session, month) or
                              f"{month} is already closed; its invoices are issued. To correct it, issue a credit or "
                              f"debit note with `chargeback adjust`, or reopen it with `chargeback month reopen {month}` "
                              f"and a reason", asks_for=(Asked(Ask.REASON, "..."),))
    run = charge_store.last_run(session, month)
    if run is None:
        raise ChargebackError(f"{month} has not been rated: run `chargeback month run {month}`, review it with "
                              f"`chargeback month review {month}`, then close it")
    if charge_store.inputs_hash(session, month) != run.inputs_hash:
        raise ChargebackError(f"{month}'s usage, tariffs, subscriptions or service levels changed since it was rated at "
                              f"{run.run_at:%Y-%m-%d %H:%M}: run `chargeback month run {month}` and review it again before closing")
    from billing.jobs.review import month_warnings

    warnings = month_warnings(session, month, today=today)
    if warnings and not confirm:
        raise NeedsConfirmation(f"{month} was not closed: check it with `chargeback month review {month}`, then close it "
                                f"with a confirmation if this is meant",
                                [w.message for w in warnings])
    stored = charge_store.month_charges(session, month)
    issue_date = issue_date or dt.date.today()
    catalogue = catalogue_store.load_catalogue(session)
    lines = {b.code: b for b in org_store.business_lines(session)}
    drafts = draft_invoices(
        month=month, charges=stored, services={s.code: s for s in catalogue.services}, business_lines=lines,
        gl_codes=org_store.cost_center_gl_codes(session), issue_date=issue_date,
    )
    user, at = audit.current_user(), audit.now()
    year, prefix = fiscal_year_of(session, month), audit.settings(session).invoice_prefix
    ids = charge_store.charge_ids(session, month)
    issued = tuple(documents.issue(session, d, fiscal_year=year, prefix=prefix, user=user, at=at, charge_ids=ids) for d in drafts)
    invoiced = sum((i.total for i in issued), ZERO)
    rated = sum((c.amount for c in stored if c.charging_mode is ChargingMode.CHARGEBACK), ZERO)
    if invoiced != rated:  # never an assert: this must hold in production
        raise ChargebackError(f"internal check failed: invoices total {invoiced} but {month} rated {rated}; nothing was closed")
    charge_store.set_period(session, month, "closed", user=user, at=at)
    from billing.jobs.documents import freeze_month  # what the month's documents are rendered from, frozen

    freeze_month(session, month, run_id=run.id, user=user, at=at, charges=stored)
    audit.record(session, "month.close", month, f"{len(issued)} invoices, total {invoiced}"
                 + "".join(f"; confirmed: {w.message}" for w in warnings))
    showback = sum((c.amount for c in stored if c.charging_mode is ChargingMode.SHOWBACK), ZERO)
    return CloseResult(month=month, invoices=issued, total=invoiced, showback_total=showback,
                       confirmed=tuple(w.message for w in warnings), currency=next((c.currency for c in stored), ""))


def reopen_month(session: Session, month: str, *, reason: str, issue_date: dt.date | None = None) -> tuple[Invoice, ...]:
    month = parse_month(month)
    if not reason or not reason.strip():
        raise ChargebackError("say why the month is reopened: give a reason", asks_for=(Asked(Ask.REASON, "TEXT"),))
    locks.lock_month(session, month)
    if charge_store.period_status(session, month) != "closed":
        meanwhile = " (another command reopened it while this one waited)" if locks.waited(session) else ""
        raise ChargebackError(f"{month} is not closed{meanwhile}; there is nothing to reopen; nothing was done")
    user, at = audit.current_user(), audit.now()
    year, prefix = fiscal_year_of(session, month), audit.settings(session).invoice_prefix
    notes = tuple(
        documents.issue(session, cancellation(invoice, month=month, issue_date=issue_date or dt.date.today(),
                                              reason=f"month reopened: {reason.strip()}"),
                        fiscal_year=year, prefix=prefix, user=user, at=at)
        for invoice in documents.live_invoices(session, month)
    )
    charge_store.set_period(session, month, "open", user=user, at=at)
    audit.record(session, "month.reopen", month, f"reason: {reason.strip()}; {len(notes)} invoices cancelled by credit notes")
    return notes
