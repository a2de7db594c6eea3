"""The usage format's parsers and rules as Spark columns: the executor of
``usage load --engine spark`` (docs/scale-out.md).

The rules are billing.feeds.rules' declarations, compiled by :func:`to_spark`; the parsers
give each text the typed column the rules read (``_date``, ``_service``, ``_qty`` …) by the
same rules as billing.feeds.values (a value parsed as written, or cleaned of surrounding
white space; codes ignoring case; numbers as exact ``DECIMAL(38,12)``, never doubles).
Nothing here reads a file: :func:`checked` takes the raw records (``row_no``, ``c0`` …,
``extra``, ``fields``) as a Spark DataFrame, which billing.jobs.usage_spark reads.

pyspark is imported by the functions that need it, so the module imports without it.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from billing.core.limits import COST, QUANTITY, Range
from billing.feeds import rules as r
from billing.feeds.dimensions import VALUE
from billing.feeds.sources import USAGE_FIELDS
from billing.files.dialect import DECIMAL_COMMA_NUMBER, LOOKS_LIKE_DECIMAL_COMMA, Dialect

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

    from billing.feeds.usage_format import UsageMapping

__all__ = ["DECIMAL_TYPE", "PRECISION", "SCALE", "to_spark", "checked", "cleaned"]

PRECISION, SCALE = 38, 12
"""Quantities and costs in Spark: ``DECIMAL(38,12)``, as polars' ``Decimal(38,12)`` locally
(26 digits before the point, 12 after; sums stay ``DECIMAL(38,12)``)."""
DECIMAL_TYPE = f"decimal({PRECISION},{SCALE})"

_NUMBER = r"^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$"
_DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}(?:[ T](?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9](?:\.[0-9]+)?)?)?$"
_SPACE = r"(?U)^\s+|\s+$"  # white space as Unicode has it, as polars' strip_chars


def _f() -> Any:
    from pyspark.sql import functions

    return functions


def to_spark(e: r.Expr) -> Column:
    """A declared rule expression (billing.feeds.rules) as a Spark column."""
    F = _f()
    match e:
        case r.Col(name):
            return F.col(f"`{name}`")
        case r.Lit(value):
            if isinstance(value, Decimal):
                return F.lit(value).cast(DECIMAL_TYPE)
            if isinstance(value, dt.date):
                return F.lit(value).cast("date")
            return F.lit(value)
        case r.Not(x):
            return ~to_spark(x)
        case r.And(xs):
            out = to_spark(xs[0])
            for x in xs[1:]:
                out = out & to_spark(x)
            return out
        case r.Or(xs):
            out = to_spark(xs[0])
            for x in xs[1:]:
                out = out | to_spark(x)
            return out
        case r.IsNull(x):
            return to_spark(x).isNull()
        case r.NotNull(x):
            return to_spark(x).isNotNull()
        case r.Cmp(op, a, b):
            left, right = to_spark(a), to_spark(b)
            return {"<": left < right, ">": left > right, "<=": left <= right, "!=": left != right,
                    "==": left == right}[op]
        case r.Between(x, low, high):
            return to_spark(x).between(F.lit(low).cast("date"), F.lit(high).cast("date"))
        case r.In(x, values):
            return to_spark(x).isin(list(values)) if values else F.lit(False)
        case r.Length(x):
            return F.char_length(to_spark(x))
        case r.Matches(x, pattern):
            return to_spark(x).rlike(pattern)
        case r.Text(x):
            return to_spark(x).cast("string")
        case r.Concat(parts):
            return F.concat(*[to_spark(p) for p in parts])
        case r.Quoted(name, width):
            text = F.col(f"`{name}`")
            short = F.when(F.char_length(text) > width, F.concat(F.substring(text, 1, width), F.lit("…"))).otherwise(text)
            return F.concat(F.lit("'"), F.coalesce(short, F.lit("")), F.lit("'"))
        case r.When(condition, then, otherwise):
            return F.when(to_spark(condition), to_spark(then)).otherwise(to_spark(otherwise))
        case r.Lookup(x, mapping, default):
            return F.coalesce(_mapped(to_spark(x).cast("string"), dict(mapping)), F.lit(default))
    raise TypeError(f"not a rule expression: {e!r}")


def _mapped(key: Column, mapping: dict[str, str]) -> Column:
    """``mapping[key]``, null where it has no such key (or ``key`` is null)."""
    F = _f()
    if not mapping:
        return F.lit(None).cast("string")
    pairs = [F.lit(x) for kv in mapping.items() for x in kv]
    return F.try_element_at(F.create_map(*pairs), key)


def cleaned(text: Column) -> Column:
    """Text without surrounding white space; null when nothing is left (billing.feeds.values.cleaned)."""
    F = _f()
    stripped = F.regexp_replace(text, _SPACE, "")
    return F.when(F.length(stripped) > 0, stripped)


_MAP_LIMIT = 64  # a literal map beyond this many keys is looked up by a broadcast join (a map is searched key by key)


def _with_code(df: DataFrame, field: str, alias: str, codes: dict[str, str]) -> DataFrame:
    """``alias``: the code ``field`` names, ignoring case and surrounding spaces; ``field``
    becomes the cleaned text (billing.feeds.values.with_code: a text written exactly as a code
    has no surrounding spaces, so its cleaned text is itself)."""
    F = _f()
    folded = {k.lower(): v for k, v in codes.items()}
    clean = cleaned(F.col(field))
    df = df.withColumn(field, clean)
    if len(folded) <= _MAP_LIMIT:
        return df.withColumn(alias, _mapped(F.lower(F.col(field)), folded))
    known = df.sparkSession.createDataFrame(sorted(folded.items()), f"`_k_{alias}` string, `{alias}` string")
    return df.join(F.broadcast(known), F.lower(F.col(field)) == F.col(f"_k_{alias}"), "left").drop(f"_k_{alias}")


def _number(df: DataFrame, name: str, prefix: str, limit: Range, dialect: Dialect | None = None) -> DataFrame:
    """``{prefix}`` (DECIMAL(38,12), null unless the text is a number with at most 12
    significant decimals within ``limit``), ``{prefix}_number``, ``{prefix}_decimals`` and
    ``{prefix}_comma_look`` (billing.feeds.values.with_decimal and with_number), read with the
    decimal mark of ``dialect``: with a decimal comma, ``1.234,56`` and ``12,5`` are numbers
    (read as ``1234.56`` and ``12.5``) and ``1.5`` or ``1234.56`` are not."""
    F = _f()
    comma = dialect is not None and dialect.decimal_comma
    if comma:  # billing.feeds.values.with_number: the text as a decimal point would write it, where it is one
        stripped = F.regexp_replace(F.col(name), _SPACE, "")
        ok = stripped.rlike(DECIMAL_COMMA_NUMBER)
        df = df.withColumns({
            name: F.when(ok, F.regexp_replace(F.regexp_replace(stripped, r"\.", ""), ",", ".")).otherwise(F.col(name)),
            "_comma": F.col(name).isNull() | ok,
        })
    text = cleaned(F.col(name))
    df = df.withColumn(name, F.when(F.col(name).isNotNull(), text))
    text = F.col(name)
    before = F.regexp_extract(text, r"^[+-]?([0-9]*)", 1)
    after = F.regexp_extract(text, r"\.([0-9]*)", 1)
    exponent = F.coalesce(F.regexp_extract(text, r"[eE]([+-]?[0-9]+)$", 1).try_cast("bigint"), F.lit(0))
    mantissa = F.concat(before, after)
    significant = F.regexp_replace(mantissa, "0+$", "")
    trailing = F.length(mantissa) - F.length(significant)
    counted = F.greatest(F.length(after) - exponent - trailing, F.lit(0))
    decimals = F.when(text.isNull(), F.lit(0)).when(F.length(F.regexp_replace(significant, "^0+", "")) > 0, counted) \
        .otherwise(F.lit(0)).cast("bigint")
    number = F.when(text.isNotNull(), text.rlike(_NUMBER))
    value = text.try_cast(DECIMAL_TYPE)
    bound = F.lit(limit.bound).cast(DECIMAL_TYPE)
    if comma:
        number = number & F.col("_comma")
    df = df.withColumns({
        f"{prefix}_number": number,
        f"{prefix}_decimals": decimals,
    })
    df = df.withColumns({
        prefix: F.when(F.col(f"{prefix}_number") & (F.col(f"{prefix}_decimals") <= SCALE) & (F.abs(value) < bound),
                       value),
        f"{prefix}_comma_look": F.when(text.isNotNull() & ~F.col(f"{prefix}_number"),
                                       text.rlike(LOOKS_LIKE_DECIMAL_COMMA)).otherwise(F.lit(False)),
    })
    return df.drop("_comma") if comma else df


def checked(raw: DataFrame, mapping: UsageMapping) -> tuple[DataFrame, list[r.Rule]]:
    """The raw records of one file in our usage format, parsed and mapped as
    billing.feeds.usage_format.UsageMapping.check does it, with one boolean column ``_m{i}``
    per rule (true where rule ``i`` of the returned list fails), ``error`` (an ERROR rule
    failed) and the row columns (billing.feeds.rows.ROW_SCHEMA, codes as text)."""
    F = _f()
    m = mapping
    df = raw.select(
        "row_no", "extra", "fields",
        *[(F.col(f"c{m.columns[f]}") if f in m.columns else F.lit(None).cast("string")).alias(f) for f in USAGE_FIELDS],
        *[F.col(f"c{i}").alias(f"_dim_{d}") for d, i in m.dimension_columns.items()],
    )
    df = df.withColumns({f: cleaned(F.col(f)) for f in ("record_id", "description")})
    date_text = cleaned(F.col("usage_date"))
    day = F.when(date_text.rlike(_DATE), F.try_to_date(F.substring(date_text, 1, 10), "yyyy-MM-dd"))
    df = df.withColumns({"_date": day, "usage_date": F.when(day.isNull(), date_text).otherwise(F.col("usage_date"))})
    for field, alias in (("service", "_service"), ("unit", "_unit"), ("business_line", "_bl"), ("cost_center", "_cc")):
        df = _with_code(df, field, alias, m.codes[field].codes)
    df = _number(df, "quantity", "_qty", QUANTITY, m.dialect)
    df = _number(df, "cost", "_cost", COST, m.dialect)
    tier = cleaned(F.col("tier"))
    df = df.withColumns({
        "tier": tier,
        "_tier": _mapped(F.concat(F.col("_service"), F.lit("\x1f"), F.lower(tier)), m.tiers),
        "_service_unit": _mapped(F.col("_service"), m.service_units),
    })
    value = F.lit(None).cast("string")
    for dimension in m.dimension_columns:
        services = r.services_of(dimension, m.dimension_of)
        if services:
            value = F.when(F.col("_service").isin(services), cleaned(F.col(f"_dim_{dimension}"))).otherwise(value)
    df = _with_owner(df.withColumn(VALUE, value), m)
    rules = r.usage_rules(m.rule_set())
    df = df.withColumns({f"_m{i}": F.coalesce(to_spark(rule.mask), F.lit(False)) for i, rule in enumerate(rules)})
    df = df.withColumns({f"_t{i}": F.when(F.col(f"_m{i}"), to_spark(rule.message)) for i, rule in enumerate(rules)})
    errors = [F.col(f"_m{i}") for i, rule in enumerate(rules) if rule.severity.value == "error"]
    error = F.lit(False)
    for e in errors:
        error = error | e
    shape_ok = F.col("fields").isNull()
    negative_qty = F.col("_qty") < 0
    notes = [F.when(negative_qty, F.lit("correction: negative quantity")),
             F.when((F.col("_cost") < 0) & ~negative_qty, F.lit("negative cost"))]
    joined = F.concat_ws("; ", *notes)
    df = df.withColumns({
        "error": error,
        "key": F.col("record_id"),
        "quantity_read": F.when(shape_ok, F.col("_qty")),
        "cost_read": F.when(shape_ok, F.col("_cost")),
        "note": F.when(F.length(joined) > 0, joined),
    })
    df = df.withColumns({
        "usage_date": F.col("_date"),
        "cost_center": F.col("_cc"),
        "business_line": F.coalesce(F.col("_owner"), F.col("_bl")),
        "service": F.col("_service"),
        "tier": F.col("_tier"),
        "unit": F.col("_unit"),
        "quantity": F.col("_qty"),
        "cost": F.col("_cost"),
    })
    # the texts the messages quote stay beside the mapped values
    return df, rules


def _with_owner(df: DataFrame, m: UsageMapping) -> DataFrame:
    """``_owner``: the business line owning ``_cc`` on ``_date`` (a cost centre's periods never
    overlap, so at most one matches), by a broadcast join with the ownership periods."""
    F = _f()
    periods = [(o.cost_center, o.business_line, o.effective_from, o.effective_to) for o in m.ctx.cost_centers]
    if not periods:
        return df.withColumn("_owner", F.lit(None).cast("string"))
    owners = df.sparkSession.createDataFrame(periods, "_occ string, _owner string, _from date, _to date")
    on = (F.col("_cc") == F.col("_occ")) & (F.col("_date") >= F.col("_from")) & (
        F.col("_to").isNull() | (F.col("_date") <= F.col("_to")))
    return df.join(F.broadcast(owners), on, "left").drop("_occ", "_from", "_to")
