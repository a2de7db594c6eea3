"""FinOps FOCUS (1.0-1.3) cost and usage exports mapped onto services and business lines.

Columns are found by header name (any order, any case), never by position, through the
version-aware column map of :mod:`billing.feeds.focus_versions`. ``NULL`` and the empty
string are both null. ``usage_date`` is the UTC date of ChargePeriodStart, except for a late
charge that falls before its billing period: it is dated on the first day of the billing
period (BillingPeriodStart) and noted, so it is charged in the month the provider billed it,
the month's charges reconcile to the provider's invoice, and a closed month is never reopened
by a late row. The dates are checked (parse, range, ChargePeriodEnd not before
ChargePeriodStart) as written, before that rule moves any. The provider's InvoiceId and the
custom ``x_`` columns (as a JSON object) are kept with each row. The rules a source
definition gives (services, business line keys, value_map, splits, unallocated) are applied
as vectorised expressions; only Tags JSON and the few split rows are handled row by row,
which is fine because FOCUS files are small. See docs/feeds.md, "FOCUS".
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
from collections.abc import Sequence

import polars as pl

from billing.feeds.context import UNALLOCATED, MappingContext
from billing.feeds.dimensions import VALUE, dimension_value, too_long_checks
from billing.feeds.focus_versions import CUSTOM_PREFIX, FocusVersion, column_lookup, detect_version
from billing.feeds.raw import EXTRA, FIELDS, Table, field_count_checks, shaped
from billing.feeds.rows import CONTENT, Checked
from billing.feeds.sources import CHARGE_CATEGORIES, BusinessLineKey, DimensionRule, SourceDefinition, UnallocatedRule
from billing.feeds.split import split_exact
from billing.feeds.values import (
    DECIMAL,
    SCALE,
    Check,
    canonical,
    join_notes,
    quoted,
    round_excess_decimals,
    run_checks,
    number_text_checks,
    out_of_range_check,
    service_rates,
    utc_date_column,
    utc_datetime_column,
    with_number,
    worth_check,
    worth_may_pass,
)
from billing.core.limits import COST, QUANTITY
from billing.files.headers import repeated_column_problems
from billing.core.problems import Problem, ProblemCode, Severity, SourceRef, excerpt

__all__ = ["FocusMapping", "DEFAULT_ID_COLUMNS"]

DEFAULT_ID_COLUMNS = ("Id", "x_Id", "x_ChargeId")
"""Row id columns tried in order when the source gives no ``id_column``; without any, the id
is a hash of the row's content."""

_ALWAYS = ("ChargePeriodStart", "ChargeCategory", "ServiceName", "ServiceCategory")
_OPTIONAL = ("ChargePeriodEnd", "BillingPeriodStart", "ChargeClass", "ChargeDescription", "SubAccountId", "Tags",
             "InvoiceId", "AllocatedTags", "AllocatedResourceId", "AllocatedMethodId")
_NULL = "NULL"


class FocusMapping:
    """Validates and maps batches of one FOCUS file with one source definition."""

    def __init__(self, *, file: str, source: SourceDefinition, ctx: MappingContext, table: Table,
                 columns: dict[str, int], id_column: str | None, quantity: tuple[str, ...],
                 custom: dict[str, int] | None = None, version: FocusVersion | None = None):
        header = table.header
        self.file = file
        self.field_checks = field_count_checks(table)
        self.dialect = table.dialect  # None for a workbook
        self.source = source
        self.ctx = ctx
        self.header = header
        self.columns = columns  # FOCUS name -> index in the file
        self.id_column = id_column
        self.quantity = quantity  # quantity columns present, in order of preference
        self.custom = custom or {}  # x_ column name as written -> index in the file
        self.version = version or detect_version(header)
        self.business_lines = ctx.business_line_codes()
        self.services = {s.code: s for s in ctx.catalogue.services}
        self.rates = service_rates(ctx.catalogue)
        self.tiers = {f"{s.code}\x1f{t.code.lower()}": t.code for s in ctx.catalogue.services for t in s.tiers}
        self.dimension_of = ctx.catalogue.dimensions()
        self.dimension_rules = _dimension_rules(source, ctx, columns)
        self.tag_keys = tuple(dict.fromkeys(
            [k.tag for k in source.business_line if k.tag is not None]
            + ([source.tier.tag] if source.tier is not None and source.tier.tag is not None else [])
            + [r.tag for r in self.dimension_rules if r.tag is not None]
        ))
        self.split_of = {account: i for i, rule in enumerate(source.splits) for account in rule.sub_account_ids}

    @property
    def content(self) -> tuple[str, ...]:
        """The columns compared to tell a record sent again from a conflicting one."""
        return CONTENT + ("SubAccountId",)

    @property
    def id_header(self) -> str | None:
        """The record id column; ``None`` when ids are content hashes."""
        return self.id_column

    @classmethod
    def prepare(cls, table: Table, source: SourceDefinition, ctx: MappingContext) -> tuple[FocusMapping | None, list[Problem]]:
        file, header = table.file, table.header
        problems = repeated_column_problems(header, file=file, row=table.header_row, key=_folded,
                                            matching="FOCUS column names ignore case and surrounding spaces")
        if problems:
            return None, problems
        index = {_folded(name): i for i, name in enumerate(header)}

        def find(name: str) -> int | None:
            for candidate in column_lookup(name):
                if _folded(candidate) in index:
                    return index[_folded(candidate)]
            return None

        required = list(_ALWAYS) + [source.cost]
        required += [column for rule in source.services for column, _ in rule.match]
        required += [k.column for k in source.business_line if k.column is not None]
        if source.splits:
            required.append("SubAccountId")
        if source.id_column:
            required.append(source.id_column)
        if source.currency:
            required.append("BillingCurrency")
        required = list(dict.fromkeys(required))
        missing = [name for name in required if find(name) is None]
        if missing:
            found = excerpt(", ".join(h for h in header if h), 200) or "nothing"
            problems.append(Problem(
                code=ProblemCode.HEADER_MISSING,
                message=f"missing FOCUS column(s): {', '.join(missing)}; found: {found}",
                source=SourceRef(file=file, row=table.header_row),
                hint=f"is this a FOCUS export, and is {source.name!r} the right source? Nothing was loaded"))
            return None, problems
        wanted = required + [*_OPTIONAL, *source.quantity, *(r.column for r in source.dimensions if r.column)]
        columns = {name: find(name) for name in dict.fromkeys(wanted) if find(name) is not None}
        id_column = source.id_column or next((c for c in DEFAULT_ID_COLUMNS if find(c) is not None), None)
        if id_column is not None:
            columns[id_column] = find(id_column)
        quantity = tuple(q for q in source.quantity if q in columns)
        if not quantity:
            problems.append(Problem(
                code=ProblemCode.HEADER_MISSING, severity=Severity.WARNING,
                message=f"no quantity column ({', '.join(source.quantity)}); every quantity is 0",
                source=SourceRef(file=file, row=table.header_row)))
        tag_keys = [k.tag for k in source.business_line if k.tag]
        tag_keys += [source.tier.tag] if source.tier is not None and source.tier.tag else []
        tag_keys += [r.tag for r in source.dimensions if r.tag]
        for rule in source.dimensions:
            if rule.column and rule.column not in columns:
                problems.append(Problem(
                    code=ProblemCode.HEADER_MISSING, severity=Severity.WARNING,
                    message=f"no column {rule.column} (the {rule.dimension} of the source definition): "
                            f"rows carry no {rule.dimension}",
                    source=SourceRef(file=file, row=table.header_row),
                    hint="correct `dimensions:` in the source definition"))
        if tag_keys and "Tags" not in columns:
            problems.append(Problem(
                code=ProblemCode.HEADER_MISSING, severity=Severity.WARNING,
                message=f"no Tags column; the {', '.join(tag_keys)} tag(s) are never found",
                source=SourceRef(file=file, row=table.header_row)))
        custom = {name.strip(): i for i, name in enumerate(header) if name.strip().startswith(CUSTOM_PREFIX)}
        return cls(file=file, source=source, ctx=ctx, table=table, columns=columns, id_column=id_column,
                   quantity=quantity, custom=custom, version=detect_version(header)), problems

    # --- one batch -------------------------------------------------------------------------------

    def check(self, raw: pl.DataFrame) -> Checked:
        source = self.source
        frame = raw.select("row_no", FIELDS, EXTRA, *[_text(f"c{i}").alias(name) for name, i in self.columns.items()],
                           self._attributes().alias("_attributes"))
        for name in ("Tags", "SubAccountId", "ChargeClass", "ChargeDescription", "ChargePeriodEnd", "BillingPeriodStart",
                     "InvoiceId", "AllocatedTags", "AllocatedResourceId", "AllocatedMethodId"):
            if name not in frame.columns:
                frame = frame.with_columns(pl.lit(None, dtype=pl.String).alias(name))
        frame = frame.with_columns(self._record_ids(raw, frame))
        frame = frame.with_columns(
            utc_datetime_column("ChargePeriodStart", alias="_start"),
            utc_datetime_column("ChargePeriodEnd", alias="_end"),
            utc_date_column("BillingPeriodStart", alias="_billed"),
            canonical("ChargeCategory", {c.lower(): c for c in CHARGE_CATEGORIES}).alias("_category"),
            self._service().alias("_service"),
            pl.col("SubAccountId").replace_strict(self.split_of, default=None, return_dtype=pl.Int64).alias("_split"),
        )
        # the late-charge rule, on dates already checked as written (the checks read _charged)
        frame = frame.with_columns(pl.col("_start").dt.date().alias("_charged")).with_columns(
            (pl.col("_billed").is_not_null() & (pl.col("_charged") < pl.col("_billed"))).alias("_late"),
        ).with_columns(
            pl.when(pl.col("_late")).then(pl.col("_billed")).otherwise(pl.col("_charged")).alias("_date"),
        )
        frame = with_number(frame, source.cost, prefix="_cost", dialect=self.dialect, limit=COST)
        for i, q in enumerate(self.quantity):
            frame = with_number(frame, q, prefix=f"_q{i}", dialect=self.dialect, limit=QUANTITY)
            frame = round_excess_decimals(frame, text=q, prefix=f"_q{i}")
        frame = self._with_tags(frame)
        frame = self._with_business_line(frame)
        frame = self._with_tier(frame)
        frame = frame.with_columns(dimension_value("_service", {
            rule.dimension: pl.col(f"_tag:{rule.tag}") if rule.tag is not None else pl.col(rule.column)
            for rule in self.dimension_rules}, self.dimension_of))
        checks = self._checks()
        quantity = pl.coalesce([pl.col(f"_q{i}") for i in range(len(self.quantity))] + [pl.lit(0)])
        if worth_may_pass(frame, self.rates, quantity=quantity, cost="_cost"):
            checks.append(shaped(worth_check(self.rates, service="_service", cost="_cost", column=self.source.cost,
                                             quantity=quantity, shown=pl.lit(f"{self.source.cost} ") + quoted(self.source.cost))))
        error, problems = run_checks(frame, checks, file=self.file)
        frame = frame.with_columns(error.alias("error"))
        quantity = pl.coalesce([pl.col(f"_q{i}") for i in range(len(self.quantity))] + [pl.lit(0).cast(DECIMAL)])
        rounded = pl.lit(False)
        for i in reversed(range(len(self.quantity))):
            rounded = pl.when(pl.col(f"_q{i}").is_not_null()).then(pl.col(f"_q{i}_decimals") > SCALE).otherwise(rounded)
        parks = source.unallocated is UnallocatedRule.BUSINESS_LINE
        unallocated = pl.col("_split").is_null() & pl.col("_bl").is_null()
        shape_ok = pl.col(FIELDS).is_null()
        frame = frame.with_columns(
            pl.col("_id").alias("key"),
            pl.col("_category").is_in(list(source.exclude_charge_categories)).alias("excluded"),
            pl.when(shape_ok).then(quantity).alias("quantity_read"),  # a record's values only at its field count
            pl.when(shape_ok).then(pl.col("_cost")).alias("cost_read"),
            pl.col("_id").alias("record_id"),
            pl.col("_date").alias("usage_date"),
            pl.lit(None, dtype=pl.String).alias("cost_center"),
            (pl.when(unallocated).then(pl.lit(UNALLOCATED if parks else None)).otherwise(pl.col("_bl"))).alias("business_line"),
            pl.col("_service").alias("service"),
            pl.col("_tier").alias("tier"),
            pl.col("_service").replace_strict({c: s.unit for c, s in self.services.items()}, default=None,
                                              return_dtype=pl.String).alias("unit"),
            quantity.alias("quantity"),
            pl.col("_cost").alias("cost"),
            pl.col("ChargeDescription").alias("description"),
            pl.col("InvoiceId").alias("invoice_id"),
            pl.col("_attributes").alias("attributes"),
            pl.col(VALUE),
            join_notes([
                pl.when(pl.col("_late")).then(pl.format(
                    "late charge: used {}, billed in the period from {}, so dated {}",
                    pl.col("_charged"), pl.col("_billed"), pl.col("_billed"))),
                pl.when(pl.col("AllocatedResourceId").is_not_null() | pl.col("AllocatedMethodId").is_not_null())
                .then(pl.format("split by the provider ({}) to {}", pl.col("AllocatedMethodId").fill_null("no method id"),
                                pl.col("AllocatedResourceId").fill_null("a resource"))),
                self._category_note(),
                pl.when((pl.col("_cost") < 0) & pl.col("_category").is_in(["Usage", "Purchase", "Tax"])).then(pl.lit("refund")),
                pl.when(pl.col("ChargeClass").str.to_lowercase() == "correction")
                .then(pl.lit("correction of an earlier billing period")),
                pl.when(unallocated & pl.lit(parks)).then(pl.lit("unallocated: ") + pl.col("_bl_reason")),
                pl.col("_tags_note"),
                pl.when(rounded).then(pl.lit("quantity rounded to 12 decimals")),
            ]),
        )
        return Checked(frame=frame, problems=problems)

    def finish(self, good: pl.DataFrame) -> pl.DataFrame:
        """Split the rows of shared sub accounts into one row per business line."""
        shared = good.filter(pl.col("_split").is_not_null())
        if shared.height == 0:
            return good
        parts: list[dict] = []
        for row in shared.iter_rows(named=True):
            rule = self.source.splits[row["_split"]]
            codes = [self.business_lines[code.lower()] for code, _ in rule.shares]
            percents = [p for _, p in rule.shares]
            costs = split_exact(row["cost"], percents, codes)
            quantities = split_exact(row["quantity"], percents, codes)
            for code, percent, cost, quantity in zip(codes, percents, costs, quantities):
                note = f"split {percent}% of row (shared sub account {row['SubAccountId']})"
                parts.append({
                    **row,
                    "record_id": f"{row['record_id']}#{code}",
                    "business_line": code,
                    "cost": cost,
                    "quantity": quantity,
                    "note": f"{row['note']}; {note}" if row["note"] else note,
                })
        split_rows = pl.DataFrame(parts, schema=shared.schema)
        return pl.concat([good.filter(pl.col("_split").is_null()), split_rows]).sort("row_no", maintain_order=True)

    # --- pieces ----------------------------------------------------------------------------------

    def _record_ids(self, raw: pl.DataFrame, frame: pl.DataFrame) -> pl.Series:
        """The id column's value, else a stable hash of the row's content."""
        ids = frame.get_column(self.id_column) if self.id_column else pl.Series([None] * frame.height, dtype=pl.String)
        missing = ids.is_null()
        if not missing.any():
            return ids.alias("_id")
        order = sorted(range(len(self.header)), key=lambda i: self.header[i].strip().lower())
        names = [self.header[i].strip() for i in order]
        texts = raw.filter(missing).select([_text(f"c{i}").fill_null("\x00") for i in order])
        hashes = [
            "sha256:" + hashlib.sha256("\x1e".join(f"{n}\x1f{v}" for n, v in zip(names, values)).encode()).hexdigest()[:32]
            for values in texts.iter_rows()
        ]
        filled = ids.to_list()
        hashed = iter(hashes)
        return pl.Series("_id", [value if value is not None else next(hashed) for value in filled], dtype=pl.String)

    def _service(self) -> pl.Expr:
        expr: pl.Expr = pl.lit(None, dtype=pl.String)
        for rule in reversed(self.source.services):
            if rule.is_default:
                expr = pl.lit(rule.service)
                continue
            matched = pl.all_horizontal([
                pl.col(column).str.to_lowercase().is_in([v.lower() for v in values]).fill_null(False)
                for column, values in rule.match
            ])
            expr = pl.when(matched).then(pl.lit(rule.service)).otherwise(expr)
        return expr

    def _with_tags(self, frame: pl.DataFrame) -> pl.DataFrame:
        """The ``tag_keys`` values of each row, read once per distinct Tags text. A FOCUS 1.3
        allocated charge carries the tags of the resource it was split to in AllocatedTags,
        which never repeats a key of Tags; a key found there is taken first."""
        frame = frame.join(self._tag_table(frame, "Tags", ""), on="Tags", how="left", maintain_order="left")
        if not self.tag_keys or frame.get_column("AllocatedTags").null_count() == frame.height:
            return frame
        frame = frame.join(self._tag_table(frame, "AllocatedTags", "_a"), on="AllocatedTags", how="left",
                           maintain_order="left")
        return frame.with_columns(
            *[pl.coalesce(f"_tag:{key}_a", f"_tag:{key}").alias(f"_tag:{key}") for key in self.tag_keys],
            pl.concat_str(["_tags_note", "_tags_note_a"], separator="; ", ignore_nulls=True).alias("_tags_note"),
            pl.coalesce("_tags_error", pl.lit("Allocated") + pl.col("_tags_error_a")).alias("_tags_error"),
        )

    def _tag_table(self, frame: pl.DataFrame, column: str, suffix: str) -> pl.DataFrame:
        """One row per distinct text of ``column``: the tag values, a note, an error."""
        tag_columns = [f"_tag:{key}{suffix}" for key in self.tag_keys]
        values = frame.get_column(column).drop_nulls().unique().to_list() if self.tag_keys else []
        rows = [(text, *_read_tags(text, self.tag_keys)) for text in values]
        return pl.DataFrame(
            {
                column: [r[0] for r in rows],
                **{c: [r[1][i] for r in rows] for i, c in enumerate(tag_columns)},
                f"_tags_note{suffix}": [r[2] for r in rows],
                f"_tags_error{suffix}": [r[3] for r in rows],
            },
            schema={column: pl.String, **{c: pl.String for c in tag_columns}, f"_tags_note{suffix}": pl.String,
                    f"_tags_error{suffix}": pl.String},
        )

    def _attributes(self) -> pl.Expr:
        """The custom (x_) columns as a JSON object of their text as written; null when the
        file has none. ``NULL`` and the empty string are JSON null."""
        if not self.custom:
            return pl.lit(None, dtype=pl.String)
        fields = [pl.when(~pl.col(f"c{i}").is_in(["", "NULL"])).then(pl.col(f"c{i}")).alias(name)
                  for name, i in self.custom.items()]
        return pl.struct(fields).struct.json_encode()

    def _with_business_line(self, frame: pl.DataFrame) -> pl.DataFrame:
        mapped, reasons = [], []
        for i, key in enumerate(self.source.business_line):
            value = pl.col(f"_tag:{key.tag}" if key.tag is not None else key.column)
            found = frame.select(value).to_series().drop_nulls().unique().to_list()
            codes = {v: self._map_value(key, v) for v in found}
            mapped.append(value.replace_strict(codes, default=None, return_dtype=pl.String).alias(f"_bl{i}"))
            reasons.append(
                pl.when(value.is_null()).then(pl.lit(f"no {key.label}"))
                .when(value.replace_strict(codes, default=None, return_dtype=pl.String).is_null())
                .then(pl.lit(f"{key.label} ") + pl.lit("'") + value + pl.lit("' is not mapped"))
            )
        return frame.with_columns(
            pl.coalesce(mapped).alias("_bl") if mapped else pl.lit(None, dtype=pl.String).alias("_bl"),
            pl.concat_str(reasons, separator=", ", ignore_nulls=True).alias("_bl_reason") if reasons
            else pl.lit("no business line key", dtype=pl.String).alias("_bl_reason"),
        )

    def _map_value(self, key: BusinessLineKey, value: str) -> str | None:
        table = key.map or self.source.value_map
        text = value.strip().lower()
        for pattern, code in table:
            if not _is_glob(pattern) and pattern.lower() == text:
                return self.business_lines.get(code.lower())
        for pattern, code in table:
            if _is_glob(pattern) and fnmatch.fnmatchcase(text, pattern.lower()):
                return self.business_lines.get(code.lower())
        return self.business_lines.get(text)

    def _with_tier(self, frame: pl.DataFrame) -> pl.DataFrame:
        rule = self.source.tier
        if rule is None:
            given = pl.lit(None, dtype=pl.String)
        elif rule.value is not None:
            given = pl.lit(rule.value)
        else:
            given = pl.col(f"_tag:{rule.tag}")
        return frame.with_columns(
            given.alias("_tier_given"),
            (pl.col("_service") + pl.lit("\x1f") + given.str.to_lowercase())
            .replace_strict(self.tiers, default=None, return_dtype=pl.String).alias("_tier"),
        )

    def _category_note(self) -> pl.Expr:
        category = pl.col("_category")
        purchase = "purchase (commitment or fee)"
        if self.source.cost == "EffectiveCost":
            purchase += "; amortised basis: a prepaid purchase costs 0 here, its cost is on the usage it covers"
        return (
            pl.when(category == "Tax").then(pl.lit("tax"))
            .when(category == "Purchase").then(pl.lit(purchase))
            .when(category == "Credit").then(pl.lit("credit"))
            .when(category == "Adjustment").then(pl.lit("adjustment"))
        )

    def _checks(self) -> list[Check]:
        source, ctx = self.source, self.ctx
        col = pl.col
        checks = [
            Check(ProblemCode.VALUE_MISSING, "ChargePeriodStart", col("ChargePeriodStart").is_null(),
                  pl.lit("ChargePeriodStart is missing")),
            Check(ProblemCode.NOT_A_DATE, "ChargePeriodStart", col("ChargePeriodStart").is_not_null() & col("_start").is_null(),
                  quoted("ChargePeriodStart") + pl.lit(" is not a timestamp"), "ISO 8601 in UTC, e.g. 2024-09-01T00:00:00Z"),
            Check(ProblemCode.DATE_OUT_OF_RANGE, "ChargePeriodStart", _outside(col("_charged"), ctx),
                  pl.format("ChargePeriodStart {} is outside {}..{}", col("_charged"), pl.lit(str(ctx.earliest)),
                            pl.lit(str(ctx.latest))), "check the export's period"),
            Check(ProblemCode.NOT_A_DATE, "ChargePeriodEnd", col("ChargePeriodEnd").is_not_null() & col("_end").is_null(),
                  quoted("ChargePeriodEnd") + pl.lit(" is not a timestamp"), "ISO 8601 in UTC, e.g. 2024-09-02T00:00:00Z"),
            Check(ProblemCode.INCONSISTENT, "ChargePeriodEnd", col("_end") < col("_start"),
                  pl.format("ChargePeriodEnd {} is before ChargePeriodStart {}", quoted("ChargePeriodEnd"),
                            quoted("ChargePeriodStart")), "the end of a charge period is after its start"),
            Check(ProblemCode.NOT_A_DATE, "BillingPeriodStart", col("BillingPeriodStart").is_not_null() & col("_billed").is_null(),
                  quoted("BillingPeriodStart") + pl.lit(" is not a timestamp"), "ISO 8601 in UTC, e.g. 2024-09-01T00:00:00Z"),
            Check(ProblemCode.DATE_OUT_OF_RANGE, "BillingPeriodStart", _outside(col("_billed"), ctx),
                  pl.format("BillingPeriodStart {} is outside {}..{}", col("_billed"), pl.lit(str(ctx.earliest)),
                            pl.lit(str(ctx.latest))), "check the export's period"),
            Check(ProblemCode.VALUE_MISSING, "ChargeCategory", col("ChargeCategory").is_null(), pl.lit("ChargeCategory is missing")),
            Check(ProblemCode.VALUE_INVALID, "ChargeCategory", col("ChargeCategory").is_not_null() & col("_category").is_null(),
                  pl.lit("ChargeCategory ") + quoted("ChargeCategory") + pl.lit(" is not a FOCUS charge category"),
                  f"one of {', '.join(CHARGE_CATEGORIES)}"),
            Check(ProblemCode.VALUE_MISSING, source.cost, col(source.cost).is_null(), pl.lit(f"{source.cost} is missing")),
            *number_text_checks(source.cost, source.cost, self.dialect, prefix="_cost"),
            Check(ProblemCode.TOO_PRECISE, source.cost, col("_cost_number") & (col("_cost_decimals") > SCALE),
                  pl.format(f"{source.cost} {{}} has {{}} decimals; at most 12 are kept", quoted(source.cost), col("_cost_decimals")),
                  "costs are never rounded on the way in"),
            out_of_range_check(source.cost, "_cost", source.cost, COST),
        ]
        for i, q in enumerate(self.quantity):
            checks += [
                *number_text_checks(q, q, self.dialect, prefix=f"_q{i}"),
                Check(ProblemCode.OUT_OF_RANGE, q, col(f"_q{i}_number") & col(f"_q{i}").is_null(),
                      pl.lit(f"{q} ") + quoted(q) + pl.lit(f" is out of range: {QUANTITY.name} has {QUANTITY.describe()}"),
                      "check the unit and the number in the source system"),
            ]
        if source.currency:
            checks.append(Check(
                ProblemCode.INCONSISTENT, "BillingCurrency",
                col("BillingCurrency").is_null() | (col("BillingCurrency").str.to_uppercase() != source.currency),
                pl.lit("BillingCurrency ") + quoted("BillingCurrency") + pl.lit(f" is not {source.currency}"),
                f"source {source.name!r} passes through {source.currency} costs only"))
        checks += too_long_checks("_service", {r.dimension: "Tags" if r.tag else r.column for r in self.dimension_rules},
                                  self.dimension_of)
        checks += [
            Check(ProblemCode.VALUE_INVALID, "Tags", col("_tags_error").is_not_null(), col("_tags_error"),
                  'Tags must be a JSON object such as {"business_unit": "Finance"}'),
            Check(ProblemCode.UNMAPPED, "ServiceName", col("_service").is_null(),
                  pl.lit("no service rule matches ServiceName ") + quoted("ServiceName")
                  + pl.lit(", ServiceCategory ") + quoted("ServiceCategory"),
                  f"add a rule to `services:` in source {source.name!r}, or a `- {{default: …}}` rule"),
        ]
        if source.unallocated is UnallocatedRule.REJECT:
            first = source.business_line[0] if source.business_line else None
            checks.append(Check(
                ProblemCode.UNMAPPED, ("Tags" if first.tag else first.column) if first else None,
                col("_split").is_null() & col("_bl").is_null() & col("_tags_error").is_null(),
                pl.lit("no business line for this row: ") + col("_bl_reason"),
                "map the value in `value_map:`, tag the resource, or set `unallocated: business_line`"))
        checks += [
            Check(ProblemCode.UNKNOWN_TIER, "Tags" if source.tier and source.tier.tag else None,
                  col("_tier_given").is_not_null() & col("_service").is_not_null() & col("_tier").is_null(),
                  pl.lit("tier ") + quoted("_tier_given") + pl.format(" is not a tier of service {}", col("_service"))),
            Check(ProblemCode.EXCLUDED, "ChargeCategory", col("_category").is_in(list(source.exclude_charge_categories)),
                  pl.format("{} row left out: source {} excludes this charge category", col("_category"), pl.lit(source.name)),
                  "exclude_charge_categories in the source definition", Severity.WARNING),
        ]
        return [*self.field_checks, *map(shaped, checks)]


def _dimension_rules(source: SourceDefinition, ctx: MappingContext, columns: dict[str, int]) -> list[DimensionRule]:
    """The source's dimension rules the mapping can read: a dimension of the catalogue, from a
    tag, or from a column the file has."""
    named = {d.lower() for d in ctx.catalogue.dimensions().values()}
    return [r for r in source.dimensions if r.dimension.lower() in named and (r.tag is not None or r.column in columns)]


def _outside(day: pl.Expr, ctx: MappingContext) -> pl.Expr:
    return (day < ctx.earliest) | (day > ctx.latest)


def _folded(name: str) -> str:
    """A header name as FOCUS columns are matched: case and surrounding spaces ignored."""
    return name.strip().lower()


def _text(name: str) -> pl.Expr:
    """A FOCUS value: surrounding spaces dropped; empty and ``NULL`` are null."""
    value = pl.col(name).str.strip_chars()
    return pl.when((value.str.len_chars() > 0) & (value != _NULL)).then(value)


def _is_glob(pattern: str) -> bool:
    return any(ch in pattern for ch in "*?[")


def _read_tags(text: str, keys: Sequence[str]) -> tuple[list[str | None], str | None, str | None]:
    """Values of ``keys`` in a Tags JSON object, a note about conflicting keys, an error.

    Keys are compared with surrounding spaces removed (``" org"`` is ``"org"``). When both
    spellings are present with different values, the one written without spaces wins and the
    row gets a note. Text without the outer braces (seen in Azure exports) is accepted.
    """
    body = text.strip()
    if not body.startswith("{"):
        body = "{" + body + "}"
    try:
        tags = json.loads(body)
    except json.JSONDecodeError as exc:
        return [None] * len(keys), None, f"Tags is not valid JSON ({exc.msg} at character {exc.pos})"
    if not isinstance(tags, dict):
        return [None] * len(keys), None, "Tags is not a JSON object"
    exact = {k: v for k, v in tags.items() if k == k.strip()}
    spaced = [(k, v) for k, v in tags.items() if k != k.strip()]
    values: list[str | None] = []
    notes: list[str] = []
    for key in keys:
        value = _tag_text(exact[key]) if key in exact else None
        for written, other in spaced:
            if written.strip() != key:
                continue
            other = _tag_text(other)
            if key not in exact and value is None:
                value = other
            elif other != value:
                notes.append(f"tag {written!r}={other!r} ignored, {key!r}={value!r} used")
        values.append(value)
    return values, "; ".join(notes) or None, None


def _tag_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, (int, float)):
        return json.dumps(value)
    return None  # nested values are not FOCUS tags
