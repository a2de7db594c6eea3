"""`chargeback sources inspect`: what a FOCUS export holds, where its cost would go with a
source definition, and a starter definition for it (billing/feeds/inspect.py)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from sqlalchemy.orm import Session

from billing.feeds.inspect import Inspection, MappedCost, draft_source, inspect_export, mapped_cost, tag_values
from billing.feeds.sources import parse_source
from billing.jobs.usage import mapping_context
from billing.jobs.usage_sources import source_definition
from billing.core.money import plain
from billing.core.problems import ChargebackError, ProblemsError, errors

BASE_SOURCE = "focus-cloud"  # the shipped definition a draft takes its services from without --source


def inspect_file(session: Session, path: Path, *, source_name: str | None, sources_dir: Path | None,
                 draft: Path | None, draft_name: str | None) -> list[str]:
    """The report's lines; writes ``draft`` when given (and checks that it reads back)."""
    path = Path(path)
    if not path.is_file():
        raise ChargebackError(f"{path}: no such file")
    source = source_definition(source_name, "focus", sources_dir) if source_name else None
    ctx = mapping_context(session, loading=False)  # inspecting writes nothing
    centers = {o.cost_center: o.business_line for o in sorted(ctx.cost_centers, key=lambda o: o.effective_from)}
    known = set(ctx.business_lines) | set(centers)
    found = inspect_export(path, cost_column=source.cost if source else "BilledCost", known=known)
    out = _describe(found)
    if source is not None:
        out += _mapping(mapped_cost(path, source, ctx))
    carrier = found.carrier()
    if carrier is not None and carrier.known:
        out.append(f"the {carrier.key!r} tag carries the business line or cost centre: {_pct(carrier.known)} of its "
                   f"cost is on values the organisation knows")
    if draft is not None:
        base = source or source_definition(BASE_SOURCE, "focus", sources_dir)
        name = draft_name or _name(path)
        text = draft_source(found, name=name, base=base, business_lines=ctx.business_lines, cost_centers=centers,
                            all_values=tag_values(path))
        checked, problems = parse_source(text, file=str(draft))
        if checked is None or errors(problems):
            raise ProblemsError(problems, f"{draft}: the draft does not read back; nothing written")
        draft.write_text(text, encoding="utf-8")
        after = mapped_cost(path, checked, ctx)
        out.append(f"draft written to {draft} (source {name}): with it {_pct(_share(after.unallocated, after.cost))} of "
                   f"the cost is UNALLOCATED; load with `chargeback usage load {path} --source {name} --sources "
                   f"{draft.parent}`")
    return out


def _describe(found: Inspection) -> list[str]:
    out = [f"{found.file}: FOCUS {found.version}, {found.rows:,} rows, {found.cost_column} {plain(found.cost, grouped=True)}"
           + (f" {', '.join(found.currencies)}" if found.currencies else ""),
           f"untagged: {found.untagged_rows:,} rows, {plain(found.untagged_cost, grouped=True)}",
           "tag keys (share of cost behind each; most frequent values):"]
    for key in found.tag_keys:
        values = ", ".join(f"{v} ({n:,} rows, {plain(c, grouped=True)})" for v, n, c in key.values)
        more = f", … {key.distinct - len(key.values):,} more" if key.distinct > len(key.values) else ""
        out.append(f"  {key.key}: {_pct(key.share)} of the cost, {key.rows:,} rows; {values}{more}")
    out.append("sub accounts:")
    out += [f"  {i or '-'} {n}: {rows:,} rows, {plain(c, grouped=True)}" for i, n, rows, c in found.sub_accounts]
    out.append("services (ServiceName / ServiceCategory):")
    out += [f"  {s or '-'} / {c or '-'}: {rows:,} rows, {plain(v, grouped=True)}" for s, c, rows, v in found.services]
    return out


def _mapping(result: MappedCost) -> list[str]:
    out = [f"with source {result.source}: {plain(result.mapped, grouped=True)} of {plain(result.cost, grouped=True)} "
           f"maps to business lines, {plain(result.unallocated, grouped=True)} "
           f"({_pct(_share(result.unallocated, result.cost))}) falls to UNALLOCATED"]
    out += [f"  {line}: {plain(cost, grouped=True)}" for line, cost in result.by_business_line]
    if result.reasons:
        out.append("  why rows are UNALLOCATED:")
        out += [f"    {reason}: {rows:,} rows, {plain(cost, grouped=True)}" for reason, rows, cost in result.reasons]
    if result.rejected_rows:
        out.append(f"  {result.rejected_rows:,} rows would be rejected: `chargeback usage load` lists why")
    return out


def _share(part: Decimal, whole: Decimal) -> Decimal:
    return abs(part) / abs(whole) if whole else Decimal(0)


def _pct(share: Decimal) -> str:
    return f"{(share * 100).quantize(Decimal('0.1'))}%"


def _name(path: Path) -> str:
    stem = "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in path.stem).strip("-.") or "draft"
    return stem if stem[0].isalnum() else f"s{stem}"
