"""Reading the organisation file (I/O): which sheets or columns hold business lines or cost
centres; their rows go to the pure parsers of ``billing.organisation.org``.

A CSV holds either business lines (column ``business_line`` without ``cost_center``) or cost
centres (column ``cost_center``). An .xlsx workbook may hold both, on sheets named
``business_lines`` and ``cost_centers``.
"""

from __future__ import annotations

from pathlib import Path

from billing.core.problems import Problem, ProblemCode
from billing.core.records import BusinessLine, CostCenter
from billing.files.fields import Row
from billing.files.tables import read_table, sheet_names
from billing.organisation.org import (
    BUSINESS_LINE_COLUMNS,
    BUSINESS_LINE_OPTIONAL,
    COST_CENTER_COLUMNS,
    COST_CENTER_OPTIONAL,
    parse_business_lines,
    parse_cost_centers,
)


def read_org_file(path: Path) -> tuple[list[BusinessLine], list[CostCenter], list[Problem]]:
    """Read business lines and/or cost centres from ``path``; every problem is collected."""
    sheets = sheet_names(path)
    if sheets is not None:
        wanted = [s for s in ("business_lines", "cost_centers") if s in sheets]
        if not wanted:
            return [], [], [Problem(
                code=ProblemCode.HEADER_MISSING,
                message=f"no sheet named business_lines or cost_centers; found {', '.join(sheets)}",
                source=Row(file=str(path), row=0, values={}).ref(),
            )]
        lines, centers, problems = [], [], []
        for sheet in wanted:
            a, b, c = _read_part(path, sheet=sheet, cost_centers=sheet == "cost_centers")
            lines += a
            centers += b
            problems += c
        return lines, centers, problems
    header_rows, problems = read_table(path, required=())
    if problems:
        return [], [], problems
    is_cost_centers = bool(header_rows) and "cost_center" in header_rows[0].values
    return _read_part(path, sheet=None, cost_centers=is_cost_centers)


def _read_part(path: Path, *, sheet: str | None, cost_centers: bool):
    if cost_centers:
        rows, problems = read_table(path, required=COST_CENTER_COLUMNS, optional=COST_CENTER_OPTIONAL, sheet=sheet)
        centers, more = parse_cost_centers(rows)
        return [], centers, problems + more
    rows, problems = read_table(path, required=BUSINESS_LINE_COLUMNS, optional=BUSINESS_LINE_OPTIONAL, sheet=sheet)
    lines, more = parse_business_lines(rows)
    return lines, [], problems + more
