"""Vectorised value parsing and checks, shared by the usage and FOCUS mappings.

Every value arrives as text. Each rule is a :class:`Check`: one boolean mask over a batch plus
a message expression; :func:`run_checks` turns the masks into :class:`Problem` values that
carry file, physical row and column. Nothing here loops over rows in Python except to build
the Problem objects of rows that failed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

import polars as pl

from billing.files.dialect import DECIMAL_COMMA_NUMBER, LOOKS_LIKE_DECIMAL_COMMA, Dialect
from billing.core.limits import QUANTITY, ROW_WORTH, Range
from billing.core.money import D, plain, round_to_step
from billing.core.problems import Asked, Problem, ProblemCode, Severity, SourceRef
from billing.feeds import rules
from tariffs.model import Catalogue
from tariffs.pricing import highest_rates

__all__ = [
    "SCALE",
    "DECIMAL",
    "Check",
    "compiled",
    "run_checks",
    "with_decimal",
    "too_large",
    "out_of_range_check",
    "service_rates",
    "worth_check",
    "worth_may_pass",
    "round_excess_decimals",
    "date_column",
    "utc_date_column",
    "utc_datetime_column",
    "canonical",
    "cleaned",
    "Codes",
    "with_code",
    "with_date",
    "parse_again",
    "join_notes",
    "quoted",
    "with_number",
    "number_text_checks",
]

SCALE = 12
"""Decimals kept for quantities and costs (1e-12)."""

DECIMAL = pl.Decimal(38, SCALE)
_STEP = Decimal(1).scaleb(-SCALE)

_NUMBER = r"^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$"
_DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}(?:[ T](?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9](?:\.[0-9]+)?)?)?$"
_TIMESTAMP = (
    r"^(?i)([0-9]{4}-[0-9]{2}-[0-9]{2})"  # date
    r"(?:[T ]((?:[01][0-9]|2[0-3]):[0-5][0-9])(?::([0-5][0-9])(?:\.[0-9]+)?)?)?"  # time, seconds, fraction
    r" ?(Z|UTC|[+-](?:[01][0-9]|2[0-3]):?[0-5][0-9])?$"  # offset
)


@dataclass(frozen=True, slots=True)
class Check:
    """One rule: rows where ``mask`` is true get a problem ``code`` at ``column``."""

    code: ProblemCode
    column: str | None
    mask: pl.Expr
    message: pl.Expr
    hint: str | None = None
    severity: Severity = Severity.ERROR
    asks_for: tuple[Asked, ...] = ()
    asks_either: bool = False


def compiled(rule: rules.Rule) -> Check:
    """A declared rule (billing.feeds.rules) as a polars :class:`Check`."""
    return Check(rule.code, rule.column, rules.to_polars(rule.mask), rules.to_polars(rule.message), rule.hint,
                 rule.severity, rule.asks_for, rule.asks_either)


def run_checks(frame: pl.DataFrame, checks: Sequence[Check], *, file: str) -> tuple[pl.Series, list[Problem]]:
    """Evaluate every check on ``frame`` (which has a ``row_no`` column).

    Returns a boolean Series, true where a row has at least one ERROR, and the problems
    ordered by row, then by check order.
    """
    if frame.height == 0 or not checks:
        return pl.Series("error", [False] * frame.height, dtype=pl.Boolean), []
    masks = frame.select(
        [c.mask.fill_null(False).alias(f"m{i}") for i, c in enumerate(checks)]
    )
    error_columns = [f"m{i}" for i, c in enumerate(checks) if c.severity is Severity.ERROR]
    if error_columns:
        error = masks.select(pl.any_horizontal(error_columns).alias("error")).to_series()
    else:
        error = pl.Series("error", [False] * frame.height, dtype=pl.Boolean)
    found: list[tuple[int, int, Problem]] = []
    for i, check in enumerate(checks):
        hits = masks.get_column(f"m{i}")
        if not hits.any():
            continue
        failed = frame.filter(hits).select("row_no", check.message.alias("message"))
        for row_no, message in failed.iter_rows():
            found.append((row_no, i, Problem(
                code=check.code,
                message=message or check.code.value,
                source=SourceRef(file=file, row=row_no, column=check.column),
                severity=check.severity,
                hint=check.hint,
                asks_for=check.asks_for,
                asks_either=check.asks_either,
            )))
    found.sort(key=lambda item: (item[0], item[1]))
    return error, [problem for _, _, problem in found]


def with_decimal(frame: pl.DataFrame, name: str, *, prefix: str, limit: Range = QUANTITY) -> pl.DataFrame:
    """Parse the text column ``name`` as an exact decimal.

    Adds ``{prefix}`` (Decimal(38,12), null unless the text is a number with at most 12
    significant decimals within ``limit``, billing/core/limits.py), ``{prefix}_number`` (the text is a number:
    digits, one optional point, optional exponent; surrounding spaces allowed) and
    ``{prefix}_decimals`` (significant decimals: trailing zeros do not count, so
    ``1.50000000000000`` has one). ``name`` becomes the :func:`cleaned` text where it is not
    a plain number.

    Texts that cast as they are and have no exponent count their decimals from the position
    of the point; only the other texts are cleaned and go through the regexes, as a subset.
    """
    text = pl.col(name)
    number, decimals = f"{prefix}_number", f"{prefix}_decimals"
    frame = frame.with_columns(  # each string pass once (eager frames share no subexpressions)
        text.cast(DECIMAL, strict=False).alias(prefix),
        text.str.find(".", literal=True).cast(pl.Int64).alias("_point"),
        text.str.strip_chars_end("0").str.len_bytes().cast(pl.Int64).alias("_kept"),
        text.str.contains_any(["e", "E"]).alias("_exponent"),
    )
    point = pl.col("_point")
    frame = frame.with_columns(
        pl.when(text.is_not_null()).then(pl.lit(True)).alias(number),
        pl.when(text.is_null()).then(pl.lit(0, dtype=pl.Int64))
        .when(pl.col(prefix).is_not_null() & ~pl.col("_exponent"))
        .then(pl.when(point.is_null()).then(pl.lit(0, dtype=pl.Int64)).otherwise(pl.col("_kept") - point - 1))
        .alias(decimals),
    ).drop("_point", "_kept", "_exponent")
    other = frame.get_column(decimals).is_null()
    if other.any():
        frame = parse_again(frame, other, [name], [
            pl.col(name).cast(DECIMAL, strict=False).alias(prefix),
            pl.col(name).str.contains(_NUMBER).alias(number),
            _regex_decimals(pl.col(name)).alias(decimals),
        ])
    elif (frame.get_column(decimals).max() or 0) <= SCALE and _within(frame.get_column(prefix), limit):
        return frame  # every value is a plain number with at most 12 decimals in range, or empty
    return frame.with_columns(
        pl.when(pl.col(number) & (pl.col(decimals) <= SCALE) & _in_range(pl.col(prefix), limit))
        .then(pl.col(prefix)).alias(prefix)
    )


def _in_range(value: pl.Expr, limit: Range) -> pl.Expr:
    return value.abs() < pl.lit(limit.bound, dtype=DECIMAL)


def _within(values: pl.Series, limit: Range) -> bool:
    """Every value of a Decimal(38,12) Series is within ``limit`` (one pass, no Python per row)."""
    largest = values.abs().max()
    return largest is None or largest < limit.bound


def _regex_decimals(text: pl.Expr) -> pl.Expr:
    """Significant decimals of any text, from its digits before and after the point and its exponent."""
    before = text.str.extract(r"^[+-]?([0-9]*)", 1).fill_null("")
    after = text.str.extract(r"\.([0-9]*)", 1).fill_null("")
    exponent = text.str.extract(r"[eE]([+-]?[0-9]+)$", 1).cast(pl.Int64, strict=False).fill_null(0)
    mantissa = before + after
    significant = mantissa.str.strip_chars_end("0")
    trailing_zeros = mantissa.str.len_chars() - significant.str.len_chars()
    counted = (after.str.len_chars().cast(pl.Int64) - exponent - trailing_zeros.cast(pl.Int64)).clip(0)
    return pl.when(significant.str.strip_chars_start("0").str.len_chars() > 0).then(counted).otherwise(0)  # zero has none


def round_excess_decimals(frame: pl.DataFrame, *, text: str, prefix: str, limit: Range = QUANTITY) -> pl.DataFrame:
    """Fill ``{prefix}`` for numbers with more than 12 decimals, rounded half-up to 1e-12,
    when they are within ``limit``.

    Rounding goes through :func:`billing.core.money.round_to_step`, the one rounding doorway; only
    the (few) over-precise values are touched.
    """
    excess = pl.col(f"{prefix}_number") & (pl.col(f"{prefix}_decimals") > SCALE)
    rows = frame.filter(excess)
    if rows.height == 0:
        return frame
    rounded = {t: round_to_step(D(t), _STEP) for t in rows.get_column(text).unique().to_list()}
    rounded = {t: value if abs(value) < limit.bound else None for t, value in rounded.items()}
    values = pl.DataFrame(
        {"_text": list(rounded), "_rounded": pl.Series(list(rounded.values()), dtype=DECIMAL)},
    )
    return (
        frame.join(values, left_on=text, right_on="_text", how="left", maintain_order="left")
        .with_columns(pl.when(excess).then(pl.col("_rounded")).otherwise(pl.col(prefix)).alias(prefix))
        .drop("_rounded")
    )


def too_large(prefix: str) -> pl.Expr:
    """A number with acceptable decimals that is out of its range (:func:`with_decimal`'s ``limit``)."""
    return pl.col(f"{prefix}_number") & (pl.col(f"{prefix}_decimals") <= SCALE) & pl.col(prefix).is_null()


def out_of_range_check(field: str, prefix: str, column: str | None, limit: Range, *, text: str | None = None) -> Check:
    """The OUT_OF_RANGE check of a number parsed by :func:`with_decimal` with ``limit``: the
    message names the field and the range (billing/core/limits.py)."""
    return compiled(rules.out_of_range_rule(field, prefix, column, limit, text=text))


def _plain(value: pl.Expr) -> pl.Expr:
    """A float for a message, to three significant digits, without an exponent (a magnitude,
    not an amount)."""
    return value.round_sig_figs(3).cast(pl.Decimal(38, 0), strict=False).cast(pl.String).fill_null("more")


def service_rates(catalogue: Catalogue) -> dict[str, tuple[Decimal, Decimal]]:
    """Per service, its highest price per unit of quantity and per unit of source cost over
    every tier of every tariff version (:func:`tariffs.pricing.highest_rates`)."""
    rates: dict[str, tuple[Decimal, Decimal]] = {s.code: (Decimal(0), Decimal(0)) for s in catalogue.services}
    for version in catalogue.tariffs:
        for _, price in version.prices:
            per_unit, per_cost = highest_rates(price)
            known = rates.get(version.service, (Decimal(0), Decimal(0)))
            rates[version.service] = (max(known[0], per_unit), max(known[1], per_cost))
    return rates


def worth_may_pass(frame: pl.DataFrame, rates: dict[str, tuple[Decimal, Decimal]], *, quantity: str | pl.Expr,
                   cost: str) -> bool:
    """Whether any row of ``frame`` could be worth more than :data:`~billing.core.limits.ROW_WORTH`:
    the batch's largest quantity and cost at the highest rates of any service. When not (every
    ordinary feed), :func:`worth_check` is left out of the batch's checks."""
    quantity = pl.col(quantity) if isinstance(quantity, str) else quantity
    largest = frame.select(quantity.cast(pl.Float64).abs().max().alias("q"),
                           pl.col(cost).cast(pl.Float64).abs().max().alias("c")).row(0)
    per_unit = max((float(r[0]) for r in rates.values()), default=0.0)
    per_cost = max((float(r[1]) for r in rates.values()), default=0.0)
    return (largest[0] or 0.0) * per_unit + (largest[1] or 0.0) * per_cost > float(ROW_WORTH) / 2


def worth_check(rates: dict[str, tuple[Decimal, Decimal]], *, service: str, quantity: str | pl.Expr, cost: str,
                column: str | None, shown: pl.Expr, services: pl.Enum | None = None) -> Check:
    """A row whose quantity and cost, priced at the highest rates of its service, come to more
    than :data:`~billing.core.limits.ROW_WORTH` is out of range: no month could carry many of
    them (billing/core/limits.py). Computed in floating point: an estimate against a bound with ten
    orders of magnitude of headroom. ``shown`` says what the row holds, for the message."""
    names = services.categories.to_list() if services is not None else list(rates)
    zero = (Decimal(0), Decimal(0))
    per_unit = pl.Series([float(rates.get(n, zero)[0]) for n in names], dtype=pl.Float64)
    per_cost = pl.Series([float(rates.get(n, zero)[1]) for n in names], dtype=pl.Float64)
    if services is not None:  # the service column is that Enum: look the rates up by its index
        index = pl.col(service).to_physical()
    else:
        index = pl.col(service).cast(pl.String).replace_strict(
            {n: i for i, n in enumerate(names)}, default=None, return_dtype=pl.Int64)
    quantity = pl.col(quantity) if isinstance(quantity, str) else quantity
    worth = (quantity.cast(pl.Float64).abs().fill_null(0) * pl.lit(per_unit).gather(index)
             + pl.col(cost).cast(pl.Float64).abs().fill_null(0) * pl.lit(per_cost).gather(index))
    bound = float(ROW_WORTH)
    return Check(ProblemCode.OUT_OF_RANGE, column, worth > bound,
                 pl.format(f"{{}} of service {{}} would be charged up to about {{}}: a usage row may be worth at most "
                           f"{plain(ROW_WORTH, grouped=True)} at its service's highest rate",
                           shown, pl.col(service).cast(pl.String), _plain(worth)),
                 "check the unit and the quantity in the source system")


def date_column(name: str, *, alias: str) -> pl.Expr:
    """``YYYY-MM-DD``, optionally followed by `` HH:MM[:SS[.fff]]`` (or ``T``), as a Date."""
    text = pl.col(name)
    return (
        pl.when(text.str.contains(_DATE))
        .then(text.str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False))
        .alias(alias)
    )


def utc_date_column(name: str, *, alias: str) -> pl.Expr:
    """The UTC calendar date of a timestamp (:func:`utc_datetime_column`)."""
    return utc_datetime_column(name, alias=alias).dt.date()


def utc_datetime_column(name: str, *, alias: str) -> pl.Expr:
    """A timestamp in UTC, null when it does not parse.

    Accepts ``YYYY-MM-DD``, ``YYYY-MM-DD HH:MM``, ``…THH:MM:SS``, with optional fractional
    seconds and an optional ``Z``/``UTC``/``±HH:MM`` offset; no offset means UTC (FOCUS).
    """
    text = pl.col(name)
    day = text.str.extract(_TIMESTAMP, 1)
    clock = text.str.extract(_TIMESTAMP, 2).fill_null("00:00")
    seconds = text.str.extract(_TIMESTAMP, 3).fill_null("00")
    offset = text.str.extract(_TIMESTAMP, 4).str.to_uppercase().str.replace(":", "", literal=True)
    offset_minutes = (
        pl.when(offset.is_null() | offset.is_in(["Z", "UTC"]))
        .then(pl.lit(0))
        .otherwise(
            (offset.str.slice(1, 2).cast(pl.Int64, strict=False) * 60 + offset.str.slice(3, 2).cast(pl.Int64, strict=False))
            * pl.when(offset.str.starts_with("-")).then(-1).otherwise(1)
        )
    )
    local = pl.concat_str([day, pl.lit(" "), clock, pl.lit(":"), seconds]).str.to_datetime(
        "%Y-%m-%d %H:%M:%S", strict=False, time_unit="us"
    )
    return (local - pl.duration(minutes=offset_minutes)).alias(alias)


def canonical(name: str, codes: Mapping[str, str]) -> pl.Expr:
    """Map text to a known code, ignoring case (``codes``: case-folded -> code); null if unknown."""
    return pl.col(name).str.to_lowercase().replace_strict(
        {k.lower(): v for k, v in codes.items()}, default=None, return_dtype=pl.String
    )


def cleaned(text: pl.Expr) -> pl.Expr:
    """Text without surrounding spaces; null when nothing is left."""
    stripped = text.str.strip_chars()
    return pl.when(stripped.str.len_bytes() > 0).then(stripped)


class Codes:
    """Known codes as an Enum ``dtype``, with what it takes to look text up in them (built once
    per mapping, used for every batch). ``codes`` maps case-folded text to the code."""

    def __init__(self, codes: Mapping[str, str], dtype: pl.Enum):
        self.codes = {k.lower(): v for k, v in codes.items()}
        self.dtype = dtype
        # texts written exactly as a code, or as its case-folded key, map by one Enum look-up
        self.exact = {t: self.codes[t.lower()] for t in {*self.codes, *self.codes.values()}
                      if t.isascii() and t.lower() in self.codes}
        self._written = pl.Enum(list(self.exact)) if self.exact else None
        self._code_of = pl.Series(list(self.exact.values()), dtype=dtype)

    def exactly(self, text: pl.Expr) -> pl.Expr:
        """The code of each text written exactly as one, else null."""
        if self._written is None:
            return pl.lit(None, dtype=self.dtype)
        return pl.lit(self._code_of).gather(text.cast(self._written, strict=False).to_physical())


def with_code(frame: pl.DataFrame, name: str, codes: Codes, *, alias: str) -> pl.DataFrame:
    """Add ``alias``, of Enum ``codes.dtype``: the code the text ``name`` names, ignoring case
    and surrounding spaces; null if it names none. ``name`` becomes the :func:`cleaned` text
    where it is not written exactly as a code.

    Texts written as a code (or as its case-folded key) map by one lookup; only the other
    texts are cleaned and case-folded, as a subset.
    """
    if frame.get_column(name).null_count() == frame.height:  # no such column, or no value in the batch
        return frame.with_columns(pl.lit(None, dtype=codes.dtype).alias(alias))
    frame = frame.with_columns(codes.exactly(pl.col(name)).alias(alias))
    missed = frame.select(pl.col(alias).is_null() & pl.col(name).is_not_null()).to_series()
    if missed.any():
        frame = parse_again(frame, missed, [name], [canonical(name, codes.codes).cast(codes.dtype).alias(alias)])
    return frame


def with_date(frame: pl.DataFrame, name: str, *, alias: str) -> pl.DataFrame:
    """Add ``alias``: :func:`date_column` of the :func:`cleaned` text ``name``, parsed once per
    distinct text (a feed has few days). ``name`` becomes the cleaned text where it is not a
    date."""
    texts = frame.get_column(name).unique().drop_nulls()
    if texts.len() == 0:
        return frame.with_columns(pl.lit(None, dtype=pl.Date).alias(alias))
    dates = pl.DataFrame({name: texts}).select(cleaned(pl.col(name)).alias(name)).select(date_column(name, alias=alias))
    index = pl.col(name).cast(pl.Enum(texts), strict=False).to_physical()
    frame = frame.with_columns(pl.lit(dates.to_series()).gather(index).alias(alias))
    missed = frame.get_column(alias).is_null() & frame.get_column(name).is_not_null()
    if missed.any():
        frame = parse_again(frame, missed, [name], [])
    return frame


def parse_again(frame: pl.DataFrame, rows: pl.Series, columns: list[str], exprs: list[pl.Expr]) -> pl.DataFrame:
    """For the ``rows`` (a boolean Series) whose text did not parse as written: the text
    column ``columns[0]`` :func:`cleaned`, and ``exprs`` evaluated over those rows alone
    (with ``columns`` at hand), written back into the same rows."""
    at = rows.arg_true()
    text = columns[0]
    part = frame.select(pl.col(c).gather(at) for c in columns).with_columns(cleaned(pl.col(text)).alias(text))
    found = part.select(pl.col(text), *exprs)
    return frame.with_columns(frame.get_column(c).scatter(at, found.get_column(c)) for c in found.columns)


def join_notes(notes: Iterable[pl.Expr]) -> pl.Expr:
    """Join the non-null notes of a row with ``; ``; null when there is none."""
    joined = pl.concat_str(list(notes), separator="; ", ignore_nulls=True)
    return pl.when(joined.str.len_chars() > 0).then(joined).alias("note")


def quoted(name: str, *, width: int = 60) -> pl.Expr:
    """A value for a message: ``'text'``, shortened to ``width`` characters."""
    text = pl.col(name)
    short = pl.when(text.str.len_chars() > width).then(text.str.slice(0, width) + "…").otherwise(text)
    return pl.lit("'") + short.fill_null("") + pl.lit("'")


def with_number(frame: pl.DataFrame, name: str, *, prefix: str, dialect: Dialect | None,
                limit: Range = QUANTITY) -> pl.DataFrame:
    """:func:`with_decimal` of ``name`` within ``limit``, read with the decimal mark of
    ``dialect`` (None for a workbook, whose numbers are cells): with a decimal comma,
    ``1.234,56`` and ``12,5`` are numbers and ``1.5`` or ``1234.56`` are not."""
    if dialect is None or not dialect.decimal_comma:
        return _with_comma_look(with_decimal(frame, name, prefix=prefix, limit=limit), name, prefix)
    text = pl.col(name)
    stripped = text.str.strip_chars()
    ok = stripped.str.contains(DECIMAL_COMMA_NUMBER)
    frame = frame.with_columns(
        pl.when(ok).then(stripped.str.replace_all(".", "", literal=True).str.replace(",", ".", literal=True))
        .otherwise(text).alias(name),
        (text.is_null() | ok).alias("_comma"),
    )
    frame = with_decimal(frame, name, prefix=prefix, limit=limit)
    ok = pl.col("_comma")
    frame = frame.with_columns(
        pl.when(ok).then(pl.col(prefix)).alias(prefix),
        (pl.col(f"{prefix}_number") & ok).alias(f"{prefix}_number"),
    ).drop("_comma")
    return _with_comma_look(frame, name, prefix)


def _with_comma_look(frame: pl.DataFrame, name: str, prefix: str) -> pl.DataFrame:
    """``{prefix}_comma_look``: the text is no number as read and looks written with a decimal
    comma; worked out for the (few) texts that are no number."""
    failed = frame.select(pl.col(name).is_not_null() & ~pl.col(f"{prefix}_number")).to_series()
    look = f"{prefix}_comma_look"
    if not failed.any():
        return frame.with_columns(pl.lit(False).alias(look))
    at = failed.arg_true()
    found = frame.select(pl.col(name).gather(at).str.contains(LOOKS_LIKE_DECIMAL_COMMA)).to_series()
    return frame.with_columns(pl.repeat(False, frame.height, eager=True).scatter(at, found).alias(look))


def number_text_checks(name: str, column: str | None, dialect: Dialect | None, *, prefix: str) -> list[Check]:
    """Text in ``name`` that is no number as the file is read (after :func:`with_number`):
    billing.feeds.rules.number_text_rules."""
    return [compiled(rule) for rule in rules.number_text_rules(name, column, dialect, prefix=prefix)]
