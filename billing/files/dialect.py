"""How a CSV file writes its values: the delimiter between them, and the decimal mark of its
numbers. Shared by the feeds (billing.feeds.raw) and the small tables (billing.files.tables).

Excel saves "CSV" with the list separator of the computer's regional settings: a comma where
the decimal mark is a point, a semicolon where it is a comma (``1.234,56``), so a file from a
European finance team is usually ``;``-separated with decimal commas. The delimiter is read
from the header line: the candidate (comma, semicolon, tab, pipe) found most often outside
double quotes. A number is never guessed at: with a decimal point ``1,234.56`` and
``1234.56`` are the only spellings of 1234.56, with a decimal comma ``1.234,56`` and
``1234,56``; anything else is not a number.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass

__all__ = [
    "DELIMITERS",
    "MAX_RECORD_BYTES",
    "Dialect",
    "parse_delimiter",
    "count_outside_quotes",
    "likely_delimiter",
    "wrong_delimiter_text",
    "DECIMAL_COMMA_NUMBER",
    "LOOKS_LIKE_DECIMAL_COMMA",
    "GROUPED_THOUSANDS",
    "DECIMAL_MARKS",
]

MAX_RECORD_BYTES = 4 << 20
"""The longest record a reader takes (4 MiB): one line, or several when a quoted value holds
line breaks. A longer one means a file that is not CSV, or a line break that never comes; the
reader stops there with a clear problem instead of holding ever more of the file in memory."""

csv.field_size_limit(max(csv.field_size_limit(), MAX_RECORD_BYTES))  # a value may be as long as a record

DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}

_SPELLINGS = {",": ",", "comma": ",", ";": ";", "semicolon": ";", "\t": "\t", "tab": "\t", "\\t": "\t",
              "|": "|", "pipe": "|"}

DECIMAL_COMMA_NUMBER = r"^[+-]?(?:[0-9]+|[1-9][0-9]{0,2}(?:\.[0-9]{3})+)(?:,[0-9]+)?$|^[+-]?,[0-9]+$"
"""A number written with a decimal comma: ``1234,56``, ``1.234,56``, ``-0,5``, ``,5``, ``1.234``
(thousands); never ``1.5`` or ``1234.56``."""

LOOKS_LIKE_DECIMAL_COMMA = r"^\s*[+-]?(?:[0-9]{1,3}(?:\.[0-9]{3})+,[0-9]+|[0-9]*,(?:[0-9]{1,2}|[0-9]{4,})|0,[0-9]+|[0-9]{4,},[0-9]+)\s*$"
"""A value that can only be a decimal comma: ``12,5``, ``0,125``, ``1.234,56``, ``1234,567``
(``1,234`` could be a thousands separator and is not counted)."""


GROUPED_THOUSANDS = r"^\s*[+-]?[1-9][0-9]{0,2}(?:\.[0-9]{3})+\s*$"
"""``1.234`` or ``12.345.678``: a decimal point to some, thousands to a decimal-comma writer."""

DECIMAL_MARKS = ("point", "comma")


@dataclass(frozen=True, slots=True, kw_only=True)
class Dialect:
    """A CSV file's ``delimiter``, and its numbers' ``decimal`` mark: ``point``, ``comma``, or
    None when the user did not say (a point then; but a ``;``- or tab-separated file, often
    written with decimal commas, is refused if a number shows a comma or reads ``1.234``)."""

    delimiter: str = ","
    decimal: str | None = None

    def __post_init__(self) -> None:
        if self.delimiter not in DELIMITERS:
            raise ValueError(f"delimiter {self.delimiter!r} is not one of {', '.join(map(repr, DELIMITERS))}")
        if self.decimal is not None and self.decimal not in DECIMAL_MARKS:
            raise ValueError(f"decimal mark {self.decimal!r} is not one of {', '.join(DECIMAL_MARKS)}")

    @property
    def decimal_comma(self) -> bool:
        return self.decimal == "comma"

    @property
    def doubts_grouping(self) -> bool:
        """``1.234`` cannot be taken as a decimal point without the user saying so: Excel writes
        ``;``- and tab-separated files with the decimal mark of its regional settings."""
        return self.decimal is None and self.delimiter in (";", "\t")


def parse_delimiter(text: str) -> str:
    """A delimiter as a user types it (``;``, ``semicolon``, ``tab``, ``\\t``, ``|``, ``,``);
    ValueError for anything else."""
    found = _SPELLINGS.get(text if text == "\t" else text.strip().lower())
    if found is None:
        raise ValueError(f"{text!r} is not a delimiter: use ',', ';', tab or '|'")
    return found


def count_outside_quotes(line: str, char: str) -> int:
    """How often ``char`` occurs in ``line`` outside double-quoted values."""
    parts = line.split('"')
    return sum(part.count(char) for part in parts[0::2])


def likely_delimiter(line: str) -> str | None:
    """The candidate delimiter found most often outside quotes in ``line`` (a header), or
    None when none occurs (a file of one column)."""
    counts = {d: count_outside_quotes(line, d) for d in DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else None


def wrong_delimiter_text(line: str, delimiter: str) -> str | None:
    """Why ``line`` (a header) is not separated by ``delimiter``, in words; None when it is.

    The header is taken to be separated by whichever candidate it holds most often; a file
    read with another delimiter would come out as one column or as cut-up names.
    """
    likely = likely_delimiter(line)
    if likely is None or likely == delimiter:
        return None
    counts = count_outside_quotes(line, likely), count_outside_quotes(line, delimiter)
    if counts[1] >= counts[0]:
        return None
    given = DELIMITERS[delimiter]
    found = f"no {given}" if not counts[1] else f"{counts[1]} {given}{'s' if counts[1] > 1 else ''}"
    shown = "" if likely == "\t" else f" ({likely})"
    return (f"the values are separated by {DELIMITERS[likely]}s{shown}, not by {given}s: "
            f"the header has {counts[0]} {DELIMITERS[likely]}s and {found}")
