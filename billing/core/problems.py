"""Problems found in input, carried as values with their location.

Loaders return ``(records, problems)`` and never raise on bad data; the CLI prints every
problem as ``file:row:column: CODE message`` and exits 1. Exceptions are kept for a broken
environment or a refused operation (:class:`ChargebackError`).
"""

from __future__ import annotations

import enum
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from billing.core.money import plain


class Ask(enum.StrEnum):
    """What a refusal or a problem asks the user to give, in the engine's words.

    The engine never names a shell's spelling of it: each shell turns an ``Ask`` into its own
    (the command line into an option, ``cli.OPTION``: ``Ask.REASON`` is ``--reason``; the portal
    into a form field). The value is how the engine says it in a message.
    """

    REASON = "a reason"
    LINE = "the invoice line"
    AMOUNT = "an amount"
    QUANTITY = "a quantity"
    DEBIT = "a debit note"
    CONFIRM = "a confirmation"
    STRICT = "strict loading"
    REPLACE = "a replacement of the feed"
    SOURCE = "the usage source"
    NEW_SOURCE = "a new source"
    SOURCES = "the source definitions folder"
    ALLOW_OTHER_SOURCE = "another source's records allowed"
    DELIMITER = "the delimiter"
    DECIMAL = "the decimal mark"
    ROLE = "the role"
    BUSINESS_LINES = "the business lines"
    READ_ONLY = "read-only"
    NAME = "a name"
    MONTHS = "the months to forecast"
    STORE = "the store"
    DRY_RUN = "a dry run"
    FOLDER = "a folder to write to"
    ATTACH_HTML = "HTML attachments"
    LOCAL_ENGINE = "the local engine"


@dataclass(frozen=True, slots=True)
class Asked:
    """One thing asked for, with the value to give when the engine knows it (``Ask.DELIMITER``,
    ``";"``); ``drop``: asked to be left out (a new source for a source already declared)."""

    ask: Ask
    value: str | None = None
    drop: bool = False


def asked(asks: Iterable[Ask | Asked]) -> tuple[Asked, ...]:
    """``asks`` as :class:`Asked` records (an ``Ask`` alone asks with no value)."""
    return tuple(a if isinstance(a, Asked) else Asked(a) for a in asks)


class ChargebackError(Exception):
    """An operation the engine refuses, with a message that says what to do instead, in the
    engine's words; ``asks_for`` names what the user may give (a reason, the invoice line), for
    the shell to say in its own words (the command line adds the options: ``(--reason)``).

    The CLI turns it into a one-line error and exit code 1.
    """

    def __init__(self, message: str = "", *, asks_for: Iterable[Ask | Asked] = (), either: bool = False):
        super().__init__(message)
        self.asks_for = asked(asks_for)
        self.asks_either = either  # the things asked for are alternatives: one of them, not all


class NeedsConfirmation(ChargebackError):
    """An operation refused until the user confirms it: each of ``reasons`` says why, and the
    message says how to confirm (the CLI prints the reasons, then the message)."""

    def __init__(self, message: str, reasons: Iterable[str], *, asks_for: Iterable[Ask | Asked] = (Ask.CONFIRM,),
                 either: bool = False):
        super().__init__(message, asks_for=asks_for, either=either)
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
    asks_for: tuple[Asked, ...] = ()  # what the hint asks the user to give, for a shell to name its own way
    asks_either: bool = False  # ``asks_for`` are alternatives (the decimal mark comma or point)

    def render(self, asked_text: Callable[[Sequence[Asked], bool], str] | None = None) -> str:
        """``file:row:column: CODE message (hint)``: the one rendering of a problem, for the
        terminal and for files. Whatever came from input is shown safe: control characters
        (terminal escape sequences among them) and invisible format characters are written
        as escapes (:func:`printable`), and an overlong message, hint or place is cut.
        ``asked_text`` is a shell's way of naming what the hint asks for (the command line's
        options), added to the hint."""
        text = f"{self.source.render()}: {self.code.value} {printable(excerpt(self.message, _MESSAGE_WIDTH))}"
        if self.hint:
            hint = self.hint + (f": {asked_text(self.asks_for, self.asks_either)}" if asked_text and self.asks_for else "")
            text += f" ({printable(excerpt(hint, _MESSAGE_WIDTH))})"
        if self.severity is Severity.WARNING:
            text = "warning: " + text
        return text


_PLACE_WIDTH = 200  # a column or location shown in a problem (a header can be megabytes long)
_MESSAGE_WIDTH = 1_000  # a message or hint: every input value in it is already a short excerpt


def excerpt(text: str, width: int = 60) -> str:
    """Input text for a message: at most ``width`` characters, ``…`` marking a cut, so that
    no problem line ever echoes more than a short excerpt of a file."""
    return text if len(text) <= width else text[:width] + "…"


def path_excerpt(path: str, width: int = 80) -> str:
    """A file's path for a message: at most ``width`` characters, cut at its start (``…``
    marking the cut), so that the file's own name, the part a reader looks for, stays whole."""
    if len(path) <= width:
        return path
    return "…" + path[len(path) - width + 1:]


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

    def __init__(self, problems: list[Problem], summary: str, *, asks_for: Iterable[Ask | Asked] = ()):
        self.problems = problems
        super().__init__(summary, asks_for=asks_for)
