"""Our own usage format (CSV or .xlsx): columns, checks and business line resolution.

Columns (header names ignore case and surrounding spaces): record_id, usage_date, service,
quantity, unit, cost_center and/or business_line, and optionally tier, description, cost, and
a column per price dimension the catalogue names (``region``: billing.feeds.dimensions).
Every rule below is one vectorised mask; see docs/feeds.md for the list with their codes.
"""

from __future__ import annotations

import polars as pl

from billing.feeds.context import MappingContext
from billing.feeds.dimensions import VALUE, dimension_value
from billing.feeds.raw import EXTRA, FIELDS, Table, shaped
from billing.feeds.rules import UsageRuleSet, usage_rules
from billing.feeds.rows import CONTENT, Checked, code_types
from billing.feeds.sources import USAGE_FIELDS, SourceDefinition
from billing.feeds.values import (
    Check,
    Codes,
    cleaned,
    compiled,
    join_notes,
    parse_again,
    quoted,
    run_checks,
    service_rates,
    with_code,
    with_date,
    with_number,
    worth_check,
    worth_may_pass,
)
from billing.files.headers import repeated_column_problems
from billing.core.limits import COST, QUANTITY
from billing.core.problems import Problem, ProblemCode, Severity, SourceRef, excerpt

__all__ = ["UsageMapping", "REQUIRED"]

REQUIRED = ("record_id", "usage_date", "service", "quantity", "unit")
_OWNER_FIELDS = ("cost_center", "business_line")


class UsageMapping:
    """Validates and maps batches of one file in our usage format."""

    def __init__(self, *, file: str, columns: dict[str, int], headers: dict[str, str], ctx: MappingContext,
                 table: Table, dimension_columns: dict[str, int] | None = None):
        self.file = file
        self.width = len(table.header)
        self.dialect = table.dialect  # None for a workbook
        self.columns = columns  # field -> index in the file
        self.headers = headers  # field -> header as written (for problem locations)
        self.ctx = ctx
        self.dimension_columns = dimension_columns or {}  # dimension -> index in the file
        self.dimension_headers = {d: table.header[i] for d, i in self.dimension_columns.items()}
        catalogue = ctx.catalogue
        self.dimension_of = catalogue.dimensions()
        self.services = {s.code.lower(): s.code for s in catalogue.services}
        self.service_units = {s.code: s.unit for s in catalogue.services}
        units = [u.code for u in catalogue.units] + [s.unit for s in catalogue.services]
        self.units = {u.lower(): u for u in units}
        self.tiers = {f"{s.code}\x1f{t.code.lower()}": t.code for s in catalogue.services for t in s.tiers}
        self.business_lines = ctx.business_line_codes()
        self.cost_centers = ctx.cost_center_codes()
        self.types = code_types(ctx)
        self.rates = service_rates(catalogue)
        self.owner_slots = _owner_slots(ctx, self.types)
        self.ownership_text = _ownership_text(ctx)
        self.codes = {field: Codes(known, self.types[field]) for field, known in (
            ("service", self.services), ("unit", self.units), ("business_line", self.business_lines),
            ("cost_center", self.cost_centers))}
        units = self.types["unit"]
        self.unit_of_service = pl.Series(  # by service, in the order of the service Enum
            [self.service_units[code] for code in self.types["service"].categories], dtype=units)

    @property
    def content(self) -> tuple[str, ...]:
        """The columns compared to tell a record sent again from a conflicting one."""
        return CONTENT

    @property
    def id_header(self) -> str | None:
        """The record id column as written in the file."""
        return self.headers.get("record_id")

    @classmethod
    def prepare(cls, table: Table, source: SourceDefinition, ctx: MappingContext) -> tuple[UsageMapping | None, list[Problem]]:
        """Match the header; ``None`` with the problems when a column is named twice
        (REPEATED_COLUMN) or required columns are missing (one HEADER_MISSING problem)."""
        file = table.file
        renames = dict(source.columns)
        wanted = {field: renames.get(field, field).strip().lower() for field in USAGE_FIELDS}
        problems = repeated_column_problems(table.header, file=file, row=table.header_row, key=_folded,
                                            matching="names ignore case and surrounding spaces")
        if problems:
            return None, problems
        found = [_folded(h) for h in table.header]
        columns = {field: found.index(name) for field, name in wanted.items() if name in found}
        missing = [wanted[f] for f in REQUIRED if f not in columns]
        if not any(f in columns for f in _OWNER_FIELDS):
            missing.append(f"{wanted['cost_center']} or {wanted['business_line']}")
        if missing:
            shown = excerpt(", ".join(h for h in table.header if h), 200) or "nothing"
            hint = "row 1 must name the columns (docs/feeds.md, 'Our usage format'); nothing was loaded"
            problems.append(Problem(
                code=ProblemCode.HEADER_MISSING,
                message=f"missing column(s): {', '.join(missing)}; found: {shown}",
                source=SourceRef(file=file, row=table.header_row), hint=hint))
            return None, problems
        dimension_columns, dimension_problems = _dimension_columns(table, source, ctx, found)
        problems += dimension_problems
        unused = [h for i, h in enumerate(table.header)
                  if h and i not in columns.values() and i not in dimension_columns.values()]
        if unused:
            problems.append(Problem(
                code=ProblemCode.UNKNOWN_KEY,
                message=f"column(s) not used: {excerpt(', '.join(unused), 200)}",
                source=SourceRef(file=file, row=table.header_row), severity=Severity.WARNING,
                hint=f"known columns: {', '.join(wanted[f] for f in USAGE_FIELDS)}"
                     + "".join(f", {d}" for d in sorted(set(ctx.catalogue.dimensions().values())))))
        headers = {field: table.header[i] for field, i in columns.items()}
        return cls(file=file, columns=columns, headers=headers, ctx=ctx, table=table,
                   dimension_columns=dimension_columns), problems

    # --- one batch -------------------------------------------------------------------------------

    def check(self, raw: pl.DataFrame) -> Checked:
        frame = self._parse(raw)
        checks = list(self._checks())
        if worth_may_pass(frame, self.rates, quantity="_qty", cost="_cost"):
            checks.append(shaped(worth_check(
                self.rates, service="_service", quantity="_qty", cost="_cost", column=self.headers.get("quantity"),
                services=self.types["service"],
                shown=pl.lit("quantity ") + quoted("quantity") + pl.when(pl.col("cost").is_not_null())
                .then(pl.lit(" and cost ") + quoted("cost")).otherwise(pl.lit("")))))
        error, problems = run_checks(frame, checks, file=self.file)
        frame = frame.with_columns(error.alias("error"))
        shape_ok = pl.col(FIELDS).is_null()  # the values of a record with another field count are not read
        frame = frame.with_columns(
            pl.col("record_id").alias("key"),
            pl.lit(False).alias("excluded"),
            pl.when(shape_ok).then(pl.col("_qty")).alias("quantity_read"),
            pl.when(shape_ok).then(pl.col("_cost")).alias("cost_read"),
            pl.col("_date").alias("usage_date"),
            pl.col("_cc").alias("cost_center"),
            pl.coalesce("_owner", "_bl").alias("business_line"),
            pl.col("_service").alias("service"),
            pl.col("_tier").alias("tier"),
            pl.col("_unit").alias("unit"),
            pl.col("_qty").alias("quantity"),
            pl.col("_cost").alias("cost"),
            pl.col(VALUE),
            join_notes([
                pl.when(pl.col("_qty") < 0).then(pl.lit("correction: negative quantity")),
                pl.when((pl.col("_cost") < 0) & ~(pl.col("_qty") < 0)).then(pl.lit("negative cost")),
            ]),
        )
        return Checked(frame=frame, problems=problems)

    def finish(self, good: pl.DataFrame) -> pl.DataFrame:
        return good

    def _parse(self, raw: pl.DataFrame) -> pl.DataFrame:
        """Typed columns (``_date``, codes as Enums, ``_qty``, ``_cost``, ``_owner``) beside the
        texts, which are :func:`~billing.feeds.values.cleaned` where they matter (record id,
        description, and any value that does not parse as written)."""
        frame = raw.select(
            "row_no",
            pl.col(EXTRA),
            pl.col(FIELDS),
            *[
                pl.col(f"c{self.columns[field]}").alias(field) if field in self.columns
                else pl.lit(None, dtype=pl.String).alias(field)
                for field in USAGE_FIELDS
            ],
            *[pl.col(f"c{i}").alias(f"_dim:{d}") for d, i in self.dimension_columns.items()],
        )
        frame = frame.with_columns(cleaned(pl.col(field)).alias(field) for field in ("record_id", "description"))
        frame = with_date(frame, "usage_date", alias="_date")
        for field, alias in (("service", "_service"), ("unit", "_unit"), ("business_line", "_bl"),
                             ("cost_center", "_cc")):
            frame = with_code(frame, field, self.codes[field], alias=alias)
        frame = with_number(frame, "quantity", prefix="_qty", dialect=self.dialect, limit=QUANTITY)
        frame = with_number(frame, "cost", prefix="_cost", dialect=self.dialect, limit=COST)
        frame = self._with_tier(frame)
        frame = frame.with_columns(dimension_value(
            "_service", {d: pl.col(f"_dim:{d}") for d in self.dimension_columns}, self.dimension_of))
        return frame.with_columns(
            pl.lit(self.unit_of_service).gather(pl.col("_service").to_physical()).alias("_service_unit"),
            self._owner().alias("_owner"),
        )

    def _with_tier(self, frame: pl.DataFrame) -> pl.DataFrame:
        """``_tier``: the tier of the row's service that ``tier`` names, ignoring case and
        surrounding spaces; worked out for the rows that give one."""
        tiers = self.types["tier"]
        frame = frame.with_columns(pl.lit(None, dtype=tiers).alias("_tier"))
        given = frame.get_column("tier").is_not_null()
        if not given.any():
            return frame
        return parse_again(frame, given, ["tier", "_service"], [
            (pl.col("_service").cast(pl.String) + pl.lit("\x1f") + pl.col("tier").str.to_lowercase())
            .replace_strict(self.tiers, default=None, return_dtype=pl.String).cast(tiers).alias("_tier"),
        ])

    def _owner(self) -> pl.Expr:
        """The business line owning ``_cc`` on ``_date``: one candidate period per slot, looked
        up by the cost centre's Enum index (a cost centre's periods never overlap, so at most
        one slot matches)."""
        owner = pl.lit(None, dtype=self.types["business_line"])
        index = pl.col("_cc").to_physical()
        date = pl.col("_date")
        chain = owner
        for owners, starts, ends in reversed(self.owner_slots):
            start, end, name = (pl.lit(values).gather(index) for values in (starts, ends, owners))
            in_force = (start <= date) & (end.is_null() | (date <= end))
            chain = pl.when(in_force).then(name).otherwise(chain)
        return chain

    def rule_set(self) -> UsageRuleSet:
        """What this file's row rules depend on (billing.feeds.rules.usage_rules)."""
        return UsageRuleSet(
            headers=self.headers, width=self.width, earliest=self.ctx.earliest, latest=self.ctx.latest,
            services=tuple(self.services.values()), units=tuple(set(self.units.values())),
            business_lines=tuple(self.business_lines.values()),
            ownership_text=tuple(sorted(self.ownership_text.items())), dialect=self.dialect,
            dimension_headers=self.dimension_headers, dimension_of=self.dimension_of, quantity=QUANTITY, cost=COST)

    def _checks(self) -> list[Check]:
        return [compiled(rule) for rule in usage_rules(self.rule_set())]


def _dimension_columns(table: Table, source: SourceDefinition, ctx: MappingContext,
                       found: list[str]) -> tuple[dict[str, int], list[Problem]]:
    """The column of each price dimension the catalogue names: the one the source definition's
    ``dimensions:`` gives, else the one named as the dimension; a column the definition names
    that the file lacks is a warning (the rows carry no value: docs/pricing.md says how a price
    by dimension treats them)."""
    columns: dict[str, int] = {}
    problems: list[Problem] = []
    for dimension in sorted({d for d in ctx.catalogue.dimensions().values()}):
        rule = source.dimension_rule(dimension)
        name = _folded(rule.column if rule is not None and rule.column else dimension)
        if name in found:
            columns[dimension] = found.index(name)
        elif rule is not None:
            problems.append(Problem(
                code=ProblemCode.HEADER_MISSING, severity=Severity.WARNING,
                message=f"no column {rule.column} (the {dimension} of the source definition): rows carry no {dimension}",
                source=SourceRef(file=table.file, row=table.header_row),
                hint="correct `dimensions:` in the source definition, or export the column"))
    return columns, problems


def _folded(name: str) -> str:
    """A header name as matched: case and surrounding spaces ignored."""
    return name.strip().lower()


def _owner_slots(ctx: MappingContext, types: dict[str, pl.Enum]) -> list[tuple[pl.Series, pl.Series, pl.Series]]:
    """Ownership periods by slot: slot k holds each cost centre's k-th period (by start date),
    as business line, start and end Series in the order of the cost centre Enum (null where a
    cost centre has fewer)."""
    periods: dict[str, list] = {}
    for o in sorted(ctx.cost_centers, key=lambda o: (o.cost_center, o.effective_from)):
        periods.setdefault(o.cost_center, []).append(o)
    codes = types["cost_center"].categories.to_list()
    depth = max((len(p) for p in periods.values()), default=0)

    def slot(k: int, value, dtype) -> pl.Series:
        return pl.Series([value(periods[cc][k]) if k < len(periods[cc]) else None for cc in codes], dtype=dtype)

    return [
        (slot(k, lambda o: o.business_line, types["business_line"]),
         slot(k, lambda o: o.effective_from, pl.Date),
         slot(k, lambda o: o.effective_to, pl.Date))
        for k in range(depth)
    ]


def _ownership_text(ctx: MappingContext) -> dict[str, str]:
    periods: dict[str, list[str]] = {}
    for o in sorted(ctx.cost_centers, key=lambda o: (o.cost_center, o.effective_from)):
        periods.setdefault(o.cost_center, []).append(f"{o.business_line} {o.effective_from}..{o.effective_to or ''}")
    return {cc: ", ".join(texts) for cc, texts in periods.items()}
