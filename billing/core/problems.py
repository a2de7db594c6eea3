"""Problems found in input, carried as values with their location.

Loaders return ``(records, problems)`` and never raise on bad data; the CLI prints every
problem as ``file:row:column: CODE message`` and exits 1. Exceptions are kept for a broken
environment or a refused operation (:class:`ChargebackError`).
"""

from __future__ import annotations

import enum
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from billing.core.money import plain


class ChargebackError(Exception):
    """An operation the engine refuses, with a message that says what to do instead.

    The CLI turns it into a one-line error and exit code 1.
    """


class NeedsConfirmation(ChargebackError):
    """An operation refused until the user confirms it: each of ``reasons`` says why, and the
    message says how to confirm (the CLI prints the reasons, then the message)."""

    def __init__(self, message: str, reasons: Iterable[str]):
        super().__init__(message)
        self.reasons = tuple(reasons)


class ProblemCode(enum.StrEnum):
    """Stable reason codes; users may filter on them, so never rename one."""

    # files
    FILE_UNREADABLE = "file-unreadable"
    FILE_EMPTY = "file-empty"
    HEADER_MISSING = "header-missing"
    REPEATED_COLUMN = "repeated-column"  # a header names a column twice: the file is refused
    TOO_LARGE = "too-large"  # a file or document beyond the engine's bounds (size, nesting, aliases)
    WRONG_DELIMITER = "wrong-delimiter"  # the values are separated by another character than expected
    RECORD_TOO_LONG = "record-too-long"  # longer than a reader takes: the file stops there
    TOO_FEW_FIELDS = "too-few-fields"  # a record with fewer fields than the header
    TOO_MANY_FIELDS = "too-many-fields"  # a record with more fields than the header
    # values
    VALUE_MISSING = "value-missing"
    VALUE_INVALID = "value-invalid"
    NOT_A_NUMBER = "not-a-number"
    NUMBER_FORMAT = "number-format"  # numbers written another way than the file is read: the file is refused
    NOT_A_DATE = "not-a-date"
    DATE_OUT_OF_RANGE = "date-out-of-range"
    NEGATIVE = "negative"
    TOO_PRECISE = "too-precise"
    OUT_OF_RANGE = "out-of-range"  # a number beyond the range the engine carries (billing/core/limits.py)
    TOO_LONG = "too-long"  # a text longer than the store keeps (billing/core/limits.py)
    # references
    UNKNOWN_BUSINESS_LINE = "unknown-business-line"
    UNKNOWN_COST_CENTER = "unknown-cost-center"
    UNKNOWN_SERVICE = "unknown-service"
    UNKNOWN_TIER = "unknown-tier"
    UNKNOWN_UNIT = "unknown-unit"
    UNKNOWN_KEY = "unknown-key"
    UNMAPPED = "unmapped"
    DUPLICATE = "duplicate"
    CONFLICT = "conflict"  # a record id sent again with other content: quarantined
    EXCLUDED = "excluded"  # a row a source definition deliberately leaves out (warning)
    # tariffs and rules
    BANDS_UNSORTED = "bands-unsorted"
    BANDS_OVERLAP = "bands-overlap"
    BAND_AFTER_OPEN = "band-after-open-ended"
    VERSIONS_OVERLAP = "versions-overlap"
    VERSIONS_GAP = "versions-gap"
    PERCENT_OUT_OF_RANGE = "percent-out-of-range"
    PERCENTS_NOT_100 = "percents-not-100"
    CYCLE = "cycle"
    INCONSISTENT = "inconsistent"
    # periods
    PERIOD_CLOSED = "period-closed"


class Severity(enum.StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceRef:
    """Where a value came from: a file, a 1-based physical row (header is row 1) or a
    location inside a document (``tiers.gold.bands[2]``), and a column or key."""

    file: str
    row: int | None = None
    column: str | None = None
    location: str | None = None

    def render(self) -> str:
        parts = [self.file]
        if self.row is not None:
            parts.append(str(self.row))
        if self.location:
            parts.append(excerpt(self.location, _PLACE_WIDTH))
        if self.column:
            parts.append(excerpt(self.column, _PLACE_WIDTH))
        return printable(":".join(parts))


@dataclass(frozen=True, slots=True, kw_only=True)
class Problem:
    code: ProblemCode
    message: str
    source: SourceRef
    severity: Severity = Severity.ERROR
    hint: str | None = None

    def render(self) -> str:
        """``file:row:column: CODE message (hint)``: the one rendering of a problem, for the
        terminal and for files. Whatever came from input is shown safe: control characters
        (terminal escape sequences among them) and invisible format characters are written
        as escapes (:func:`printable`), and an overlong message, hint or place is cut."""
        text = f"{self.source.render()}: {self.code.value} {printable(excerpt(self.message, _MESSAGE_WIDTH))}"
        if self.hint:
            text += f" ({printable(excerpt(self.hint, _MESSAGE_WIDTH))})"
        if self.severity is Severity.WARNING:
            text = "warning: " + text
        return text


_PLACE_WIDTH = 200  # a column or location shown in a problem (a header can be megabytes long)
_MESSAGE_WIDTH = 1_000  # a message or hint: every input value in it is already a short excerpt


def excerpt(text: str, width: int = 60) -> str:
    """Input text for a message: at most ``width`` characters, ``…`` marking a cut, so that
    no problem line ever echoes more than a short excerpt of a file."""
    return text if len(text) <= width else text[:width] + "…"


_UNSEEN = frozenset({"Cc", "Cf", "Zl", "Zp"})  # controls, format characters (bidi overrides), line breaks


def printable(text: str) -> str:
    """``text`` safe to print on a terminal or in a one-line message: every control character
    (ESC of a terminal escape sequence, BEL, a carriage return or line break inside a value),
    invisible format character (the bidirectional overrides that reorder what is shown) and
    line or paragraph separator is written as a Python-style escape (``\\x1b``, ``\\u202e``).
    Everything else, accents and other scripts included, is kept as it is."""
    if text.isprintable():
        return text
    return "".join(_escape(c) if unicodedata.category(c) in _UNSEEN else c for c in text)


_SHORT_ESCAPES = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def has_control(text: str) -> bool:
    """Whether ``text`` holds a control character (a line break, a tab, ESC, NUL ...)."""
    return not text.isprintable() and any(unicodedata.category(c) == "Cc" for c in text)


def _escape(character: str) -> str:
    if character in _SHORT_ESCAPES:
        return _SHORT_ESCAPES[character]
    code = ord(character)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def describe_changes(fields: Iterable[tuple[str, object, object]]) -> str:
    """What a record sent again changes: ``quantity '5' here, '4' there; tier empty here,
    'GOLD' there`` for (field, value now, value before) triples."""
    return "; ".join(f"{name} {_shown(now)} here, {_shown(was)} there" for name, now, was in fields)


def _shown(value: object) -> str:
    if value is None:
        return "empty"
    if isinstance(value, Decimal):
        return repr(plain(value))
    return repr(excerpt(str(value), 40))


def errors(problems: Iterable[Problem]) -> list[Problem]:
    """The problems that stop a load (warnings are reported but do not)."""
    return [p for p in problems if p.severity is Severity.ERROR]


class ProblemsError(ChargebackError):
    """Raised by an orchestrator when input problems mean nothing may be written."""

    def __init__(self, problems: list[Problem], summary: str):
        self.problems = problems
        super().__init__(summary)
