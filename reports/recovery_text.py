"""Cost allocation and recovery as printed lines (`chargeback allocation explain`, `chargeback recovery`).

Amounts are written by :func:`billing.core.money.amount_text` in the report's currency; tables by
:func:`reports.text.table_lines`. Nothing here computes a figure: every amount comes from
``billing.recovery`` (the allocation's steps and pool balances, the recovery report).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

from billing.core.money import amount_text
from billing.core.money import ZERO, plain, round_to_step
from billing.core.problems import Problem
from billing.recovery.allocation import AllocationResult, NodeKind
from billing.recovery.over_under import RecoveryReport
from reports.text import table_lines

__all__ = ["allocation_lines", "recovery_rows", "pool_rows"]


def allocation_lines(result: AllocationResult, *, month: str, scenario: str, rules: Path,
                     warnings: Sequence[Problem] = ()) -> list[str]:
    """Every step's inputs and outputs, and each cost pool's reconciliation, as lines."""
    c = result.currency

    def fmt(value: Decimal) -> str:
        return amount_text(value, c)

    out = [f"Allocation of {scenario} costs for {month} by {rules} ({c})",
           f"Cost pools: {len(result.pool_totals)}, total {fmt(result.total)}"]
    out += [f"note: {n}" for n in result.notes]
    out += [f"warning: {p.render()}" for p in list(warnings) + list(result.problems)]
    for step in result.steps:
        where = f" ({step.source.render()})" if step.source else ""
        out += ["", f"Step {step.number} {step.name}{where}: {step.source_node} by {step.basis}"]
        out.append(f"  input {fmt(step.input)}: " + ", ".join(f"{p} {fmt(a)}" for p, a in step.inputs_by_pool) if step.inputs_by_pool
                   else f"  input {fmt(ZERO)}")
        out += [f"  {n}" for n in step.notes]
        total_weight = sum((w for _, w in step.weights if w > 0), ZERO)
        amounts = dict(step.outputs)
        rows = []
        for node, weight in step.weights:
            value = step.overhead if node.kind is NodeKind.OVERHEAD else amounts.get(node, ZERO)
            share = "" if not total_weight else plain(round_to_step(max(weight, ZERO) * 100 / total_weight, Decimal("0.01")))
            rows.append([str(node), plain(weight), share, fmt(value)])
        for node, value in step.outputs:
            if node not in {n for n, _ in step.weights}:
                rows.append([str(node), "", "", fmt(value)])
        if step.overhead and not any(n.kind is NodeKind.OVERHEAD for n, _ in step.weights):
            rows.append(["overhead", "", "", fmt(step.overhead)])
        out += ["  " + line for line in table_lines(["to", "weight", "share %", "amount"], rows, right={1, 2, 3})]
        outputs = sum((a for _, a in step.outputs), ZERO)
        out.append(f"  outputs {fmt(outputs)} + overhead {fmt(step.overhead)} = {fmt(outputs + step.overhead)}"
                   f" = input {fmt(step.input)}: conserved")
    out += ["", "Cost pools (allocated + left in overhead = pool total):"]
    balances = result.pool_balances()
    rows = [[b.pool, fmt(b.total), fmt(b.to_services), fmt(b.to_business_lines), fmt(b.overhead),
             "ok" if b.to_services + b.to_business_lines + b.overhead == b.total else "MISMATCH"]
            for b in balances]
    rows.append(["TOTAL", fmt(result.total), *(fmt(sum((getattr(b, k) for b in balances), ZERO))
                                               for k in ("to_services", "to_business_lines", "overhead")), ""])
    out += ["  " + line for line in table_lines(["pool", "total", "to services", "to business lines", "left in overhead", "check"],
                                                rows, right={1, 2, 3, 4})]
    return out


def recovery_rows(report: RecoveryReport) -> tuple[list[str], list[list[str]]]:
    """The terminal table: one row per service, then the total."""
    headers = ["service", "mode", "basis", "cost", "recovered", "allocated", "over/under", "recovery %", "in overhead"]
    c = report.currency
    rows = []
    for row in (*report.rows, report.total):
        pct = "" if row.recovery_pct is None else f"{round_to_step(row.recovery_pct, Decimal('0.1')):.1f}"
        rows.append([row.service, row.mode, row.basis, amount_text(row.cost, c), amount_text(row.recovered, c),
                     amount_text(row.allocated, c), amount_text(row.over_under, c), pct, amount_text(row.in_overhead, c)])
    return headers, rows


def pool_rows(report: RecoveryReport) -> tuple[list[str], list[list[str]]]:
    headers = ["pool", "category", "cost", "to services", "to business lines", "left in overhead"]
    c = report.currency
    rows = [[p.pool, p.category, amount_text(p.total, c), amount_text(p.to_services, c), amount_text(p.to_business_lines, c),
             amount_text(p.overhead, c)] for p in report.pools]
    rows.append(["TOTAL", "", *(amount_text(sum((getattr(p, k) for p in report.pools), ZERO), c)
                                for k in ("total", "to_services", "to_business_lines", "overhead"))])
    return headers, rows
