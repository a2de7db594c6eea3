"""A closed month as it was frozen at close: the records its documents are rendered from.

``billing.store.snapshots`` keeps each section as canonical JSON; this module turns records
into that JSON and back (decimals as their text). What is frozen and why: docs/store.md,
"Closed months are frozen".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from billing.close.bridge import STEPS, Bridge, ServiceBridge
from billing.rating.tiers import TierMonth, levels_by_line, measured_levels
from billing.recovery.composites import ComponentShare
from billing.close.statement import BudgetFigure, TierQuote
from billing.close.trends import CostHistory, ServiceCost
from billing.planning.budget_bridge import BUDGET_STEPS, BudgetBridge, ServiceBudgetBridge
from billing.planning.burn import BudgetBurn
from billing.core.money import D
from billing.core.records import BusinessLine, SlaResult
from billing.store import charges as charge_store
from billing.store import snapshots
from billing.core.settings import Settings
from billing.store.snapshots import MonthClose, Section
from tariffs.load import service_from_dict, service_to_dict
from tariffs.model import Service


@dataclass(frozen=True, slots=True, kw_only=True)
class StatementFigures:
    """What a business line's statement shows beyond its charges and documents."""

    previous_total: Decimal | None
    tier_quotes: tuple[TierQuote, ...]  # with each tier's advice sentence
    budget: tuple[BudgetFigure, ...]
    components: Mapping[int, tuple[ComponentShare, ...]]  # charge line no → a composite's parts
    history: CostHistory | None = None  # cost by service over 13 months (None: closed before pictures)
    burn: BudgetBurn | None = None  # the fiscal year's budget burn; None without a budget
    budget_bridge: BudgetBridge | None = None  # year to date against the budget by step (None: none, or closed before)


@dataclass(frozen=True, slots=True, kw_only=True)
class FrozenMonth:
    """A closed month's snapshot. Sections a store upgraded from before snapshots lacks are
    None (``sla``, ``statements``, ``tier_months``) or hold what the upgrade found."""

    close: MonthClose
    settings: Mapping[str, str]
    business_lines: Mapping[str, BusinessLine]
    services: Mapping[str, Service]
    sla: tuple[SlaResult, ...] | None
    statements: Mapping[str, StatementFigures] | None
    tier_months: Mapping[tuple[str, str], tuple[TierMonth, ...]] | None
    bridges: Mapping[str, Bridge] | None = None  # business line → why its bill changed (None: closed before bridges)

    def typed_settings(self) -> Settings:
        """The settings as they were at close (a setting added since: its default)."""
        return Settings.from_text(self.settings)


def frozen_month(session: Session, month: str, *, sections: Iterable[Section] | None = None) -> FrozenMonth | None:
    """The newest snapshot of ``month`` while it is closed (all sections, or those named; the
    others read as empty); None when it is open."""
    if charge_store.period_status(session, month) != "closed":
        return None
    close = snapshots.latest_close(session, month)
    if close is None:
        return None
    return _parse(close, snapshots.read(session, close, sections))


def _parse(close: MonthClose, data: Mapping[Section, Mapping[str, Any]]) -> FrozenMonth:
    services = {code: service_from_dict(d) for code, d in data.get(Section.SERVICE, {}).items()}
    sla = tuple(_sla_from(d) for d in data[Section.SLA][""]) if Section.SLA in data else None
    tier_months = None
    if Section.TIER_MONTH in data:
        tier_months = {}
        by_line = levels_by_line(sla or (), data[Section.TIER_MONTH])
        for line, figures in data[Section.TIER_MONTH].items():
            levels = by_line[line]
            by_service: dict[str, list[TierMonth]] = {}
            for f in figures:
                achieved = levels.get((f["service"], f["tier"]), {})
                by_service.setdefault(f["service"], []).append(TierMonth(
                    month=close.month, tier=f["tier"], amount=Decimal(f["amount"]), credit=Decimal(f["credit"]),
                    achieved=tuple(sorted(achieved.items())), charged=f["charged"]))
            tier_months.update({(line, service): tuple(months) for service, months in by_service.items()})
    statements = None
    if Section.STATEMENT in data:
        statements = {line: _statement_from(d) for line, d in data[Section.STATEMENT].items()}
    bridges = None
    if Section.BRIDGE in data:
        bridges = {line: _bridge_from(line, d) for line, d in data[Section.BRIDGE].items()}
    return FrozenMonth(
        close=close, settings=dict(data.get(Section.SETTINGS, {}).get("", {})),
        business_lines={code: BusinessLine(**d) for code, d in data.get(Section.BUSINESS_LINE, {}).items()},
        services=services, sla=sla, statements=statements, tier_months=tier_months, bridges=bridges,
    )


def zero_months(service: Service, month: str, sla: Sequence[SlaResult], line: str) -> tuple[TierMonth, ...]:
    """A month in which ``line`` had neither usage of ``service`` nor a subscription to it:
    nothing at any tier (what rating it at each tier gives)."""
    levels = measured_levels(sla, line)
    return tuple(TierMonth(month=month, tier=tier.code, amount=Decimal(0), credit=Decimal(0),
                           achieved=tuple(sorted(levels.get((service.code, tier.code), {}).items())), charged=False)
                 for tier in service.tiers)


# --- writing a snapshot ------------------------------------------------------------------------


def write_settings(session: Session, close: MonthClose, settings: Mapping[str, str]) -> None:
    snapshots.write(session, close, Section.SETTINGS, {"": dict(settings)})


def write_business_lines(session: Session, close: MonthClose, lines: Iterable[BusinessLine]) -> None:
    snapshots.write(session, close, Section.BUSINESS_LINE, {
        b.code: {"code": b.code, "name": b.name, "head_name": b.head_name, "head_email": b.head_email,
                 "division": b.division} for b in lines})


def write_services(session: Session, close: MonthClose, services: Iterable[Service]) -> None:
    snapshots.write(session, close, Section.SERVICE, {s.code: service_to_dict(s) for s in services})


def write_sla(session: Session, close: MonthClose, sla: Iterable[SlaResult]) -> None:
    snapshots.write(session, close, Section.SLA, {"": [
        {"service": r.service, "tier": r.tier, "metric": r.metric, "achieved": str(r.achieved),
         "business_line": r.business_line} for r in sla]})


def write_tier_months(session: Session, close: MonthClose, figures: Mapping[tuple[str, str], Sequence[TierMonth]]) -> None:
    by_line: dict[str, list[dict[str, str]]] = {}
    for (line, service), months in sorted(figures.items()):
        by_line.setdefault(line, []).extend(
            {"service": service, "tier": m.tier, "amount": str(m.amount), "credit": str(m.credit), "charged": m.charged}
            for m in months)
    snapshots.write(session, close, Section.TIER_MONTH, by_line)


def write_statements(session: Session, close: MonthClose, figures: Mapping[str, StatementFigures]) -> None:
    snapshots.write(session, close, Section.STATEMENT, {line: _statement_to(f) for line, f in figures.items()})


def _statement_to(f: StatementFigures) -> dict[str, Any]:
    return {
        "previous_total": None if f.previous_total is None else str(f.previous_total),
        "tier_quotes": [{"service": q.service, "tier": q.tier, "amount": str(q.amount), "advice": q.advice}
                        for q in f.tier_quotes],
        "budget": [{"service": b.service, "budget_ytd": str(b.budget_ytd), "actual_ytd": str(b.actual_ytd)}
                   for b in f.budget],
        "components": {str(line_no): [
            {"service": c.service, "service_name": c.service_name, "unit": c.unit, "quantity": str(c.quantity),
             "amount": str(c.amount), "list_value": str(c.list_value)} for c in shares]
            for line_no, shares in sorted(f.components.items())},
        "history": None if f.history is None else {
            "months": list(f.history.months),
            "services": [{"service": s.service, "amounts": [str(a) for a in s.amounts]} for s in f.history.services]},
        "burn": None if f.burn is None else {
            "fiscal_year": f.burn.fiscal_year, "months": list(f.burn.months), "method": f.burn.method,
            **{name: [str(a) for a in getattr(f.burn, name)] for name in _BURN_FIGURES}},
        **({} if f.budget_bridge is None else {"budget_bridge": [
            {"service": s.service, "budget": str(s.budget), "actual": str(s.actual),
             "pieces": {step.value: str(amount) for step, amount in s.pieces if amount}}
            for s in f.budget_bridge.services]}),
    }


_BURN_FIGURES = ("budget", "actual", "forecast", "low", "high")


def _statement_from(d: Mapping[str, Any]) -> StatementFigures:
    return StatementFigures(
        previous_total=None if d["previous_total"] is None else D(d["previous_total"]),
        tier_quotes=tuple(TierQuote(service=q["service"], tier=q["tier"], amount=D(q["amount"]), advice=q["advice"])
                          for q in d["tier_quotes"]),
        budget=tuple(BudgetFigure(service=b["service"], budget_ytd=D(b["budget_ytd"]), actual_ytd=D(b["actual_ytd"]))
                     for b in d["budget"]),
        components={int(n): tuple(ComponentShare(service=c["service"], service_name=c["service_name"], unit=c["unit"],
                                                  quantity=D(c["quantity"]), amount=D(c["amount"]),
                                                  list_value=D(c["list_value"])) for c in shares)
                    for n, shares in d["components"].items()},
        history=_history_from(d.get("history")),
        burn=_burn_from(d.get("burn")),
        budget_bridge=None if "budget_bridge" not in d else BudgetBridge(services=tuple(
            ServiceBudgetBridge(service=s["service"], budget=D(s["budget"]), actual=D(s["actual"]),
                                pieces=tuple((step, D(s["pieces"].get(step.value, "0"))) for step in BUDGET_STEPS))
            for s in d["budget_bridge"])),
    )


def _history_from(d: Mapping[str, Any] | None) -> CostHistory | None:
    if d is None:
        return None
    return CostHistory(months=tuple(d["months"]), services=tuple(
        ServiceCost(service=s["service"], amounts=tuple(D(a) for a in s["amounts"])) for s in d["services"]))


def _burn_from(d: Mapping[str, Any] | None) -> BudgetBurn | None:
    if d is None:
        return None
    return BudgetBurn(fiscal_year=d["fiscal_year"], months=tuple(d["months"]), method=d["method"],
                      **{name: tuple(D(a) for a in d[name]) for name in _BURN_FIGURES})


def write_bridges(session: Session, close: MonthClose, bridges: Mapping[str, Bridge]) -> None:
    snapshots.write(session, close, Section.BRIDGE, {line: _bridge_to(b) for line, b in bridges.items()})


def _bridge_to(b: Bridge) -> dict[str, Any]:
    return {
        "month": b.month, "previous_month": b.previous_month, "currency": b.currency,
        "showback_previous": str(b.showback_previous), "showback_current": str(b.showback_current),
        "services": [{
            "service": s.service, "previous": str(s.previous), "current": str(s.current),
            "pieces": {step.value: str(amount) for step, amount in s.pieces if amount},
            "previous_tiers": list(s.previous_tiers), "current_tiers": list(s.current_tiers),
            "previous_versions": list(s.previous_versions), "current_versions": list(s.current_versions),
            "previous_quantity": str(s.previous_quantity), "current_quantity": str(s.current_quantity),
        } for s in b.services],
    }


def _bridge_from(line: str, d: Mapping[str, Any]) -> Bridge:
    return Bridge(
        business_line=line, month=d["month"], previous_month=d["previous_month"], currency=d["currency"],
        showback_previous=D(d["showback_previous"]), showback_current=D(d["showback_current"]),
        services=tuple(ServiceBridge(
            service=s["service"], previous=D(s["previous"]), current=D(s["current"]),
            pieces=tuple((step, D(s["pieces"].get(step.value, "0"))) for step in STEPS),
            previous_tiers=tuple(s["previous_tiers"]), current_tiers=tuple(s["current_tiers"]),
            previous_versions=tuple(s["previous_versions"]), current_versions=tuple(s["current_versions"]),
            previous_quantity=D(s["previous_quantity"]), current_quantity=D(s["current_quantity"]),
        ) for s in d["services"]),
    )


def _sla_from(d: Mapping[str, Any]) -> SlaResult:
    return SlaResult(service=d["service"], tier=d["tier"], metric=d["metric"], achieved=D(d["achieved"]),
                     business_line=d["business_line"])


__all__ = ["FrozenMonth", "StatementFigures", "frozen_month", "zero_months", "write_settings", "write_business_lines",
           "write_services", "write_sla", "write_tier_months", "write_statements", "write_bridges"]
