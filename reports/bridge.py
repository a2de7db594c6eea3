"""Why the bill changed, as a statement and a printout show it (the variance bridge laid out).

:func:`bridge_view` turns a ``billing.close.bridge.Bridge`` into rows: last month's total, one
row per step that moved (in the bridge's order), each with the services that moved it, and this
month's total; :func:`bridge_lines` prints it (``chargeback explain --change``) with amounts
through ``billing.core.money.amount_text``. The statement's section is ``templates/_bridge.html``. Amounts
are only added up here, never rounded.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from billing.core.money import amount_text
from billing.close.bridge import STEP_LABELS, Bridge, ServiceBridge, Step
from reports.text import quantity, table_lines
from tariffs.model import Service

__all__ = ["BridgePart", "BridgeStep", "BridgeView", "bridge_view", "bridge_lines", "FIRST_PAGE_STEPS"]

FIRST_PAGE_STEPS = 5
"""Steps the first page names; the others it adds up in one row (the details show every one)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class BridgePart:
    """One service's share of a step: what it was and is (tariff versions for the price step,
    tier names for the tier step, quantities for the volume step; empty otherwise)."""

    service_name: str
    amount: Decimal
    was: str = ""
    now: str = ""
    was_quantity: Decimal | None = None
    now_quantity: Decimal | None = None
    unit: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class BridgeStep:
    step: str  # billing.close.bridge.Step
    label: str
    amount: Decimal
    parts: tuple[BridgePart, ...]  # the largest first


@dataclass(frozen=True, slots=True, kw_only=True)
class BridgeView:
    month: str
    previous_month: str
    currency: str
    previous_total: Decimal
    total: Decimal
    change: Decimal
    steps: tuple[BridgeStep, ...]  # only the steps that moved, in the bridge's order
    showback_previous: Decimal
    showback_total: Decimal

    @property
    def first_page_steps(self) -> tuple[BridgeStep, ...]:
        """The steps the first page shows, so that a long bridge leaves it on one A4 page: the
        :data:`FIRST_PAGE_STEPS` largest by money in the bridge's order, the others added up in
        one last row (step ``other``, no services), so they still add up to the change."""
        if len(self.steps) <= FIRST_PAGE_STEPS + 1:
            return self.steps
        kept = set(sorted(range(len(self.steps)), key=lambda i: (-abs(self.steps[i].amount), i))[:FIRST_PAGE_STEPS])
        rest = [s for i, s in enumerate(self.steps) if i not in kept]
        other = BridgeStep(step="other", label=f"{len(rest)} other steps", amount=sum((s.amount for s in rest), Decimal(0)),
                           parts=())
        return (*(s for i, s in enumerate(self.steps) if i in kept), other)


def bridge_view(bridge: Bridge, services: Mapping[str, Service]) -> BridgeView:
    """``bridge`` laid out, with the catalogue's names (``services`` by code)."""
    steps = []
    for step, total in bridge.pieces:
        parts = [_part(s, step, services) for s in bridge.services if s.piece(step)]
        if not parts:
            continue
        parts.sort(key=lambda p: (-abs(p.amount), p.service_name))
        steps.append(BridgeStep(step=step.value, label=STEP_LABELS[step], amount=total, parts=tuple(parts)))
    return BridgeView(month=bridge.month, previous_month=bridge.previous_month, currency=bridge.currency,
                      previous_total=bridge.previous, total=bridge.current, change=bridge.change, steps=tuple(steps),
                      showback_previous=bridge.showback_previous, showback_total=bridge.showback_current)


def _part(s: ServiceBridge, step: Step, services: Mapping[str, Service]) -> BridgePart:
    service = services.get(s.service)
    name = service.name if service else s.service
    if step is Step.PRICE:
        return BridgePart(service_name=name, amount=s.piece(step), was=", ".join(s.previous_versions),
                          now=", ".join(s.current_versions))
    if step is Step.TIER:
        def tier_names(codes: tuple[str, ...]) -> str:
            tiers = [service.tier(c) if service else None for c in codes]
            return ", ".join(t.name if t else c for t, c in zip(tiers, codes))
        return BridgePart(service_name=name, amount=s.piece(step), was=tier_names(s.previous_tiers),
                          now=tier_names(s.current_tiers))
    if step is Step.VOLUME:
        return BridgePart(service_name=name, amount=s.piece(step), was_quantity=s.previous_quantity,
                          now_quantity=s.current_quantity, unit=service.unit if service else "")
    return BridgePart(service_name=name, amount=s.piece(step))


def _what(part: BridgePart) -> str:
    if part.was_quantity is not None and part.now_quantity is not None:
        return f"{quantity(part.was_quantity)} → {quantity(part.now_quantity)} {part.unit}".rstrip()
    if part.was or part.now:
        return f"{part.was} → {part.now}"
    return ""


def bridge_lines(view: BridgeView, business_line: str) -> list[str]:
    """The bridge as printed lines: a table from last month's total through each step to this
    month's, then each step's services."""
    cur = view.currency
    rows: list[list[object]] = [[f"{view.previous_month} total", amount_text(view.previous_total, cur)]]
    rows += [[s.label, amount_text(s.amount, cur, sign=True)] for s in view.steps]
    rows.append([f"{view.month} total", amount_text(view.total, cur)])
    lines = [f"Why {business_line}'s bill changed: {view.month} against {view.previous_month}, in {cur} "
             f"(change {amount_text(view.change, cur, sign=True, code=True)})", ""]
    lines += table_lines(["", "amount"], rows, right={1})
    for step in view.steps:
        lines += ["", f"{step.label}: {amount_text(step.amount, cur, sign=True)}"]
        lines += table_lines(["service", "amount", "was → is"],
                             [[p.service_name, amount_text(p.amount, cur, sign=True), _what(p)] for p in step.parts], right={1})
    if view.showback_previous or view.showback_total:
        lines += ["", f"For information, not charged: showback {amount_text(view.showback_previous, cur)} in {view.previous_month}, "
                      f"{amount_text(view.showback_total, cur)} in {view.month}"]
    if not view.steps:
        lines += ["", "Nothing changed."]
    return lines
