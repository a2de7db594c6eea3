"""What is in a FOCUS export nobody has mapped yet, and a starter source definition for it.

:func:`inspect_export` reads a file once (vectorised; Tags JSON once per distinct value) and
tells: its version, the cost, each tag key with the share of cost behind it and its most
frequent values, the sub accounts, the services. Against a source definition,
:func:`mapped_cost` says which cost maps to business lines and why the rest falls to
UNALLOCATED. :func:`draft_source` writes a source definition whose business line key is the
tag that best carries a business line or cost centre. No database: the caller passes what
the organisation knows (business lines, cost centre owners). See docs/feeds.md,
"Mapping a new export".
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import polars as pl

from billing.feeds.context import UNALLOCATED, MappingContext
from billing.feeds.focus_versions import column_lookup, detect_version
from billing.feeds.raw import open_table
from billing.feeds.read import read_usage
from billing.feeds.sources import MATCHERS, SourceDefinition
from billing.feeds.values import DECIMAL, with_decimal
from billing.core.problems import ChargebackError, ProblemsError, Severity

__all__ = ["TagKey", "Inspection", "MappedCost", "inspect_export", "mapped_cost", "draft_source", "tag_values",
           "BUSINESS_TAG_SPELLINGS"]

BUSINESS_TAG_SPELLINGS = (
    "costcenter", "costcentre", "businessunit", "businessline", "department", "dept", "division", "org",
    "organisation", "organization", "bu", "cc", "chargecode", "profitcenter", "profitcentre",
)
"""Tag key names (lower case, without ``-``, ``_``, spaces) that usually carry a business line
or cost centre; a key spelt so is suggested before one that is not."""

_TOP = 5


@dataclass(frozen=True, slots=True)
class TagKey:
    key: str
    rows: int
    cost: Decimal
    share: Decimal  # of the file's absolute cost, 0..1
    values: tuple[tuple[str, int, Decimal], ...]  # the most frequent (value, rows, cost)
    distinct: int
    known: Decimal = Decimal(0)  # share of its cost whose value is a business line or cost centre


@dataclass(frozen=True, slots=True)
class Inspection:
    file: str
    version: str
    cost_column: str
    rows: int
    cost: Decimal
    untagged_rows: int
    untagged_cost: Decimal
    tag_keys: tuple[TagKey, ...]  # by cost behind them, largest first
    sub_accounts: tuple[tuple[str, str, int, Decimal], ...]  # (id, name, rows, cost)
    services: tuple[tuple[str, str, int, Decimal], ...]  # (ServiceName, ServiceCategory, rows, cost)
    currencies: tuple[str, ...]

    def carrier(self) -> TagKey | None:
        """The tag that best carries a business line or cost centre: most cost whose values
        are known codes, then a key spelt like one, then the most cost behind it."""
        if not self.tag_keys:
            return None
        return max(self.tag_keys, key=lambda k: (k.known * k.share, _spelt_as_business(k.key), k.share))


@dataclass(frozen=True, slots=True)
class MappedCost:
    source: str
    cost: Decimal
    mapped: Decimal
    by_business_line: tuple[tuple[str, Decimal], ...]
    unallocated: Decimal
    reasons: tuple[tuple[str, int, Decimal], ...]  # why rows are unallocated: (reason, rows, cost)
    rejected_rows: int
    rejected_cost: Decimal


def inspect_export(path: Path, *, cost_column: str = "BilledCost", known: Iterable[str] = (), top: int = _TOP) -> Inspection:
    """What ``path`` holds; ``known`` are the organisation's business line and cost centre
    codes, to tell which tag's values name them (any case)."""
    known = {code.lower() for code in known}
    frame, header, file = _read(path, ["Tags", "SubAccountId", "SubAccountName", "ServiceName", "ServiceCategory",
                                       "BillingCurrency", cost_column])
    frame = with_decimal(frame, cost_column, prefix="_cost").with_columns(pl.col("_cost").fill_null(0).cast(DECIMAL))
    total_abs = _dec(frame.select(pl.col("_cost").abs().sum()).item())
    tags = _tag_pairs(frame)
    keys = []
    if tags.height:
        for (key,), part in tags.group_by("key"):
            values = (part.group_by("value").agg(pl.len().alias("rows"), pl.col("_cost").sum().alias("cost"))
                      .sort(["rows", "value"], descending=[True, False]))
            cost = _dec(part.get_column("_cost").sum())
            absolute = _dec(part.select(pl.col("_cost").abs().sum()).item())
            hits = part.filter(pl.col("value").str.strip_chars().str.to_lowercase().is_in(list(known)))
            keys.append(TagKey(key=key, rows=part.height, cost=cost, share=_ratio(absolute, total_abs),
                               values=tuple((v, n, _dec(c)) for v, n, c in values.head(top).iter_rows()),
                               distinct=values.height,
                               known=_ratio(_dec(hits.select(pl.col("_cost").abs().sum()).item()), absolute)
                               if hits.height else Decimal(0)))
    keys.sort(key=lambda k: (-k.share, k.key))
    tagged = frame.filter(pl.col("Tags").is_not_null() & (pl.col("Tags").str.strip_chars() != "{}"))
    untagged = frame.filter(~pl.col("row_no").is_in(tagged.get_column("row_no").implode()))
    return Inspection(
        file=file, version=detect_version(header).version, cost_column=cost_column, rows=frame.height,
        cost=_dec(frame.get_column("_cost").sum()), untagged_rows=untagged.height,
        untagged_cost=_dec(untagged.get_column("_cost").sum()), tag_keys=tuple(keys),
        sub_accounts=_grouped(frame, ["SubAccountId", "SubAccountName"]),
        services=_grouped(frame, ["ServiceName", "ServiceCategory"]),
        currencies=tuple(sorted(frame.get_column("BillingCurrency").drop_nulls().unique().to_list())),
    )


def mapped_cost(path: Path, source: SourceDefinition, ctx: MappingContext) -> MappedCost:
    """Load ``path`` with ``source`` in memory (nothing is stored) and say where its cost goes."""
    rows, rejected_rows, rejected_cost = [], 0, Decimal(0)
    for batch in read_usage(path, source, ctx):
        fatal = [p for p in batch.problems if p.severity is Severity.ERROR]
        if fatal and batch.rows_read == 0:
            raise ProblemsError(fatal, f"{path}: source {source.name} cannot map this file")
        rows.append(batch.rows)
        rejected_rows += batch.tally.rejected
        rejected_cost += batch.tally.cost_read - batch.tally.cost_loaded if batch.tally.rejected else Decimal(0)
    frame = pl.concat(rows).with_columns(pl.col("business_line").cast(pl.String)) if rows else pl.DataFrame()
    if frame.height == 0:
        return MappedCost(source.name, Decimal(0), Decimal(0), (), Decimal(0), (), rejected_rows, rejected_cost)
    by_line = frame.group_by("business_line").agg(pl.col("cost").sum()).sort("cost", descending=True)
    parked = frame.filter(pl.col("business_line") == UNALLOCATED).with_columns(
        pl.col("note").str.extract(r"unallocated: ([^;]*)", 1).fill_null("no business line").alias("reason"))
    reasons = parked.group_by("reason").agg(pl.len().alias("rows"), pl.col("cost").sum()).sort("rows", descending=True)
    total = _dec(frame.get_column("cost").sum())
    unallocated = _dec(parked.get_column("cost").sum()) if parked.height else Decimal(0)
    return MappedCost(
        source=source.name, cost=total, mapped=total - unallocated,
        by_business_line=tuple((b, _dec(c)) for b, c in by_line.iter_rows()), unallocated=unallocated,
        reasons=tuple((r, n, _dec(c)) for r, n, c in reasons.iter_rows()),
        rejected_rows=rejected_rows, rejected_cost=rejected_cost,
    )


def draft_source(inspection: Inspection, *, name: str, base: SourceDefinition, business_lines: Iterable[str],
                 cost_centers: Mapping[str, str], all_values: Mapping[str, Iterable[str]] | None = None) -> str:
    """A starter source definition (YAML text) for the inspected file: ``base``'s cost,
    currency, quantity and service rules, and as business line key the tag that best carries
    a business line or cost centre, with a ``value_map`` for its values that are cost centres
    (to the business line that owns each) or business lines. Other values are listed as
    comments to fill in; their rows go to UNALLOCATED until then."""
    carrier = inspection.carrier()
    lines = [
        f"# Starter source definition for {Path(inspection.file).name} (FOCUS {inspection.version}),",
        "# written by `chargeback sources inspect --write-draft`. Check it, then load with it.",
        f"name: {name}",
        "format: focus",
        f"description: {_yaml_text(f'FOCUS export {Path(inspection.file).name}, mapped on its tags')}",
        "",
        f"cost: {base.cost}",
    ]
    currency = base.currency or (inspection.currencies[0] if len(inspection.currencies) == 1 else None)
    if currency:
        lines.append(f"currency: {currency}")
    lines.append(f"quantity: [{', '.join(base.quantity)}]")
    lines += ["", "services:                         # first matching rule wins"]
    for rule in base.services:
        if rule.is_default:
            lines.append(f"  - default: {rule.service}")
            continue
        keys = {column: key for key, column in MATCHERS.items()}
        parts = ", ".join(f"{keys.get(column, column)}: [{', '.join(_yaml_text(v) for v in values)}]"
                          for column, values in rule.match)
        lines.append(f"  - {{{parts}, service: {rule.service}}}")
    lines += ["", "business_line:                    # tried in order; the first value that maps wins"]
    if carrier is not None:
        lines.append(f"  - tag: {_yaml_text(carrier.key)}   # {_percent(carrier.share)} of the cost carries it")
    lines += ["", "value_map:                        # tag value -> business line (case-insensitive, * and ? wildcards)"]
    known_lines = {c.lower(): c for c in business_lines}
    centers = {c.lower(): b for c, b in cost_centers.items()}
    values = sorted(set(all_values.get(carrier.key, ())) if all_values and carrier else
                    ({v for v, _, _ in carrier.values} if carrier else set()))
    todo, entries = [], []
    for value in values:
        folded = value.strip().lower()
        if folded in centers:
            entries.append(f"  {_yaml_text(value)}: {centers[folded]}   # cost centre of {centers[folded]}")
        elif folded in known_lines:
            entries.append(f"  {_yaml_text(value)}: {known_lines[folded]}")
        else:
            todo.append(value)
    if entries:
        lines += entries
    else:
        lines[-1] = "value_map: {}                     # tag value -> business line (case-insensitive, * and ? wildcards)"
    for value in todo:
        lines.append(f"  # {_yaml_text(value)}: ?             # not a business line or cost centre: map it")
    lines += ["", "unallocated: business_line        # rows with no mapped value go to UNALLOCATED, with a note", ""]
    return "\n".join(lines)


def tag_values(path: Path) -> dict[str, list[str]]:
    """Every distinct value of every tag key in ``path`` (for a draft's value_map)."""
    frame, _, _ = _read(path, ["Tags"])
    pairs = _tag_pairs(frame.with_columns(pl.lit(0).cast(DECIMAL).alias("_cost")))
    if pairs.height == 0:
        return {}
    return {k: sorted(part.get_column("value").unique().to_list())
            for (k,), part in pairs.group_by("key")}


# --- pieces --------------------------------------------------------------------------------------


def _read(path: Path, names: list[str]) -> tuple[pl.DataFrame, tuple[str, ...], str]:
    table, problems = open_table(Path(path))
    if table is None:
        raise ChargebackError(f"{path}: {problems[0].message if problems else 'cannot be read'}")
    index = {h.strip().lower(): i for i, h in enumerate(table.header)}
    picked = {}
    for name in names:
        found = next((index[c.lower()] for c in column_lookup(name) if c.lower() in index), None)
        picked[name] = found
    frames = []
    for batch in table.batches(250_000):
        raw = batch.frame
        frames.append(raw.select("row_no", *[
            (_null(pl.col(f"c{i}")) if i is not None else pl.lit(None, dtype=pl.String)).alias(name)
            for name, i in picked.items()]))
    frame = pl.concat(frames) if frames else pl.DataFrame(schema={"row_no": pl.Int64, **{n: pl.String for n in names}})
    return frame, table.header, table.file


def _null(text: pl.Expr) -> pl.Expr:
    value = text.str.strip_chars()
    return pl.when((value.str.len_chars() > 0) & (value != "NULL")).then(value)


def _tag_pairs(frame: pl.DataFrame) -> pl.DataFrame:
    """(row_no, key, value, _cost) for every tag of every row; Tags parsed once per distinct text."""
    texts = frame.get_column("Tags").drop_nulls().unique().to_list()
    keys, values, sources = [], [], []
    for text in texts:
        body = text if text.startswith("{") else "{" + text + "}"
        try:
            tags = json.loads(body)
        except json.JSONDecodeError:
            continue
        if not isinstance(tags, dict):
            continue
        for key, value in tags.items():
            if isinstance(value, (dict, list)) or value is None:
                continue
            sources.append(text)
            keys.append(key.strip())
            values.append(value if isinstance(value, str) else json.dumps(value))
    table = pl.DataFrame({"Tags": sources, "key": keys, "value": values},
                         schema={"Tags": pl.String, "key": pl.String, "value": pl.String})
    return frame.select("row_no", "Tags", "_cost").join(table, on="Tags", how="inner")


def _grouped(frame: pl.DataFrame, columns: list[str]) -> tuple[tuple[str, str, int, Decimal], ...]:
    groups = (frame.group_by(columns).agg(pl.len().alias("rows"), pl.col("_cost").sum().alias("cost"))
              .sort(["cost", *columns], descending=[True, False, False], nulls_last=True))
    return tuple((a or "", b or "", n, _dec(c)) for a, b, n, c in groups.iter_rows())


def _spelt_as_business(key: str) -> bool:
    return re.sub(r"[\s_\-]", "", key.lower()) in BUSINESS_TAG_SPELLINGS


def _dec(value) -> Decimal:
    return Decimal(value) if value is not None else Decimal(0)


def _ratio(part: Decimal, whole: Decimal) -> Decimal:
    return part / whole if whole else Decimal(0)


def _percent(share: Decimal) -> str:
    return f"{(share * 100).quantize(Decimal('0.1'))}%"


def _yaml_text(text: str) -> str:
    """``text`` as a YAML scalar: quoted when plain YAML would read it as something else."""
    if re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9 ._/-]*", text) and text.lower() not in {"yes", "no", "true", "false", "null", "on", "off"}:
        return text
    return json.dumps(text)


@dataclass(frozen=True, slots=True)
class DraftWritten:
    """The starter source definition written: where, its name, and the share of the cost that
    is UNALLOCATED with it."""

    path: Path
    name: str
    unallocated_share: Decimal


@dataclass(frozen=True, slots=True)
class InspectReport:
    """What `sources inspect` found (reports.inspect_text writes it)."""

    path: Path
    found: Inspection
    mapping: MappedCost | None  # where the cost goes with the source asked for
    draft: DraftWritten | None


def share(part: Decimal, whole: Decimal) -> Decimal:
    """``part`` as a share of ``whole`` (0 of nothing)."""
    return abs(part) / abs(whole) if whole else Decimal(0)
