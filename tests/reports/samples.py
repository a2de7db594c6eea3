"""A small, hand-worked month for the report tests.

Marketing (MKT), March 2026, USD:

    line 1  VM silver usage       330 vCPU-month: 250 @ 12.00 + 80 @ 10.00     =  3,800.00
            split CC-MKT-1 200 (2,303.03) and CC-MKT-2 130 (1,496.97)
    line 2  VM silver credit      10 % of 3,800.00 (availability 99.50 < 99.90) =   -380.00
            split -230.30 and -149.70
    line 3  APPHOST gold usage    3 instance-month @ 450.00                     =  1,350.00
            composite: 2 vCPU-month of VM and 50 GB-month of storage per instance
    line 4  DESK bronze showback  42 tickets @ 15.00 (not charged)              =    630.00
                                                              charged total     =  4,770.00
    previous month 4,500.00 → change +270.00 (+6.0 %)

Tier quotes for VM (the same 330 vCPU-month): gold 4,620.00 (+820.00, +21.6 %), silver 3,800.00
(current), bronze 3,135.00 (-665.00, -17.5 %).

``hostile=True`` puts markup and spreadsheet formulas into every name that comes from input.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from billing.close.trends import CostHistory, cost_history
from billing.core.periods import add_months, fiscal_months
from billing.planning.burn import BudgetBurn, budget_burn
from billing.planning.forecasting import SeriesForecast
from billing.core.records import BusinessLine, Charge, CostCenterShare, Invoice, InvoiceLine, LineCostCenter, SlaResult
from reports.views import BudgetFigure, TierQuote, month_export_view, statement_view
from tariffs.model import ChargingMode, Component, Service, ServiceKind, ServiceLevel, Tier

MONTH = "2026-03"
SCRIPT = "<script>alert(1)</script>"
FORMULAS = ('=HYPERLINK("http://x","y")', "+1+1", "-2+3", "@SUM(A1)", "\t=1")


def D(text: str) -> Decimal:
    return Decimal(text)


def _tiers(*codes: str) -> tuple[Tier, ...]:
    levels = {
        "gold": ServiceLevel(availability_pct=D("99.95"), response_minutes=D("30"), restore_hours=D("4"), support_hours="24x7"),
        "silver": ServiceLevel(availability_pct=D("99.9"), response_minutes=D("60"), support_hours="Mon-Fri 07-19"),
        "bronze": ServiceLevel(availability_pct=D("99.5"), response_minutes=D("240"), support_hours="Mon-Fri 09-17"),
    }
    names = {"gold": "Gold", "silver": "Silver", "bronze": "Bronze"}
    return tuple(Tier(code=c, name=names[c], funding_level=c, service_level=levels[c], rank=i) for i, c in enumerate(codes))


def services(*, hostile: bool = False) -> dict[str, Service]:
    vm_name = f"Virtual machines {SCRIPT}" if hostile else "Virtual machines"
    made = [
        Service(code="VM", name=vm_name, unit="vCPU-month", kind=ServiceKind.IT, owner="Infra",
                tiers=_tiers("gold", "silver", "bronze"), default_tier="silver"),
        Service(code="STORAGE", name=FORMULAS[0] if hostile else "Block storage", unit="GB-month", kind=ServiceKind.IT,
                owner="Infra", tiers=_tiers("gold", "silver"), default_tier="silver"),
        Service(code="APPHOST", name="Managed application hosting", unit="instance-month", kind=ServiceKind.IT,
                owner="Apps", tiers=_tiers("gold", "silver"), default_tier="silver",
                components=(Component(service="VM", quantity=D("2")), Component(service="STORAGE", quantity=D("50")))),
        Service(code="DESK", name="Service desk", unit="ticket", kind=ServiceKind.IT, owner="Support",
                tiers=_tiers("bronze"), default_tier="bronze", charging_mode=ChargingMode.SHOWBACK),
    ]
    return {s.code: s for s in made}


def business_line(*, hostile: bool = False) -> BusinessLine:
    return BusinessLine(code="MKT", name=f"Marketing {SCRIPT}" if hostile else "Marketing",
                        head_name="+1+1 Ada" if hostile else "Ada Lovelace", division="Commercial")


def _charge(line_no: int, **fields) -> Charge:
    base = dict(
        line_no=line_no, kind="usage", business_line="MKT", tariff_version="2026.1", charging_mode="chargeback",
        segment_from=dt.date(2026, 3, 1), segment_to=dt.date(2026, 3, 31), model="graduated", included=D("0"),
        cost=D("0"), currency="USD", usage_rows=10,
    )
    base.update(fields)
    base.setdefault("billable", base["quantity"])
    base.setdefault("exact_amount", base["amount"])
    return Charge(**base)


def charges(*, hostile: bool = False) -> tuple[Charge, ...]:
    flag = f"no subscription: priced at the default tier {SCRIPT}" if hostile else "no subscription: priced at the default tier"
    return (
        _charge(1, service="VM", tier="silver", quantity=D("330"), amount=D("3800.00"), detail="250 @ 12.00 + 80 @ 10.00",
                cost_centers=(CostCenterShare(cost_center="CC-MKT-1", quantity=D("200"), amount=D("2303.03")),
                              CostCenterShare(cost_center="CC-MKT-2", quantity=D("130"), amount=D("1496.97")))),
        _charge(2, kind="sla_credit", service="VM", tier="silver", quantity=D("0"), amount=D("-380.00"),
                detail="service credit 10% of 3800.00: availability pct target 99.9, achieved 99.5", credit_of_line=1,
                credit_metric="availability_pct",
                cost_centers=(CostCenterShare(cost_center="CC-MKT-1", quantity=D("0"), amount=D("-230.30")),
                              CostCenterShare(cost_center="CC-MKT-2", quantity=D("0"), amount=D("-149.70")))),
        _charge(3, service="APPHOST", tier="gold", quantity=D("3"), amount=D("1350.00"), detail="3 @ 450.00", model="per_unit",
                flags=(flag,), cost_centers=(CostCenterShare(cost_center="CC-MKT-1", quantity=D("3"), amount=D("1350.00")),)),
        _charge(4, service="DESK", tier="bronze", quantity=D("42"), amount=D("630.00"), detail="42 @ 15.00",
                model="per_unit", charging_mode="showback",
                cost_centers=(CostCenterShare(cost_center="CC-MKT-1", quantity=D("42"), amount=D("630.00")),)),
    )


GL_CODES = {"CC-MKT-1": "4100-10", "CC-MKT-2": "4100-20"}


def invoice(*, hostile: bool = False, number: str = "INV-2026-0001") -> Invoice:
    cat = services(hostile=hostile)
    lines = []
    for n, c in enumerate((c for c in charges(hostile=hostile) if c.charging_mode == "chargeback"), start=1):
        service = cat[c.service]
        description = f"{service.name}, {service.tier(c.tier).name}"
        if hostile and n == 3:
            description = FORMULAS[0]
        lines.append(InvoiceLine(
            line_no=n, kind=c.kind, service=c.service, service_name=service.name, tier=c.tier,
            tier_name=service.tier(c.tier).name, description=description, quantity=c.quantity, unit=service.unit,
            detail=c.detail, amount=c.amount, charge_line_no=c.line_no,
            cost_centers=tuple(LineCostCenter(cost_center=s.cost_center, gl_code=GL_CODES[s.cost_center], amount=s.amount)
                               for s in c.cost_centers),
        ))
    line = business_line(hostile=hostile)
    return Invoice(number=number, kind="invoice", month=MONTH, issue_date=dt.date(2026, 4, 2), business_line="MKT",
                   buyer_name=line.name, buyer_head=line.head_name, currency="USD", lines=tuple(lines),
                   total=sum((l.amount for l in lines), D("0")), fiscal_year=2026)


def sla_results() -> tuple[SlaResult, ...]:
    return (
        SlaResult(service="VM", tier="silver", metric="availability_pct", achieved=D("99.5")),
        SlaResult(service="VM", tier="silver", metric="response_minutes", achieved=D("45")),
        SlaResult(service="APPHOST", tier="gold", metric="availability_pct", achieved=D("99.97")),
        SlaResult(service="APPHOST", tier="gold", metric="availability_pct", achieved=D("99.99"), business_line="OTHER"),
    )


def tier_quotes() -> tuple[TierQuote, ...]:
    return (
        TierQuote(service="VM", tier="gold", amount=D("4620.00")),
        TierQuote(service="VM", tier="silver", amount=D("3800.00")),
        TierQuote(service="VM", tier="bronze", amount=D("3135.00")),
        TierQuote(service="APPHOST", tier="gold", amount=D("1350.00")),
        TierQuote(service="APPHOST", tier="silver", amount=D("1050.00")),
    )


def budget() -> tuple[BudgetFigure, ...]:
    return (
        BudgetFigure(service="VM", budget_ytd=D("10000.00"), actual_ytd=D("11400.00")),
        BudgetFigure(service="APPHOST", budget_ytd=D("5000.00"), actual_ytd=D("4050.00")),
    )


def history() -> CostHistory:
    """13 months to March 2026: VM (after its credit) and APPHOST; the last two months are the
    statement's total (4,770.00) and the previous total (4,500.00)."""
    vm = [D("2900.00") + D("20.00") * i for i in range(11)] + [D("3150.00"), D("3420.00")]
    amounts = {(add_months(MONTH, i - 12), "VM"): amount for i, amount in enumerate(vm)}
    amounts |= {(add_months(MONTH, i - 12), "APPHOST"): D("1350.00") for i in range(13)}
    return cost_history(MONTH, amounts)


def burn() -> BudgetBurn:
    """Fiscal year 2026 (January to December), 5,000.00 budgeted a month; actual January to
    March 4,400.00, 4,500.00, 4,770.00; the nine months left forecast at 4,900.004 (4,900.00),
    80 % from 4,400.005 (4,400.01) to 5,399.994 (5,399.99). Year end 57,770.00 (53,270.09 to
    62,269.91) against 60,000.00."""
    months = fiscal_months(2026, 1)
    forecast = SeriesForecast(method="trend", values=(4900.004,) * 9, low=(4400.005,) * 9, high=(5399.994,) * 9)
    return budget_burn(fiscal_year=2026, months=months, month=MONTH, budget={m: D("5000.00") for m in months},
                       actual={"2026-01": D("4400.00"), "2026-02": D("4500.00"), "2026-03": D("4770.00")},
                       forecast=forecast, currency="USD")


def long_bridge():
    """February's 4,500.00 to March's 4,770.00 over six services, every one of the eleven steps
    moving on each (what a long bridge looks like on the first page)."""
    from billing.close.bridge import STEPS, Bridge, ServiceBridge

    steps = [D(x) for x in ("10.00", "-5.00", "20.00", "3.00", "-2.00", "4.00", "-1.00", "6.00", "-7.00", "8.00")]
    pieces = tuple(zip(STEPS, [*steps, D("45.00") - sum(steps)]))
    return Bridge(business_line="MKT", month=MONTH, previous_month="2026-02", currency="USD", services=tuple(
        ServiceBridge(service=code, previous=D("750.00"), current=D("795.00"), pieces=pieces, previous_tiers=("silver",),
                      current_tiers=("gold", "silver"), previous_versions=("2026.1",), current_versions=("2026.2", "2026.3"),
                      previous_quantity=D("1000"), current_quantity=D("1250.5"))
        for code in ("VM", "STORAGE", "DESK", "NETWORK", "BACKUP", "DB")))


def statement(*, hostile: bool = False, closed: bool = True, with_budget: bool = True, pictures: bool = False,
              bridge: bool = False):
    return statement_view(
        business_line=business_line(hostile=hostile), month=MONTH, charges=charges(hostile=hostile),
        services=services(hostile=hostile), closed=closed, generated_at=dt.datetime(2026, 4, 2, 8, 15),
        invoice=invoice(hostile=hostile) if closed else None, previous_total=D("4500.00"),
        sla_results=sla_results(), tier_quotes=tier_quotes(), budget=budget() if with_budget else (),
        history=history() if pictures else None, burn=burn() if pictures and with_budget else None,
        bridge=long_bridge() if bridge else None,
    )


def export(*, hostile: bool = False, closed: bool = True):
    if closed:
        return month_export_view(month=MONTH, closed=True, documents=[invoice(hostile=hostile)], charges=charges(hostile=hostile))
    line = business_line(hostile=hostile)
    return month_export_view(month=MONTH, closed=False, charges=charges(hostile=hostile), services=services(hostile=hostile),
                             business_lines={line.code: line}, gl_codes=GL_CODES)
