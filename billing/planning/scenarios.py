"""What a plan costs: forecast volumes priced, and named what-if scenarios applied to them.

Pure except :func:`load_scenarios`, which reads a YAML file (and never raises on bad data).

- :func:`price_volume` prices one business line's month of one service the way rating prices a
  whole month at one tier (``billing.planning.plan_months.usage_line``: ``tariffs.pricing``; a
  pass-through service's volume is its cost), rounded once with ``billing.core.money.round_minor``.
- :func:`price_volumes` prices forecast volumes under the tariff version in force in each month,
  with the tier's quarterly and annual fees, the negotiated discount and the commitment's
  true-up (``billing.planning.plan_months.price_months``); a price by dimension's volume is
  split over the values by their shares of the rated months (``VolumeForecast.values``), each
  part at its value's price, the rest at the default price.
- A scenario (docs/planning.md, "Scenarios") changes the volumes or the catalogue:
  ``move`` (a business line takes another tier of a service from a month), ``growth`` (volumes
  up or down by a percentage, for a business line, a service or both, from a month),
  ``tariffs`` (a draft tariff directory instead of the current tariffs) and ``adopt`` (a
  business line starts a new service from a month at a monthly volume).
"""

from __future__ import annotations

import dataclasses
import functools
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from billing.core.limits import QUANTITY, RATIO, Range
from billing.core.money import D, ZERO
from billing.core.periods import first_day
from billing.core.problems import Problem, ProblemCode, Severity, SourceRef
from billing.core.periods import parse_month
from billing.core.yamldoc import NOT_YAML, DocumentReader, YamlList, YamlMap, join, read_yaml_file
from billing.core.records import Subscription
from billing.planning.plan_months import PlannedMonth, YearSoFar, price_months, usage_line, value_parts
from tariffs.model import Catalogue, TariffVersion, UnknownValue

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

    For a service priced by dimension, ``value_volumes`` are each dimension value's volume in
    the rated months the forecast was made from (value, volume) and ``rated_volume`` the
    service's whole volume in them: :meth:`values` splits a volume over the values by those
    shares (``billing.planning.plan_months.value_parts``). Without them (no value history, a
    scenario's adoption) the volume names no value and is priced at the default price.
    """

    business_line: str
    service: str
    month: str
    tier: str
    quantity: Decimal
    low: Decimal
    high: Decimal
    method: str
    value_volumes: tuple[tuple[str, Decimal], ...] = ()
    rated_volume: Decimal = ZERO

    def values(self, volume: Decimal) -> tuple[tuple[str, Decimal], ...]:
        """The parts of ``volume`` (this forecast's quantity, low or high, as a scenario may have
        changed it) that name a dimension value, by the values' shares of the rated months."""
        return value_parts(volume, self.value_volumes, self.rated_volume) if self.value_volumes else ()


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
    fees: Decimal = ZERO  # in ``amount``: the quarterly and annual fees due in the month
    discount: Decimal = ZERO  # in ``amount``: the negotiated discount (zero or below)
    true_up: Decimal = ZERO  # in ``amount``: the commitment's true-up (a fiscal year's last month)


def price_volume(version: TariffVersion, tier: str, volume: Decimal) -> Decimal:
    """A whole month of ``volume`` at ``tier`` under ``version``, rounded to the minor unit.

    For a pass-through price ``volume`` is the month's cost. Raises ``ValueError`` when the
    version has no price for the tier.
    """
    return usage_line(version, tier, volume).amount


def price_volumes(volumes: Iterable[VolumeForecast], catalogue: Catalogue, *, fiscal_year_start: int = 1,
                  held: Callable[[str, str, str], bool] | None = None,
                  subscriptions: Mapping[tuple[str, str], Sequence[Subscription]] | None = None,
                  year_so_far: Mapping[tuple[str, str], Mapping[int, YearSoFar]] | None = None,
                  ) -> tuple[list[PricedLine], list[Problem]]:
    """Price each volume under the tariff version in force on the first day of its month, with
    its tier's quarterly and annual fees, the business line's negotiated discount and, in a
    fiscal year's last month, its commitment's true-up (``billing.planning.plan_months``).

    ``held(business line, service, month)``: the business line holds the service that month
    (fees are for a subscription); ``subscriptions`` per (business line, service) prorate a
    commitment; ``year_so_far`` per (business line, service) and fiscal year: what the months
    of the year before the forecast were charged. Left out, every month is held and the
    commitment is the whole year's."""
    missing: dict[tuple[str, str], list[str]] = defaultdict(list)
    held_values: set[tuple[str, str]] = set()
    by_pair: dict[tuple[str, str], list[tuple[VolumeForecast, TariffVersion]]] = defaultdict(list)
    for volume in volumes:
        version = catalogue.tariff_at(volume.service, first_day(volume.month))
        price = version.price(volume.tier) if version is not None else None
        if version is None or price is None:
            missing[(volume.service, volume.tier if version is not None else "")].append(volume.month)
            continue
        if price.by_value and price.unknown is UnknownValue.QUARANTINE:
            held_values.add((volume.service, volume.tier))
        by_pair[(volume.business_line, volume.service)].append((volume, version))
    lines: list[PricedLine] = []
    for (line, service), rows in sorted(by_pair.items()):
        rows.sort(key=lambda r: r[0].month)
        priced = {}
        holds = functools.partial(held, line, service) if held is not None else None
        for bound in ("quantity", "low", "high"):
            planned = [PlannedMonth(month=v.month, version=tv, tier=v.tier, quantity=getattr(v, bound),
                                    values=v.values(getattr(v, bound))) for v, tv in rows]
            priced[bound] = price_months(
                planned, business_line=line, service=service, catalogue=catalogue, currency=rows[0][1].currency,
                fiscal_year_start=fiscal_year_start, held=holds,
                subscriptions=subscriptions.get((line, service), ()) if subscriptions is not None else None,
                year_so_far=(year_so_far or {}).get((line, service)))
        for i, (volume, version) in enumerate(rows):
            point, low, high = priced["quantity"][i], priced["low"][i].amount, priced["high"][i].amount
            lines.append(PricedLine(
                business_line=line, service=service, month=volume.month, tier=volume.tier,
                tariff_version=version.version, quantity=volume.quantity, amount=point.amount, amount_low=min(low, high),
                amount_high=max(low, high), currency=version.currency, method=volume.method, fees=point.fees,
                discount=point.discount, true_up=point.true_up,
            ))
    problems = []
    for (service, tier), months in sorted(missing.items()):
        what = f"no price for tier {tier}" if tier else "no tariff version in force"
        problems.append(Problem(
            code=ProblemCode.INCONSISTENT, severity=Severity.WARNING,
            message=f"{service}: {what} in {min(months)}..{max(months)}; those months are left out of the forecast",
            source=SourceRef(file="forecast"), hint="load a tariff version that covers the forecast months"))
    for service, tier in sorted(held_values):
        problems.append(Problem(
            code=ProblemCode.INCONSISTENT, severity=Severity.WARNING,
            message=f"{service} {tier} prices by {catalogue.dimensions().get(service, 'dimension')} and holds a value it "
                    "does not list (unknown: quarantine); the part of a forecast volume that names no value (all of "
                    "it without value history) is held, only the tier's terms and fees are priced for it",
            source=SourceRef(file="forecast"), hint="write unknown: default with a default price to forecast its usage"))
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
    Services, units and agreements the draft defines replace or add to the catalogue's (an
    agreement for the same business line, service and fiscal year is replaced)."""
    services = {s.code: s for s in catalogue.services} | {s.code: s for s in draft.services}
    units = {u.code: u for u in catalogue.units} | {u.code: u for u in draft.units}
    agreements = ({(a.business_line, a.service, a.fiscal_year): a for a in catalogue.agreements}
                  | {(a.business_line, a.service, a.fiscal_year): a for a in draft.agreements})
    # Catalogue.tariff_at takes the first version in force: the draft's come first.
    return Catalogue(units=tuple(units.values()), services=tuple(services.values()),
                     tariffs=tuple(draft.tariffs) + tuple(catalogue.tariffs), agreements=tuple(agreements.values()))


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


class _Reader(DocumentReader):
    """Reads a scenarios file (YAML with its lines and the problems: :mod:`billing.core.yamldoc`).

    Every value is read as the text written (``no`` and ``2027-04`` stay text), a key written
    twice counts once (the last), and ``<<`` is a key like any other, not a merge.
    """

    merge_keys = False

    def scalar(self, node: yaml.ScalarNode, loader: yaml.SafeLoader) -> str:
        return node.value

    def duplicate_key(self, mapping: YamlMap, key: str, location: str, line: int) -> bool:
        return True

    def fields(self, value: object, path: str, line: int | None, what: str) -> YamlMap | None:
        if not isinstance(value, YamlMap):
            self.report(ProblemCode.VALUE_INVALID, f"{what} must be a mapping of keys to values", path, line)
            return None
        return value

    def text(self, m: YamlMap, key: str, path: str) -> str | None:
        value = m[key]
        if not isinstance(value, str) or not value.strip():
            self.report(ProblemCode.VALUE_MISSING, "a value is needed here", join(path, key), m.value_lines[key])
            return None
        return value.strip()

    def decimal(self, m: YamlMap, key: str, path: str, limit: Range) -> Decimal | None:
        value = self._parsed(m, key, path, D, ProblemCode.NOT_A_NUMBER, "is not a number", "write e.g. 12.5 or -10")
        beyond = limit.problem(key, value) if value is not None else None
        if beyond is not None:
            self.report(beyond[0], beyond[1], join(path, key), m.value_lines[key], "check the number")
            return None
        return value

    def month(self, m: YamlMap, key: str, path: str) -> str | None:
        return self._parsed(m, key, path, parse_month, ProblemCode.NOT_A_DATE, "is not a month",
                            "write a month as YYYY-MM")

    def _parsed(self, m: YamlMap, key: str, path: str, parse: Callable[[str], Any], code: ProblemCode,
                what: str, hint: str) -> Any:
        text = self.text(m, key, path)
        if text is None:
            return None
        try:
            return parse(text)
        except ValueError:
            self.report(code, f"{text!r} {what}", join(path, key), m.value_lines[key], hint)
            return None


def load_scenarios(path: Path) -> tuple[list[Scenario], list[Problem]]:
    """Read a scenarios file (docs/planning.md, "Scenarios"); every problem at once.

    A ``tariffs:`` directory is taken relative to the file. Never raises on bad data.
    """
    path = Path(path)
    reader = _Reader(str(path))
    text, unread = read_yaml_file(path)
    if unread is not None:
        return [], [unread]
    root = reader.parse(text, hint=None)
    if root is NOT_YAML:
        return [], reader.problems
    if root is None:
        return [], [Problem(code=ProblemCode.FILE_EMPTY, message="the file is empty", source=SourceRef(file=str(path)),
                            hint="write scenarios: with a list of named scenarios")]
    top = reader.fields(root, "", reader.document_line, "the file")
    if top is None:
        return [], reader.problems
    for key in top:
        if key != "scenarios":
            reader.report(ProblemCode.UNKNOWN_KEY, f"unknown key {key!r}", key, top.lines[key], "the file holds scenarios: only")
    listed = top.get("scenarios")
    if not isinstance(listed, YamlList) or not listed:
        reader.report(ProblemCode.VALUE_MISSING, "no scenarios", "scenarios", top.line,
                      "write scenarios: with a list of named scenarios")
        return [], reader.problems
    scenarios = []
    names: set[str] = set()
    for i, value in enumerate(listed):
        where = f"scenarios[{i}]"
        scenario = _scenario(reader, value, where, listed.lines[i], path.parent)
        if scenario is None:
            continue
        if scenario.name in names:
            reader.report(ProblemCode.DUPLICATE, f"two scenarios are named {scenario.name!r}", where, listed.lines[i])
        names.add(scenario.name)
        scenarios.append(scenario)
    return scenarios, reader.problems


def _scenario(reader: _Reader, value: object, where: str, line: int, base: Path) -> Scenario | None:
    fields = reader.fields(value, where, line, "a scenario")
    if fields is None:
        return None
    for key in fields:
        if key not in ("name", "changes"):
            reader.report(ProblemCode.UNKNOWN_KEY, f"unknown key {key!r}", f"{where}.{key}", fields.lines[key],
                          "a scenario has name: and changes:")
    name = reader.text(fields, "name", where) if "name" in fields else None
    if "name" not in fields:
        reader.report(ProblemCode.VALUE_MISSING, "a scenario needs a name", where, fields.line)
    changes = fields.get("changes")
    if not isinstance(changes, YamlList) or not changes:
        reader.report(ProblemCode.VALUE_MISSING, "a scenario needs a list of changes", f"{where}.changes",
                      fields.value_lines.get("changes", fields.line),
                      "e.g. - move: {business_line: OPS, service: VM, tier: silver, from: 2027-04}")
        return None
    moves, growths, adoptions = [], [], []
    tariffs = tariffs_source = None
    for j, change in enumerate(changes):
        change_at = f"{where}.changes[{j}]"
        entry = reader.fields(change, change_at, changes.lines[j], "a change")
        if entry is None:
            continue
        if len(entry) != 1:
            reader.report(ProblemCode.VALUE_INVALID, "a change has exactly one kind: move, growth, tariffs or adopt",
                          change_at, entry.line)
            continue
        ((kind, body),) = entry.items()
        at = f"{change_at}.{kind}"
        if kind == "tariffs":
            text = reader.text(entry, kind, change_at)
            if text is not None:
                tariffs, tariffs_source = (base / text), reader.ref(at, entry.value_lines[kind])
            continue
        if kind not in _CHANGES:
            reader.report(ProblemCode.UNKNOWN_KEY, f"unknown change {kind!r}", at, entry.lines[kind],
                          "use move, growth, tariffs or adopt")
            continue
        values = reader.fields(body, at, entry.value_lines[kind], f"a {kind}")
        if values is None:
            continue
        required, optional = _CHANGES[kind]
        for key in values:
            if key not in required + optional:
                reader.report(ProblemCode.UNKNOWN_KEY, f"unknown key {key!r}", f"{at}.{key}", values.lines[key],
                              f"a {kind} has {', '.join(required + optional)}")
        missing = [k for k in required if k not in values]
        for key in missing:
            reader.report(ProblemCode.VALUE_MISSING, f"a {kind} needs {key}", at, values.line)
        if missing:
            continue
        parsed = {}
        for key in values:
            if key == "from":
                parsed[key] = reader.month(values, key, at)
            elif key in ("pct", "quantity"):
                parsed[key] = reader.decimal(values, key, at, RATIO if key == "pct" else QUANTITY)
            else:
                parsed[key] = reader.text(values, key, at)
        if any(parsed.get(k) is None for k in required) or ("from" in values and parsed["from"] is None):
            continue
        source = reader.ref(at, values.line)
        if kind == "move":
            moves.append(TierMove(business_line=parsed["business_line"], service=parsed["service"], tier=parsed["tier"],
                                  from_month=parsed.get("from"), source=source))
        elif kind == "growth":
            if parsed["pct"] <= -100:
                reader.report(ProblemCode.PERCENT_OUT_OF_RANGE, f"a decline of {-parsed['pct']}% leaves less than nothing",
                              f"{at}.pct", values.value_lines["pct"], "a decline is above -100")
                continue
            growths.append(Growth(pct=parsed["pct"], business_line=parsed.get("business_line"), service=parsed.get("service"),
                                  from_month=parsed.get("from"), source=source))
        else:
            if parsed["quantity"] < 0:
                reader.report(ProblemCode.NEGATIVE, "an adopted volume cannot be negative", f"{at}.quantity",
                              values.value_lines["quantity"])
                continue
            adoptions.append(Adoption(business_line=parsed["business_line"], service=parsed["service"], tier=parsed.get("tier"),
                                      quantity=parsed["quantity"], from_month=parsed.get("from"), source=source))
    if name is None:
        return None
    return Scenario(name=name, moves=tuple(moves), growths=tuple(growths), adoptions=tuple(adoptions), tariffs=tariffs,
                    tariffs_source=tariffs_source, source=reader.ref(where, fields.line))
