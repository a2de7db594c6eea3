"""Rate a month: read what the pure core needs, price it, store the charges."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.orm import Session

from billing.core.money import ZERO
from billing.core.periods import parse_month
from billing.core.problems import Ask, Asked, ChargebackError, ProblemsError, errors
from billing.close.review import CloseWarning
from billing.rating.month import RatedMonth, rate_month
from billing.store import audit
from billing.store import catalogue as catalogue_store
from billing.store import charges as charge_store
from billing.store import locks
from billing.store.rating_inputs import held_origins, month_inputs


@dataclass(frozen=True, slots=True)
class RunResult:
    month: str
    run_id: int
    rated: RatedMonth
    totals: dict[tuple[str, str], Decimal]  # (charging mode, currency) → total
    flagged: int
    warnings: tuple[CloseWarning, ...] = ()  # what closing the month would have to confirm


def rate_stored_month(session: Session, month: str, *, tier_override=None) -> RatedMonth:
    """Price ``month`` from what is stored, without writing anything."""
    catalogue = catalogue_store.load_catalogue(session)
    if not catalogue.services:
        raise ChargebackError("no catalogue is loaded yet: run `chargeback tariffs load DIR` first")
    inputs = month_inputs(session, month, catalogue=catalogue)
    return rate_month(month=month, catalogue=catalogue, subscriptions=inputs.subscriptions, ownerships=inputs.ownerships,
                      usage=inputs.usage, sla=inputs.sla, tier_override=tier_override,
                      fiscal_year_start=inputs.fiscal_year_start, year_to_date=inputs.year_to_date_by_pair(),
                      business_lines=inputs.business_lines, fees_billed=inputs.fees_billed)


def run_month(session: Session, month: str) -> RunResult:
    month = parse_month(month)
    locks.lock_month(session, month)  # no load, close or other run of the month meanwhile
    if charge_store.period_status(session, month) == "closed":
        from billing.jobs.close import closed_meanwhile

        raise ChargebackError(
            closed_meanwhile(session, month) or
            f"{month} is closed and its charges never change; corrections go into an open month "
            f"(`chargeback adjust`), or reopen it with `chargeback month reopen {month}` and a reason",
            asks_for=(Asked(Ask.REASON, "..."),),
        )
    rated = rate_stored_month(session, month)
    if errors(rated.problems):
        raise ProblemsError(list(rated.problems), f"{month}: {len(errors(rated.problems))} problem(s); no charges were written")
    totals: dict[tuple[str, str], Decimal] = {}
    for charge in rated.charges:
        key = (charge.charging_mode, charge.currency)
        totals[key] = totals.get(key, ZERO) + charge.amount
    user, at = audit.current_user(), audit.now()
    run_id = charge_store.replace_charges(
        session, month, rated.charges, usage_rows=rated.usage_rows, total=rated.total(), user=user, at=at,
        version_ids=catalogue_store.tariff_version_ids(session), inputs_hash=charge_store.inputs_hash(session, month),
    )
    charge_store.replace_held(session, month, run_id, rated.held, held_origins(session, month, rated.held))
    flagged = sum(1 for c in rated.charges if c.flags)
    audit.record(session, "month.run", month, f"run {run_id}: {len(rated.charges)} charges, {rated.usage_rows} usage rows, total {rated.total()}"
                 + (f", {sum(h.rows for h in rated.held)} usage rows held" if rated.held else ""))
    from billing.jobs.review import month_warnings

    return RunResult(month=month, run_id=run_id, rated=rated, totals=totals, flagged=flagged,
                     warnings=month_warnings(session, month))
