"""Periods, rating runs and charges in the store."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from billing.core.money import ZERO
from billing.core.records import Charge, CostCenterShare, RatingRun, SlaResult
from billing.rating.month import HeldUsage
from billing.store import schema as t
from billing.store.bulk import bulk_insert
from billing.store.types import decimal_text
from tariffs.model import ChargingMode, Working, WorkingKind


@dataclass(frozen=True, slots=True)
class HeldRecord:
    """Held usage as stored: the rating's record and the feeds it came from."""

    usage: HeldUsage
    came_from: str


def period_status(session: Session, month: str) -> str:
    period = session.get(t.Period, month)
    return period.status if period else "open"


def closing(session: Session, month: str) -> tuple[str, dt.datetime] | None:
    """Who closed ``month`` and when, or None when it is open."""
    period = session.get(t.Period, month)
    if period is None or period.status != "closed":
        return None
    return period.closed_by or "unknown", period.closed_at


def period_months(session: Session) -> list[str]:
    """Every month with a period row (closed, or closed once and reopened), in order."""
    return list(session.scalars(select(t.Period.month).order_by(t.Period.month)))


def closed_months(session: Session) -> list[str]:
    return list(session.scalars(select(t.Period.month).where(t.Period.status == "closed").order_by(t.Period.month)))


def set_period(session: Session, month: str, status: str, *, user: str, at: dt.datetime) -> None:
    period = session.get(t.Period, month)
    if period is None:
        period = t.Period(month=month, status=status)
        session.add(period)
    period.status = status
    period.closed_at = at if status == "closed" else None
    period.closed_by = user if status == "closed" else None
    session.flush()


def rated_months(session: Session) -> list[str]:
    return list(session.scalars(select(t.RatingRun.month).distinct().order_by(t.RatingRun.month)))


def last_run(session: Session, month: str) -> RatingRun | None:
    """The month's latest rating run, or None when it was never rated."""
    run = session.scalar(select(t.RatingRun).where(t.RatingRun.month == month).order_by(t.RatingRun.id.desc()).limit(1))
    if run is None:
        return None
    return RatingRun(id=run.id, month=run.month, run_at=run.run_at, run_by=run.run_by, usage_rows=run.usage_rows,
                     total=run.total, inputs_hash=run.inputs_hash)


def replace_charges(session: Session, month: str, charges: tuple[Charge, ...], *, usage_rows: int, total: Decimal,
                    user: str, at: dt.datetime, version_ids: dict[tuple[str, str], int], inputs_hash: str) -> int:
    """Write the month's charges under a new run; returns the run id.

    Earlier runs' charges are deleted, except those an issued invoice line points to (a month
    that was closed and reopened): they stay, so old documents still trace to their charges.
    Readers take the latest run's charges.
    """
    month_ids = set(session.scalars(select(t.Charge.id).where(t.Charge.month == month)))
    cited = set(session.scalars(
        select(t.InvoiceLine.charge_id).join(t.Charge, t.Charge.id == t.InvoiceLine.charge_id).where(t.Charge.month == month)
    ))
    old = sorted(month_ids - cited)
    for chunk in range(0, len(old), 10_000):
        ids = old[chunk:chunk + 10_000]
        session.execute(delete(t.ChargeCostCenter).where(t.ChargeCostCenter.charge_id.in_(ids)))
        session.execute(delete(t.Charge).where(t.Charge.id.in_(ids)))
    run = t.RatingRun(month=month, run_at=at, run_by=user, usage_rows=usage_rows, total=total, inputs_hash=inputs_hash)
    session.add(run)
    session.flush()
    lines = dict(session.execute(select(t.BusinessLine.code, t.BusinessLine.id)).all())
    centers = dict(session.execute(select(t.CostCenter.code, t.CostCenter.id)).all())
    values = [
        dict(
            run_id=run.id, month=month, line_no=charge.line_no, kind=charge.kind.value,
            business_line_id=lines[charge.business_line], service_code=charge.service, tier_code=charge.tier,
            tariff_version_id=version_ids[(charge.service, charge.tariff_version)], charging_mode=charge.charging_mode.value,
            segment_from=charge.segment_from, segment_to=charge.segment_to, days_in_force=charge.days_in_force,
            model=charge.model.value,
            quantity=charge.quantity, included=charge.included, billable=charge.billable, cost=charge.cost,
            exact_amount=charge.exact_amount, amount=charge.amount, currency=charge.currency, detail=charge.detail,
            flags="; ".join(charge.flags) or None, credit_of_line=charge.credit_of_line, usage_rows=charge.usage_rows,
            credit_metric=charge.credit_metric.value if charge.credit_metric else None,
            label=charge.label or None, period_from=charge.period_from, period_to=charge.period_to,
            workings=workings_text(charge.workings),
            dimension=charge.dimension, dimension_value=charge.dimension_value,
        )
        for charge in charges
    ]
    ids: dict[int, int] = {}
    if values:
        # a plain executemany, then one query for the ids: INSERT ... RETURNING over many rows
        # is far slower (SQLAlchemy splices the returned rows batch by batch)
        session.connection().execute(insert(t.Charge.__table__), values)
        ids = dict(session.execute(select(t.Charge.line_no, t.Charge.id).where(t.Charge.run_id == run.id)).all())
    as_stored = (lambda d: d) if session.connection().dialect.name == "postgresql" else decimal_text
    shares = [
        (ids[charge.line_no], centers.get(share.cost_center), as_stored(share.quantity), as_stored(share.amount))
        for charge in charges for share in charge.cost_centers
    ]
    bulk_insert(session, "charge_cost_center", ("charge_id", "cost_center_id", "quantity", "amount"), shares)
    return run.id


def replace_held(session: Session, month: str, run_id: int, held: Sequence[HeldUsage],
                 came_from: Sequence[str]) -> None:
    """The usage run ``run_id`` held (``came_from``: where each came from), in place of what an
    earlier run of the month held: usage a run priced is no longer held."""
    session.execute(delete(t.HeldUsage).where(t.HeldUsage.month == month))
    if held:
        session.connection().execute(insert(t.HeldUsage.__table__), [
            dict(run_id=run_id, month=month, business_line_code=h.business_line, service_code=h.service,
                 tier_code=h.tier, tariff_version=h.tariff_version, dimension=h.dimension, value=h.value,
                 quantity=h.quantity, cost=h.cost, usage_rows=h.rows, first_day=h.first_day, last_day=h.last_day,
                 came_from=origin, reason=h.hint)
            for h, origin in zip(held, came_from, strict=True)])


def held_usage(session: Session, month: str) -> list[HeldRecord]:
    """What the month's latest run held, in business line, service and value order."""
    rows = session.scalars(select(t.HeldUsage).where(t.HeldUsage.month == month).order_by(
        t.HeldUsage.business_line_code, t.HeldUsage.service_code, t.HeldUsage.tier_code, t.HeldUsage.value,
        t.HeldUsage.id))
    return [HeldRecord(usage=HeldUsage(
        business_line=r.business_line_code, service=r.service_code, tier=r.tier_code, tariff_version=r.tariff_version,
        dimension=r.dimension, value=r.value, quantity=r.quantity, cost=r.cost, rows=r.usage_rows, hint=r.reason,
        first_day=r.first_day, last_day=r.last_day), came_from=r.came_from) for r in rows]


def inputs_hash(session: Session, month: str) -> str:
    """A fingerprint of everything rating ``month`` reads: its active feeds, the catalogue and
    tariff versions, subscriptions, cost-centre owners and service levels."""
    import hashlib

    from billing.core.periods import first_day, last_day
    from billing.store.usage import active_feed_ids

    start_of_month, end = first_day(month), last_day(month)
    parts: list[object] = [
        active_feed_ids(session, month),
        sorted(session.execute(select(t.CatalogueService.code, t.CatalogueService.content_hash)).all()),
        sorted(session.execute(select(t.TariffVersionRow.id, t.TariffVersionRow.content_hash)).all()),
        # columns, not ORM objects (the same values, so the same fingerprint): read on every run
        sorted((line, service, tier, str(start), str(to)) for line, service, tier, start, to in session.execute(
            select(t.Subscription.business_line_id, t.Subscription.service_code, t.Subscription.tier_code,
                   t.Subscription.effective_from, t.Subscription.effective_to))
               if start <= end and (to is None or to >= start_of_month)),
        sorted((center, line, str(start), str(to)) for center, line, start, to in session.execute(
            select(t.CostCenterOwner.cost_center_id, t.CostCenterOwner.business_line_id,
                   t.CostCenterOwner.effective_from, t.CostCenterOwner.effective_to))),
        sorted((service, tier, line, metric, str(achieved)) for service, tier, line, metric, achieved in session.execute(
            select(t.SlaMeasurement.service_code, t.SlaMeasurement.tier_code, t.SlaMeasurement.business_line_code,
                   t.SlaMeasurement.metric, t.SlaMeasurement.achieved).where(t.SlaMeasurement.month == month))),
    ]
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def month_charges(session: Session, month: str) -> list[Charge]:
    """The month's charges (its latest run) as records, in line order, with their cost-centre splits."""
    run = last_run(session, month)
    if run is None:
        return []
    return [charge for _, charge in _charge_records(session, [t.Charge.run_id == run.id])]


def chargeback_totals(session: Session, months: Sequence[str]) -> dict[str, dict[tuple[str, str], Decimal]]:
    """Each of ``months``' chargeback total (its latest run) per business line and per service:
    month → ("business line" | "service", code) → amount; months never rated give nothing."""
    if not months:
        return {}
    latest = select(func.max(t.RatingRun.id)).where(t.RatingRun.month.in_(list(months))).group_by(t.RatingRun.month)
    rows = session.execute(
        select(t.Charge.month, t.BusinessLine.code, t.Charge.service_code, t.Charge.amount)
        .join(t.BusinessLine, t.BusinessLine.id == t.Charge.business_line_id)
        .where(t.Charge.run_id.in_(latest), t.Charge.charging_mode == ChargingMode.CHARGEBACK.value)
    )
    totals: dict[str, dict[tuple[str, str], Decimal]] = {}
    for month, line, service, amount in rows:
        month_totals = totals.setdefault(month, {})
        for key in (("business line", line), ("service", service)):
            month_totals[key] = month_totals.get(key, ZERO) + amount
    return totals


def issued_charges(session: Session, numbers: list[str]) -> dict[tuple[str, int], Charge]:
    """(document number, line number) → the charge each line of documents ``numbers`` was
    issued from, with its cost-centre split. Lines without a charge (notes) are absent."""
    found: dict[tuple[str, int], Charge] = {}
    for chunk in range(0, len(numbers), 1000):
        rows = session.execute(
            select(t.InvoiceLine.charge_id, t.Invoice.number, t.InvoiceLine.line_no)
            .join(t.Invoice, t.Invoice.id == t.InvoiceLine.invoice_id)
            .where(t.Invoice.number.in_(numbers[chunk:chunk + 1000]), t.InvoiceLine.charge_id.is_not(None))
        ).all()
        by_charge: dict[int, list[tuple[str, int]]] = {}
        for charge_id, number, line_no in rows:
            by_charge.setdefault(charge_id, []).append((number, line_no))
        ids = sorted(by_charge)
        for start in range(0, len(ids), 1000):
            for charge_id, charge in _charge_records(session, [t.Charge.id.in_(ids[start:start + 1000])]):
                for key in by_charge[charge_id]:
                    found[key] = charge
    return found


def workings_text(workings: Sequence[Working]) -> str | None:
    """A charge's workings as the JSON the charge row keeps (None: none)."""
    if not workings:
        return None
    return json.dumps([
        {"kind": w.kind.value, "text": w.text, "amount": str(w.amount),
         **({"quantity": str(w.quantity)} if w.quantity is not None else {}),
         **({"rate": str(w.rate)} if w.rate is not None else {}),
         **({"base": str(w.base)} if w.base is not None else {}),
         **({"share": list(w.share)} if w.share is not None else {})}
        for w in workings
    ], ensure_ascii=False, separators=(",", ":"))


def workings_of(text: str | None) -> tuple[Working, ...]:
    """The workings a charge row keeps (none on a charge rated before 0010)."""
    if not text:
        return ()
    return tuple(
        Working(kind=WorkingKind(w["kind"]), text=w["text"], amount=Decimal(w["amount"]),
                quantity=Decimal(w["quantity"]) if "quantity" in w else None,
                rate=Decimal(w["rate"]) if "rate" in w else None,
                base=Decimal(w["base"]) if "base" in w else None,
                share=(int(w["share"][0]), int(w["share"][1])) if "share" in w else None)
        for w in json.loads(text)
    )


def _charge_records(session: Session, where: list) -> list[tuple[int, Charge]]:
    """Charges matching ``where`` as (charge id, record), in month and line order."""
    bl = t.BusinessLine
    version = t.TariffVersionRow
    c = t.Charge  # its columns, not ORM objects (thousands of charges in a big month)
    columns = (c.id, c.line_no, c.kind, c.service_code, c.tier_code, c.charging_mode, c.segment_from, c.segment_to,
               c.model, c.quantity, c.included, c.billable, c.cost, c.exact_amount, c.amount, c.currency, c.detail,
               c.flags, c.credit_of_line, c.usage_rows, c.credit_metric, c.days_in_force, c.label, c.period_from,
               c.period_to, c.workings, c.dimension, c.dimension_value)
    rows = session.execute(
        select(*columns, bl.code.label("business_line_code"), version.version.label("version_code"))
        .join(bl, bl.id == t.Charge.business_line_id)
        .join(version, version.id == t.Charge.tariff_version_id)
        .where(*where)
        .order_by(t.Charge.month, t.Charge.line_no, t.Charge.id)
    ).all()
    shares: dict[int, list[CostCenterShare]] = {}
    share_rows = session.execute(
        select(t.ChargeCostCenter.charge_id, t.CostCenter.code, t.ChargeCostCenter.quantity, t.ChargeCostCenter.amount)
        .outerjoin(t.CostCenter, t.CostCenter.id == t.ChargeCostCenter.cost_center_id)
        .join(t.Charge, t.Charge.id == t.ChargeCostCenter.charge_id)
        .where(*where)
        .order_by(t.ChargeCostCenter.id)
    )
    for charge_id, code, quantity, amount in share_rows:
        shares.setdefault(charge_id, []).append(CostCenterShare(cost_center=code or "", quantity=quantity, amount=amount))
    return [
        (c.id, Charge(
            line_no=c.line_no, kind=c.kind, business_line=c.business_line_code, service=c.service_code, tier=c.tier_code,
            tariff_version=c.version_code, charging_mode=c.charging_mode, segment_from=c.segment_from, segment_to=c.segment_to,
            model=c.model, quantity=c.quantity, included=c.included, billable=c.billable, cost=c.cost,
            exact_amount=c.exact_amount, amount=c.amount, currency=c.currency, detail=c.detail,
            flags=tuple(c.flags.split("; ")) if c.flags else (), credit_of_line=c.credit_of_line,
            usage_rows=c.usage_rows, cost_centers=tuple(shares.get(c.id, ())), credit_metric=c.credit_metric,
            days_in_force=c.days_in_force, label=c.label or "", period_from=c.period_from, period_to=c.period_to,
            workings=workings_of(c.workings),
            dimension=c.dimension, dimension_value=c.dimension_value,
        ))
        for c in rows
    ]


def charge_ids(session: Session, month: str) -> dict[int, int]:
    """line_no → charge id for the month's latest run."""
    run = last_run(session, month)
    if run is None:
        return {}
    return dict(session.execute(select(t.Charge.line_no, t.Charge.id).where(t.Charge.run_id == run.id)).all())


def run_currency(session: Session, run_id: int) -> str | None:
    """The currency of a rating run's charges (the first, when a catalogue prices in several)."""
    return session.scalar(select(t.Charge.currency).where(t.Charge.run_id == run_id).order_by(t.Charge.line_no).limit(1))


def month_total(session: Session, month: str) -> Decimal:
    return sum((c.amount for c in month_charges(session, month) if c.charging_mode is ChargingMode.CHARGEBACK), ZERO)


# --- service levels --------------------------------------------------------------------------


def sla_results(session: Session, month: str) -> list[SlaResult]:
    rows = session.scalars(select(t.SlaMeasurement).where(t.SlaMeasurement.month == month).order_by(t.SlaMeasurement.id))
    return [
        SlaResult(service=r.service_code, tier=r.tier_code, metric=r.metric, achieved=r.achieved,
                  business_line=r.business_line_code or None)
        for r in rows
    ]

