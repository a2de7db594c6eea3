"""Check a catalogue as a whole and report every problem at once.

Pure: records in, problems out. Each problem names the file, the location inside it (and the
line when the record was read from YAML) and a hint. The rules are listed, with examples, in
docs/pricing.md ("Validation rules").
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from decimal import Decimal

from billing.core.limits import CODE, CURRENCY, DIMENSION_VALUE, MARKUP, MEASURE, NAME, PRICE, QUANTITY, Range, too_long
from billing.core.problems import Problem, ProblemCode, Severity, SourceRef
from tariffs.model import (
    Band,
    Catalogue,
    CreditBand,
    Metric,
    PricingModel,
    Service,
    ServiceLevel,
    TariffVersion,
    TierPrice,
    UnknownValue,
    dimension_key,
)

__all__ = ["validate_catalogue", "validate_subscriptions"]

_CURRENCY = re.compile(r"[A-Z]{3}")
_DIMENSION = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
#: A tier's terms: charged once for the tier, whatever the values its usage has.
_TIER_TERMS = ("monthly_fee", "included_quantity", "minimum_charge", "service_credits", "fees")
_NO_FILE = "<catalogue>"  # records built in code, not read from a file

# The fields each model needs and the optional fields that make no sense for it.
_REQUIRED: dict[PricingModel, tuple[str, ...]] = {
    PricingModel.PER_UNIT: ("unit_price",),
    PricingModel.GRADUATED: ("bands",),
    PricingModel.VOLUME: ("bands",),
    PricingModel.PACKAGE: ("block_size", "block_price"),
    PricingModel.PASS_THROUGH: ("markup_pct",),
    PricingModel.FIXED: (),
}
#: Fields a model may have without needing them: graduated and volume bands sold in blocks.
_OPTIONAL: dict[PricingModel, tuple[str, ...]] = {
    PricingModel.GRADUATED: ("block_size",),
    PricingModel.VOLUME: ("block_size",),
}
_BANDED = (PricingModel.GRADUATED, PricingModel.VOLUME)
_MODEL_FIELDS = ("unit_price", "bands", "block_size", "block_price", "markup_pct")
_WHAT_IT_IS = {
    "block_size": "block_size sells package, graduated and volume prices in blocks",
    "block_price": "block_price prices a package's block; graduated and volume bands sold in blocks keep "
                   "their unit_price per unit",
}
_EXAMPLE = {
    "unit_price": 'unit_price: "0.12"',
    "bands": 'bands: [{up_to: 250, unit_price: "0.12"}, {unit_price: "0.10"}]',
    "block_size": "block_size: 100",
    "block_price": 'block_price: "7.00"',
    "markup_pct": "markup_pct: 8",
}


class _Checker:
    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(
        self,
        code: ProblemCode,
        message: str,
        where: SourceRef,
        hint: str,
        *,
        severity: Severity = Severity.ERROR,
    ) -> None:
        self.problems.append(Problem(code=code, message=message, source=where, severity=severity, hint=hint))


def _in_range(c: _Checker, field: str, value: Decimal | None, limit: Range, where: SourceRef) -> None:
    """A problem when ``value`` is beyond ``limit`` (billing/core/limits.py)."""
    found = limit.problem(field, value) if value is not None else None
    if found:
        c.add(found[0], found[1], where, "the store, invoices and the journal carry numbers of this size exactly; "
              "check the unit (docs/pricing.md, \"Ranges and lengths\")")


def _short_enough(c: _Checker, field: str, value: str | None, length: int, where: SourceRef) -> None:
    """A problem when the text ``value`` is longer than the store keeps (billing/core/limits.py)."""
    message = too_long(field, value, length) if isinstance(value, str) else None
    if message:
        c.add(ProblemCode.TOO_LONG, message, where, f"shorten it to {length} characters")


def _ref(source: SourceRef | None, fallback: str) -> SourceRef:
    """The record's own source, or a location within the catalogue when it was built in code."""
    return source if source is not None else SourceRef(file=_NO_FILE, location=fallback)


def _sub(ref: SourceRef, suffix: str) -> SourceRef:
    """A location inside ``ref``: ``tariffs[0]`` + ``tiers.gold`` → ``tariffs[0].tiers.gold``."""
    joined = f"{ref.location}.{suffix}" if ref.location else suffix
    return dataclasses.replace(ref, location=joined.replace(".[", "["))


def _item(where: SourceRef, key: str, index: int) -> str:
    """The location of item ``index`` of list ``key`` under ``where`` (``key`` "" = ``where`` is the list)."""
    return f"{_sub(where, key).location if key else where.location}[{index}]"


def _at(ref: SourceRef) -> str:
    return ref.render()


def _suggest(word: str, known: Iterable[str], lead: str) -> str:
    known = sorted(known)
    close = difflib.get_close_matches(word, known, n=1)
    listing = f"{lead}: {', '.join(known)}" if known else f"{lead}: none yet"
    return f"did you mean {close[0]!r}? {listing}" if close else listing


# --------------------------------------------------------------------------- catalogue


def validate_catalogue(catalogue: Catalogue) -> list[Problem]:
    """Every problem in the catalogue, in file order within each kind of check."""
    c = _Checker()
    unit_codes = _check_units(c, catalogue)
    services = _check_services(c, catalogue, unit_codes)
    _check_components(c, catalogue, services)
    _check_tariffs(c, catalogue, services)
    _check_agreements(c, catalogue, services)
    return c.problems


def _check_agreements(c: _Checker, catalogue: Catalogue, services: dict[str, Service]) -> None:
    """Commitments and discounts: a period, a known service and tier, one kind of each, amounts
    above zero, a percentage above 0 and at most 100, one agreement per business line, service
    and year. Business-line codes are checked against the organisation when a month is rated."""
    seen: set[tuple[str, str, int]] = set()
    for i, a in enumerate(catalogue.agreements):
        where = _ref(a.source, f"agreements[{i}]")
        _short_enough(c, "a business line code", a.business_line, CODE, _sub(where, "business_line"))
        if a.fiscal_year is None:
            what = "a commitment" if a.commitment else "a discount" if a.discount else "an agreement"
            c.add(ProblemCode.VALUE_MISSING, f"{what} without a period: {a.business_line} {a.service} has no fiscal_year",
                  _sub(where, "fiscal_year"), "add the fiscal year it is for, named by the calendar year it ends in "
                  "(fiscal_year: 2026); the true-up falls in that year's last month")
        elif (a.business_line, a.service, a.fiscal_year) in seen:
            c.add(ProblemCode.DUPLICATE, f"{a.business_line} has two agreements for {a.service} in FY{a.fiscal_year}",
                  where, "write one agreement per business line, service and fiscal year, with its commitment and discount")
        else:
            seen.add((a.business_line, a.service, a.fiscal_year))
        service = services.get(a.service)
        if service is None:
            c.add(ProblemCode.UNKNOWN_SERVICE, f"an agreement for service {a.service!r}, which is not in the catalogue",
                  _sub(where, "service"), _suggest(a.service, services, "services"))
        if a.commitment is None and a.discount is None:
            c.add(ProblemCode.VALUE_MISSING, f"the agreement of {a.business_line} for {a.service} commits to nothing "
                  "and gives no discount", where, "add commitment: {amount: ...} or discount: {percent: ...}, or remove it")
        if a.commitment is not None:
            _check_commitment(c, a, service, catalogue, _ref(a.commitment.source, f"{where.location}.commitment"))
        if a.discount is not None:
            _check_discount(c, a.discount, _ref(a.discount.source, f"{where.location}.discount"))


def _check_commitment(c: _Checker, a, service: Service | None, catalogue: Catalogue, where: SourceRef) -> None:
    k = a.commitment
    if (k.amount is None) == (k.quantity is None):
        c.add(ProblemCode.INCONSISTENT if k.amount is not None else ProblemCode.VALUE_MISSING,
              "a commitment is an amount or a quantity at a tier, " + ("not both" if k.amount is not None else "and says which"),
              where, 'write commitment: {amount: "12000.00"} or commitment: {quantity: 5000, tier: gold}')
    for name in ("amount", "quantity"):
        value = getattr(k, name)
        if value is not None and value <= 0:
            c.add(ProblemCode.NEGATIVE if value < 0 else ProblemCode.VALUE_INVALID,
                  f"a commitment's {name} {value} is not above zero", _sub(where, name), "commit to more than nothing, or remove the commitment")
        _in_range(c, name, value, PRICE if name == "amount" else QUANTITY, _sub(where, name))
    if k.amount is not None and k.tier is not None:
        c.add(ProblemCode.INCONSISTENT, "an amount commitment counts every tier's charges: it names no tier",
              _sub(where, "tier"), "remove tier, or commit to a quantity at it")
    if k.quantity is not None:
        if k.tier is None:
            c.add(ProblemCode.VALUE_MISSING, "a quantity commitment needs the tier its units are used and valued at",
                  _sub(where, "tier"), "add tier: (one of the service's tiers)")
        elif service is not None and service.tier(k.tier) is None:
            c.add(ProblemCode.UNKNOWN_TIER, f"{service.code} has no tier {k.tier!r}", _sub(where, "tier"),
                  _suggest(k.tier, [t.code for t in service.tiers], "commit to one of the service's tiers"))
        else:
            for tv in catalogue.tariffs:
                price = tv.price(k.tier) if tv.service == a.service else None
                if price is not None and (price.model in (PricingModel.PASS_THROUGH, PricingModel.FIXED) or price.by_value):
                    why = "has dimension prices" if price.by_value else f"is {price.model.value}"
                    c.add(ProblemCode.INCONSISTENT, f"a quantity commitment at {a.service} {k.tier}, whose price in "
                          f"{tv.version} {why}: its units have no one price to value a shortfall at",
                          _sub(where, "quantity"), "commit to an amount instead")
                    break


def _check_discount(c: _Checker, d, where: SourceRef) -> None:
    if (d.percent is None) == (d.amount is None):
        c.add(ProblemCode.INCONSISTENT if d.percent is not None else ProblemCode.VALUE_MISSING,
              "a discount is a percent or a fixed amount a month, " + ("not both" if d.percent is not None else "and says which"),
              where, 'write discount: {percent: 10} or discount: {amount: "50.00"}')
    if d.percent is not None and not 0 < d.percent <= 100:
        c.add(ProblemCode.PERCENT_OUT_OF_RANGE, f"a discount of {d.percent} % is not above 0 and at most 100",
              _sub(where, "percent"), "a discount takes off at most the whole charge: write a percent from above 0 to 100")
    if d.amount is not None and d.amount <= 0:
        c.add(ProblemCode.NEGATIVE if d.amount < 0 else ProblemCode.VALUE_INVALID,
              f"a fixed discount of {d.amount} is not above zero", _sub(where, "amount"),
              "write the amount taken off each month, e.g. amount: \"50.00\"; a surcharge is a fee")
    _in_range(c, "amount", d.amount, PRICE, _sub(where, "amount"))



def _check_units(c: _Checker, catalogue: Catalogue) -> set[str]:
    first: dict[str, SourceRef] = {}
    for i, unit in enumerate(catalogue.units):
        where = _ref(unit.source, f"units[{i}]")
        _short_enough(c, "code", unit.code, CODE, _sub(where, "code"))
        _short_enough(c, "name", unit.name, NAME, _sub(where, "name"))
        if unit.code in first:
            c.add(ProblemCode.DUPLICATE, f"unit {unit.code!r} is defined twice", _sub(where, "code"),
                  f"keep one definition; the first is at {_at(first[unit.code])}")
        else:
            first[unit.code] = where
    return set(first)


def _check_services(c: _Checker, catalogue: Catalogue, unit_codes: set[str]) -> dict[str, Service]:
    services: dict[str, Service] = {}
    for i, service in enumerate(catalogue.services):
        where = _ref(service.source, f"services[{i}]")
        if service.code in services:
            c.add(ProblemCode.DUPLICATE, f"service {service.code!r} is defined twice", _sub(where, "code"),
                  f"keep one definition; the first is at {_at(_ref(services[service.code].source, service.code))}")
            continue
        services[service.code] = service
        for name, length in (("code", CODE), ("name", NAME), ("unit", CODE), ("dimension", CODE)):
            _short_enough(c, name, getattr(service, name), length, _sub(where, name))
        if service.dimension is not None and not _DIMENSION.fullmatch(service.dimension):
            c.add(ProblemCode.VALUE_INVALID, f"dimension {service.dimension!r} is not a name", _sub(where, "dimension"),
                  "name the attribute of the usage in letters, digits and _ (e.g. dimension: region, "
                  "dimension: storage_class); a source definition maps it by this name")
        if service.unit not in unit_codes:
            c.add(ProblemCode.UNKNOWN_UNIT, f"service {service.code} uses unknown unit {service.unit!r}",
                  _sub(where, "unit"), _suggest(service.unit, unit_codes, "add it under units: or use one of"))
        if not service.tiers:
            c.add(ProblemCode.VALUE_MISSING, f"service {service.code} has no tiers", _sub(where, "tiers"),
                  "list at least one tier under tiers:, best first")
        tier_codes: set[str] = set()
        for j, tier in enumerate(service.tiers):
            tier_where = _ref(tier.source, f"{where.location}.tiers[{j}]")
            if tier.code in tier_codes:
                c.add(ProblemCode.DUPLICATE, f"tier {tier.code!r} is listed twice in service {service.code}",
                      _sub(tier_where, "code"), "give each tier of a service its own code")
            tier_codes.add(tier.code)
            _short_enough(c, "code", tier.code, CODE, _sub(tier_where, "code"))
            _short_enough(c, "name", tier.name, NAME, _sub(tier_where, "name"))
            _check_service_level(c, tier.service_level, _sub(tier_where, "service_level"))
        if service.tiers and service.default_tier not in tier_codes:
            c.add(ProblemCode.UNKNOWN_TIER, f"default tier {service.default_tier!r} is not a tier of {service.code}",
                  _sub(where, "default_tier"), _suggest(service.default_tier, tier_codes, "write one of"))
    return services


def _check_service_level(c: _Checker, level: ServiceLevel, where: SourceRef) -> None:
    if level.availability_pct is not None and not Decimal(0) <= level.availability_pct <= Decimal(100):
        c.add(ProblemCode.PERCENT_OUT_OF_RANGE, f"availability target {level.availability_pct} % is not 0..100",
              _sub(where, "availability_pct"), "write a percentage such as 99.9")
    for name in ("availability_pct", "response_minutes", "restore_hours"):
        _in_range(c, name, getattr(level, name), MEASURE, _sub(where, name))
    for name in ("response_minutes", "restore_hours"):
        value = getattr(level, name)
        if value is not None and value < 0:
            c.add(ProblemCode.NEGATIVE, f"{name} target {value} is negative", _sub(where, name),
                  "write the target time as a positive number")


def _check_components(c: _Checker, catalogue: Catalogue, services: dict[str, Service]) -> None:
    for service in services.values():
        where = _ref(service.source, f"services[{service.code}]")
        for j, component in enumerate(service.components):
            comp_where = _ref(component.source, f"{where.location}.components[{j}]")
            if component.service not in services:
                c.add(ProblemCode.UNKNOWN_SERVICE,
                      f"component of {service.code} refers to unknown service {component.service!r}",
                      _sub(comp_where, "service"), _suggest(component.service, services, "write one of"))
            _in_range(c, "quantity", component.quantity, QUANTITY, _sub(comp_where, "quantity"))
            if component.quantity <= 0:
                c.add(ProblemCode.NEGATIVE if component.quantity < 0 else ProblemCode.VALUE_INVALID,
                      f"component quantity {component.quantity} is not above zero", _sub(comp_where, "quantity"),
                      "write how many units of the component one unit of the service uses, e.g. quantity: 1.5")
    # Cycles: walk the component graph; report each cycle once, at its first service in file order.
    order = {code: i for i, code in enumerate(services)}
    reported: set[frozenset[str]] = set()
    for start in services:
        stack: list[tuple[str, list[str]]] = [(start, [start])]
        while stack:
            code, trail = stack.pop()
            for component in services[code].components:
                nxt = component.service
                if nxt not in services:
                    continue
                if nxt == start:
                    members = frozenset(trail)
                    if members not in reported and min(members, key=order.__getitem__) == start:
                        reported.add(members)
                        s = services[start]
                        c.add(ProblemCode.CYCLE, "components go round in a circle: " + " → ".join(trail + [start]),
                              _sub(_ref(s.source, f"services[{start}]"), "components"),
                              "a service cannot be made, even indirectly, of itself; remove one of these components")
                elif nxt not in trail:
                    stack.append((nxt, trail + [nxt]))


def _check_tariffs(c: _Checker, catalogue: Catalogue, services: dict[str, Service]) -> None:
    by_service: dict[str, list[tuple[TariffVersion, SourceRef]]] = defaultdict(list)
    for i, tv in enumerate(catalogue.tariffs):
        where = _ref(tv.source, f"tariffs[{i}]")
        service = services.get(tv.service)
        if service is None:
            c.add(ProblemCode.UNKNOWN_SERVICE, f"tariff {tv.version} is for unknown service {tv.service!r}",
                  _sub(where, "service"), _suggest(tv.service, services, "define it under services: or use one of"))
        else:
            by_service[tv.service].append((tv, where))
        _short_enough(c, "version", tv.version, CODE, _sub(where, "version"))
        if not _CURRENCY.fullmatch(tv.currency or "") or len(tv.currency) != CURRENCY:
            c.add(ProblemCode.VALUE_INVALID, f"currency {tv.currency!r} is not a three-letter code",
                  _sub(where, "currency"), "write the ISO 4217 code in capitals, e.g. currency: USD")
        if tv.effective_to is not None and tv.effective_to < tv.effective_from:
            c.add(ProblemCode.INCONSISTENT,
                  f"version {tv.version} ends ({tv.effective_to}) before it starts ({tv.effective_from})",
                  _sub(where, "effective_to"), "effective_to is the last day in force, on or after effective_from")
        _check_prices(c, tv, service, where)
    for versions in by_service.values():
        _check_versions(c, versions)


def _check_versions(c: _Checker, versions: list[tuple[TariffVersion, SourceRef]]) -> None:
    """Versions of one service must follow each other day by day: no overlap, no gap."""
    seen: dict[str, SourceRef] = {}
    for tv, where in versions:
        if tv.version in seen:
            c.add(ProblemCode.DUPLICATE, f"{tv.service} version {tv.version!r} is defined twice",
                  _sub(where, "version"), f"give each version its own name; the first is at {_at(seen[tv.version])}")
        seen.setdefault(tv.version, where)
    ordered = sorted(versions, key=lambda v: (v[0].effective_from, v[0].version))
    for (prev, _), (tv, where) in zip(ordered, ordered[1:]):
        if prev.effective_to is None or tv.effective_from <= prev.effective_to:
            until = "open-ended" if prev.effective_to is None else f"to {prev.effective_to}"
            c.add(ProblemCode.VERSIONS_OVERLAP,
                  f"{tv.service} version {tv.version} from {tv.effective_from} overlaps version {prev.version} "
                  f"({prev.effective_from} {until})",
                  _sub(where, "effective_from"),
                  f"end version {prev.version} the day before: effective_to: {tv.effective_from - dt.timedelta(days=1)}")
        elif tv.effective_from == prev.effective_to + dt.timedelta(days=1):
            _check_proration_change(c, prev, tv, where)
        elif tv.effective_from > prev.effective_to + dt.timedelta(days=1):
            c.add(ProblemCode.VERSIONS_GAP,
                  f"{tv.service} has no tariff from {prev.effective_to + dt.timedelta(days=1)} "
                  f"to {tv.effective_from - dt.timedelta(days=1)} (between {prev.version} and {tv.version})",
                  _sub(where, "effective_from"),
                  f"start version {tv.version} the day after {prev.version} ends: "
                  f"effective_from: {prev.effective_to + dt.timedelta(days=1)}")


def _proration_of(tv: TariffVersion) -> tuple[str, str]:
    p = tv.proration
    month = p.month.value if p is not None and p.month is not None else "actual"
    end = p.end.value if p is not None and p.end is not None else "inclusive"
    return month, end


def _check_proration_change(c: _Checker, prev: TariffVersion, tv: TariffVersion, where: SourceRef) -> None:
    """A version that changes the proration convention starts on the 1st of a month: inside a
    month, two conventions would share it and its fractions could add up to more than 1."""
    before, after = _proration_of(prev), _proration_of(tv)
    if before == after or tv.effective_from.day == 1:
        return
    at = _ref(tv.proration.source, f"{where.location}.proration") if tv.proration is not None else _sub(where, "effective_from")
    first = (tv.effective_from.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
    c.add(ProblemCode.INCONSISTENT,
          f"{tv.service} version {tv.version} changes proration ({', '.join(before)} to {', '.join(after)}) "
          f"inside a month, from {tv.effective_from}",
          at, f"start the version on the 1st of a month (effective_from: {first}, with {prev.version}'s "
          f"effective_to: {first - dt.timedelta(days=1)}), or keep {prev.version}'s proration")


def _check_prices(c: _Checker, tv: TariffVersion, service: Service | None, where: SourceRef) -> None:
    tier_codes = [t.code for t in service.tiers] if service is not None else None
    priced: set[str] = set()
    for tier, price in tv.prices:
        price_where = _ref(price.source, f"{where.location}.tiers.{tier}")
        if tier in priced:
            c.add(ProblemCode.DUPLICATE, f"tier {tier!r} is priced twice in {tv.service} {tv.version}",
                  price_where, "keep one price per tier")
        priced.add(tier)
        if tier_codes is not None and tier not in tier_codes:
            c.add(ProblemCode.UNKNOWN_TIER, f"{tv.service} has no tier {tier!r}", price_where,
                  _suggest(tier, tier_codes, "price one of the service's tiers"))
        level = service.tier(tier).service_level if service is not None and service.tier(tier) else None
        _check_price(c, price, price_where, level)
        _check_dimension(c, tv, service, tier, price, price_where)
    for code in tier_codes or ():
        if code not in priced:
            c.add(ProblemCode.VALUE_MISSING, f"tier {code} of {tv.service} has no price in version {tv.version}",
                  _sub(where, "tiers"), f"add '{code}: {{model: ...}}' under tiers:")


def _check_dimension(c: _Checker, tv: TariffVersion, service: Service | None, tier: str, price: TierPrice,
                     where: SourceRef) -> None:
    """A price by dimension (docs/pricing.md, "Price dimensions"): on a service that names its
    dimension, with the rule for values it does not list, each value priced once, with a
    price of the usage only."""
    if not price.by_value:
        if price.unknown is not None:
            c.add(ProblemCode.INCONSISTENT, "unknown does not belong to a price without by_value", _sub(where, "unknown"),
                  "unknown says what a dimension value not listed under by_value costs; remove it, or add by_value")
        return
    if service is not None and service.dimension is None:
        c.add(ProblemCode.INCONSISTENT,
              f"{tv.service} {tv.version} prices tier {tier} by_value, but service {tv.service} names no dimension",
              _sub(where, "by_value"),
              f"say which attribute of the usage the values are of in the service: dimension: region (under "
              f"services: code: {tv.service}), and map it in the source definitions that send its usage")
    dimension = service.dimension if service is not None and service.dimension else "dimension"
    if price.unknown is None:
        c.add(ProblemCode.VALUE_MISSING, f"tier {tier} of {tv.service} {tv.version} prices by {dimension} but does not "
              f"say what a {dimension} it does not list costs", _sub(where, "by_value"),
              "add unknown: default (priced at the price written beside by_value) or unknown: quarantine "
              "(held, shown in the month review, not priced)")
    elif price.unknown is UnknownValue.DEFAULT:
        missing = [name for name in _REQUIRED[price.model] if getattr(price, name) in (None, ())]
        if missing:
            c.add(ProblemCode.VALUE_MISSING,
                  f"tier {tier} of {tv.service} {tv.version} has unknown: default but no default price "
                  f"(a {price.model.value} price needs {missing[0]} beside by_value)", _sub(where, missing[0]),
                  f"add the default price beside by_value ({_EXAMPLE[missing[0]]}), or write unknown: quarantine")
    if price.included_quantity:
        c.add(ProblemCode.INCONSISTENT, f"included_quantity does not belong to a price by {dimension}: which "
              f"{dimension}'s units it would take off is not said", _sub(where, "included_quantity"),
              "include units per value instead: a first band at unit_price 0 in each value's price "
              "(e.g. bands: [{up_to: 100, unit_price: \"0\"}, ...])")
    seen: dict[str, str] = {}
    for value, value_price in price.by_value:
        value_where = _ref(value_price.source, f"{where.location}.by_value.{value}")
        key = dimension_key(value)
        _short_enough(c, dimension, value, DIMENSION_VALUE, value_where)
        if key in seen:
            c.add(ProblemCode.DUPLICATE, f"{dimension} {value!r} is priced twice in tier {tier} of {tv.service} "
                  f"{tv.version} (as {seen[key]!r} too)", value_where,
                  "keep one price per value: values match whatever their case and spaces around them")
        seen.setdefault(key, value)
        for name in (*_TIER_TERMS, "by_value", "unknown"):
            if getattr(value_price, name) not in (None, (), Decimal(0)):
                c.add(ProblemCode.INCONSISTENT, f"{name} does not belong to a {dimension} value's price",
                      _sub(value_where, name),
                      f"a value's price prices its usage only; write {name} once, for the tier, beside by_value"
                      if name in _TIER_TERMS else "a value's price has no values of its own; remove it")


def _check_price(c: _Checker, price: TierPrice, where: SourceRef, level: ServiceLevel | None) -> None:
    model = price.model
    for value, value_price in price.by_value:
        _check_price(c, value_price, _ref(value_price.source, f"{where.location}.by_value.{value}"), level)
    held_default = bool(price.by_value)  # the default beside by_value: _check_dimension says when it is needed
    for name in _REQUIRED[model]:
        if getattr(price, name) in (None, ()) and not held_default:
            c.add(ProblemCode.VALUE_MISSING, f"a {model.value} price needs {name}", _sub(where, name),
                  f"add {_EXAMPLE[name]}")
    for name in _MODEL_FIELDS:
        allowed = _REQUIRED[model] + _OPTIONAL.get(model, ())
        if name not in allowed and getattr(price, name) not in (None, ()):
            lead = f"{_WHAT_IT_IS[name]}: " if name in _WHAT_IT_IS else ""
            c.add(ProblemCode.INCONSISTENT, f"{name} does not belong to a {model.value} price", _sub(where, name),
                  f"{lead}remove {name}, or change the model to one that uses it")
    _check_band_options(c, price, where)
    if model in (PricingModel.PASS_THROUGH, PricingModel.FIXED) and price.included_quantity != 0:
        c.add(ProblemCode.INCONSISTENT, f"included_quantity does not apply to a {model.value} price",
              _sub(where, "included_quantity"),
              "remove included_quantity (pass-through charges the source cost; fixed charges only the monthly fee)")
    for name, limit in (("unit_price", PRICE), ("block_price", PRICE), ("monthly_fee", PRICE), ("minimum_charge", PRICE),
                        ("included_quantity", QUANTITY), ("block_size", QUANTITY), ("markup_pct", MARKUP)):
        _in_range(c, name, getattr(price, name), limit, _sub(where, name))
    for name in ("unit_price", "block_price", "monthly_fee", "included_quantity", "minimum_charge"):
        value = getattr(price, name)
        if value is not None and value < 0:
            c.add(ProblemCode.NEGATIVE, f"{name} {value} is negative", _sub(where, name),
                  "write prices, fees and quantities as zero or more; give refunds as credit notes")
    if price.block_size is not None and price.block_size <= 0:
        c.add(ProblemCode.NEGATIVE if price.block_size < 0 else ProblemCode.VALUE_INVALID,
              f"block_size {price.block_size} is not above zero", _sub(where, "block_size"),
              "write the number of units in one block, e.g. block_size: 100")
    if price.markup_pct is not None and price.markup_pct < -100:
        c.add(ProblemCode.PERCENT_OUT_OF_RANGE, f"markup_pct {price.markup_pct} is below -100",
              _sub(where, "markup_pct"), "a discount can at most cancel the cost: write markup_pct of -100 or more")
    if price.bands:
        _check_bands(c, price.bands, where, "bands", "up_to", example="250")
    for metric, credit_bands in price.service_credits:
        metric_where = _sub(where, f"service_credits.{metric.value}")
        _check_credits(c, metric, credit_bands, metric_where, level)
    _check_fees(c, price, where)


def _check_fees(c: _Checker, price: TierPrice, where: SourceRef) -> None:
    """A quarterly or annual fee: a name of its own within the tier, an amount above zero."""
    named: set[tuple[str, str]] = set()
    for i, fee in enumerate(price.fees):
        fee_where = _ref(fee.source, _item(where, "fees", i))
        key = (fee.name.casefold(), fee.every.value)
        if key in named:
            c.add(ProblemCode.DUPLICATE, f"the {fee.every.value} fee {fee.name!r} is written twice for this tier",
                  fee_where, "keep one; two fees of a tier need two names (they are two invoice lines)")
        named.add(key)
        _short_enough(c, "a fee's name", fee.name, NAME, _sub(fee_where, "name"))
        _in_range(c, "amount", fee.amount, PRICE, _sub(fee_where, "amount"))
        if fee.amount <= 0:
            c.add(ProblemCode.NEGATIVE if fee.amount < 0 else ProblemCode.VALUE_INVALID,
                  f"the {fee.every.value} fee {fee.name!r} is {fee.amount}, not above zero", _sub(fee_where, "amount"),
                  "write the fee for the whole quarter or year, e.g. amount: \"1200.00\"; remove a fee that is not "
                  "charged, and give refunds as credit notes")


def _check_band_options(c: _Checker, price: TierPrice, where: SourceRef) -> None:
    """Block size, edge convention and fee at zero: each only where it can change a charge."""
    model = price.model
    for name, what in (("band_edges", "says which band a quantity on an edge falls in"),
                       ("flat_fee_at_zero", "says whether the first band's flat fee is charged at zero usage")):
        if getattr(price, name) is not None and model not in _BANDED:
            c.add(ProblemCode.INCONSISTENT, f"{name} does not belong to a {model.value} price: it has no bands",
                  _sub(where, name), f"{name} {what} of a graduated or volume price; remove it"
                  + (" (a fee charged whatever the usage is a monthly_fee)" if name == "flat_fee_at_zero" else ""))
    if model not in _BANDED or not price.bands or not all(isinstance(b, Band) for b in price.bands):
        return
    first = min(price.bands, key=lambda b: (b.up_to is None, b.up_to if b.up_to is not None else Decimal(0)))
    if price.fee_at_zero and first.flat_fee == 0:
        c.add(ProblemCode.INCONSISTENT, "flat_fee_at_zero: charged, but the first band has no flat fee",
              _sub(where, "flat_fee_at_zero"),
              "add a flat_fee to the first band, or remove flat_fee_at_zero (there is nothing to charge at zero)")
    size = price.block_size
    if size is not None and size > 0:
        for i, band in enumerate(price.bands):
            if band.up_to is not None and band.up_to > 0 and band.up_to % size != 0:
                below = (band.up_to // size) * size
                c.add(ProblemCode.INCONSISTENT,
                      f"band {i + 1} ends at {band.up_to}, not a whole number of blocks of {size}",
                      _sub(_ref(band.source, _item(where, "bands", i)), "up_to"),
                      f"a block cannot straddle a band edge: end the band at a multiple of {size} "
                      f"(e.g. up_to: {below + size}), or choose a block size that divides every edge")


def _check_bands(
    c: _Checker,
    bands: Sequence[Band] | Sequence[CreditBand],
    where: SourceRef,
    key: str,
    edge: str,
    *,
    example: str,
) -> None:
    """Edges must rise strictly in the order written, and the last band must be open-ended.
    Each broken band gives one problem."""
    highest: Decimal | None = None
    open_seen = False
    for i, band in enumerate(bands):
        band_where = _ref(band.source, _item(where, key, i))
        up_to = getattr(band, edge)
        _in_range(c, edge, up_to, QUANTITY if isinstance(band, Band) else MEASURE, _sub(band_where, edge))
        if isinstance(band, Band):
            for name in ("unit_price", "flat_fee"):
                _in_range(c, name, getattr(band, name), PRICE, _sub(band_where, name))
            for name in ("unit_price", "flat_fee"):
                if getattr(band, name) < 0:
                    c.add(ProblemCode.NEGATIVE, f"band {i + 1} {name} {getattr(band, name)} is negative",
                          _sub(band_where, name), "write prices and fees as zero or more")
        if open_seen:
            c.add(ProblemCode.BAND_AFTER_OPEN, f"band {i + 1} comes after the open-ended band", band_where,
                  f"only the last band may leave out {edge}; move the open-ended band to the end")
            continue
        if up_to is None:
            open_seen = True
        elif up_to <= 0:
            c.add(ProblemCode.VALUE_INVALID, f"{edge} {up_to} is not above zero", _sub(band_where, edge),
                  f"a band holds what lies above the previous edge up to its own: write e.g. {edge}: {example}")
        elif highest is not None and up_to == highest:
            c.add(ProblemCode.BANDS_OVERLAP, f"two bands end at {up_to}", _sub(band_where, edge),
                  "give each band its own upper edge; a band covers the units above the previous edge up to its own")
        elif highest is not None and up_to < highest:
            c.add(ProblemCode.BANDS_UNSORTED, f"band {i + 1} ends at {up_to}, below an earlier band's {highest}",
                  _sub(band_where, edge), f"write the bands from the lowest {edge} to the highest")
        if up_to is not None and up_to > 0:
            highest = up_to if highest is None else max(highest, up_to)
    if not open_seen and bands and isinstance(bands[0], Band):
        last = _ref(bands[-1].source, _item(where, key, len(bands) - 1))
        c.add(ProblemCode.VALUE_MISSING, f"quantities above {highest} have no price: the last band has an {edge}",
              last, f"end with an open-ended band: leave out {edge} on the last band")


def _check_credits(
    c: _Checker, metric: Metric, bands: Sequence[CreditBand], where: SourceRef, level: ServiceLevel | None
) -> None:
    if not bands:
        c.add(ProblemCode.VALUE_MISSING, f"no credit bands for {metric.value}", where,
              "add bands such as - {shortfall_up_to: 0.5, credit_pct: 10} and - {credit_pct: 25}")
        return
    for i, band in enumerate(bands):
        band_where = _ref(band.source, _item(where, "", i))
        if not Decimal(0) <= band.credit_pct <= Decimal(100):
            c.add(ProblemCode.PERCENT_OUT_OF_RANGE, f"credit_pct {band.credit_pct} is not 0..100",
                  _sub(band_where, "credit_pct"), "a credit is a percentage of the month's charge: write 0 to 100")
    _check_bands(c, bands, where, "", "shortfall_up_to", example="0.5")
    if level is not None and level.target(metric) is None:
        c.add(ProblemCode.INCONSISTENT, f"credits for {metric.value} but the tier has no {metric.value} target",
              where, f"add {metric.value} to the tier's service_level, or remove these credits",
              severity=Severity.WARNING)


# --------------------------------------------------------------------------- subscriptions


def validate_subscriptions(
    catalogue: Catalogue, subscriptions: Iterable[tuple[SourceRef, str, str, str]]
) -> list[Problem]:
    """Problems with subscriptions ``(source, business_line, service, tier)``: an unknown
    service, or a tier the service does not have."""
    c = _Checker()
    services = {s.code: s for s in catalogue.services}
    for source, business_line, service_code, tier in subscriptions:
        service = services.get(service_code)
        if service is None:
            c.add(ProblemCode.UNKNOWN_SERVICE,
                  f"{business_line} subscribes to unknown service {service_code!r}",
                  dataclasses.replace(source, column=source.column or "service"),
                  _suggest(service_code, services, "write one of"))
        elif service.tier(tier) is None:
            c.add(ProblemCode.UNKNOWN_TIER,
                  f"{business_line} subscribes to tier {tier!r}, which {service_code} does not have",
                  dataclasses.replace(source, column=source.column or "tier"),
                  _suggest(tier, [t.code for t in service.tiers], f"{service_code} has tiers"))
    return c.problems
