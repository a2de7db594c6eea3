"""What a plan costs: forecast volumes priced, and named what-if scenarios applied to them.

Pure except :func:`load_scenarios`, which reads a YAML file (and never raises on bad data).

- :func:`price_volume` prices one business line's month of one service the way rating prices a
  whole month at one tier: ``tariffs.pricing.price_usage`` (a pass-through service's volume is
  its cost), rounded once with ``billing.money.round_minor``.
- :func:`price_volumes` prices forecast volumes under the tariff version in force in each month.
- A scenario (docs/planning.md, "Scenarios") changes the volumes or the catalogue:
  ``move`` (a business line takes another tier of a service from a month), ``growth`` (volumes
  up or down by a percentage, for a business line, a service or both, from a month),
  ``tariffs`` (a draft tariff directory instead of the current tariffs) and ``adopt`` (a
  business line starts a new service from a month at a monthly volume).
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import yaml

from billing.money import D, ZERO, round_minor
from billing.periods import first_day
from billing.problems import Problem, ProblemCode, Severity, SourceRef
from billing.tables import parse_month
from tariffs.model import Catalogue, PricingModel, TariffVersion
from tariffs.pricing import price_usage

__all__ = [
    "VolumeForecast",
    "PricedLine",
    "TierMove",
    "Growth",
    "Adoption",
    "Scenario",
    "ScenarioTotals",
    "price_volume",
    "price_volumes",
    "load_scenarios",
    "check_scenario",
    "apply_scenario",
    "with_draft_tariffs",
    "compare_totals",
]

_HUNDRED = Decimal(100)


@dataclass(frozen=True, slots=True, kw_only=True)
class VolumeForecast:
    """A business line's expected volume of a service in a month, at the tier it will take.

    ``quantity`` is in the service's unit, or the cost for a pass-through service; ``low`` and
    ``high`` bound the 80 % interval. ``method`` says how it was forecast (or ``actual``).
    """

    business_line: str
    service: str
    month: str
    tier: str
    quantity: Decimal
    low: Decimal
    high: Decimal
    method: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PricedLine:
    """A forecast volume priced: ``amount`` rounded once; ``amount_low``/``amount_high`` are the
    interval's volumes priced (the lower and the higher of the two)."""

    business_line: str
    service: str
    month: str
    tier: str
    tariff_version: str
    quantity: Decimal
    amount: Decimal
    amount_low: Decimal
    amount_high: Decimal
    currency: str
    method: str


def price_volume(version: TariffVersion, tier: str, volume: Decimal) -> Decimal:
    """A whole month of ``volume`` at ``tier`` under ``version``, rounded to the minor unit.

    For a pass-through price ``volume`` is the month's cost. Raises ``ValueError`` when the
    version has no price for the tier.
    """
    price = version.price(tier)
    if price is None:
        raise ValueError(f"{version.service} {version.version} has no price for tier {tier}")
    cost = volume if price.model is PricingModel.PASS_THROUGH else ZERO
    return round_minor(price_usage(price, volume, cost=cost).amount, version.currency)


def price_volumes(volumes: Iterable[VolumeForecast], catalogue: Catalogue) -> tuple[list[PricedLine], list[Problem]]:
    """Price each volume under the tariff version in force on the first day of its month."""
    lines: list[PricedLine] = []
    missing: dict[tuple[str, str], list[str]] = defaultdict(list)
    for volume in volumes:
        version = catalogue.tariff_at(volume.service, first_day(volume.month))
        if version is None or version.price(volume.tier) is None:
            missing[(volume.service, volume.tier if version is not None else "")].append(volume.month)
            continue
        amount = price_volume(version, volume.tier, volume.quantity)
        low = price_volume(version, volume.tier, volume.low)
        high = price_volume(version, volume.tier, volume.high)
        lines.append(PricedLine(
            business_line=volume.business_line, service=volume.service, month=volume.month, tier=volume.tier,
            tariff_version=version.version, quantity=volume.quantity, amount=amount, amount_low=min(low, high),
            amount_high=max(low, high), currency=version.currency, method=volume.method,
        ))
    problems = []
    for (service, tier), months in sorted(missing.items()):
        what = f"no price for tier {tier}" if tier else "no tariff version in force"
        problems.append(Problem(
            code=ProblemCode.INCONSISTENT, severity=Severity.WARNING,
            message=f"{service}: {what} in {min(months)}..{max(months)}; those months are left out of the forecast",
            source=SourceRef(file="forecast"), hint="load a tariff version that covers the forecast months"))
    return lines, problems


# --------------------------------------------------------------------------- scenarios


@dataclass(frozen=True, slots=True, kw_only=True)
class TierMove:
    business_line: str
    service: str
    tier: str
    from_month: str | None
    source: SourceRef


@dataclass(frozen=True, slots=True, kw_only=True)
class Growth:
    """Volumes × (1 + pct/100) for the matching business line and/or service, from a month."""

    pct: Decimal
    business_line: str | None
    service: str | None
    from_month: str | None
    source: SourceRef


@dataclass(frozen=True, slots=True, kw_only=True)
class Adoption:
    """A business line starts a service: ``quantity`` a month from ``from_month``."""

    business_line: str
    service: str
    tier: str | None
    quantity: Decimal
    from_month: str | None
    source: SourceRef


@dataclass(frozen=True, slots=True, kw_only=True)
class Scenario:
    name: str
    moves: tuple[TierMove, ...] = ()
    growths: tuple[Growth, ...] = ()
    adoptions: tuple[Adoption, ...] = ()
    tariffs: Path | None = None  # a draft tariff directory
    tariffs_source: SourceRef | None = None
    source: SourceRef | None = None


def _starts(from_month: str | None, month: str) -> bool:
    return from_month is None or month >= from_month


def apply_scenario(volumes: Sequence[VolumeForecast], scenario: Scenario, *, months: Sequence[str],
                   default_tiers: Mapping[str, str]) -> list[VolumeForecast]:
    """The volumes as the scenario changes them (the catalogue is changed apart, by
    :func:`with_draft_tariffs`). Growths multiply (two of 10 % make 21 %); a move sets the tier
    from its month on; an adoption adds its volume (at its tier, else the service's default
    tier) to every month from its month on."""
    result = []
    for volume in volumes:
        factor = Decimal(1)
        for growth in scenario.growths:
            if ((growth.business_line in (None, volume.business_line)) and (growth.service in (None, volume.service))
                    and _starts(growth.from_month, volume.month)):
                factor *= 1 + growth.pct / _HUNDRED
        tier = volume.tier
        for move in scenario.moves:
            if (move.business_line, move.service) == (volume.business_line, volume.service) and _starts(move.from_month, volume.month):
                tier = move.tier
        if factor != 1 or tier != volume.tier:
            volume = dataclasses.replace(volume, tier=tier, quantity=volume.quantity * factor, low=volume.low * factor,
                                         high=volume.high * factor)
        result.append(volume)
    index = {(v.business_line, v.service, v.month): i for i, v in enumerate(result)}
    for adoption in scenario.adoptions:
        for month in months:
            if not _starts(adoption.from_month, month):
                continue
            key = (adoption.business_line, adoption.service, month)
            if key in index:
                current = result[index[key]]
                result[index[key]] = dataclasses.replace(
                    current, quantity=current.quantity + adoption.quantity, low=current.low + adoption.quantity,
                    high=current.high + adoption.quantity, tier=adoption.tier or current.tier)
            else:
                index[key] = len(result)
                result.append(VolumeForecast(
                    business_line=adoption.business_line, service=adoption.service, month=month,
                    tier=adoption.tier or default_tiers[adoption.service], quantity=adoption.quantity,
                    low=adoption.quantity, high=adoption.quantity, method="scenario"))
    return result


def with_draft_tariffs(catalogue: Catalogue, draft: Catalogue) -> Catalogue:
    """The catalogue with a draft's tariff versions taking precedence: in a month a draft
    version is in force, it prices the service; in other months the current version does.
    Services and units the draft defines replace or add to the catalogue's."""
    services = {s.code: s for s in catalogue.services} | {s.code: s for s in draft.services}
    units = {u.code: u for u in catalogue.units} | {u.code: u for u in draft.units}
    # Catalogue.tariff_at takes the first version in force: the draft's come first.
    return Catalogue(units=tuple(units.values()), services=tuple(services.values()),
                     tariffs=tuple(draft.tariffs) + tuple(catalogue.tariffs))


def check_scenario(scenario: Scenario, *, catalogue: Catalogue, business_lines: set[str]) -> list[Problem]:
    """References a scenario makes that do not exist (``catalogue`` with its draft applied)."""
    problems = []
    services = {s.code: s for s in catalogue.services}

    def check(source: SourceRef, line: str | None, service: str | None, tier: str | None) -> None:
        if line is not None and line not in business_lines:
            problems.append(Problem(code=ProblemCode.UNKNOWN_BUSINESS_LINE, message=f"business line {line!r} does not exist",
                                    source=source))
        if service is not None and service not in services:
            problems.append(Problem(code=ProblemCode.UNKNOWN_SERVICE, message=f"service {service!r} is not in the catalogue",
                                    source=source))
        elif service is not None and tier is not None and services[service].tier(tier) is None:
            problems.append(Problem(code=ProblemCode.UNKNOWN_TIER, message=f"{service} has no tier {tier!r}", source=source,
                                    hint=f"tiers: {', '.join(t.code for t in services[service].tiers)}"))

    for move in scenario.moves:
        check(move.source, move.business_line, move.service, move.tier)
    for growth in scenario.growths:
        check(growth.source, growth.business_line, growth.service, None)
    for adoption in scenario.adoptions:
        check(adoption.source, adoption.business_line, adoption.service, adoption.tier)
    return problems


@dataclass(frozen=True, slots=True, kw_only=True)
class ScenarioTotals:
    """A business line's forecast total under the baseline and under each scenario, in order."""

    business_line: str
    baseline: Decimal
    amounts: tuple[Decimal, ...]

    @property
    def differences(self) -> tuple[Decimal, ...]:
        return tuple(a - self.baseline for a in self.amounts)


def compare_totals(baseline: Iterable[PricedLine], scenarios: Sequence[Iterable[PricedLine]]) -> list[ScenarioTotals]:
    """Totals per business line (sums of rounded monthly lines), baseline and each scenario."""
    def totals(lines: Iterable[PricedLine]) -> dict[str, Decimal]:
        result: dict[str, Decimal] = defaultdict(lambda: ZERO)
        for line in lines:
            result[line.business_line] += line.amount
        return result

    base = totals(baseline)
    others = [totals(s) for s in scenarios]
    lines = sorted(set(base).union(*others))
    return [ScenarioTotals(business_line=b, baseline=base.get(b, ZERO), amounts=tuple(o.get(b, ZERO) for o in others))
            for b in lines]


# --------------------------------------------------------------------------- the YAML file

_CHANGES = {
    "move": (("business_line", "service", "tier"), ("from",)),
    "growth": (("pct",), ("business_line", "service", "from")),
    "adopt": (("business_line", "service", "quantity"), ("tier", "from")),
}


class _Reader:
    def __init__(self, file: str):
        self.file = file
        self.problems: list[Problem] = []

    def ref(self, node: yaml.Node, path: str) -> SourceRef:
        return SourceRef(file=self.file, row=node.start_mark.line + 1, location=path)

    def report(self, code: ProblemCode, message: str, node: yaml.Node, path: str, hint: str | None = None) -> None:
        self.problems.append(Problem(code=code, message=message, source=self.ref(node, path), hint=hint))

    def mapping(self, node: yaml.Node, path: str, what: str) -> dict[str, tuple[yaml.Node, yaml.Node]] | None:
        if not isinstance(node, yaml.MappingNode):
            self.report(ProblemCode.VALUE_INVALID, f"{what} must be a mapping of keys to values", node, path)
            return None
        result = {}
        for key, value in node.value:
            result[str(key.value)] = (key, value)
        return result

    def text(self, node: yaml.Node, path: str) -> str | None:
        if not isinstance(node, yaml.ScalarNode) or not str(node.value).strip():
            self.report(ProblemCode.VALUE_MISSING, "a value is needed here", node, path)
            return None
        return str(node.value).strip()

    def number(self, node: yaml.Node, path: str) -> Decimal | None:
        text = self.text(node, path)
        if text is None:
            return None
        try:
            return D(text)
        except ValueError:
            self.report(ProblemCode.NOT_A_NUMBER, f"{text!r} is not a number", node, path, "write e.g. 12.5 or -10")
            return None

    def month(self, node: yaml.Node, path: str) -> str | None:
        text = self.text(node, path)
        if text is None:
            return None
        try:
            return parse_month(text)
        except ValueError:
            self.report(ProblemCode.NOT_A_DATE, f"{text!r} is not a month", node, path, "write a month as YYYY-MM")
            return None


def load_scenarios(path: Path) -> tuple[list[Scenario], list[Problem]]:
    """Read a scenarios file (docs/planning.md, "Scenarios"); every problem at once.

    A ``tariffs:`` directory is taken relative to the file. Never raises on bad data.
    """
    path = Path(path)
    reader = _Reader(str(path))
    try:
        root = yaml.compose(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        return [], [Problem(code=ProblemCode.FILE_UNREADABLE, message=f"cannot read the file: {exc}", source=SourceRef(file=str(path)))]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        return [], [Problem(code=ProblemCode.FILE_UNREADABLE, message=f"not valid YAML: {getattr(exc, 'problem', exc)}",
                            source=SourceRef(file=str(path), row=mark.line + 1 if mark else None))]
    if root is None:
        return [], [Problem(code=ProblemCode.FILE_EMPTY, message="the file is empty", source=SourceRef(file=str(path)),
                            hint="write scenarios: with a list of named scenarios")]
    top = reader.mapping(root, "", "the file")
    if top is None:
        return [], reader.problems
    for key, (key_node, _value) in top.items():
        if key != "scenarios":
            reader.report(ProblemCode.UNKNOWN_KEY, f"unknown key {key!r}", key_node, key, "the file holds scenarios: only")
    if "scenarios" not in top or not isinstance(top["scenarios"][1], yaml.SequenceNode) or not top["scenarios"][1].value:
        reader.report(ProblemCode.VALUE_MISSING, "no scenarios", root, "scenarios", "write scenarios: with a list of named scenarios")
        return [], reader.problems
    scenarios = []
    names: set[str] = set()
    for i, node in enumerate(top["scenarios"][1].value):
        where = f"scenarios[{i}]"
        scenario = _scenario(reader, node, where, path.parent)
        if scenario is None:
            continue
        if scenario.name in names:
            reader.report(ProblemCode.DUPLICATE, f"two scenarios are named {scenario.name!r}", node, where)
        names.add(scenario.name)
        scenarios.append(scenario)
    return scenarios, reader.problems


def _scenario(reader: _Reader, node: yaml.Node, where: str, base: Path) -> Scenario | None:
    fields = reader.mapping(node, where, "a scenario")
    if fields is None:
        return None
    for key, (key_node, _value) in fields.items():
        if key not in ("name", "changes"):
            reader.report(ProblemCode.UNKNOWN_KEY, f"unknown key {key!r}", key_node, f"{where}.{key}",
                          "a scenario has name: and changes:")
    name = reader.text(fields["name"][1], f"{where}.name") if "name" in fields else None
    if "name" not in fields:
        reader.report(ProblemCode.VALUE_MISSING, "a scenario needs a name", node, where)
    changes_node = fields.get("changes", (None, None))[1]
    if not isinstance(changes_node, yaml.SequenceNode) or not changes_node.value:
        reader.report(ProblemCode.VALUE_MISSING, "a scenario needs a list of changes", changes_node or node, f"{where}.changes",
                      "e.g. - move: {business_line: OPS, service: VM, tier: silver, from: 2027-04}")
        return None
    moves, growths, adoptions = [], [], []
    tariffs = tariffs_source = None
    for j, change in enumerate(changes_node.value):
        at = f"{where}.changes[{j}]"
        entry = reader.mapping(change, at, "a change")
        if entry is None:
            continue
        if len(entry) != 1:
            reader.report(ProblemCode.VALUE_INVALID, "a change has exactly one kind: move, growth, tariffs or adopt", change, at)
            continue
        ((kind, (kind_node, body)),) = entry.items()
        at = f"{at}.{kind}"
        if kind == "tariffs":
            text = reader.text(body, at)
            if text is not None:
                tariffs, tariffs_source = (base / text), reader.ref(body, at)
            continue
        if kind not in _CHANGES:
            reader.report(ProblemCode.UNKNOWN_KEY, f"unknown change {kind!r}", kind_node, at, "use move, growth, tariffs or adopt")
            continue
        values = reader.mapping(body, at, f"a {kind}")
        if values is None:
            continue
        required, optional = _CHANGES[kind]
        for key, (key_node, _v) in values.items():
            if key not in required + optional:
                reader.report(ProblemCode.UNKNOWN_KEY, f"unknown key {key!r}", key_node, f"{at}.{key}",
                              f"a {kind} has {', '.join(required + optional)}")
        missing = [k for k in required if k not in values]
        for key in missing:
            reader.report(ProblemCode.VALUE_MISSING, f"a {kind} needs {key}", body, at)
        if missing:
            continue
        parsed = {}
        for key, (_k, value) in values.items():
            if key == "from":
                parsed[key] = reader.month(value, f"{at}.from")
            elif key in ("pct", "quantity"):
                parsed[key] = reader.number(value, f"{at}.{key}")
            else:
                parsed[key] = reader.text(value, f"{at}.{key}")
        if any(parsed.get(k) is None for k in required) or ("from" in values and parsed["from"] is None):
            continue
        source = reader.ref(body, at)
        if kind == "move":
            moves.append(TierMove(business_line=parsed["business_line"], service=parsed["service"], tier=parsed["tier"],
                                  from_month=parsed.get("from"), source=source))
        elif kind == "growth":
            if parsed["pct"] <= -100:
                reader.report(ProblemCode.PERCENT_OUT_OF_RANGE, f"a decline of {-parsed['pct']}% leaves less than nothing",
                              values["pct"][1], f"{at}.pct", "a decline is above -100")
                continue
            growths.append(Growth(pct=parsed["pct"], business_line=parsed.get("business_line"), service=parsed.get("service"),
                                  from_month=parsed.get("from"), source=source))
        else:
            if parsed["quantity"] < 0:
                reader.report(ProblemCode.NEGATIVE, "an adopted volume cannot be negative", values["quantity"][1], f"{at}.quantity")
                continue
            adoptions.append(Adoption(business_line=parsed["business_line"], service=parsed["service"], tier=parsed.get("tier"),
                                      quantity=parsed["quantity"], from_month=parsed.get("from"), source=source))
    if name is None:
        return None
    return Scenario(name=name, moves=tuple(moves), growths=tuple(growths), adoptions=tuple(adoptions), tariffs=tariffs,
                    tariffs_source=tariffs_source, source=reader.ref(node, where))
