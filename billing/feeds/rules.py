"""The usage format's row rules, declared once, as data, for any executor.

A rule is a :class:`Rule`: a problem code, the column it is reported at, a condition and a
message, written in the small expression language below (columns, literals, comparisons,
text). :func:`to_polars` runs them on a batch with polars (the local loader,
billing.feeds.usage_format, and the number, field-count and dimension rules FOCUS shares);
another engine compiles the same declarations, so a rule is never written twice.

The rules read the typed columns the parsers add beside each text (``_date``, ``_service``,
``_qty`` …: billing.feeds.values); see docs/feeds.md for the list with their codes. Pure: no I/O.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal

import polars as pl

from billing.core.limits import DIMENSION_VALUE, Range
from billing.core.problems import Ask, Asked, ProblemCode, Severity
from billing.files.dialect import DELIMITERS, GROUPED_THOUSANDS, Dialect

__all__ = [
    "Expr", "Col", "Lit", "Not", "And", "Or", "IsNull", "NotNull", "Cmp", "Between", "In", "Length", "Text",
    "Concat", "Quoted", "When", "Lookup", "Matches", "Rule", "to_polars", "field_count_rules", "number_rules",
    "number_text_rules", "out_of_range_rule", "too_long_rules", "shaped_rule", "FIELDS", "EXTRA",
]

FIELDS = "fields"
"""A record's field count where it is not the header's (null where it is): billing.feeds.raw."""
EXTRA = "extra"
"""The fields of a record beyond the header's width, joined by the delimiter: billing.feeds.raw."""
SCALE = 12
"""Decimals kept for quantities and costs (billing.feeds.values.SCALE)."""


@dataclass(frozen=True, slots=True)
class Col:
    name: str


@dataclass(frozen=True, slots=True)
class Lit:
    value: object  # str, int, bool, Decimal or date


@dataclass(frozen=True, slots=True)
class Not:
    x: Expr


@dataclass(frozen=True, slots=True)
class And:
    xs: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class Or:
    xs: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class IsNull:
    x: Expr


@dataclass(frozen=True, slots=True)
class NotNull:
    x: Expr


@dataclass(frozen=True, slots=True)
class Cmp:
    op: str  # "<", ">", "<=", "!=", "=="
    a: Expr
    b: Expr


@dataclass(frozen=True, slots=True)
class Between:
    x: Expr
    low: dt.date
    high: dt.date


@dataclass(frozen=True, slots=True)
class In:
    x: Expr  # text
    values: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Length:
    x: Expr  # characters of a text


@dataclass(frozen=True, slots=True)
class Matches:
    x: Expr  # a text
    pattern: str  # a regular expression both engines read alike (no look-around, no inline flags)


@dataclass(frozen=True, slots=True)
class Text:
    x: Expr  # a value as text: a code, a date as YYYY-MM-DD, an integer


@dataclass(frozen=True, slots=True)
class Concat:
    parts: tuple[Expr, ...]  # texts; null when any is null


@dataclass(frozen=True, slots=True)
class Quoted:
    """A text for a message: ``'text'`` shortened to ``width`` characters (``…`` marks the
    cut), ``''`` when there is none (billing.feeds.values.quoted)."""

    name: str
    width: int = 60


@dataclass(frozen=True, slots=True)
class When:
    condition: Expr
    then: Expr
    otherwise: Expr


@dataclass(frozen=True, slots=True)
class Lookup:
    """A text looked up in ``mapping``; ``default`` where it is not there (or null)."""

    x: Expr
    mapping: tuple[tuple[str, str], ...]
    default: str


Expr = (Col | Lit | Not | And | Or | IsNull | NotNull | Cmp | Between | In | Length | Matches | Text | Concat | Quoted
        | When | Lookup)


def lit(value: object) -> Lit:
    return Lit(value)


def concat(*parts: Expr | str) -> Concat:
    return Concat(tuple(Lit(p) if isinstance(p, str) else p for p in parts))


def all_of(*xs: Expr) -> And:
    return And(tuple(xs))


def any_of(*xs: Expr) -> Or:
    return Or(tuple(xs))


@dataclass(frozen=True, slots=True)
class Rule:
    """Rows where ``mask`` holds get a problem ``code`` at ``column`` (the header as written;
    None: the row as a whole) with ``message`` (null: the code) and ``hint``. A mask that is
    null counts as false."""

    code: ProblemCode
    column: str | None
    mask: Expr
    message: Expr
    hint: str | None = None
    severity: Severity = Severity.ERROR
    asks_for: tuple[Asked, ...] = ()  # what the hint asks the user to give (billing.core.problems.Ask)
    asks_either: bool = False  # ``asks_for`` are alternatives


def shaped_rule(rule: Rule) -> Rule:
    """``rule`` for the records that have the header's field count only (their values are
    where their columns say)."""
    return replace(rule, mask=all_of(rule.mask, IsNull(Col(FIELDS))))


# --- the polars executor ---------------------------------------------------------------------------

_OPS = {"<": "__lt__", ">": "__gt__", "<=": "__le__", "!=": "__ne__", "==": "__eq__"}


def to_polars(e: Expr) -> pl.Expr:
    """``e`` as a polars expression."""
    match e:
        case Col(name):
            return pl.col(name)
        case Lit(value):
            if isinstance(value, Decimal):
                return pl.lit(value, dtype=pl.Decimal(38, SCALE))
            return pl.lit(value)
        case Not(x):
            return ~to_polars(x)
        case And(xs):
            out = to_polars(xs[0])
            for x in xs[1:]:
                out = out & to_polars(x)
            return out
        case Or(xs):
            out = to_polars(xs[0])
            for x in xs[1:]:
                out = out | to_polars(x)
            return out
        case IsNull(x):
            return to_polars(x).is_null()
        case NotNull(x):
            return to_polars(x).is_not_null()
        case Cmp(op, a, b):
            return getattr(to_polars(a), _OPS[op])(to_polars(b))
        case Between(x, low, high):
            return to_polars(x).is_between(low, high)
        case In(x, values):
            return to_polars(x).is_in(list(values))
        case Length(x):
            return to_polars(x).str.len_chars()
        case Matches(x, pattern):
            return to_polars(x).str.contains(pattern)
        case Text(x):
            return to_polars(x).cast(pl.String)
        case Concat(parts):
            return pl.concat_str([to_polars(p) for p in parts])
        case Quoted(name, width):
            text = pl.col(name)
            short = pl.when(text.str.len_chars() > width).then(text.str.slice(0, width) + "…").otherwise(text)
            return pl.lit("'") + short.fill_null("") + pl.lit("'")
        case When(condition, then, otherwise):
            return pl.when(to_polars(condition)).then(to_polars(then)).otherwise(to_polars(otherwise))
        case Lookup(x, mapping, default):
            return to_polars(x).cast(pl.String).replace_strict(dict(mapping), default=default, return_dtype=pl.String)
    raise TypeError(f"not a rule expression: {e!r}")


# --- rules shared by the formats -------------------------------------------------------------------

def field_count_rules(width: int, dialect: Dialect | None) -> list[Rule]:
    """A record whose field count is not the header's is quarantined (``too-few-fields`` /
    ``too-many-fields``, with both counts), never read with its values under the wrong columns."""
    fields = Col(FIELDS)
    separator = DELIMITERS[dialect.delimiter] if dialect else "comma"
    return [
        Rule(ProblemCode.TOO_FEW_FIELDS, None, Cmp("<", fields, Lit(width)),
             concat("the row has ", Text(fields), " field", When(Cmp("==", fields, Lit(1)), Lit(""), Lit("s")),
                    f", the header {width}: a value is missing, so the values after it would be read under the wrong "
                    f"columns; the row is not loaded"),
             "every row needs a field for each column, even an empty one; if the file was cut short (a download "
             "that stopped), load the complete file"),
        Rule(ProblemCode.TOO_MANY_FIELDS, None, Cmp(">", fields, Lit(width)),
             concat("the row has ", Text(fields), f" fields, the header {width}; the row is not loaded; extra: ",
                    Quoted(EXTRA)),
             f"a value containing a {separator} must be in double quotes"),
    ]


def number_text_rules(name: str, column: str | None, dialect: Dialect | None, *, prefix: str) -> list[Rule]:
    """Text in ``name`` that is no number as the file is read (billing.feeds.values.with_number).

    A ``;``- or tab-separated file comes from a program that may write decimal commas: when
    the user did not say how it writes numbers, a value that can only be a decimal comma
    (``12,5``) or that is one thing or another by the decimal mark (``1.234``) refuses the file
    (``number-format``: any other number of it may be misread). Elsewhere such a value is a
    row that is ``not-a-number``, with a hint that fits. ``dialect`` None is a workbook, whose
    numbers are cells."""
    text = Col(name)
    looks_comma = Col(f"{prefix}_comma_look")
    label = concat(f"{name} ", Quoted(name))
    rules: list[Rule] = []
    if dialect is None:
        rules.append(Rule(ProblemCode.NOT_A_NUMBER, column, looks_comma,
                          concat(label, " is text with a decimal comma, not a number"),
                          "enter it as a number in the workbook"))
    elif dialect.doubts_grouping:
        separated = "';'" if dialect.delimiter == ";" else "tab"
        rules += [
            Rule(ProblemCode.NUMBER_FORMAT, column, looks_comma,
                 concat(label, " is written with a decimal comma; the file is not loaded"),
                 "load the file with the decimal mark comma (numbers such as 1.234,56)",
                 asks_for=(Asked(Ask.DECIMAL, "comma"),)),
            Rule(ProblemCode.NUMBER_FORMAT, column, Matches(text, GROUPED_THOUSANDS),
                 concat(label, f" is a decimal or thousands, by the decimal mark (a {separated}-separated file is "
                               f"often written with decimal commas); the file is not loaded"),
                 "say how the file writes numbers: the decimal mark comma (1.234,56) or point (1234.56)",
                 asks_for=(Asked(Ask.DECIMAL, "comma"), Asked(Ask.DECIMAL, "point")), asks_either=True),
        ]
    elif not dialect.decimal_comma:
        rules.append(Rule(ProblemCode.NOT_A_NUMBER, column, looks_comma,
                          concat(label, " is written with a decimal comma, and the file is read with decimal points"),
                          "correct the value, or load the file with the decimal mark comma if all its numbers are so",
                          asks_for=(Asked(Ask.DECIMAL, "comma"),)))
    caught: Expr = Or(tuple(r.mask for r in rules)) if rules else Lit(False)
    if dialect is not None and dialect.decimal_comma:
        hint = "digits with an optional decimal comma and '.' between thousands (1234,56 or 1.234,56); no units"
    else:
        hint = "digits with an optional '.' decimal point; no thousands separators or units"
    rules.append(Rule(ProblemCode.NOT_A_NUMBER, column,
                      all_of(NotNull(text), Not(Col(f"{prefix}_number")), Not(_false_if_null(caught))),
                      concat(label, " is not a number"), hint))
    return rules


def _false_if_null(x: Expr) -> Expr:
    return When(IsNull(x), Lit(False), x)


def out_of_range_rule(field: str, prefix: str, column: str | None, limit: Range, *, text: str | None = None) -> Rule:
    """A number with acceptable decimals that is out of ``limit`` (billing/core/limits.py)."""
    too_large = all_of(Col(f"{prefix}_number"), Cmp("<=", Col(f"{prefix}_decimals"), Lit(SCALE)), IsNull(Col(prefix)))
    return Rule(ProblemCode.OUT_OF_RANGE, column, too_large,
                concat(f"{field} ", Quoted(text or field), f" is out of range: {limit.name} has {limit.describe()}"),
                "check the unit and the number in the source system")


def number_rules(field: str, prefix: str, column: str | None, dialect: Dialect | None, limit: Range, *,
                 required: bool) -> list[Rule]:
    """Every rule of one number column of our usage format: missing (when ``required``), no
    number, more than 12 decimals, out of range."""
    rules = []
    if required:
        rules.append(Rule(ProblemCode.VALUE_MISSING, column, IsNull(Col(field)), Lit(f"{field} is missing")))
    return [
        *rules,
        *number_text_rules(field, column, dialect, prefix=prefix),
        Rule(ProblemCode.TOO_PRECISE, column,
             all_of(Col(f"{prefix}_number"), Cmp(">", Col(f"{prefix}_decimals"), Lit(SCALE))),
             concat(f"{field} ", Quoted(field), " has ", Text(Col(f"{prefix}_decimals")),
                    " decimals; at most 12 are kept"),
             "round it in the source system"),
        out_of_range_rule(field, prefix, column, limit),
    ]


def too_long_rules(service: str, columns: Mapping[str, str | None], dimension_of: Mapping[str, str],
                   value: str = "dimension_value") -> list[Rule]:
    """A price-dimension value longer than the store keeps is refused, not cut (a cut value
    would be priced as another), at the column it was read from (``columns``: dimension → the
    file's column)."""
    return [
        Rule(ProblemCode.TOO_LONG, column,
             all_of(In(Text(Col(service)), tuple(services_of(dimension, dimension_of))),
                    Cmp(">", Length(Col(value)), Lit(DIMENSION_VALUE))),
             concat(f"the {dimension} ", Quoted(value), f" is longer than {DIMENSION_VALUE} characters"),
             f"a {dimension} is a short code such as eu-west or premium")
        for dimension, column in columns.items()
    ]


def services_of(dimension: str, dimension_of: Mapping[str, str]) -> list[str]:
    """The services (codes) whose prices depend on ``dimension``."""
    return sorted(code for code, named in dimension_of.items() if named.lower() == dimension.lower())


def known_text(codes: Sequence[str] | set[str], limit: int = 12) -> str:
    """``known: A, B and 3 more``: the codes a hint lists."""
    ordered = sorted(set(codes))
    shown = ", ".join(ordered[:limit]) + (f" and {len(ordered) - limit} more" if len(ordered) > limit else "")
    return f"known: {shown}" if ordered else "none are defined"


# --- our usage format ------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True, kw_only=True)
class UsageRuleSet:
    """What the usage format's rules of one file depend on: its columns as written
    (``headers``: field → header), the accepted dates, the codes named in hints, each cost
    centre's owners as text (for the message of an unmapped one), the dialect, and the price
    dimensions' columns."""

    headers: Mapping[str, str]
    width: int
    earliest: dt.date
    latest: dt.date
    services: tuple[str, ...]
    units: tuple[str, ...]
    business_lines: tuple[str, ...]
    ownership_text: tuple[tuple[str, str], ...]
    dialect: Dialect | None
    dimension_headers: Mapping[str, str]
    dimension_of: Mapping[str, str]
    quantity: Range
    cost: Range


def usage_rules(s: UsageRuleSet) -> list[Rule]:
    """Every row rule of our usage format, in the order their problems are reported for a row.

    They read the columns the parsers add: ``_date``, ``_service``, ``_unit``, ``_bl``,
    ``_cc`` (codes; null when the text names none), ``_service_unit`` (the unit of
    ``_service``), ``_tier`` (the tier of ``_service`` that ``tier`` names), ``_owner`` (the
    business line owning ``_cc`` on ``_date``), ``_qty`` and ``_cost`` with their
    ``_number``, ``_decimals`` and ``_comma_look``, and the texts as written (cleaned where
    they did not parse)."""
    h = s.headers.get
    col = Col
    early, late = s.earliest, s.latest
    rules = [
        Rule(ProblemCode.VALUE_MISSING, h("record_id"), IsNull(col("record_id")),
             Lit("record id is missing"), "every row needs the id it has in the source system"),
        Rule(ProblemCode.VALUE_MISSING, h("usage_date"), IsNull(col("usage_date")), Lit("usage date is missing")),
        Rule(ProblemCode.NOT_A_DATE, h("usage_date"), all_of(NotNull(col("usage_date")), IsNull(col("_date"))),
             concat(Quoted("usage_date"), " is not a date"), "write dates as YYYY-MM-DD"),
        Rule(ProblemCode.DATE_OUT_OF_RANGE, h("usage_date"),
             any_of(Cmp("<", col("_date"), Lit(early)), Cmp(">", col("_date"), Lit(late))),
             concat("usage date ", Text(col("_date")), f" is outside {early}..{late}"),
             "check the year; usage must fall in the accepted range"),
        Rule(ProblemCode.VALUE_MISSING, h("service"), IsNull(col("service")), Lit("service is missing")),
        Rule(ProblemCode.UNKNOWN_SERVICE, h("service"), all_of(NotNull(col("service")), IsNull(col("_service"))),
             concat("service ", Quoted("service"), " is not in the catalogue"), known_text(s.services)),
        Rule(ProblemCode.VALUE_MISSING, h("unit"), IsNull(col("unit")), Lit("unit is missing")),
        Rule(ProblemCode.UNKNOWN_UNIT, h("unit"), all_of(NotNull(col("unit")), IsNull(col("_unit"))),
             concat("unit ", Quoted("unit"), " is not a known unit"), known_text(s.units)),
        Rule(ProblemCode.UNKNOWN_UNIT, h("unit"),
             all_of(NotNull(col("_unit")), NotNull(col("_service_unit")),
                    Cmp("!=", Text(col("_unit")), Text(col("_service_unit")))),
             concat("unit ", Text(col("_unit")), " is not the unit of service ", Text(col("_service")),
                    ", which is measured in ", Text(col("_service_unit"))),
             "convert the quantity to the service's unit"),
        Rule(ProblemCode.UNKNOWN_TIER, h("tier"),
             all_of(NotNull(col("tier")), NotNull(col("_service")), IsNull(col("_tier"))),
             concat("tier ", Quoted("tier"), " is not a tier of service ", Text(col("_service"))),
             "leave tier empty to use the subscribed tier"),
        Rule(ProblemCode.VALUE_MISSING, h("cost_center") or h("business_line"),
             all_of(IsNull(col("cost_center")), IsNull(col("business_line"))),
             Lit("neither cost centre nor business line is given"), "give one of them"),
        Rule(ProblemCode.UNKNOWN_BUSINESS_LINE, h("business_line"),
             all_of(NotNull(col("business_line")), IsNull(col("_bl"))),
             concat("business line ", Quoted("business_line"), " is not known"), known_text(s.business_lines)),
        Rule(ProblemCode.UNKNOWN_COST_CENTER, h("cost_center"),
             all_of(NotNull(col("cost_center")), IsNull(col("_cc"))),
             concat("cost centre ", Quoted("cost_center"), " is not known"),
             "add it to the organisation, or correct the code"),
        Rule(ProblemCode.UNMAPPED, h("cost_center"),
             all_of(NotNull(col("_cc")), Between(col("_date"), early, late), IsNull(col("_owner"))),
             concat("cost centre ", Text(col("_cc")), " belongs to no business line on ", Text(col("_date")),
                    " (owners: ", Lookup(col("_cc"), s.ownership_text, "none"), ")"),
             "fix the usage date or the cost centre's ownership dates"),
        Rule(ProblemCode.INCONSISTENT, h("business_line"),
             all_of(NotNull(col("_owner")), NotNull(col("_bl")), Cmp("!=", Text(col("_owner")), Text(col("_bl")))),
             concat("cost centre ", Text(col("_cc")), " belongs to ", Text(col("_owner")), " on ", Text(col("_date")),
                    ", not to ", Text(col("_bl"))),
             "give the cost centre alone, or the business line that owns it that day"),
        *number_rules("quantity", "_qty", h("quantity"), s.dialect, s.quantity, required=True),
        *number_rules("cost", "_cost", h("cost"), s.dialect, s.cost, required=False),
        *too_long_rules("_service", s.dimension_headers, s.dimension_of),
    ]
    return [*field_count_rules(s.width, s.dialect), *map(shaped_rule, rules)]
