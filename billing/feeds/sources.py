"""Source definitions: how one kind of usage export maps onto services and business lines.

One YAML file per source (``examples/sources/*.yaml``; reference in ``docs/feeds.md``).
:func:`load_sources` reads a directory and returns ``(sources, problems)``; it never raises on
bad YAML, and every problem points at ``file:line:location`` (``splits[0].shares``).
:func:`check_source` then checks a source against the catalogue and organisation in use.
"""

from __future__ import annotations

import difflib
import enum
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from billing.feeds.context import UNALLOCATED, MappingContext
from billing.core.limits import SOURCE_NAME, too_long
from billing.core.problems import Problem, ProblemCode, Severity, SourceRef, excerpt
from billing.files.tables import read_table
from billing.core.yamldoc import NOT_YAML, DocumentReader, YamlList, YamlMap, read_yaml_file

__all__ = [
    "FeedFormat",
    "UnallocatedRule",
    "BusinessLineKey",
    "ServiceRule",
    "TierRule",
    "SplitRule",
    "DimensionRule",
    "SourceDefinition",
    "USAGE_FIELDS",
    "MATCHERS",
    "COST_COLUMNS",
    "CHARGE_CATEGORIES",
    "default_source",
    "load_sources",
    "parse_source",
    "check_source",
]


class FeedFormat(enum.StrEnum):
    USAGE = "usage"  # our own CSV / .xlsx usage format
    FOCUS = "focus"  # FinOps FOCUS 1.0-1.2 cost and usage export


class UnallocatedRule(enum.StrEnum):
    BUSINESS_LINE = "business_line"  # park on the UNALLOCATED business line, with a note
    REJECT = "reject"  # report a problem; the row does not load


USAGE_FIELDS = (
    "record_id", "usage_date", "cost_center", "business_line", "service", "tier",
    "quantity", "unit", "description", "cost",
)
"""Columns of our own usage format (docs/feeds.md)."""

MATCHERS = {
    "service_name": "ServiceName",
    "service_category": "ServiceCategory",
    "service_subcategory": "ServiceSubcategory",
    "provider_name": "ProviderName",
    "publisher_name": "PublisherName",
    "charge_category": "ChargeCategory",
    "charge_frequency": "ChargeFrequency",
    "sub_account_id": "SubAccountId",
    "billing_account_id": "BillingAccountId",
    "region_id": "RegionId",
    "sku_id": "SkuId",
}
"""Service-rule keys and the FOCUS column each one compares (case-insensitive, any of a list)."""

COST_COLUMNS = ("BilledCost", "EffectiveCost", "ListCost", "ContractedCost")
CHARGE_CATEGORIES = ("Usage", "Purchase", "Tax", "Credit", "Adjustment")
DEFAULT_QUANTITY = ("ConsumedQuantity", "PricingQuantity")

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_COMMON_KEYS = ("name", "format", "description", "sheet")
_USAGE_KEYS = ("columns", "dimensions")
_FOCUS_KEYS = (
    "business_line", "value_map", "services", "quantity", "cost", "currency", "id_column", "tier",
    "unallocated", "splits", "exclude_charge_categories", "dimensions",
)


@dataclass(frozen=True, slots=True, kw_only=True)
class BusinessLineKey:
    """Where a FOCUS row names its business line: a tag or a column, with an optional map
    from the values found there to business line codes (else the source's ``value_map``)."""

    tag: str | None = None
    column: str | None = None
    map: tuple[tuple[str, str], ...] = ()
    source: SourceRef

    def __post_init__(self) -> None:
        if (self.tag is None) == (self.column is None):
            raise ValueError("a business line key is either a tag or a column")

    @property
    def label(self) -> str:
        return f"{self.tag} tag" if self.tag is not None else str(self.column)


@dataclass(frozen=True, slots=True, kw_only=True)
class ServiceRule:
    """Rows whose columns match every ``match`` entry go to ``service``; no entries = default."""

    service: str
    match: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (FOCUS column, accepted values)
    source: SourceRef

    @property
    def is_default(self) -> bool:
        return not self.match


@dataclass(frozen=True, slots=True, kw_only=True)
class TierRule:
    value: str | None = None
    tag: str | None = None
    source: SourceRef

    def __post_init__(self) -> None:
        if (self.value is None) == (self.tag is None):
            raise ValueError("a tier rule is either a value or a tag")


@dataclass(frozen=True, slots=True, kw_only=True)
class DimensionRule:
    """Where a row finds the value of a price dimension (docs/feeds.md, "Price dimensions"): a
    column of the file, or (FOCUS) a key of its Tags. The rows of every service whose
    dimension this is read their value there."""

    dimension: str
    tag: str | None = None
    column: str | None = None
    source: SourceRef

    def __post_init__(self) -> None:
        if (self.tag is None) == (self.column is None):
            raise ValueError("a dimension is read from either a tag or a column")

    @property
    def label(self) -> str:
        return f"the {self.tag} tag" if self.tag is not None else f"column {self.column}"


@dataclass(frozen=True, slots=True, kw_only=True)
class SplitRule:
    """Rows of these sub accounts are shared: split by percentage over business lines."""

    sub_account_ids: tuple[str, ...]
    shares: tuple[tuple[str, Decimal], ...]  # (business line, percent), percents sum to 100
    source: SourceRef

    def __post_init__(self) -> None:
        if not self.sub_account_ids:
            raise ValueError("a split rule names at least one sub account")
        if sum((p for _, p in self.shares), Decimal(0)) != 100 or any(p <= 0 for _, p in self.shares):
            raise ValueError("split percentages must be positive and sum to 100")


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceDefinition:
    name: str
    format: FeedFormat
    source: SourceRef
    description: str = ""
    sheet: str | None = None  # .xlsx: the sheet to read (default: the first)
    # usage format
    columns: tuple[tuple[str, str], ...] = ()  # (our field, header in the file)
    # FOCUS
    business_line: tuple[BusinessLineKey, ...] = ()
    value_map: tuple[tuple[str, str], ...] = ()  # (value or glob pattern, business line)
    services: tuple[ServiceRule, ...] = ()
    quantity: tuple[str, ...] = DEFAULT_QUANTITY
    cost: str = "BilledCost"
    currency: str | None = None  # when given, every row's BillingCurrency must be this
    id_column: str | None = None
    tier: TierRule | None = None
    unallocated: UnallocatedRule = UnallocatedRule.REJECT
    splits: tuple[SplitRule, ...] = ()
    exclude_charge_categories: tuple[str, ...] = ()
    # both: where each price dimension's value is read (our format: a column named as the
    # dimension unless a rule here says otherwise)
    dimensions: tuple[DimensionRule, ...] = ()

    def dimension_rule(self, dimension: str) -> DimensionRule | None:
        return next((r for r in self.dimensions if r.dimension.lower() == dimension.lower()), None)

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise ValueError(f"source name {self.name!r} must be letters, digits, '.', '_' or '-'")
        if self.cost not in COST_COLUMNS:
            raise ValueError(f"cost column {self.cost!r} is not one of {', '.join(COST_COLUMNS)}")
        seen: set[str] = set()
        for rule in self.splits:
            for account in rule.sub_account_ids:
                if account in seen:
                    raise ValueError(f"sub account {account} is in two split rules")
                seen.add(account)

    def service_codes(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(rule.service for rule in self.services))


def default_source(name: str) -> SourceDefinition:
    """Our own usage format under ``name``, for a source that has no YAML definition."""
    return SourceDefinition(name=name, format=FeedFormat.USAGE, source=SourceRef(file=f"<default source {name}>"),
                            description="our own usage format (no source definition file)")


# --- loading -----------------------------------------------------------------------------------


def load_sources(directory: Path) -> tuple[dict[str, SourceDefinition], list[Problem]]:
    """Read every ``*.yaml`` (and ``*.yml``) in ``directory``, in name order.

    A file with an error is left out of the result; its problems say why. Two files with the
    same ``name`` are a DUPLICATE problem and the later one is left out.
    """
    directory = Path(directory)
    if not directory.is_dir():
        return {}, [Problem(code=ProblemCode.FILE_UNREADABLE, message="no such directory of source definitions",
                            source=SourceRef(file=str(directory)))]
    sources: dict[str, SourceDefinition] = {}
    problems: list[Problem] = []
    paths = sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")])
    for path in paths:
        text, unread = read_yaml_file(path, encoding="utf-8-sig")
        if unread is not None:
            problems.append(unread)
            continue
        source, found = parse_source(text, file=str(path), base=path.parent)
        problems.extend(found)
        if source is None:
            continue
        if source.name in sources:
            problems.append(Problem(
                code=ProblemCode.DUPLICATE,
                message=f"source {source.name!r} is already defined in {sources[source.name].source.file}",
                source=source.source, hint="give each source its own name"))
            continue
        sources[source.name] = source
    return sources, problems


def parse_source(text: str, *, file: str, base: Path | None = None) -> tuple[SourceDefinition | None, list[Problem]]:
    """One source definition from YAML text. ``base`` resolves ``map_file`` paths."""
    reader = _Reader(file, base)
    document = reader.load(text)
    if document is None:
        return None, reader.problems
    source = reader.source(document)
    if any(p.severity is Severity.ERROR for p in reader.problems):
        return None, reader.problems
    return source, reader.problems


def check_source(source: SourceDefinition, ctx: MappingContext) -> list[Problem]:
    """Codes the source names that the catalogue or the organisation does not know."""
    problems: list[Problem] = []
    business_lines = ctx.business_line_codes()

    def unknown_business_line(code: str, where: SourceRef, what: str) -> None:
        if code.lower() not in business_lines:
            problems.append(Problem(
                code=ProblemCode.UNKNOWN_BUSINESS_LINE,
                message=f"{what} maps to business line {code!r}, which is not known",
                source=where, hint=_known(business_lines.values())))

    for rule in source.services:
        if ctx.catalogue.service(rule.service) is None:
            problems.append(Problem(
                code=ProblemCode.UNKNOWN_SERVICE, message=f"service {rule.service!r} is not in the catalogue",
                source=rule.source, hint=_known(s.code for s in ctx.catalogue.services)))
        elif source.tier is not None and source.tier.value is not None:
            service = ctx.catalogue.service(rule.service)
            if not any(t.code.lower() == source.tier.value.lower() for t in service.tiers):
                problems.append(Problem(
                    code=ProblemCode.UNKNOWN_TIER,
                    message=f"tier {source.tier.value!r} is not a tier of service {rule.service}",
                    source=source.tier.source, hint=_known(t.code for t in service.tiers)))
    for value, code in source.value_map:
        unknown_business_line(code, source.source, f"value_map entry {value!r}")
    for key in source.business_line:
        for value, code in key.map:
            unknown_business_line(code, key.source, f"{key.label} value {value!r}")
    for rule in source.splits:
        for code, _ in rule.shares:
            unknown_business_line(code, rule.source, "a split")
    named = {d.lower() for d in ctx.catalogue.dimensions().values()}
    for rule in source.dimensions:
        if rule.dimension.lower() not in named:
            problems.append(Problem(
                code=ProblemCode.UNKNOWN_KEY, severity=Severity.WARNING,
                message=f"no service of the catalogue prices by dimension {rule.dimension!r}; {rule.label} is not read",
                source=rule.source, hint=_known(sorted(named)) if named else "no service names a dimension"))
    if source.unallocated is UnallocatedRule.BUSINESS_LINE and UNALLOCATED.lower() not in business_lines:
        problems.append(Problem(
            code=ProblemCode.UNKNOWN_BUSINESS_LINE,
            message=f"the source parks unmapped rows on {UNALLOCATED}, which is not a known business line",
            source=source.source, hint=f"create business line {UNALLOCATED} or set `unallocated: reject`"))
    return problems


def _known(codes: Iterable[str], limit: int = 12) -> str:
    codes = sorted(codes)
    shown = ", ".join(codes[:limit]) + (f" and {len(codes) - limit} more" if len(codes) > limit else "")
    return f"known: {shown}" if codes else "none are defined"


# --- reading the YAML --------------------------------------------------------------------------


class _Int(int):
    """A YAML integer that remembers how it was written: account 0123 stays '0123'."""

    text: str


def _as_text(value: Any) -> str:
    return value.text if isinstance(value, _Int) else str(value)


class _Reader(DocumentReader):
    """Reads one source definition; YAML with its lines and the problems come from
    :class:`billing.core.yamldoc.DocumentReader`."""

    def __init__(self, file: str, base: Path | None):
        super().__init__(file)
        self.base = base

    def load(self, text: str) -> YamlMap | None:
        document = self.parse(text, code=ProblemCode.VALUE_INVALID,
                              hint="check the indentation and quoting around this line")
        if document is NOT_YAML:
            return None
        if document is None and self.document_line is None:  # no document at all ("~" is one: not a mapping)
            self.report(ProblemCode.FILE_EMPTY, "the source definition is empty", "", None,
                        "it needs at least `name:` and `format:`")
            return None
        if not isinstance(document, YamlMap):
            self.report(ProblemCode.VALUE_INVALID, "a source definition is a mapping of keys to values", "",
                        self.document_line)
            return None
        return document

    def scalar(self, node: yaml.ScalarNode, loader: yaml.SafeLoader) -> Any:
        """Decimals from the text (33.3 stays exact); integers remember how they were written."""
        if node.tag == "tag:yaml.org,2002:float":
            try:
                return Decimal(node.value.replace("_", ""))
            except ArithmeticError:
                return node.value
        value = loader.construct_object(node, deep=True)
        if type(value) is int:
            value = _Int(value)
            value.text = node.value.strip()
        return value

    def duplicate_key(self, mapping: YamlMap, key: str, location: str, line: int) -> bool:
        self.report(ProblemCode.DUPLICATE, f"key {key!r} is given twice (first on line {mapping.lines[key]})",
                    location, line, "YAML keeps only the last one; remove one")
        return True

    # the definition

    def source(self, doc: YamlMap) -> SourceDefinition | None:
        ref = self.ref("", doc.line)
        name = self.text(doc, "name", "", required=True)
        if name is not None and (too_long_name := too_long("name", name, SOURCE_NAME)):
            self.report(ProblemCode.TOO_LONG, too_long_name, "name", doc.lines["name"], f"shorten it to {SOURCE_NAME} characters")
            name = None
        if name is not None and not _NAME.match(name):
            self.report(ProblemCode.VALUE_INVALID, f"name {excerpt(name)!r} must be letters, digits, '.', '_' or '-'",
                        "name", doc.lines["name"])
            name = None
        fmt_text = self.text(doc, "format", "", required=True)
        fmt: FeedFormat | None = None
        if fmt_text is not None:
            try:
                fmt = FeedFormat(fmt_text.lower())
            except ValueError:
                self.report(ProblemCode.VALUE_INVALID, f"format {fmt_text!r} is not one of usage, focus",
                            "format", doc.lines["format"])
        allowed = _COMMON_KEYS + (_USAGE_KEYS if fmt is FeedFormat.USAGE else _FOCUS_KEYS if fmt else _USAGE_KEYS + _FOCUS_KEYS)
        self.unknown_keys(doc, "", allowed, extra=f"for format {fmt}" if fmt else "")
        description = self.text(doc, "description", "") or ""
        sheet = self.text(doc, "sheet", "")
        if name is None or fmt is None:
            return None
        if fmt is FeedFormat.USAGE:
            columns = self.columns(doc)
            dimensions = self.dimensions(doc, tags=False)
            return self.build(lambda: SourceDefinition(
                name=name, format=fmt, source=ref, description=description, sheet=sheet,
                columns=columns, dimensions=dimensions), doc, "")
        return self.focus(doc, name, ref, description, sheet)

    def focus(self, doc: YamlMap, name: str, ref: SourceRef, description: str,
              sheet: str | None) -> SourceDefinition | None:
        keys = self.business_line_keys(doc)
        value_map = self.code_map(doc, "value_map", "value_map")
        services = self.services(doc)
        quantity = self.quantity(doc)
        cost = self.text(doc, "cost", "") or "BilledCost"
        matched_cost = next((c for c in COST_COLUMNS if c.lower() == cost.lower()), None)
        if matched_cost is None:
            self.report(ProblemCode.VALUE_INVALID, f"cost {cost!r} is not one of {', '.join(COST_COLUMNS)}",
                        "cost", doc.lines.get("cost"),
                        "BilledCost is the invoice basis, EffectiveCost the amortised one")
        currency = self.text(doc, "currency", "")
        if currency is not None and not re.fullmatch(r"[A-Za-z]{3}", currency):
            self.report(ProblemCode.VALUE_INVALID, f"currency {currency!r} is not an ISO 4217 code",
                        "currency", doc.lines.get("currency"), "three letters, e.g. USD")
        id_column = self.text(doc, "id_column", "")
        tier = self.tier(doc)
        unallocated_text = self.text(doc, "unallocated", "") or UnallocatedRule.REJECT.value
        try:
            unallocated = UnallocatedRule(unallocated_text.lower())
        except ValueError:
            self.report(ProblemCode.VALUE_INVALID,
                        f"unallocated {unallocated_text!r} is not one of business_line, reject", "unallocated",
                        doc.lines.get("unallocated"))
            unallocated = UnallocatedRule.REJECT
        splits = self.splits(doc)
        excluded = self.charge_categories(doc)
        dimensions = self.dimensions(doc, tags=True)
        return self.build(lambda: SourceDefinition(
            name=name, format=FeedFormat.FOCUS, source=ref, description=description, sheet=sheet,
            business_line=keys, value_map=value_map, services=services, quantity=quantity,
            cost=matched_cost or "BilledCost", currency=currency.upper() if currency else None,
            id_column=id_column, tier=tier, unallocated=unallocated, splits=splits,
            exclude_charge_categories=excluded, dimensions=dimensions), doc, "")

    def build(self, make: Callable[[], Any], node: YamlMap, location: str) -> Any:
        if any(p.severity is Severity.ERROR for p in self.problems):
            return None
        try:
            return make()
        except ValueError as exc:  # a record invariant the checks above did not catch
            self.report(ProblemCode.INCONSISTENT, str(exc), location, node.line)
            return None

    # pieces

    def unknown_keys(self, node: YamlMap, location: str, allowed: Iterable[str], extra: str = "") -> None:
        allowed = tuple(allowed)
        for key in node:
            if key not in allowed:
                close = difflib.get_close_matches(key, allowed, n=1)
                hint = f"did you mean {close[0]!r}?" if close else f"known keys: {', '.join(allowed)}"
                where = f"{location}.{key}" if location else key
                self.report(ProblemCode.UNKNOWN_KEY, f"unknown key {key!r}" + (f" {extra}" if extra else ""),
                            where, node.lines[key], hint)

    def text(self, node: YamlMap, key: str, location: str, *, required: bool = False) -> str | None:
        where = f"{location}.{key}" if location else key
        if key not in node or node[key] is None:
            if required:
                self.report(ProblemCode.VALUE_MISSING, f"{key!r} is required", where, node.line)
            return None
        value = node[key]
        if isinstance(value, (YamlMap, YamlList)) or isinstance(value, bool):
            self.report(ProblemCode.VALUE_INVALID, f"{key!r} must be a single text value", where, node.lines[key])
            return None
        text = _as_text(value).strip()
        if required and not text:
            self.report(ProblemCode.VALUE_MISSING, f"{key!r} is empty", where, node.lines[key])
            return None
        return text or None

    def texts(self, node: YamlMap, key: str, location: str) -> tuple[str, ...] | None:
        """A text or a list of texts (numbers are taken as written)."""
        where = f"{location}.{key}" if location else key
        value = node[key]
        values = list(value) if isinstance(value, YamlList) else [value]
        result: list[str] = []
        for item in values:
            if item is None or isinstance(item, (YamlMap, YamlList, bool)) or not str(item).strip():
                self.report(ProblemCode.VALUE_INVALID, f"{key!r} takes a text or a list of texts", where,
                            node.lines[key])
                return None
            result.append(_as_text(item).strip())
        if not result:
            self.report(ProblemCode.VALUE_MISSING, f"{key!r} is an empty list", where, node.lines[key])
            return None
        return tuple(result)

    def columns(self, doc: YamlMap) -> tuple[tuple[str, str], ...]:
        if "columns" not in doc:
            return ()
        node = doc["columns"]
        if not isinstance(node, YamlMap):
            self.report(ProblemCode.VALUE_INVALID, "columns maps our column names to the file's headers",
                        "columns", doc.lines["columns"], "e.g. columns: {quantity: Qty, cost_center: CC}")
            return ()
        self.unknown_keys(node, "columns", USAGE_FIELDS)
        pairs = []
        for key in node:
            if key in USAGE_FIELDS:
                header = self.text(node, key, "columns", required=True)
                if header is not None:
                    pairs.append((key, header))
        return tuple(pairs)

    def code_map(self, node: YamlMap, key: str, location: str) -> tuple[tuple[str, str], ...]:
        if key not in node or node[key] is None:
            return ()
        value = node[key]
        if not isinstance(value, YamlMap):
            self.report(ProblemCode.VALUE_INVALID, f"{key} maps values to business line codes", location,
                        node.lines[key], 'e.g. {"ViennaAI": DATA, "*Finance": FIN}')
            return ()
        pairs = []
        for found, code in value.items():
            if code is None or isinstance(code, (YamlMap, YamlList, bool)) or not str(code).strip():
                self.report(ProblemCode.VALUE_INVALID, f"value {found!r} must map to a business line code",
                            f"{location}.{found}", value.lines[found])
                continue
            pairs.append((str(found).strip(), _as_text(code).strip()))
        return tuple(pairs)

    def map_file(self, key: YamlMap, location: str) -> tuple[tuple[str, str], ...]:
        name = self.text(key, "map_file", location, required=True)
        if name is None:
            return ()
        path = (self.base or Path(".")) / name
        where = f"{location}.map_file"
        if not path.is_file():
            self.report(ProblemCode.FILE_UNREADABLE, f"cannot read map file {name!r}: there is no such file", where,
                        key.lines["map_file"], "the path is relative to this YAML file")
            return ()
        rows, problems = read_table(path, required=("value", "business_line"))  # a table like any other
        self.problems += problems
        pairs: list[tuple[str, str]] = []
        seen: dict[str, int] = {}
        for row in rows:
            found, code = row.get("value"), row.get("business_line")
            if not found or not code:
                self.problems.append(Problem(code=ProblemCode.VALUE_MISSING, message="a value and a business line are both needed",
                                             source=row.ref()))
                continue
            if found.lower() in seen:
                self.problems.append(Problem(code=ProblemCode.DUPLICATE,
                                             message=f"value {excerpt(found)!r} is already mapped on row {seen[found.lower()]}",
                                             source=row.ref("value")))
                continue
            seen[found.lower()] = row.row
            pairs.append((found, code))
        return tuple(pairs)

    def business_line_keys(self, doc: YamlMap) -> tuple[BusinessLineKey, ...]:
        if "business_line" not in doc or doc["business_line"] is None:
            self.report(ProblemCode.VALUE_MISSING, "'business_line' is required: where a row names its business line",
                        "business_line", doc.line, "e.g. business_line: [{tag: business_unit}]")
            return ()
        node = doc["business_line"]
        items = node if isinstance(node, YamlList) else [node]
        lines = node.lines if isinstance(node, YamlList) else [doc.lines["business_line"]]
        keys = []
        for i, (item, line) in enumerate(zip(items, lines)):
            where = f"business_line[{i}]" if isinstance(node, YamlList) else "business_line"
            if not isinstance(item, YamlMap):
                self.report(ProblemCode.VALUE_INVALID, "each business line key is a mapping such as {tag: business_unit}",
                            where, line)
                continue
            self.unknown_keys(item, where, ("tag", "column", "map", "map_file"))
            tag, column = self.text(item, "tag", where), self.text(item, "column", where)
            if (tag is None) == (column is None):
                self.report(ProblemCode.VALUE_INVALID, "give exactly one of `tag:` or `column:`", where, item.line)
                continue
            if "map" in item and "map_file" in item:
                self.report(ProblemCode.INCONSISTENT, "give `map:` or `map_file:`, not both", where, item.line)
                continue
            mapping = self.map_file(item, where) if "map_file" in item else self.code_map(item, "map", f"{where}.map")
            keys.append(BusinessLineKey(tag=tag, column=column, map=mapping, source=self.ref(where, item.line)))
        return tuple(keys)

    def services(self, doc: YamlMap) -> tuple[ServiceRule, ...]:
        node = doc.get("services")
        if not isinstance(node, YamlList) or not node:
            self.report(ProblemCode.VALUE_MISSING if node is None else ProblemCode.VALUE_INVALID,
                        "'services' is a list of rules mapping rows to catalogue services",
                        "services", doc.lines.get("services", doc.line),
                        'e.g. - {service_category: [Storage, Databases], service: CLOUD-DATA} then - {default: CLOUD}')
            return ()
        rules: list[ServiceRule] = []
        default_at: int | None = None
        for i, item in enumerate(node):
            where, line = f"services[{i}]", node.lines[i]
            if not isinstance(item, YamlMap):
                self.report(ProblemCode.VALUE_INVALID, "each service rule is a mapping", where, line)
                continue
            self.unknown_keys(item, where, ("service", "default", *MATCHERS))
            if default_at is not None:
                self.report(ProblemCode.INCONSISTENT, f"this rule comes after the default rule (services[{default_at}]) "
                            "and can never match", where, line, "put `- {default: …}` last")
                continue
            if "default" in item:
                code = self.text(item, "default", where, required=True)
                if len(item) > 1:
                    self.report(ProblemCode.INCONSISTENT, "a default rule has no other keys", where, line)
                    continue
                if code is not None:
                    rules.append(ServiceRule(service=code, source=self.ref(where, line)))
                    default_at = i
                continue
            code = self.text(item, "service", where, required=True)
            match = []
            for key, column in MATCHERS.items():
                if key in item:
                    values = self.texts(item, key, where)
                    if values is not None:
                        match.append((column, values))
            if not match and not [k for k in item if k in MATCHERS]:
                self.report(ProblemCode.VALUE_MISSING, "a service rule needs something to match "
                            f"({', '.join(MATCHERS)}) or is `default:`", where, line)
                continue
            if code is not None and match:
                rules.append(ServiceRule(service=code, match=tuple(match), source=self.ref(where, line)))
        return tuple(rules)

    def quantity(self, doc: YamlMap) -> tuple[str, ...]:
        if "quantity" not in doc or doc["quantity"] is None:
            return DEFAULT_QUANTITY
        return self.texts(doc, "quantity", "") or DEFAULT_QUANTITY

    def tier(self, doc: YamlMap) -> TierRule | None:
        if "tier" not in doc or doc["tier"] is None:
            return None
        node = doc["tier"]
        if not isinstance(node, YamlMap):
            self.report(ProblemCode.VALUE_INVALID, "tier is {value: CODE} or {tag: KEY}", "tier", doc.lines["tier"])
            return None
        self.unknown_keys(node, "tier", ("value", "tag"))
        value, tag = self.text(node, "value", "tier"), self.text(node, "tag", "tier")
        if (value is None) == (tag is None):
            self.report(ProblemCode.VALUE_INVALID, "give exactly one of `value:` or `tag:`", "tier", node.line)
            return None
        return TierRule(value=value, tag=tag, source=self.ref("tier", node.line))

    def dimensions(self, doc: YamlMap, *, tags: bool) -> tuple[DimensionRule, ...]:
        """``dimensions: {region: {column: RegionId}, storage_class: {tag: storage_class}}``."""
        if "dimensions" not in doc or doc["dimensions"] is None:
            return ()
        node = doc["dimensions"]
        example = "e.g. dimensions: {region: {tag: region}, vm_size: {column: SkuId}}" if tags else \
            "e.g. dimensions: {region: {column: Region}}"
        if not isinstance(node, YamlMap):
            self.report(ProblemCode.VALUE_INVALID, "dimensions maps each price dimension to where its value is read",
                        "dimensions", doc.lines["dimensions"], example)
            return ()
        rules = []
        allowed = ("tag", "column") if tags else ("column",)
        for dimension in node:
            where = f"dimensions.{dimension}"
            item = node[dimension]
            if not isinstance(item, YamlMap):
                self.report(ProblemCode.VALUE_INVALID, f"{dimension} is read from "
                            + ("{tag: KEY} or {column: NAME}" if tags else "{column: NAME}"), where,
                            node.lines[dimension], example)
                continue
            self.unknown_keys(item, where, allowed, extra="" if tags else "for format usage (a tag is FOCUS's)")
            tag = self.text(item, "tag", where) if tags else None
            column = self.text(item, "column", where)
            if (tag is None) == (column is None):
                self.report(ProblemCode.VALUE_INVALID, "give exactly one of `tag:` or `column:`" if tags
                            else "give `column:`", where, item.line, example)
                continue
            rules.append(DimensionRule(dimension=str(dimension), tag=tag, column=column,
                                       source=self.ref(where, item.line)))
        return tuple(rules)

    def splits(self, doc: YamlMap) -> tuple[SplitRule, ...]:
        if "splits" not in doc or doc["splits"] is None:
            return ()
        node = doc["splits"]
        if not isinstance(node, YamlList):
            self.report(ProblemCode.VALUE_INVALID, "splits is a list of {sub_account_id: …, shares: {CODE: percent}}",
                        "splits", doc.lines["splits"])
            return ()
        rules: list[SplitRule] = []
        seen: dict[str, str] = {}
        for i, item in enumerate(node):
            where, line = f"splits[{i}]", node.lines[i]
            if not isinstance(item, YamlMap):
                self.report(ProblemCode.VALUE_INVALID, "each split is a mapping", where, line)
                continue
            self.unknown_keys(item, where, ("sub_account_id", "shares"))
            accounts = self.texts(item, "sub_account_id", where) if "sub_account_id" in item else None
            if "sub_account_id" not in item:
                self.report(ProblemCode.VALUE_MISSING, "a split names the sub account(s) it shares", where, line)
            for account in accounts or ():
                if account in seen:
                    self.report(ProblemCode.DUPLICATE, f"sub account {account} is already split by {seen[account]}",
                                f"{where}.sub_account_id", item.lines["sub_account_id"])
                seen.setdefault(account, where)
            shares = self.shares(item, where)
            if accounts and shares:
                rules.append(SplitRule(sub_account_ids=accounts, shares=shares, source=self.ref(where, line)))
        return tuple(rules)

    def shares(self, item: YamlMap, where: str) -> tuple[tuple[str, Decimal], ...] | None:
        node = item.get("shares")
        location = f"{where}.shares"
        if not isinstance(node, YamlMap) or not node:
            self.report(ProblemCode.VALUE_MISSING, "shares maps business line codes to percentages",
                        location, item.lines.get("shares", item.line), "e.g. shares: {FIN: 60, OPS: 40}")
            return None
        shares: list[tuple[str, Decimal]] = []
        ok = True
        for code, value in node.items():
            line = node.lines[code]
            if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
                self.report(ProblemCode.VALUE_INVALID, f"share of {code} must be a number of percent, not {value!r}",
                            f"{location}.{code}", line)
                ok = False
                continue
            percent = Decimal(value)
            if not 0 < percent <= 100:
                self.report(ProblemCode.PERCENT_OUT_OF_RANGE,
                            f"share of {code} is {percent}%; it must be above 0 and at most 100", f"{location}.{code}", line)
                ok = False
                continue
            shares.append((str(code), percent))
        total = sum((p for _, p in shares), Decimal(0))
        if ok and total != 100:
            self.report(ProblemCode.PERCENTS_NOT_100, f"shares sum to {total}%, not 100%", location, node.line,
                        " + ".join(f"{c} {p}" for c, p in shares))
            return None
        return tuple(shares) if ok else None

    def charge_categories(self, doc: YamlMap) -> tuple[str, ...]:
        if "exclude_charge_categories" not in doc or doc["exclude_charge_categories"] is None:
            return ()
        values = self.texts(doc, "exclude_charge_categories", "") or ()
        result = []
        for value in values:
            match = next((c for c in CHARGE_CATEGORIES if c.lower() == value.lower()), None)
            if match is None:
                self.report(ProblemCode.VALUE_INVALID, f"{value!r} is not a FOCUS ChargeCategory",
                            "exclude_charge_categories", doc.lines["exclude_charge_categories"],
                            f"one of {', '.join(CHARGE_CATEGORIES)}")
            else:
                result.append(match)
        return tuple(result)
