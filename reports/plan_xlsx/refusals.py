"""What reading a planner's copy back refuses, each problem at its ``sheet!cell``: a formula
changed or replaced (compared as Excel and LibreOffice re-save formulas), a formula or text in a
driver cell, a value typed into an agreement step the writer leaves empty, a heading moved."""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal

from billing.core.money import D
from billing.core.problems import Problem, ProblemCode, Severity, SourceRef
from billing.files.fields import cell_text
from reports.plan_xlsx.layout import quoted


def normalise_formula(text: str) -> str:
    """A formula as compared: no spaces, quotes, ``$`` or ``_xlfn.`` outside string literals,
    upper case; string literals as written (Excel and LibreOffice re-save formulas so)."""
    parts = text.lstrip("=").split('"')
    for i in range(0, len(parts), 2):  # outside string literals
        parts[i] = re.sub(r"\s+|\$|'", "", parts[i]).upper().replace("_XLFN.", "")
    return '"'.join(parts)


class Reader:
    """The problems found reading a planner's copy back, each at its ``sheet!cell`` of ``file``."""

    def __init__(self, file: str):
        self.file = file
        self.problems: list[Problem] = []

    def ref(self, sheet: str, cell: str) -> SourceRef:
        location = f"{quoted(sheet) if not re.fullmatch(r'[A-Za-z_][A-Za-z0-9_]*', sheet) else sheet}!{cell}"
        return SourceRef(file=self.file, location=location)

    def report(self, code: ProblemCode, message: str, sheet: str, cell: str, hint: str | None = None,
               severity: Severity = Severity.ERROR) -> None:
        self.problems.append(Problem(code=code, message=message, source=self.ref(sheet, cell), hint=hint, severity=severity))

    def number(self, ws, cell: str, what: str) -> Decimal | None:
        value = ws[cell].value
        if value is None or (isinstance(value, str) and not value.strip()):
            return Decimal(0)
        if isinstance(value, str) and value.startswith("="):
            self.report(ProblemCode.VALUE_INVALID, f"the {what} holds a formula ({value[:40]})", ws.title, cell,
                        "type a number: a driver cell must hold a value")
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float, Decimal, str)):
            self.report(ProblemCode.NOT_A_NUMBER, f"the {what} {cell_text(value)!r} is not a number", ws.title, cell)
            return None
        try:
            return D(cell_text(value))
        except ValueError:
            self.report(ProblemCode.NOT_A_NUMBER, f"the {what} {cell_text(value)!r} is not a number", ws.title, cell)
            return None

    def empty(self, ws, cells: Sequence[str], line: str, service: str) -> None:
        """``cells`` are agreement steps of a row without an agreement: the writer leaves them empty."""
        for cell in cells:
            value = ws[cell].value
            if value not in (None, ""):
                self.report(ProblemCode.INCONSISTENT, f"this agreement step holds {cell_text(value)!r}, but {line} has "
                            f"no agreement for {service}: the cell is empty in the plan", ws.title, cell,
                            "clear the cell or make the plan again; agreements come from the tariffs")

    def formulas(self, ws, expected: dict[str, str]) -> None:
        for cell, formula in expected.items():
            value = ws[cell].value
            if not (isinstance(value, str) and value.startswith("=")):
                self.report(ProblemCode.INCONSISTENT, f"the formula in this cell was replaced by {cell_text(value)!r}",
                            ws.title, cell, f"put the formula back ({formula[:60]}...) or make the plan again")
            elif normalise_formula(value) != normalise_formula(formula):
                self.report(ProblemCode.INCONSISTENT, "the formula in this cell was changed", ws.title, cell,
                            "costs are computed from the drivers only: undo the change or make the plan again")


def headers_moved(reader: Reader, ws, row: int, expected: dict[str, str]) -> bool:
    for column, header in expected.items():
        if ws[f"{column}{row}"].value != header:
            reader.report(ProblemCode.INCONSISTENT, f"expected the heading {header!r} here: columns were inserted, deleted "
                          "or moved", ws.title, f"{column}{row}", "make the plan again and copy your drivers into it")
            return True
    return False
