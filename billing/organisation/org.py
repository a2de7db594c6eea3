"""The organisation file: business lines and cost centres (docs/inputs.md, "Business lines" and
"Cost centres").

A CSV holds either business lines (column ``business_line`` without ``cost_center``) or cost
centres (column ``cost_center``). An .xlsx workbook may hold both, on sheets named
``business_lines`` and ``cost_centers``.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from pathlib import Path

from billing.close.journal import gl_code_problem
from billing.core.limits import CODE, NAME
from billing.core.problems import Problem, ProblemCode, excerpt
from billing.core.records import BusinessLine, CostCenter
from billing.files.tables import MAX_TABLE_BYTES, Row, date_field, read_table, text_field

BUSINESS_LINE_COLUMNS = ("business_line", "name")
BUSINESS_LINE_OPTIONAL = ("head_name", "head_email", "division")
COST_CENTER_COLUMNS = ("cost_center", "name", "business_line", "gl_cost_center")
COST_CENTER_OPTIONAL = ("effective_from",)

#: Cost centres loaded without an ``effective_from`` are owned from this day, so that usage of
#: any past month maps to them.
BEGINNING = dt.date(2000, 1, 1)


def read_org_file(path: Path) -> tuple[list[BusinessLine], list[CostCenter], list[Problem]]:
    """Read business lines and/or cost centres from ``path``; every problem is collected."""
    if _is_workbook(path):
        sheets = _sheet_names(path)
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


def parse_business_lines(rows: list[Row]) -> tuple[list[BusinessLine], list[Problem]]:
    lines: dict[str, BusinessLine] = {}
    seen: set[str] = set()
    problems: list[Problem] = []
    for row in rows:
        code, p1 = text_field(row, "business_line", limit=CODE)
        name, p2 = text_field(row, "name", limit=NAME)
        head, p3 = text_field(row, "head_name", required=False, limit=NAME)
        email, p4 = text_field(row, "head_email", required=False, limit=NAME)
        division, p5 = text_field(row, "division", required=False, limit=NAME)
        found = [p for p in (p1, p2, p3, p4, p5) if p]
        if email and "@" not in email:
            found.append(Problem(code=ProblemCode.VALUE_INVALID, message=f"head_email {email!r} is not an e-mail address", source=row.ref("head_email")))
        if code and code in seen:
            found.append(Problem(code=ProblemCode.DUPLICATE, message=f"business line {code} appears twice", source=row.ref("business_line"), hint="keep one row per business line"))
        seen.add(code)
        problems += found
        if not found:
            lines[code] = BusinessLine(
                code=code, name=name, head_name=head, head_email=email, division=division, source=row.ref(),
            )
    return list(lines.values()), problems


def parse_cost_centers(rows: list[Row]) -> tuple[list[CostCenter], list[Problem]]:
    centers: dict[str, CostCenter] = {}
    seen: set[str] = set()
    problems: list[Problem] = []
    for row in rows:
        code, p1 = text_field(row, "cost_center", limit=CODE)
        name, p2 = text_field(row, "name", limit=NAME)
        owner, p3 = text_field(row, "business_line", limit=CODE)
        gl_code, p4 = text_field(row, "gl_cost_center", limit=CODE)
        since, p5 = date_field(row, "effective_from", required=False)
        found = [p for p in (p1, p2, p3, p4, p5) if p]
        unusable = gl_code_problem(gl_code) if gl_code else None
        if unusable:
            found.append(Problem(code=ProblemCode.VALUE_INVALID, source=row.ref("gl_cost_center"),
                                 message=f"gl_cost_center {excerpt(gl_code)!r} cannot go to the GL journal: {unusable}",
                                 hint="write the cost centre's code exactly as the ERP knows it, e.g. 4711"))
        if code and code in seen:
            found.append(Problem(code=ProblemCode.DUPLICATE, message=f"cost centre {code} appears twice", source=row.ref("cost_center"), hint="keep one row per cost centre; a move to another business line is one row with the new owner and effective_from"))
        seen.add(code)
        problems += found
        if not found:
            centers[code] = CostCenter(
                code=code, name=name, gl_code=gl_code, business_line=owner,
                effective_from=since or BEGINNING, source=row.ref(),
            )
    return list(centers.values()), problems


def _is_workbook(path: Path) -> bool:
    """A workbook small enough to read (read_table refuses a larger file in words)."""
    try:
        return Path(path).stat().st_size <= MAX_TABLE_BYTES and zipfile.is_zipfile(path)
    except OSError:
        return False


def _sheet_names(path: Path) -> list[str]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(Path(path).read_bytes()), read_only=True)
    except Exception:
        return []
    names = list(workbook.sheetnames)
    workbook.close()
    return names
