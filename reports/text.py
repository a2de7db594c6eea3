"""Text for the terminal: quantities and percentages in printed lines, and the one table.

An amount in a printed line is written by :func:`billing.core.money.amount_text`, the one
money formatter (the currency's minor units: ``1,234.50`` USD, ``1,235`` JPY, ``1.250`` BHD; a
figure that is not a document's amount, a forecast or an exact share of a cost, is written
exactly, never rounded).
:func:`quantity` writes a quantity as people do (``90``, ``1,250``, ``0.000001``): grouped, no
exponent, no trailing zeros, whatever the stored Decimal's exponent (``9E+1`` prints ``90``).

:func:`percent` writes a share or a change in per cent (``+5.2 %``), the statements' ``pct``.

:func:`table_lines` lays out a table as lines: a header, a rule, a row each, columns padded
to their widest cell, the columns in ``right`` right-aligned. Every cell is printed safe
(control characters escaped, billing.core.problems.printable) and cut at :data:`CELL_WIDTH`.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from decimal import Decimal

from billing.core.problems import excerpt, printable
from reports.filters import pct, qty

__all__ = ["CELL_WIDTH", "quantity", "percent", "table_lines"]

CELL_WIDTH = 500
"""The widest cell of a printed table; a longer value (a description, a name) is cut."""


def quantity(value: Decimal) -> str:
    """``value`` (a quantity, a count, a source cost) for a printed line: ``90`` for ``9E+1``,
    ``0.000001`` for ``1E-6``, ``1,250`` (the statement's ``qty`` filter, for text)."""
    return qty(value)


def percent(value: Decimal | None, *, sign: bool = False, none: str = "") -> str:
    """A percentage already × 100 for a printed figure: ``5.2 %``, ``+5.2 %`` with ``sign``;
    ``none`` where there is no percentage (nothing to compare with)."""
    return none if value is None else pct(value, 1, sign=sign)


def table_lines(headers: Sequence[object], rows: Sequence[Sequence[object]], *,
                right: Collection[int] = frozenset()) -> list[str]:
    cells = [[str(c) for c in headers]] + [["" if c is None else excerpt(printable(str(c)), CELL_WIDTH) for c in row]
                                           for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = []
    for n, row in enumerate(cells):
        lines.append("  ".join(c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths))).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return lines
