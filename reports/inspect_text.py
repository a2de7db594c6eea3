"""`chargeback sources inspect` as text: what a FOCUS export holds (tag keys with their share
of the cost, sub accounts, services), where its cost goes with a source definition, and the
draft definition written (billing/jobs/inspect.py finds it all)."""

from __future__ import annotations

from decimal import Decimal

from billing.core.money import plain
from billing.feeds.inspect import InspectReport, Inspection, MappedCost, share


def inspect_lines(report: InspectReport) -> list[str]:
    """The report's lines, in the order a reader asks: the file, its tags, the mapping, the draft."""
    out = _described(report.found)
    if report.mapping is not None:
        out += _mapping(report.mapping)
    carrier = report.found.carrier()
    if carrier is not None and carrier.known:
        out.append(f"the {carrier.key!r} tag carries the business line or cost centre: {_pct(carrier.known)} of its "
                   f"cost is on values the organisation knows")
    if report.draft is not None:
        draft = report.draft
        out.append(f"draft written to {draft.path} (source {draft.name}): with it {_pct(draft.unallocated_share)} of "
                   f"the cost is UNALLOCATED; load with `chargeback usage load {report.path} --source {draft.name} "
                   f"--sources {draft.path.parent}`")
    return out


def _money(value: Decimal) -> str:
    return plain(value, grouped=True)


def _described(found: Inspection) -> list[str]:
    out = [f"{found.file}: FOCUS {found.version}, {found.rows:,} rows, {found.cost_column} {_money(found.cost)}"
           + (f" {', '.join(found.currencies)}" if found.currencies else ""),
           f"untagged: {found.untagged_rows:,} rows, {_money(found.untagged_cost)}",
           "tag keys (share of cost behind each; most frequent values):"]
    for key in found.tag_keys:
        values = ", ".join(f"{v} ({n:,} rows, {_money(c)})" for v, n, c in key.values)
        more = f", … {key.distinct - len(key.values):,} more" if key.distinct > len(key.values) else ""
        out.append(f"  {key.key}: {_pct(key.share)} of the cost, {key.rows:,} rows; {values}{more}")
    out.append("sub accounts:")
    out += [f"  {i or '-'} {n}: {rows:,} rows, {_money(c)}" for i, n, rows, c in found.sub_accounts]
    out.append("services (ServiceName / ServiceCategory):")
    out += [f"  {s or '-'} / {c or '-'}: {rows:,} rows, {_money(v)}" for s, c, rows, v in found.services]
    return out


def _mapping(result: MappedCost) -> list[str]:
    out = [f"with source {result.source}: {_money(result.mapped)} of {_money(result.cost)} "
           f"maps to business lines, {_money(result.unallocated)} "
           f"({_pct(share(result.unallocated, result.cost))}) falls to UNALLOCATED"]
    out += [f"  {line}: {_money(cost)}" for line, cost in result.by_business_line]
    if result.reasons:
        out.append("  why rows are UNALLOCATED:")
        out += [f"    {reason}: {rows:,} rows, {_money(cost)}" for reason, rows, cost in result.reasons]
    if result.rejected_rows:
        out.append(f"  {result.rejected_rows:,} rows would be rejected: `chargeback usage load` lists why")
    return out


def _pct(value: Decimal) -> str:
    return f"{(value * 100).quantize(Decimal('0.1'))}%"
