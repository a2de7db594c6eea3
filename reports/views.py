"""View models: what a statement or a month export shows, made from records (pure).

Frozen, already-rounded figures and plain text; no I/O, no clock, no money formatting (the
renderers format through ``reports.filters``). Amounts arrive rounded (``Charge.amount``,
``InvoiceLine.amount``) and are only added up here, never rounded. Percentages are exact
ratios (× 100); the renderers decide how many decimals to show.

- :func:`statement_view` — one business line and month, for ``reports.html``.
- :func:`month_export_view` — every invoiced line of a month split by cost centre, for
  ``reports.xlsx`` and ``reports.csv_export``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal

from billing.close.bridge import Bridge
from billing.close.invoicing import draft_invoices
from billing.core.money import ZERO, amount_text, apportion
from billing.core.periods import days_in_month, first_day, month_of, previous_month
from billing.close.statement import BudgetFigure, ExportInputs, StatementInputs, TierQuote, as_arguments
from billing.close.trends import CostHistory
from billing.core.records import BusinessLine, Charge, Invoice, InvoiceLine, SlaResult
from billing.planning.budget_bridge import BUDGET_STEP_LABELS, BudgetBridge
from billing.planning.burn import BudgetBurn
from reports.summary import (
    BurnView, CostTrend, ServiceLevelSummary, TierChange, best_tier_change, burn_view, cost_trend, service_level_summary,
)
from reports.bridge import BridgeView, bridge_view
from tariffs.model import Metric, Service, ServiceLevel, Working, WorkingKind

__all__ = [
    "TierQuote", "BudgetFigure",
    "ComponentLine", "PricingStep", "StatementLine", "SlaRow", "TierOption", "BudgetRow", "StatementView", "statement_view",
    "BudgetStepRow", "DetailRow", "MonthExportView", "month_export_view",
    "month_label", "service_levels_text", "statement_views", "export_view", "working_steps", "working_lines",
]

_MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
                "October", "November", "December")
NBSP = "\u00a0"
_METRIC_LABELS = {
    Metric.AVAILABILITY_PCT: "Availability",
    Metric.RESPONSE_MINUTES: "Response time",
    Metric.RESTORE_HOURS: "Restore time",
}


# --------------------------------------------------------------------------- inputs: billing.close.statement


# --------------------------------------------------------------------------- statement


@dataclass(frozen=True, slots=True, kw_only=True)
class ComponentLine:
    """A part of a composite business service, shown indented under it (not charged apart)."""

    service_code: str
    service_name: str
    quantity: Decimal
    unit: str
    amount: Decimal | None = None  # its share of the parent's amount, when known (already in the parent)


@dataclass(frozen=True, slots=True, kw_only=True)
class PricingStep:
    """One step of how a line was priced ("250 @ 0.12", "monthly fee 150.00 × 14/30"), with
    its amount in the currency's minor units: a line's step amounts add up to its amount
    exactly. ``amount`` is None on a step that only says something (the included quantity)."""

    text: str
    amount: Decimal | None


@dataclass(frozen=True, slots=True, kw_only=True)
class StatementLine:
    service_code: str
    service_name: str
    tier_name: str
    description: str  # "" for usage; what a credit or correction is, otherwise
    quantity: Decimal | None  # None on credits and corrections
    unit: str
    detail: str  # how the amount was priced, in one line, e.g. "250 @ 0.12 + 80 @ 0.10"
    amount: Decimal
    kind: str  # usage | sla_credit | adjustment
    flags: tuple[str, ...] = ()
    components: tuple[ComponentLine, ...] = ()
    #: how the amount was priced, step by step (tariffs.pricing's workings): the amounts add up to ``amount``
    steps: tuple[PricingStep, ...] = ()
    #: a usage line in force for part of the month: its days, and the tier change that ended or began them
    in_force: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class SlaRow:
    service_name: str
    tier_name: str
    metric_label: str
    target_text: str  # "99.90 %", "30 min", "no target"
    achieved_text: str
    met: bool | None  # None when the tier has no target for the metric
    credit: Decimal | None  # the service credit this miss earned, on the metric that gave it


@dataclass(frozen=True, slots=True, kw_only=True)
class TierOption:
    service_name: str
    tier_name: str
    is_current: bool
    amount: Decimal  # this month's usage priced at this tier
    difference: Decimal  # amount - the current tier's amount
    difference_pct: Decimal | None  # None when the current amount is zero
    service_levels: str
    advice: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class BudgetRow:
    service_name: str
    budget_ytd: Decimal
    actual_ytd: Decimal
    variance: Decimal  # actual - budget: positive means over budget
    variance_pct: Decimal | None  # None when the budget is zero


@dataclass(frozen=True, slots=True, kw_only=True)
class BudgetStepRow:
    """One step of the year to date against the budget, with the services that moved it (the
    largest first, as (name, amount))."""

    label: str
    amount: Decimal
    parts: tuple[tuple[str, Decimal], ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class StatementView:
    business_line_code: str
    business_line_name: str
    head_name: str | None
    division: str | None
    month: str  # 2026-03
    month_label: str  # March 2026
    previous_month_label: str
    currency: str
    is_draft: bool  # the month is still open: figures may change
    invoice_number: str | None  # None on a draft, or when nothing was invoiced
    total: Decimal  # chargeback only: usage, service credits and corrections
    previous_total: Decimal | None
    change: Decimal | None
    change_pct: Decimal | None
    lines: tuple[StatementLine, ...]
    showback_lines: tuple[StatementLine, ...]
    showback_total: Decimal
    sla_rows: tuple[SlaRow, ...]
    tier_options: tuple[TierOption, ...]
    budget_rows: tuple[BudgetRow, ...]
    budget_total: BudgetRow | None = None  # the rows added up (service_name "Total"); None without a budget
    bridge: BridgeView | None = None  # why the total changed, step by step (None: no month before)
    #: year to date against the budget, step by step: the steps that moved (None: no budget, or
    #: a month closed before statements had it)
    budget_steps: tuple[BudgetStepRow, ...] | None = None
    generated_at: dt.datetime
    # the first page (reports.summary): the pictures' figures, service levels in brief, the best tier change
    trend: CostTrend | None = None
    burn: BurnView | None = None
    sla_summary: ServiceLevelSummary | None = None
    tier_change: TierChange | None = None


def statement_view(
    *,
    business_line: BusinessLine,
    month: str,
    charges: Sequence[Charge],
    services: Mapping[str, Service],
    closed: bool,
    generated_at: dt.datetime,
    invoice: Invoice | None = None,
    notes: Sequence[Invoice] = (),
    previous_total: Decimal | None = None,
    sla_results: Sequence[SlaResult] = (),
    tier_quotes: Sequence[TierQuote] = (),
    budget: Sequence[BudgetFigure] = (),
    components: Mapping[int, Sequence[object]] | None = None,
    currency: str | None = None,
    history: CostHistory | None = None,
    burn: BudgetBurn | None = None,
    bridge: Bridge | None = None,
    budget_bridge: BudgetBridge | None = None,
) -> StatementView:
    """The statement of ``business_line`` for ``month``.

    - ``charges``: the business line's charges of the month as rated (chargeback and showback;
      others are ignored). Lines are merged per service, tier and kind, in rating order.
    - ``services``: the catalogue by service code (names, units, tiers, targets, components).
    - ``closed``: the month is closed (else the statement is a draft). ``invoice``: the month's
      invoice for the business line, if one was issued (its total must equal the chargeback
      charges). ``notes``: credit and debit notes issued in ``month`` for the business line;
      their lines are shown as corrections and count in the total.
    - ``previous_total``: the previous month's total on the same basis, or None.
    - ``sla_results``: the month's measured service levels (the business line's own override
      the all-lines ones); rows are made for the services and tiers on the statement.
    - ``tier_quotes``: the month's usage priced at each tier of each service (see
      :class:`TierQuote`); the current tier is the one the last usage segment was priced at.
    - ``budget``: year-to-date budget and actual per service; may be empty.
    - ``components``: charge line number → the composite's component shares, as made by
      ``billing.recovery.composites.composite_lines`` (each with ``service``, ``service_name``, ``unit``,
      ``quantity``, ``amount``). Without it, components come from the catalogue with their
      equivalent quantities only.
    - ``currency``: needed only when there are no charges and no invoice.
    - ``history``, ``burn``: the pictures' figures (cost by service over 13 months; the fiscal
      year's budget burn), laid out by ``reports.summary``.
    - ``bridge``: why the total changed from the previous month (``billing.close.bridge``); its
      totals must be the statement's.
    """
    own = [c for c in charges if c.business_line == business_line.code]
    billed = [c for c in own if c.charging_mode == "chargeback"]
    shown = [c for c in own if c.charging_mode == "showback"]
    currencies = {c.currency for c in own} | ({invoice.currency} if invoice else set()) | {n.currency for n in notes}
    if currency:
        currencies.add(currency)
    if len(currencies) != 1:
        raise ValueError(f"statement of {business_line.code} for {month} needs exactly one currency, "
                         f"found {', '.join(sorted(currencies)) or 'none'}")
    (currency,) = currencies
    if invoice is not None and not closed:
        raise ValueError(f"{month} is open, so {business_line.code} cannot have an issued invoice yet")
    charged_total = sum((c.amount for c in billed), ZERO)
    if invoice is not None and invoice.total != charged_total:
        raise ValueError(f"invoice {invoice.number} totals {invoice.total} but the charges of {month} total {charged_total}")

    measured = _measured(sla_results, business_line.code)
    lines = _charge_lines(billed, services, measured, components or {}) + _note_lines(notes)
    total = sum((line.amount for line in lines), ZERO)
    change = None if previous_total is None else total - previous_total
    showback_lines = _charge_lines(shown, services, measured, components or {})
    if bridge is not None and (bridge.current, bridge.previous) != (total, previous_total):
        raise ValueError(f"the bridge of {business_line.code} for {month} runs from {bridge.previous} to {bridge.current}, "
                         f"not from the statement's {previous_total} to {total}")
    sla_rows = _sla_rows(own, services, measured)
    tier_options = _tier_options(own, services, tier_quotes)
    return StatementView(
        business_line_code=business_line.code, business_line_name=business_line.name,
        head_name=business_line.head_name, division=business_line.division,
        month=month, month_label=month_label(month), previous_month_label=month_label(previous_month(month)),
        currency=currency, is_draft=not closed, invoice_number=invoice.number if invoice else None,
        total=total, previous_total=previous_total, change=change,
        change_pct=_pct(change, previous_total) if change is not None else None,
        lines=tuple(lines), showback_lines=tuple(showback_lines),
        showback_total=sum((line.amount for line in showback_lines), ZERO),
        sla_rows=sla_rows,
        tier_options=tier_options,
        budget_rows=tuple(_budget_row(b, services) for b in budget),
        budget_total=_budget_total(budget),
        bridge=bridge_view(bridge, services) if bridge is not None else None,
        budget_steps=_budget_steps(budget_bridge, budget, services) if budget_bridge is not None and budget else None,
        generated_at=generated_at,
        trend=cost_trend(history, services), burn=burn_view(burn),
        sla_summary=service_level_summary(sla_rows), tier_change=best_tier_change(tier_options),
    )


def month_label(month: str) -> str:
    """``2026-03`` → ``March 2026`` (English, whatever the machine's locale)."""
    start = first_day(month)
    return f"{_MONTH_NAMES[start.month - 1]} {start.year}"


def service_levels_text(level: ServiceLevel) -> str:
    """``Availability 99.90 %, response 30 min, restore 4 h, support 24x7`` (what is set)."""
    parts = []
    for metric in Metric:
        target = level.target(metric)
        if target is not None:
            label = _METRIC_LABELS[metric]
            parts.append(f"{label if not parts else label.split()[0].lower()} {_measure(metric, target).replace(' ', NBSP)}")
    if level.support_hours:
        parts.append(f"support {level.support_hours}")
    return ", ".join(parts) or "no service levels set"


def _service_name(services: Mapping[str, Service], code: str) -> str:
    service = services.get(code)
    return service.name if service else code


def _tier_name(services: Mapping[str, Service], service_code: str, tier_code: str) -> str:
    service = services.get(service_code)
    tier = service.tier(tier_code) if service else None
    return tier.name if tier else tier_code


def _charge_lines(charges: Sequence[Charge], services: Mapping[str, Service],
                  measured: Mapping[tuple[str, str], Mapping[Metric, Decimal]],
                  shares: Mapping[int, Sequence[object]]) -> list[StatementLine]:
    """One line per service, tier, kind and dimension value (segments of the same tier merged),
    in rating order."""
    by_line_no = {c.line_no: c for c in charges}
    changes = _tier_changes(charges)
    groups: dict[tuple[str, str, str, str, str | None], list[Charge]] = {}
    for charge in sorted(charges, key=lambda c: c.line_no):
        groups.setdefault((charge.service, charge.tier, charge.kind, charge.label, charge.dimension_value),
                          []).append(charge)
    lines = []
    for (service_code, tier_code, kind, label, value), group in groups.items():
        service = services.get(service_code)
        usage = kind == "usage"
        quantity = sum((c.quantity for c in group), ZERO)
        flags = tuple(dict.fromkeys(flag for c in group for flag in c.flags))
        components: tuple[ComponentLine, ...] = ()
        if usage and any(c.line_no in shares for c in group):
            components = _shared_components([shares.get(c.line_no, ()) for c in group])
        elif usage and service is not None:
            components = tuple(
                ComponentLine(service_code=part.service, service_name=_service_name(services, part.service),
                              quantity=quantity * part.quantity,
                              unit=services[part.service].unit if part.service in services else "")
                for part in service.components
            )
        description, detail = "", "; ".join(dict.fromkeys(c.detail for c in group if c.detail))
        steps = _steps(group)
        if kind == "sla_credit":
            description, detail = _credit_text(group, by_line_no, services, measured.get((service_code, tier_code), {}))
        elif kind in ("fee", "discount", "true_up"):  # a fee, a discount or a true-up with the period it is for
            description = (f"{label} ({group[0].period_from or group[0].segment_from:%d %b %Y}–"
                           f"{group[-1].period_to or group[-1].segment_to:%d %b %Y})")
        if value is not None and group[0].dimension:  # the value a price by dimension priced
            description = f"{description} ({group[0].dimension} {value})" if description else f"{group[0].dimension} {value}"
        lines.append(StatementLine(
            service_code=service_code, service_name=_service_name(services, service_code),
            tier_name=_tier_name(services, service_code, tier_code), description=description,
            quantity=quantity if usage else None, unit=service.unit if service else "", detail=detail,
            amount=sum((c.amount for c in group), ZERO), kind=kind, flags=flags, components=components,
            steps=steps, in_force=_in_force(group, changes.get(service_code, ()), services) if usage else "",
        ))
    return lines


_NO_FIGURE = (WorkingKind.INCLUDED, WorkingKind.NOTE)


def _steps(group: Sequence[Charge]) -> tuple[PricingStep, ...]:
    """The workings of a line's charges, each charge's amounts apportioned to its rounded
    amount (so the line's steps add up to the line's amount); a line of several charges names
    each one's dimension value, or else its days."""
    values = {c.dimension_value for c in group}
    steps: list[PricingStep] = []
    for charge in group:
        workings = charge.workings or (Working(kind=WorkingKind.USAGE, text=charge.detail, amount=charge.exact_amount),)
        prefix = ""
        if len(group) > 1:
            prefix = (f"{charge.dimension_value}: " if charge.dimension_value else "") if len(values) > 1 else \
                f"{_days(charge.segment_from, charge.segment_to)}: "
        steps += [PricingStep(text=prefix + s.text, amount=s.amount)
                  for s in working_steps(workings, charge.amount, charge.currency)]
    return tuple(steps)


def working_steps(workings: Sequence[Working], amount: Decimal, currency: str) -> tuple[PricingStep, ...]:
    """Workings as steps a person reads, each figure apportioned to the rounded ``amount`` so
    the steps add up to it exactly (the included quantity, a note: no figure)."""
    shown = apportion(amount, [w.amount for w in workings], currency) if workings else []
    return tuple(PricingStep(text=w.text, amount=None if w.kind in _NO_FIGURE and a == 0 else a)
                 for w, a in zip(workings, shown))


def working_lines(line: InvoiceLine, currency: str) -> list[str]:
    """An issued line's workings as printed lines (``text: amount``, a step without a figure
    its text alone); its one-line detail when it has none (issued before lines kept them)."""
    if not line.workings:
        return [line.detail] if line.detail else []
    return [s.text if s.amount is None else f"{s.text}: {amount_text(s.amount, currency)}"
            for s in working_steps(line.workings, line.amount, currency)]


def _days(first: dt.date, last: dt.date) -> str:
    """``1–14 Nov``; ``15 Nov`` for one day."""
    month = _MONTH_NAMES[first.month - 1][:3]
    return f"{first.day} {month}" if first == last else f"{first.day}–{last.day} {month}"


def _tier_changes(charges: Sequence[Charge]) -> dict[str, tuple[tuple[dt.date, str, str], ...]]:
    """Per service whose usage was priced at more than one tier in the month: each change as
    (the day the new tier began, the tier before, the tier after), in date order."""
    spans: dict[str, dict[str, tuple[dt.date, dt.date]]] = {}
    for charge in charges:
        if charge.kind == "usage":
            tiers = spans.setdefault(charge.service, {})
            was = tiers.get(charge.tier, (charge.segment_from, charge.segment_to))
            tiers[charge.tier] = (min(was[0], charge.segment_from), max(was[1], charge.segment_to))
    changes = {}
    for service, tiers in spans.items():
        ordered = sorted(tiers.items(), key=lambda item: (item[1], item[0]))
        # a change hands over: the tier before ends before the tier after begins (usage priced at
        # several tiers on the same days, without a subscription, is no change)
        found = tuple((after[1][0], before[0], after[0]) for before, after in zip(ordered, ordered[1:])
                      if before[1][1] < after[1][0])
        if found:
            changes[service] = found
    return changes


def _in_force(group: Sequence[Charge], changes: Sequence[tuple[dt.date, str, str]],
              services: Mapping[str, Service]) -> str:
    """``1–14 Nov, 14 of 30 days; tier changed from Silver to Gold on 15 Nov`` for a usage line
    in force for part of the month; "" for one in force all month."""
    first = min(c.segment_from for c in group)
    last = max(c.segment_to for c in group)
    month_days = days_in_month(month_of(first))
    by_version: dict[str, int] = {}  # a segment's days, once for its dimension values' charges
    for charge in group:
        if charge.days_in_force is not None:
            by_version[charge.tariff_version] = max(by_version.get(charge.tariff_version, 0), charge.days_in_force)
    kept = all(c.days_in_force is not None for c in group)
    days = sum(by_version.values()) if kept else (last - first).days + 1
    parts = []
    if days < month_days:
        span = _days(first, last) if days == (last - first).days + 1 else f"between {_days(first, last)}"
        parts.append(f"{span}, {days} of {month_days} days")
    tier = group[0].tier
    for day, before, after in changes:
        if tier in (before, after):
            parts.append(f"tier changed from {_tier_name(services, group[0].service, before)} to "
                         f"{_tier_name(services, group[0].service, after)} on {_days(day, day)}")
    return "; ".join(parts)


def _shared_components(per_charge: Sequence[Sequence[object]]) -> tuple[ComponentLine, ...]:
    """Component shares of the merged segments, added up per component service."""
    merged: dict[str, list] = {}
    for shares in per_charge:
        for share in shares:
            slot = merged.setdefault(share.service, [share.service_name, share.unit, ZERO, ZERO])
            slot[2] += share.quantity
            slot[3] += share.amount
    return tuple(ComponentLine(service_code=code, service_name=name, quantity=quantity, unit=unit, amount=amount)
                 for code, (name, unit, quantity, amount) in merged.items())


def _credit_text(credits: Sequence[Charge], by_line_no: Mapping[int, Charge], services: Mapping[str, Service],
                 measured: Mapping[Metric, Decimal]) -> tuple[str, str]:
    """A service credit in plain words: which target was missed, and what share was credited."""
    first = credits[0]
    missed = [m for m in _results(services, first.service, first.tier, measured) if m[3] is False]
    named = [m for m in missed if any(c.credit_metric is m[0] for c in credits)] or missed
    if named:
        metric, target, value, _met = named[0]
        description = (f"Service credit: {_METRIC_LABELS[metric].lower()} {_measure(metric, value)} "
                       f"against a target of {_measure(metric, target)}")
    else:
        description = "Service credit: a service level was missed"
    shares = []
    for credit in credits:
        usage = by_line_no.get(credit.credit_of_line) if credit.credit_of_line else None
        if usage is None or not usage.exact_amount:
            return description, "; ".join(dict.fromkeys(c.detail for c in credits if c.detail))
        shares.append(f"{(-credit.exact_amount / usage.exact_amount * 100).normalize():f} %")
    return description, "; ".join(dict.fromkeys(f"{share} of the month's charge for this tier" for share in shares))


def _note_lines(notes: Sequence[Invoice]) -> list[StatementLine]:
    lines = []
    for note in notes:
        label = "Credit note" if note.kind == "credit_note" else "Debit note" if note.kind == "debit_note" else "Invoice"
        reason = f" ({note.reason})" if note.reason else ""
        for line in note.lines:
            lines.append(StatementLine(
                service_code=line.service, service_name=line.service_name, tier_name=line.tier_name,
                description=f"{label} {note.number}{reason}: {line.description}", quantity=None, unit=line.unit,
                detail=line.detail, amount=line.amount, kind="adjustment",
                steps=working_steps(line.workings, line.amount, note.currency),
            ))
    return lines


def _pct(part: Decimal, whole: Decimal | None) -> Decimal | None:
    if not whole:
        return None
    return part / abs(whole) * 100


def _fixed(value: Decimal, places: int) -> str:
    """At least ``places`` decimals, more when the value has them: never rounds a figure away."""
    exponent = value.as_tuple().exponent
    shown = max(places, -exponent if isinstance(exponent, int) and exponent < 0 else 0)
    return f"{value:.{shown}f}"


def _measure(metric: Metric, value: Decimal) -> str:
    if metric is Metric.AVAILABILITY_PCT:
        return f"{_fixed(value, 2)} %"
    text = f"{value.normalize():f}"
    return f"{text} min" if metric is Metric.RESPONSE_MINUTES else f"{text} h"


def _measured(results: Sequence[SlaResult], business_line: str) -> dict[tuple[str, str], dict[Metric, Decimal]]:
    """Achieved levels per (service, tier): the business line's own results override the all-lines ones."""
    achieved: dict[tuple[str, str], dict[Metric, Decimal]] = {}
    for result in sorted(results, key=lambda r: bool(r.business_line)):
        if result.business_line in (None, "", business_line):
            achieved.setdefault((result.service, result.tier), {})[Metric(result.metric)] = result.achieved
    return achieved


def _results(services: Mapping[str, Service], service_code: str, tier_code: str,
             measured: Mapping[Metric, Decimal]) -> list[tuple[Metric, Decimal | None, Decimal, bool | None]]:
    """(metric, target, achieved, met) for each measured metric, in the catalogue's metric order."""
    service = services.get(service_code)
    tier = service.tier(tier_code) if service else None
    level = tier.service_level if tier else ServiceLevel()
    made = []
    for metric in Metric:
        if metric in measured:
            target, value = level.target(metric), measured[metric]
            met = None if target is None else (value >= target if metric.higher_is_better else value <= target)
            made.append((metric, target, value, met))
    return made


def _sla_rows(charges: Sequence[Charge], services: Mapping[str, Service],
              measured: Mapping[tuple[str, str], Mapping[Metric, Decimal]]) -> tuple[SlaRow, ...]:
    credits: dict[tuple[str, str], list[Charge]] = {}
    for charge in charges:
        if charge.kind == "sla_credit":
            credits.setdefault((charge.service, charge.tier), []).append(charge)
    used = dict.fromkeys((c.service, c.tier) for c in sorted(charges, key=lambda c: c.line_no) if c.kind == "usage")
    rows = []
    for service_code, tier_code in used:
        made = _results(services, service_code, tier_code, measured.get((service_code, tier_code), {}))
        # The credit is the largest of the missed metrics' credits (they do not stack): show it
        # on the metric the credit line names, else on the first missed one.
        given = credits.get((service_code, tier_code), [])
        missed = [m for m in made if m[3] is False]
        named = [m for m in missed if any(c.credit_metric is m[0] for c in given)]
        holder = (named or missed or [None])[0] if given else None
        for result in made:
            metric, target, value, met = result
            rows.append(SlaRow(
                service_name=_service_name(services, service_code), tier_name=_tier_name(services, service_code, tier_code),
                metric_label=_METRIC_LABELS[metric], target_text=_measure(metric, target) if target is not None else "no target",
                achieved_text=_measure(metric, value), met=met,
                credit=sum((c.amount for c in given), ZERO) if result is holder else None,
            ))
    return tuple(rows)


def _tier_options(charges: Sequence[Charge], services: Mapping[str, Service], quotes: Sequence[TierQuote]) -> tuple[TierOption, ...]:
    by_service: dict[str, dict[str, Decimal]] = {}
    sentences: dict[tuple[str, str], str] = {}
    for quote in quotes:
        by_service.setdefault(quote.service, {})[quote.tier] = quote.amount
        if quote.advice:
            sentences[(quote.service, quote.tier)] = quote.advice
    options = []
    first_seen = {c.service: c.line_no for c in sorted(charges, key=lambda c: -c.line_no)}
    for service_code in sorted(by_service, key=lambda code: (first_seen.get(code, 10**9), _service_name(services, code), code)):
        usage = sorted((c for c in charges if c.kind == "usage" and c.service == service_code),
                       key=lambda c: (c.segment_to, c.line_no))
        current = usage[-1].tier if usage else None
        amounts = by_service[service_code]
        if current in amounts:
            current_amount = amounts[current]
        else:
            current_amount = sum((c.amount for c in usage), ZERO)
        service = services.get(service_code)
        ranks = {t.code: t.rank for t in service.tiers} if service else {}
        cheapest = min(amounts.values())
        for tier_code in sorted(amounts, key=lambda code: (ranks.get(code, 99), code)):
            amount = amounts[tier_code]
            difference = amount - current_amount
            tier = service.tier(tier_code) if service else None
            advice = None
            if tier_code != current and difference < 0 and amount == cheapest:
                lower = ranks.get(tier_code, 99) > ranks.get(current, 99)
                advice = ("The cheapest tier for this usage, with lower service levels: check they are enough."
                          if lower else "The cheapest tier for this usage, at the same or better service levels.")
            advice = sentences.get((service_code, tier_code), advice)
            options.append(TierOption(
                service_name=_service_name(services, service_code), tier_name=_tier_name(services, service_code, tier_code),
                is_current=tier_code == current, amount=amount, difference=difference,
                difference_pct=_pct(difference, current_amount),
                service_levels=service_levels_text(tier.service_level) if tier else "",
                advice=advice,
            ))
    return tuple(options)


def _budget_row(figure: BudgetFigure, services: Mapping[str, Service]) -> BudgetRow:
    variance = figure.actual_ytd - figure.budget_ytd
    return BudgetRow(service_name=_service_name(services, figure.service), budget_ytd=figure.budget_ytd,
                     actual_ytd=figure.actual_ytd, variance=variance, variance_pct=_pct(variance, figure.budget_ytd))


def _budget_steps(bridge: BudgetBridge, budget: Sequence[BudgetFigure],
                  services: Mapping[str, Service]) -> tuple[BudgetStepRow, ...]:
    """The steps that moved, in the bridge's order; the bridge runs between the budget table's
    totals or it is not shown."""
    if (bridge.budget, bridge.actual) != (sum((b.budget_ytd for b in budget), ZERO), sum((b.actual_ytd for b in budget), ZERO)):
        raise ValueError("the budget bridge does not run between the budget table's totals")
    rows = []
    for step, amount in bridge.pieces:
        parts = sorted(((_service_name(services, s.service), s.piece(step)) for s in bridge.services if s.piece(step)),
                       key=lambda p: (-abs(p[1]), p[0]))
        if parts:
            rows.append(BudgetStepRow(label=BUDGET_STEP_LABELS[step], amount=amount, parts=tuple(parts)))
    return tuple(rows)


def _budget_total(budget: Sequence[BudgetFigure]) -> BudgetRow | None:
    """The budget table's total row: budget, actual and variance each the sum of the rows'."""
    if not budget:
        return None
    budget_ytd = sum((b.budget_ytd for b in budget), ZERO)
    actual_ytd = sum((b.actual_ytd for b in budget), ZERO)
    variance = actual_ytd - budget_ytd
    return BudgetRow(service_name="Total", budget_ytd=budget_ytd, actual_ytd=actual_ytd, variance=variance,
                     variance_pct=_pct(variance, budget_ytd))


# --------------------------------------------------------------------------- month export


@dataclass(frozen=True, slots=True, kw_only=True)
class DetailRow:
    """One cost-centre part of one document line (a line without a split is one row, cost centre "")."""

    business_line: str
    business_line_name: str
    service: str
    service_name: str
    tier: str
    tier_name: str
    cost_center: str
    gl_code: str
    quantity: Decimal | None  # the part's quantity when known
    unit: str
    detail: str
    amount: Decimal
    kind: str  # usage | sla_credit | adjustment
    invoice_number: str  # "" while the month is open
    line_no: int
    description: str
    dimension: str = ""  # a price by dimension: its dimension (region) and the value the line prices
    dimension_value: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class MonthExportView:
    month: str
    currency: str
    closed: bool
    rows: tuple[DetailRow, ...]
    business_lines: tuple[tuple[str, str], ...]  # (code, name) in code order: the summary's rows
    services: tuple[tuple[str, str], ...]  # (code, name) in code order: the summary's columns
    amounts: tuple[tuple[Decimal, ...], ...]  # [business line][service]
    business_line_totals: tuple[Decimal, ...]
    service_totals: tuple[Decimal, ...]
    total: Decimal
    prepared_at: dt.datetime | None = None  # a closed month's: its close (writers date the file then)


def month_export_view(
    *,
    month: str,
    closed: bool,
    documents: Sequence[Invoice] = (),
    charges: Sequence[Charge] = (),
    services: Mapping[str, Service] | None = None,
    business_lines: Mapping[str, BusinessLine] | None = None,
    gl_codes: Mapping[str, str] | None = None,
    currency: str | None = None,
    prepared_at: dt.datetime | None = None,
) -> MonthExportView:
    """Every chargeback line of ``month``, one row per cost-centre part, and the summary matrix.

    A closed month is read from its ``documents`` (invoices, and the credit and debit notes
    to include); ``charges``, if given, supply each cost-centre part's quantity. An open month
    (no documents) is read from its ``charges`` as unnumbered draft invoices, which needs
    ``services``, ``business_lines`` and ``gl_codes``. Showback is not exported (never charged).
    ``currency`` is needed only when there is nothing to export.
    """
    if not documents and charges:
        if services is None or business_lines is None or gl_codes is None:
            raise ValueError("an open month is exported from charges: give services, business_lines and gl_codes")
        documents = draft_invoices(month=month, charges=charges, services=services, business_lines=business_lines,
                                   gl_codes=gl_codes, issue_date=first_day(month))
    currencies = {d.currency for d in documents} | ({currency} if currency else set())
    if len(currencies) != 1:
        raise ValueError(f"the export of {month} needs exactly one currency, found {', '.join(sorted(currencies)) or 'none'}")
    (currency,) = currencies
    by_charge = {(c.business_line, c.line_no): c for c in charges}
    rows = []
    for document in documents:
        for line in document.lines:
            charge = by_charge.get((document.business_line, line.charge_line_no)) if line.charge_line_no else None
            if not line.workings and charge is not None and charge.workings:  # issued before lines kept them
                line = replace(line, workings=charge.workings)
            detail = "\n".join(working_lines(line, document.currency))
            quantities = {s.cost_center: s.quantity for s in charge.cost_centers} if charge else {}
            parts = [(p.cost_center, p.gl_code, p.amount) for p in line.cost_centers] or [("", "", line.amount)]
            for center, gl_code, amount in parts:
                if center in quantities:
                    quantity = quantities[center]
                elif len(parts) == 1:
                    quantity = line.quantity
                else:
                    quantity = None
                rows.append(DetailRow(
                    business_line=document.business_line, business_line_name=document.buyer_name,
                    service=line.service, service_name=line.service_name, tier=line.tier, tier_name=line.tier_name,
                    cost_center=center, gl_code=gl_code, quantity=quantity, unit=line.unit, detail=detail,
                    amount=amount, kind=line.kind, invoice_number=document.number, line_no=line.line_no,
                    description=line.description,
                    dimension=(charge.dimension or "") if charge and charge.dimension_value else "",
                    dimension_value=(charge.dimension_value or "") if charge else "",
                ))
    line_names = dict(sorted({(r.business_line, r.business_line_name) for r in rows}))
    service_names = dict(sorted({(r.service, r.service_name) for r in rows}))
    line_codes, service_codes = list(line_names), list(service_names)
    cells = {(b, s): ZERO for b in line_codes for s in service_codes}
    for row in rows:
        cells[(row.business_line, row.service)] += row.amount
    amounts = tuple(tuple(cells[(b, s)] for s in service_codes) for b in line_codes)
    return MonthExportView(
        month=month, currency=currency, closed=closed, rows=tuple(rows),
        business_lines=tuple(line_names.items()), services=tuple(service_names.items()), amounts=amounts,
        business_line_totals=tuple(sum(r, ZERO) for r in amounts),
        service_totals=tuple(sum((r[i] for r in amounts), ZERO) for i in range(len(service_codes))),
        total=sum((r.amount for r in rows), ZERO), prepared_at=prepared_at,
    )


def statement_views(inputs: Sequence[StatementInputs]) -> list[StatementView]:
    """The statements a job read (billing.jobs.documents.month_statements), laid out."""
    return [statement_view(**as_arguments(i)) for i in inputs]


def export_view(inputs: ExportInputs) -> MonthExportView:
    """The export a job read (billing.jobs.documents.month_export), laid out."""
    return month_export_view(**as_arguments(inputs))
