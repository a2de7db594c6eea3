"""Header rows of CSV files and worksheets: every column is named once.

Every reader of tabular input (usage and FOCUS feeds, the organisation, subscriptions,
costs, budgets and service-level tables, map files) refuses a header that names a column
twice: which of the two holds the value would be a guess, so the file is refused as a whole
with both positions named. Names are compared the way the reader matches them (``key``), so
``Cost`` and ``cost `` are the same column to a reader that ignores case and spaces.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from billing.core.problems import Problem, ProblemCode, SourceRef, excerpt

__all__ = ["column_letter", "column_place", "repeated_columns", "repeated_column_problems"]


def column_letter(index: int) -> str:
    """The spreadsheet letter of a 0-based column index: 0 -> A, 25 -> Z, 26 -> AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def column_place(index: int) -> str:
    """A 0-based column index as a user counts it: ``3 (C)``."""
    return f"{index + 1} ({column_letter(index)})"


def repeated_columns(header: Sequence[str], key: Callable[[str], str]) -> list[tuple[int, ...]]:
    """The positions (0-based) of each name that ``header`` gives more than once, compared by
    ``key``; empty names are not names and never repeat."""
    positions: dict[str, list[int]] = {}
    for i, name in enumerate(header):
        folded = key(name)
        if folded:
            positions.setdefault(folded, []).append(i)
    return [tuple(found) for found in positions.values() if len(found) > 1]


def repeated_column_problems(header: Sequence[str], *, file: str, row: int | None,
                             key: Callable[[str], str], matching: str = "") -> list[Problem]:
    """One REPEATED_COLUMN problem per name given twice or more. ``matching`` says how names
    are compared (e.g. "names ignore case and surrounding spaces"), shown when the spellings differ."""
    problems = []
    for found in repeated_columns(header, key):
        spellings = {header[i].strip() for i in found}
        name = excerpt(header[found[0]].strip())
        if len(spellings) == 1:
            where = " and ".join([", ".join(column_place(i) for i in found[:-1]), column_place(found[-1])])
        else:
            where = " and ".join([", ".join(f"{column_place(i)} as {excerpt(header[i].strip())!r}" for i in found[:-1]),
                                  f"{column_place(found[-1])} as {excerpt(header[found[-1]].strip())!r}"])
            where += f" ({matching})" if matching else ""
        problems.append(Problem(
            code=ProblemCode.REPEATED_COLUMN,
            message=f"column {name!r} is named {'twice' if len(found) == 2 else f'{len(found)} times'} in the header: "
                    f"columns {where}",
            source=SourceRef(file=file, row=row, column=name),
            hint="name each column once (remove or rename the copy) and load the file again; nothing was loaded"))
    return problems
