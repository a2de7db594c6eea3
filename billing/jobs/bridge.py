"""Why each business line's bill changed: the month's bridges from what the store holds.

The bridge itself is pure (``billing.close.bridge.month_bridge``); this job reads the two
months' charges, the credit and debit notes issued in each and the tariff versions, and for a
closed month reads the bridges its close froze instead (``billing.jobs.frozen``), so a closed
month's bridge reads the same after any later tariff change.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from billing.close.bridge import Bridge, CompanyBridge, company_bridge, month_bridge
from billing.core.periods import parse_month, previous_month
from billing.core.problems import ChargebackError
from billing.core.records import Charge, DocumentRole, Invoice
from billing.store import audit
from billing.store import catalogue as catalogue_store
from billing.store import charges as charge_store
from billing.store import documents
from billing.store import org as org_store
from tariffs.model import Catalogue, Service

__all__ = ["LineBridge", "month_bridges", "line_bridge", "whole_month_bridge"]


@dataclass(frozen=True, slots=True, kw_only=True)
class LineBridge:
    """A business line's bridge with the services it names (a closed month's as frozen)."""

    business_line: str
    bridge: Bridge
    services: Mapping[str, Service]


def _notes(session: Session, month: str) -> list[Invoice]:
    """Credit and debit notes dated in ``month`` (not the cancellations of a reopen)."""
    return documents.documents_for_month(session, month, roles=[r for r in DocumentRole if r.is_correction])


def month_bridges(session: Session, month: str, charges: Sequence[Charge], catalogue: Catalogue,
                  lines: Sequence[str] | None = None) -> dict[str, Bridge]:
    """The bridge of each business line with charges or notes in ``month`` (or of ``lines``)
    from the month before, computed now from the stored charges, notes and tariff versions."""
    before = previous_month(month)
    previous = charge_store.month_charges(session, before) if charge_store.last_run(session, before) else []
    notes, previous_notes = _notes(session, month), _notes(session, before)
    codes = sorted(set(lines) if lines is not None else {c.business_line for c in charges} | {n.business_line for n in notes})
    currencies = {c.currency for c in charges} | {n.currency for n in notes}
    currency = currencies.pop() if len(currencies) == 1 else audit.settings(session).currency
    return {code: month_bridge(business_line=code, month=month, charges=charges, previous_charges=previous, notes=notes,
                               previous_notes=previous_notes, tariffs=catalogue.tariffs, currency=currency)
            for code in codes}


def line_bridge(session: Session, business_line: str, month: str) -> LineBridge:
    """``business_line``'s bridge of ``month`` (its code, any case): a closed month's as its close
    froze it, an open month's from today's tariffs. Refused for a month not rated and for a line
    the organisation does not have."""
    from billing.jobs.documents import frozen_statements  # the snapshot of a closed month, frozen once

    month = parse_month(month)
    if charge_store.last_run(session, month) is None:
        raise ChargebackError(f"{month} has not been rated yet: run `chargeback month run {month}` first")
    wanted = business_line.strip().casefold()
    code = next((b.code for b in org_store.business_lines(session) if b.code.casefold() == wanted), None)
    charges = charge_store.month_charges(session, month)
    if code is None:
        code = next((c.business_line for c in charges if c.business_line.casefold() == wanted), None)
    if code is None:
        raise ChargebackError(f"no business line {business_line.strip()!r} (see `chargeback org list`)")
    snapshot = frozen_statements(session, month, charges)
    if snapshot is not None and snapshot.bridges is not None and code in snapshot.bridges:
        return LineBridge(business_line=code, bridge=snapshot.bridges[code], services=snapshot.services)
    catalogue = catalogue_store.load_catalogue(session)
    services = {s.code: s for s in catalogue.services} | dict(snapshot.services if snapshot else {})
    return LineBridge(business_line=code, bridge=month_bridges(session, month, charges, catalogue, lines=[code])[code],
                      services=services)


def whole_month_bridge(session: Session, month: str, charges: Sequence[Charge]) -> CompanyBridge | None:
    """The company's bridge of ``month`` (every business line charged, or given a note, in it or
    the month before): a closed month's lines as its close froze them, any other line (one
    charged only the month before: its ended services and corrections, which no tariff prices)
    and an open month's from the store. None when the month before was not rated."""
    from billing.jobs.documents import frozen_statements  # the snapshot of a closed month, frozen once

    before = previous_month(month)
    if charge_store.last_run(session, before) is None:
        return None
    snapshot = frozen_statements(session, month, charges)
    frozen = dict(snapshot.bridges or {}) if snapshot is not None else {}
    codes = ({c.business_line for c in charges} | {c.business_line for c in charge_store.month_charges(session, before)}
             | {n.business_line for n in _notes(session, month) + _notes(session, before)})
    missing = sorted(codes - set(frozen))
    catalogue = catalogue_store.load_catalogue(session)
    bridges = frozen | (month_bridges(session, month, charges, catalogue, lines=missing) if missing else {})
    currencies = {b.currency for b in bridges.values()} or {audit.settings(session).currency}
    if len(currencies) > 1:
        raise ChargebackError(f"{month}'s business lines are charged in {', '.join(sorted(currencies))}: "
                              f"the month's bridge adds up one currency")
    return company_bridge([b for code, b in bridges.items() if code in codes], month=month, currency=currencies.pop())
