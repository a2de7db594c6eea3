"""Over/under recovery: how much of IT's cost the tariffs and allocations recover (pure).

Per service and overall (docs/recovery.md explains every column):

- ``cost``: what the allocation rules put on the service (less what it passed on to other
  services; composites include their components' rolled-up cost);
- ``recovered``: the service's charges (chargeback and showback, service credits included);
- ``allocated``: cost the rules passed from the service to business lines;
- ``over_under = recovered + allocated - cost`` (negative: under-recovered);
- ``recovery_pct = (recovered + allocated) / cost × 100``;
- ``in_overhead``: cost nobody was charged or allocated, which still sits in IT's overhead
  (idle capacity of a capacity-based service, an under-recovered tariff).

Two more rows make the costs add up to the cost pools to the cent: what pool steps sent
straight to business lines, and what stayed in overhead without reaching a service.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from billing.recovery.allocation import AllocationResult, PoolBalance, RecoveryBasis, RuleSet
from billing.core.money import ZERO, round_to_step
from billing.core.records import Charge
from tariffs.model import Catalogue

__all__ = ["RecoveryRow", "PoolRow", "RecoveryReport", "RecoverySummary", "recovery_report", "recovery_table", "DIRECT", "LEFT_IN_OVERHEAD"]

DIRECT = "(direct to business lines)"
LEFT_IN_OVERHEAD = "(left in overhead)"


@dataclass(frozen=True, slots=True, kw_only=True)
class RecoveryRow:
    service: str
    name: str
    mode: str  # chargeback | showback | shared | "" for the two pool rows
    basis: str  # use | capacity | "" (tariffed services recover through their tariff)
    cost: Decimal
    recovered: Decimal
    showback: Decimal  # the part of ``recovered`` that is shown, never invoiced
    allocated: Decimal
    over_under: Decimal
    recovery_pct: Decimal | None  # None when there is no cost
    in_overhead: Decimal

    def __post_init__(self) -> None:
        if self.over_under != self.recovered + self.allocated - self.cost:
            raise ValueError(f"{self.service}: over/under is not recovered + allocated - cost")


@dataclass(frozen=True, slots=True, kw_only=True)
class PoolRow:
    pool: str
    name: str
    category: str
    total: Decimal
    to_services: Decimal
    to_business_lines: Decimal
    overhead: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class RecoveryReport:
    period: str  # 2026-03 or FY2026
    months: tuple[str, ...]
    currency: str
    rows: tuple[RecoveryRow, ...]
    total: RecoveryRow
    pools: tuple[PoolRow, ...]
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if sum((r.cost for r in self.rows), ZERO) != self.total.cost:
            raise ValueError("the rows' cost does not add up to the cost pools")
        if sum((p.total for p in self.pools), ZERO) != self.total.cost:
            raise ValueError("the pools do not add up to the total cost")


@dataclass(frozen=True, slots=True, kw_only=True)
class RecoverySummary:
    """A month's recovery in one figure, for the month review: the total row of its recovery
    report, or why there is none (``missing_rules``: no allocation rules at ``rules``;
    ``refused``: the allocation's refusal). Only for a month with actual costs loaded."""

    month: str
    rules: str  # where the allocation rules were looked for
    total: RecoveryRow | None = None
    currency: str = ""
    missing_rules: bool = False
    refused: str | None = None


def recovery_report(
    *,
    period: str,
    allocations: Sequence[AllocationResult],
    charges: Sequence[Charge],
    catalogue: Catalogue,
    rules: RuleSet,
    currency: str,
) -> RecoveryReport:
    """Recovery over one or more months: ``allocations`` of those months and their charges."""
    cost: dict[str, Decimal] = defaultdict(lambda: ZERO)
    allocated: dict[str, Decimal] = defaultdict(lambda: ZERO)
    direct = overhead = ZERO
    pools: dict[str, list[Decimal]] = defaultdict(lambda: [ZERO, ZERO, ZERO, ZERO])
    notes: list[str] = []
    for result in allocations:
        for code, flow in result.service_flows().items():
            cost[code] += flow.cost
            allocated[code] += flow.to_business_lines
        direct += result.direct_to_business_lines()
        overhead += result.pool_overhead()
        for balance in result.pool_balances():
            _add_pool(pools[balance.pool], balance)
        notes += [f"{result.month}: {n}" for n in result.notes]
        notes += [f"{result.month}: {p.render()}" for p in result.problems]
    recovered: dict[str, Decimal] = defaultdict(lambda: ZERO)
    showback: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for charge in charges:
        recovered[charge.service] += charge.amount
        if charge.charging_mode == "showback":
            showback[charge.service] += charge.amount

    codes = [s.code for s in catalogue.services] + [s.code for s in rules.shared_services]
    codes += sorted((set(cost) | set(recovered)) - set(codes))
    rows = []
    for code in codes:
        if not (cost.get(code) or recovered.get(code) or allocated.get(code) or rules.shared(code)):
            continue  # nothing to show
        service = catalogue.service(code)
        shared = rules.shared(code)
        setting = rules.recovery_for(code)
        mode = service.charging_mode.value if service else "shared"
        basis = setting.basis.value if setting else (RecoveryBasis.USE.value if shared else "")
        name = service.name if service else (shared.name if shared else code)
        rows.append(_row(code, name, mode, basis, cost[code], recovered[code], showback[code], allocated[code]))
    rows.append(_row(DIRECT, "Pool costs allocated straight to business lines", "", "", direct, ZERO, ZERO, direct))
    rows.append(_row(LEFT_IN_OVERHEAD, "Pool costs no service or business line carries", "", "", overhead, ZERO, ZERO, ZERO))
    total = RecoveryRow(
        service="TOTAL", name="All services", mode="", basis="",
        cost=sum((r.cost for r in rows), ZERO), recovered=sum((r.recovered for r in rows), ZERO),
        showback=sum((r.showback for r in rows), ZERO), allocated=sum((r.allocated for r in rows), ZERO),
        over_under=sum((r.recovered + r.allocated for r in rows), ZERO) - sum((r.cost for r in rows), ZERO),
        recovery_pct=_pct(sum((r.recovered + r.allocated for r in rows), ZERO), sum((r.cost for r in rows), ZERO)),
        in_overhead=sum((r.in_overhead for r in rows), ZERO),
    )
    pool_total = sum((v[0] for v in pools.values()), ZERO)
    if pool_total != total.cost:
        raise ArithmeticError(f"cost pools {pool_total} and service costs {total.cost} do not reconcile")
    pool_rows = []
    for code, (amount, services, lines, left) in sorted(pools.items()):
        pool = rules.pool(code)
        pool_rows.append(PoolRow(pool=code, name=pool.name if pool else code, category=pool.category.value if pool else "",
                                 total=amount, to_services=services, to_business_lines=lines, overhead=left))
    return RecoveryReport(
        period=period, months=tuple(r.month for r in allocations), currency=currency, rows=tuple(rows), total=total,
        pools=tuple(pool_rows), notes=tuple(dict.fromkeys(notes)),
    )


def _add_pool(slot: list[Decimal], balance: PoolBalance) -> None:
    slot[0] += balance.total
    slot[1] += balance.to_services
    slot[2] += balance.to_business_lines
    slot[3] += balance.overhead


def _row(code, name, mode, basis, cost, recovered, showback, allocated) -> RecoveryRow:
    over_under = recovered + allocated - cost
    in_overhead = cost - recovered - allocated if cost - recovered - allocated > 0 else ZERO
    if code == LEFT_IN_OVERHEAD:
        in_overhead = cost
    return RecoveryRow(service=code, name=name, mode=mode, basis=basis, cost=cost, recovered=recovered, showback=showback,
                       allocated=allocated, over_under=over_under, recovery_pct=_pct(recovered + allocated, cost),
                       in_overhead=in_overhead)


def _pct(part: Decimal, whole: Decimal) -> Decimal | None:
    return None if whole == 0 else part * 100 / whole


def recovery_table(report: RecoveryReport) -> tuple[list[str], list[list[object]]]:
    """The report as plain rows (headers, rows) for CSV and spreadsheet writers: service rows,
    the total, then the cost-pool reconciliation."""
    headers = ["section", "code", "name", "mode", "basis", "cost", "recovered", "of_which_showback", "allocated",
               "over_under", "recovery_pct", "in_overhead", "currency"]
    rows: list[list[object]] = []
    for row in (*report.rows, report.total):
        rows.append(["service" if row is not report.total else "total", row.service, row.name, row.mode, row.basis,
                     row.cost, row.recovered, row.showback, row.allocated, row.over_under,
                     "" if row.recovery_pct is None else round_to_step(row.recovery_pct, Decimal("0.01")),
                     row.in_overhead, report.currency])
    for pool in report.pools:
        rows.append(["pool", pool.pool, pool.name, pool.category, "", pool.total, "", "", pool.to_services + pool.to_business_lines,
                     "", "", pool.overhead, report.currency])
    return headers, rows
