"""Finance's month pack read from the store (``chargeback month pack``): the month review, the
recovery report, the quarantine, the service levels missed and their credits, in one record
(billing.close.pack.MonthPack); the shell renders it (reports/pack.py)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy.orm import Session

from billing.close.pack import MonthPack, by_service, credits, missed_levels, reject_groups
from billing.core.periods import parse_month
from billing.core.problems import ChargebackError
from billing.jobs.bridge import whole_month_bridge
from billing.jobs.recovery import recovery_for, rules_location
from billing.jobs.review import review_stored_month
from billing.store import audit
from billing.store import catalogue as catalogue_store
from billing.store import charges as charge_store
from billing.store import costs as cost_store
from billing.store import locks
from billing.store import org as org_store
from billing.store import usage as usage_store


def month_pack(session: Session, month: str, *, rules_path: Path | None = None,
               generated_at: dt.datetime | None = None) -> MonthPack:
    """The month pack of a rated month, open (a draft, for the meeting before the close) or
    closed; recorded in the audit trail."""
    month = parse_month(month)
    locks.lock_month(session, month, shared=True)  # not half before and half after a close
    review = review_stored_month(session, month, rules_path=rules_path, show_all=True)
    charges = charge_store.month_charges(session, month)
    services = {s.code: s for s in catalogue_store.load_catalogue(session).services}
    unallocated_code = audit.settings(session).unallocated_business_line
    rows = usage_store.rejects(session, month=month)
    recovery, note = None, None
    if not cost_store.cost_lines(session, [month], "actual"):
        note = f"no actual IT costs are loaded for {month} (`chargeback costs load FILE`)"
    elif not rules_location(rules_path).exists():
        note = f"no allocation rules at {rules_location(rules_path)}"
    else:
        try:
            recovery = recovery_for(session, month=month, rules_path=rules_path)
        except ChargebackError as exc:
            note = str(exc)
    held = charge_store.held_usage(session, month)
    pack = MonthPack(
        month=month, status=review.status, currency=review.review.currency or audit.settings(session).currency,
        generated_at=generated_at or audit.now(), review=review, unallocated_code=unallocated_code,
        unallocated=by_service(charges, services, business_line=unallocated_code),
        rejects=reject_groups(rows), reject_rows=len(rows),
        missed=missed_levels(charge_store.sla_results(session, month), services), credits=credits(charges),
        recovery=recovery, recovery_note=note,
        business_line_names={b.code: b.name for b in org_store.business_lines(session)},
        service_names={code: s.name for code, s in services.items()},
        bridge=whole_month_bridge(session, month, charges),
        held=tuple(h.usage for h in held), held_from=tuple(h.came_from for h in held),
    )
    audit.record(session, "month.pack", month, f"{review.status}, {len(review.review.by_business_line)} business lines")
    return pack
