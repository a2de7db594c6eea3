"""The organisation file's rows: business lines and cost centres (docs/inputs.md, "Business
lines" and "Cost centres").

Pure: rows (``billing.files.fields.Row``) in, records and problems out. Which sheet or
columns of a file hold which is ``billing.organisation.read``, which reads the file.
"""

from __future__ import annotations

import datetime as dt

from billing.core.codes import gl_code_problem
from billing.core.addresses import address_problem
from billing.core.limits import CODE, NAME
from billing.core.problems import Problem, ProblemCode, excerpt
from billing.core.records import BusinessLine, CostCenter
from billing.files.fields import Row, date_field, text_field

BUSINESS_LINE_COLUMNS = ("business_line", "name")
BUSINESS_LINE_OPTIONAL = ("head_name", "head_email", "division")
COST_CENTER_COLUMNS = ("cost_center", "name", "business_line", "gl_cost_center")
COST_CENTER_OPTIONAL = ("effective_from",)

#: Cost centres loaded without an ``effective_from`` are owned from this day, so that usage of
#: any past month maps to them.
BEGINNING = dt.date(2000, 1, 1)


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
        unusable = address_problem(email) if email else None
        if unusable:
            found.append(Problem(code=ProblemCode.VALUE_INVALID, source=row.ref("head_email"),
                                 message=f"head_email {excerpt(email)!r} is not one e-mail address: {unusable}",
                                 hint="write the head's address alone, e.g. elena.rossi@example.com; statements are e-mailed to it"))
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
