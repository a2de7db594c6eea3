"""`chargeback sources inspect`: what a FOCUS export holds, where its cost would go with a
source definition, and a starter definition for it (billing/feeds/inspect.py); the report's
text is reports/inspect_text.py's."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session

from billing.feeds.inspect import (DraftWritten, InspectReport, draft_source, inspect_export, mapped_cost, share,
                                   tag_values)
from billing.feeds.sources import parse_source
from billing.jobs.usage import mapping_context
from billing.jobs.usage_sources import source_definition
from billing.core.problems import ChargebackError, ProblemsError, errors

BASE_SOURCE = "focus-cloud"  # the shipped definition a draft takes its services from without --source


def inspect_file(session: Session, path: Path, *, source_name: str | None, sources_dir: Path | None,
                 draft: Path | None, draft_name: str | None) -> InspectReport:
    """What a FOCUS export holds; writes ``draft`` when given (and checks that it reads back)."""
    path = Path(path)
    if not path.is_file():
        raise ChargebackError(f"{path}: no such file")
    source = source_definition(source_name, "focus", sources_dir) if source_name else None
    ctx = mapping_context(session, loading=False)  # inspecting writes nothing
    centers = {o.cost_center: o.business_line for o in sorted(ctx.cost_centers, key=lambda o: o.effective_from)}
    known = set(ctx.business_lines) | set(centers)
    found = inspect_export(path, cost_column=source.cost if source else "BilledCost", known=known)
    mapping = mapped_cost(path, source, ctx) if source is not None else None
    written = None
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
        written = DraftWritten(path=draft, name=name, unallocated_share=share(after.unallocated, after.cost))
    return InspectReport(path=path, found=found, mapping=mapping, draft=written)


def _name(path: Path) -> str:
    stem = "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in path.stem).strip("-.") or "draft"
    return stem if stem[0].isalnum() else f"s{stem}"
