"""Read a tariff directory (YAML) into catalogue records, with every problem found.

``load_catalogue(directory)`` returns ``(Catalogue, problems)`` and never raises on bad data.
Each problem carries the file, the path inside the document (``tariffs[2].tiers.gold.bands[1]``),
the 1-based line and a hint saying what to write instead. A record that cannot be built (a
band whose price is not a number, say) is left out of the catalogue; its problem says why.

The YAML format is described in docs/pricing.md ("Tariff files").

This module also turns records into canonical, JSON-safe dicts and back (Decimals as text,
dates ISO) so the store can keep a tariff version as JSON and tell when one has changed
(:func:`tariff_version_hash`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

from billing.core.money import D
from billing.core.problems import Problem, ProblemCode, Severity, SourceRef
from billing.core.yamldoc import NOT_YAML, DocumentReader, YamlMap, did_you_mean, join, line_of, read_yaml_file
from tariffs.model import (
    SERVICE_CATEGORIES,
    SERVICE_SUBCATEGORIES,
    Band,
    BandEdges,
    Catalogue,
    ChargingMode,
    Component,
    CreditBand,
    Agreement,
    Commitment,
    Discount,
    DiscountApplies,
    FeeAtZero,
    FeeBilling,
    FeeEvery,
    Metric,
    PeriodicFee,
    PricingModel,
    Proration,
    ProrationEnd,
    ProrationMonth,
    Service,
    ServiceKind,
    ServiceLevel,
    TariffVersion,
    Tier,
    TierPrice,
    Unit,
    UnknownValue,
)

__all__ = [
    "load_catalogue",
    "catalogue_to_dict",
    "catalogue_from_dict",
    "unit_to_dict",
    "unit_from_dict",
    "tier_price_to_dict",
    "tier_price_from_dict",
    "service_to_dict",
    "service_from_dict",
    "tariff_version_to_dict",
    "tariff_version_from_dict",
    "tariff_version_hash",
    "canonical_json",
    "agreement_to_dict",
    "agreement_from_dict",
]

# The keys each kind of mapping may hold: (required, optional). Anything else is a typo.
_TOP = ((), ("units", "services", "tariffs", "agreements"))
_AGREEMENT = (("business_line", "service"), ("fiscal_year", "commitment", "discount"))
_COMMITMENT = ((), ("amount", "quantity", "tier"))
_DISCOUNT = ((), ("percent", "amount", "applies"))
_UNIT = (("code", "name"), ())
_SERVICE = (
    ("code", "name", "unit", "kind", "owner", "default_tier", "tiers"),
    ("charging_mode", "description", "components", "service_category", "service_subcategory", "dimension"),
)
_TIER = (("code", "name", "funding_level"), ("service_level",))
_SERVICE_LEVEL = ((), ("availability_pct", "response_minutes", "restore_hours", "support_hours"))
_COMPONENT = (("service",), ("quantity",))
_TARIFF = (("service", "version", "effective_from", "currency", "tiers"), ("effective_to", "proration"))
_PRORATION = ((), ("month", "end"))
_PRICE = (
    ("model",),
    (
        "unit_price", "bands", "block_size", "block_price", "markup_pct",
        "monthly_fee", "included_quantity", "minimum_charge", "service_credits",
        "band_edges", "flat_fee_at_zero", "by_value", "unknown", "fees",
    ),
)
#: A dimension value's price: the tier's keys, its model too when it differs from the tier's
#: (validation refuses the tier's terms here: fees, included quantity, minimum, credits).
_VALUE_PRICE = ((), ("model", *_PRICE[1]))
_FEE = (("name", "amount", "every"), ("billing",))
_BAND = (("unit_price",), ("up_to", "flat_fee"))
_CREDIT_BAND = (("credit_pct",), ("shortfall_up_to",))


# --------------------------------------------------------------------------- YAML to records


class _Reader(DocumentReader):
    """Reads one file's documents into records and collects its problems.

    Reading YAML with its lines and the typed fields (``mapping``, ``text``, ``number``, ``date``,
    ``choice``, ``items``, ``entries``) come from :class:`billing.core.yamldoc.DocumentReader`; this
    class keeps the catalogue's schema.
    """

    # ---- records; each returns None when it cannot be built (see DocumentReader.keep)

    def unit(self, value: Any, path: str, line: int | None) -> Unit | None:
        before = self.fatal
        m = self.mapping(value, path, line, _UNIT, "unit")
        if m is None:
            return None
        return self.keep(Unit(
            code=self.text(m, "code", path), name=self.text(m, "name", path), source=self.ref(path, m.line)), before)

    def service(self, value: Any, path: str, line: int | None) -> Service | None:
        before = self.fatal
        m = self.mapping(value, path, line, _SERVICE, "service")
        if m is None:
            return None

        def make() -> Service:
            tiers = [self.tier(v, p, ln, rank) for rank, (v, p, ln) in enumerate(self.items(m, "tiers", path, "tiers"))]
            components = [self.component(v, p, ln) for v, p, ln in self.items(m, "components", path, "components")]
            return Service(
                code=self.text(m, "code", path),
                name=self.text(m, "name", path),
                unit=self.text(m, "unit", path),
                kind=self.choice(m, "kind", path, ServiceKind),
                owner=self.text(m, "owner", path),
                default_tier=self.text(m, "default_tier", path),
                charging_mode=self.choice(m, "charging_mode", path, ChargingMode) or ChargingMode.CHARGEBACK,
                description=self.text(m, "description", path) or "",
                **self.service_category(m, path),
                dimension=self.text(m, "dimension", path) or None,
                tiers=tuple(tiers),
                components=tuple(components),
                source=self.ref(path, m.line),
            )

        return self.keep(make(), before)

    def service_category(self, m: YamlMap, path: str) -> dict[str, str | None]:
        """FOCUS's ServiceCategory and ServiceSubcategory of the service, as allowed values; a
        subcategory alone gives its category."""
        category = self.text(m, "service_category", path)
        subcategory = self.text(m, "service_subcategory", path)
        if category is not None and category not in SERVICE_SUBCATEGORIES:
            self.report(ProblemCode.VALUE_INVALID,
                        f"service_category {category!r} is not a FOCUS service category",
                        join(path, "service_category"), line_of(m, "service_category"),
                        self.suggest(category, SERVICE_CATEGORIES, "write one of"))
            category = None
        if subcategory is not None:
            parents = [c for c, subs in SERVICE_SUBCATEGORIES.items() if subcategory in subs]
            allowed = SERVICE_SUBCATEGORIES.get(category or "", ()) or tuple(s for subs in SERVICE_SUBCATEGORIES.values() for s in subs)
            if not parents or (category is not None and category not in parents):
                where = f" of {category}" if category else ""
                self.report(ProblemCode.VALUE_INVALID,
                            f"service_subcategory {subcategory!r} is not a FOCUS service subcategory{where}",
                            join(path, "service_subcategory"), line_of(m, "service_subcategory"),
                            self.suggest(subcategory, allowed, "write one of"))
                subcategory = None
            elif category is None:
                category = parents[0]
        return {"service_category": category, "service_subcategory": subcategory}

    def tier(self, value: Any, path: str, line: int | None, rank: int) -> Tier | None:
        before = self.fatal
        m = self.mapping(value, path, line, _TIER, "tier")
        if m is None:
            return None
        return self.keep(Tier(
            code=self.text(m, "code", path),
            name=self.text(m, "name", path),
            funding_level=self.text(m, "funding_level", path),
            service_level=self.service_level(m, path),
            rank=rank,
            source=self.ref(path, m.line),
        ), before)

    def service_level(self, tier: YamlMap, path: str) -> ServiceLevel | None:
        if tier.get("service_level") is None:
            return ServiceLevel()
        path = join(path, "service_level")
        m = self.mapping(tier["service_level"], path, line_of(tier, "service_level"), _SERVICE_LEVEL, "service level")
        if m is None:
            return None
        support = m.get("support_hours")
        return ServiceLevel(
            availability_pct=self.number(m, "availability_pct", path),
            response_minutes=self.number(m, "response_minutes", path),
            restore_hours=self.number(m, "restore_hours", path),
            # "24x7" is text; a bare number such as 24 is read as its text
            support_hours=None if support is None else self.text(m, "support_hours", path),
        )

    def component(self, value: Any, path: str, line: int | None) -> Component | None:
        before = self.fatal
        m = self.mapping(value, path, line, _COMPONENT, "component")
        if m is None:
            return None
        return self.keep(Component(
            service=self.text(m, "service", path),
            quantity=self.number(m, "quantity", path) if m.get("quantity") is not None else Decimal(1),
            source=self.ref(path, m.line),
        ), before)

    def tariff(self, value: Any, path: str, line: int | None) -> TariffVersion | None:
        before = self.fatal
        m = self.mapping(value, path, line, _TARIFF, "tariff")
        if m is None:
            return None

        def make() -> TariffVersion:
            prices = []
            for code, price, p, ln in self.entries(m, "tiers", path, "tier"):
                prices.append((code, self.price(price, p, ln)))
            return TariffVersion(
                service=self.text(m, "service", path),
                version=self.text(m, "version", path),
                effective_from=self.date(m, "effective_from", path),
                effective_to=self.date(m, "effective_to", path),
                currency=self.text(m, "currency", path),
                prices=tuple(prices),
                source=self.ref(path, m.line),
                proration=self.proration(m, path),
            )

        return self.keep(make(), before)

    def proration(self, m: YamlMap, path: str) -> Proration | None:
        """``proration: {month: actual|thirty_day, end: inclusive|exclusive}``; None when not
        written (or written empty): the defaults, and the version's hash as before."""
        value = m.get("proration")
        if value is None:
            return None
        where = join(path, "proration")
        p = self.mapping(value, where, line_of(m, "proration"), _PRORATION, "proration")
        if p is None:
            return None
        proration = Proration(month=self.choice(p, "month", where, ProrationMonth),
                              end=self.choice(p, "end", where, ProrationEnd), source=self.ref(where, p.line))
        return None if proration.month is None and proration.end is None else proration

    def price(self, value: Any, path: str, line: int | None, *, model: PricingModel | None = None) -> TierPrice | None:
        """A tier's price; with ``model``, a dimension value's price, whose model is the tier's
        unless it writes its own."""
        before = self.fatal
        m = self.mapping(value, path, line, _PRICE if model is None else _VALUE_PRICE,
                         "tier price" if model is None else "dimension value's price")
        if m is None:
            return None

        def make() -> TierPrice:
            bands = [self.band(v, p, ln) for v, p, ln in self.items(m, "bands", path, "bands")]
            fees = [self.fee(v, p, ln) for v, p, ln in self.items(m, "fees", path, "fees")]
            credits = []
            for metric_name, credit_list, p, ln in self.entries(m, "service_credits", path, "metric"):
                metric = self.metric(metric_name, p, ln)
                if not isinstance(credit_list, list):
                    self.report(ProblemCode.VALUE_INVALID, f"credits for {metric_name} must be a list of bands",
                                p, ln, "write one '- {shortfall_up_to: ..., credit_pct: ...}' line per band")
                    continue
                bands_for_metric = [
                    self.credit_band(v, f"{p}[{i}]", line_of(credit_list, i)) for i, v in enumerate(credit_list)
                ]
                credits.append((metric, tuple(bands_for_metric)))
            own_model = self.choice(m, "model", path, PricingModel)
            tier_model = own_model if model is None else (own_model or model)
            by_value = []
            for written, value_price, p, ln in self.entries(m, "by_value", path, "dimension value"):
                if isinstance(written, bool) or not self.is_text(written) or not str(written).strip():
                    self.report(ProblemCode.VALUE_INVALID, f"a dimension value must be text, not {self.describe(written)}",
                                p, ln, "write each value as it comes in the usage, e.g. eu-west: {unit_price: \"0.10\"}")
                    continue
                if tier_model is not None:
                    by_value.append((str(written).strip(), self.price(value_price, p, ln, model=tier_model)))
            return TierPrice(
                model=tier_model,
                unit_price=self.number(m, "unit_price", path),
                bands=tuple(bands),
                block_size=self.number(m, "block_size", path),
                block_price=self.number(m, "block_price", path),
                markup_pct=self.number(m, "markup_pct", path),
                monthly_fee=_or_zero(self.number(m, "monthly_fee", path)),
                included_quantity=_or_zero(self.number(m, "included_quantity", path)),
                minimum_charge=_or_zero(self.number(m, "minimum_charge", path)),
                service_credits=tuple(credits),
                band_edges=self.choice(m, "band_edges", path, BandEdges),
                flat_fee_at_zero=self.fee_at_zero(m, path),
                by_value=tuple((v, p) for v, p in by_value if p is not None),
                unknown=self.choice(m, "unknown", path, UnknownValue),
                fees=tuple(f for f in fees if f is not None),
                source=self.ref(path, m.line),
            )

        return self.keep(make(), before)

    def fee(self, value: Any, path: str, line: int | None) -> PeriodicFee | None:
        """``{name: ..., amount: ..., every: quarterly|annual, billing: in_advance|spread}``."""
        before = self.fatal
        m = self.mapping(value, path, line, _FEE, "periodic fee")
        if m is None:
            return None
        if m.get("every") == "monthly":
            self.report(ProblemCode.VALUE_INVALID, "every 'monthly' is not one of quarterly, annual",
                        join(path, "every"), line_of(m, "every"),
                        "a fee charged each month is the price's monthly_fee; fees: are quarterly or annual")
            return None
        return self.keep(PeriodicFee(
            name=self.text(m, "name", path),
            amount=self.number(m, "amount", path),
            every=self.choice(m, "every", path, FeeEvery),
            billing=self.choice(m, "billing", path, FeeBilling),
            source=self.ref(path, m.line),
        ), before)

    def fee_at_zero(self, m: YamlMap, path: str) -> FeeAtZero | None:
        """``charged`` or ``not_charged``; yes/no (true/false) are read as those."""
        value = m.get("flat_fee_at_zero")
        if isinstance(value, bool):
            return FeeAtZero.CHARGED if value else FeeAtZero.NOT_CHARGED
        return self.choice(m, "flat_fee_at_zero", path, FeeAtZero)

    def metric(self, name: object, path: str, line: int | None) -> Metric | None:
        try:
            return Metric(name)
        except ValueError:
            choices = [m.value for m in Metric]
            self.report(ProblemCode.UNKNOWN_KEY, f"{name!r} is not a service-level metric", path, line,
                        did_you_mean(str(name), choices, "credits can be given for"))
            return None

    def band(self, value: Any, path: str, line: int | None) -> Band | None:
        before = self.fatal
        m = self.mapping(value, path, line, _BAND, "band")
        if m is None:
            return None
        return self.keep(Band(
            up_to=self.number(m, "up_to", path),
            unit_price=self.number(m, "unit_price", path),
            flat_fee=_or_zero(self.number(m, "flat_fee", path)),
            source=self.ref(path, m.line),
        ), before)

    def credit_band(self, value: Any, path: str, line: int | None) -> CreditBand | None:
        before = self.fatal
        m = self.mapping(value, path, line, _CREDIT_BAND, "credit band")
        if m is None:
            return None
        return self.keep(CreditBand(
            shortfall_up_to=self.number(m, "shortfall_up_to", path),
            credit_pct=self.number(m, "credit_pct", path),
            source=self.ref(path, m.line),
        ), before)

    def agreement(self, value: Any, path: str, line: int | None) -> Agreement | None:
        """``{business_line, service, fiscal_year, commitment: {amount | quantity, tier}, discount:
        {percent | amount, applies}}``; validation checks that they fit together."""
        before = self.fatal
        m = self.mapping(value, path, line, _AGREEMENT, "agreement")
        if m is None:
            return None
        year = self.number(m, "fiscal_year", path)
        if year is not None and (year != year.to_integral_value() or not 1900 <= year <= 9999):
            self.report(ProblemCode.VALUE_INVALID, f"fiscal_year {year} is not a year", join(path, "fiscal_year"),
                        line_of(m, "fiscal_year"), "write the fiscal year by the calendar year it ends in, e.g. fiscal_year: 2026")
            year = None
        commitment = discount = None
        if m.get("commitment") is not None:
            where = join(path, "commitment")
            c = self.mapping(m.get("commitment"), where, line_of(m, "commitment"), _COMMITMENT, "commitment")
            if c is not None:
                commitment = Commitment(amount=self.number(c, "amount", where), quantity=self.number(c, "quantity", where),
                                        tier=self.text(c, "tier", where), source=self.ref(where, c.line))
        if m.get("discount") is not None:
            where = join(path, "discount")
            d = self.mapping(m.get("discount"), where, line_of(m, "discount"), _DISCOUNT, "discount")
            if d is not None:
                discount = Discount(percent=self.number(d, "percent", where), amount=self.number(d, "amount", where),
                                    applies=self.choice(d, "applies", where, DiscountApplies), source=self.ref(where, d.line))
        return self.keep(Agreement(
            business_line=self.text(m, "business_line", path), service=self.text(m, "service", path),
            fiscal_year=None if year is None else int(year), commitment=commitment, discount=discount,
            source=self.ref(path, m.line),
        ), before)

    # ---- a whole file

    def read_file(self, text: str) -> tuple[list[Unit], list[Service], list[TariffVersion]]:
        document = self.parse(text, context=True)
        if document is NOT_YAML:
            return [], [], []
        if document is None:
            self.report(ProblemCode.FILE_EMPTY, "the file is empty", "", None,
                        "add units:, services: or tariffs:, or delete the file", severity=Severity.WARNING, fatal=False)
            return [], [], []
        m = self.mapping(document, "", 1, _TOP, "tariff file")
        if m is None:
            return [], [], []
        if not any(m.get(key) for key in _TOP[1]):
            self.report(ProblemCode.FILE_EMPTY, "the file defines no units, services or tariffs", "", m.line,
                        "add units:, services: or tariffs:, or delete the file", severity=Severity.WARNING, fatal=False)
        units = [self.unit(v, p, ln) for v, p, ln in self.items(m, "units", "", "units")]
        services = [self.service(v, p, ln) for v, p, ln in self.items(m, "services", "", "services")]
        tariffs = [self.tariff(v, p, ln) for v, p, ln in self.items(m, "tariffs", "", "tariffs")]
        self.agreements = _present([self.agreement(v, p, ln) for v, p, ln in self.items(m, "agreements", "", "agreements")])
        return _present(units), _present(services), _present(tariffs)


def load_catalogue(directory: Path) -> tuple[Catalogue, list[Problem]]:
    """Read every ``*.yaml`` file directly in ``directory`` (sorted by name, no subfolders).

    Never raises on bad data: every problem found comes back with its file, location, line
    and a hint. Records that could not be built are left out of the catalogue.
    """
    directory = Path(directory)
    problems: list[Problem] = []
    units: list[Unit] = []
    services: list[Service] = []
    tariffs: list[TariffVersion] = []
    agreements: list[Agreement] = []
    if not directory.is_dir():
        problems.append(Problem(
            code=ProblemCode.FILE_UNREADABLE, message="no such tariff directory",
            source=SourceRef(file=str(directory)), hint="give the folder that holds the tariff *.yaml files"))
        return Catalogue(units=(), services=(), tariffs=()), problems
    paths = sorted(p for p in directory.iterdir() if p.suffix == ".yaml" and p.is_file())
    for stray in sorted(p for p in directory.iterdir() if p.suffix == ".yml" and p.is_file()):
        problems.append(Problem(
            code=ProblemCode.FILE_UNREADABLE, message="ignored: only *.yaml files are read",
            source=SourceRef(file=str(stray)), severity=Severity.WARNING,
            hint=f"rename it to {stray.with_suffix('.yaml').name}"))
    if not paths:
        problems.append(Problem(
            code=ProblemCode.FILE_EMPTY, message="no *.yaml tariff files in this directory",
            source=SourceRef(file=str(directory)), hint="put units:, services: and tariffs: in *.yaml files here"))
    for path in paths:
        reader = _Reader(str(path))
        text, unread = read_yaml_file(path)
        if unread is not None:
            reader.problems.append(unread)
        else:
            file_units, file_services, file_tariffs = reader.read_file(text)
            units += file_units
            services += file_services
            tariffs += file_tariffs
            agreements += getattr(reader, "agreements", [])
        problems += reader.problems
    by_code = {s.code: s for s in services}
    tariffs = [_in_tier_order(tv, by_code.get(tv.service)) for tv in tariffs]
    return Catalogue(units=tuple(units), services=tuple(services), tariffs=tuple(tariffs),
                     agreements=tuple(agreements)), problems


def _in_tier_order(tv: TariffVersion, service: Service | None) -> TariffVersion:
    """Put a version's prices in the service's tier order (best first); unknown tiers last."""
    if service is None:
        return tv
    rank = {t.code: t.rank for t in service.tiers}
    prices = sorted(tv.prices, key=lambda item: rank.get(item[0], len(rank)))  # stable for unknown tiers
    return TariffVersion(
        service=tv.service, version=tv.version, effective_from=tv.effective_from,
        effective_to=tv.effective_to, currency=tv.currency, prices=tuple(prices), source=tv.source,
        proration=tv.proration)


# --------------------------------------------------------------------------- canonical dicts


def _num(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _dec(value: object) -> Decimal | None:
    return None if value is None else D(value)


def _drop_empty(d: dict[str, Any]) -> dict[str, Any]:
    """Leave out keys that are not set, so adding a new optional field later does not
    change the hash of versions that do not use it."""
    return {k: v for k, v in d.items() if v not in (None, "", [], {})}


def _unless_zero(value: Decimal) -> str | None:
    """A fee, included quantity or minimum: left out when zero (its default)."""
    return None if value == 0 else str(value)


def unit_to_dict(unit: Unit) -> dict[str, Any]:
    return {"code": unit.code, "name": unit.name}


def unit_from_dict(d: Mapping[str, Any], *, source: SourceRef | None = None) -> Unit:
    return Unit(code=d["code"], name=d["name"], source=source)


def service_to_dict(service: Service) -> dict[str, Any]:
    """A service as a canonical, JSON-safe dict (tiers in rank order, best first)."""
    return _drop_empty({
        "code": service.code,
        "name": service.name,
        "unit": service.unit,
        "kind": service.kind.value,
        "owner": service.owner,
        "charging_mode": service.charging_mode.value,
        "default_tier": service.default_tier,
        "description": service.description,
        "service_category": service.service_category,
        "service_subcategory": service.service_subcategory,
        "dimension": service.dimension,
        "tiers": [
            _drop_empty({
                "code": t.code,
                "name": t.name,
                "funding_level": t.funding_level,
                "service_level": _drop_empty({
                    "availability_pct": _num(t.service_level.availability_pct),
                    "response_minutes": _num(t.service_level.response_minutes),
                    "restore_hours": _num(t.service_level.restore_hours),
                    "support_hours": t.service_level.support_hours,
                }),
            })
            for t in sorted(service.tiers, key=lambda t: t.rank)
        ],
        "components": [{"service": c.service, "quantity": str(c.quantity)} for c in service.components],
    })


def service_from_dict(d: Mapping[str, Any], *, source: SourceRef | None = None) -> Service:
    """Rebuild a service from :func:`service_to_dict` output. Raises on malformed input
    (stored data is trusted; YAML from users goes through :func:`load_catalogue`)."""
    tiers = []
    for rank, t in enumerate(d.get("tiers", ())):
        level = t.get("service_level", {})
        tiers.append(Tier(
            code=t["code"], name=t["name"], funding_level=t["funding_level"], rank=rank,
            service_level=ServiceLevel(
                availability_pct=_dec(level.get("availability_pct")),
                response_minutes=_dec(level.get("response_minutes")),
                restore_hours=_dec(level.get("restore_hours")),
                support_hours=level.get("support_hours"),
            ),
        ))
    return Service(
        code=d["code"],
        name=d["name"],
        unit=d["unit"],
        kind=ServiceKind(d["kind"]),
        owner=d["owner"],
        charging_mode=ChargingMode(d.get("charging_mode", ChargingMode.CHARGEBACK.value)),
        default_tier=d["default_tier"],
        description=d.get("description", ""),
        service_category=d.get("service_category"),
        service_subcategory=d.get("service_subcategory"),
        dimension=d.get("dimension"),
        tiers=tuple(tiers),
        components=tuple(Component(service=c["service"], quantity=D(c["quantity"])) for c in d.get("components", ())),
        source=source,
    )


def tier_price_to_dict(price: TierPrice) -> dict[str, Any]:
    return _drop_empty({
        "model": price.model.value,
        "unit_price": _num(price.unit_price),
        "bands": [
            _drop_empty({"up_to": _num(b.up_to), "unit_price": str(b.unit_price), "flat_fee": _unless_zero(b.flat_fee)})
            for b in price.bands
        ],
        "block_size": _num(price.block_size),
        "block_price": _num(price.block_price),
        "markup_pct": _num(price.markup_pct),
        "monthly_fee": _unless_zero(price.monthly_fee),
        "included_quantity": _unless_zero(price.included_quantity),
        "minimum_charge": _unless_zero(price.minimum_charge),
        "service_credits": {
            metric.value: [
                _drop_empty({"shortfall_up_to": _num(c.shortfall_up_to), "credit_pct": str(c.credit_pct)})
                for c in bands
            ]
            for metric, bands in price.service_credits
        },
        "band_edges": None if price.band_edges is None else price.band_edges.value,
        "flat_fee_at_zero": None if price.flat_fee_at_zero is None else price.flat_fee_at_zero.value,
        "by_value": [{"value": value, **tier_price_to_dict(p)} for value, p in price.by_value],
        "unknown": None if price.unknown is None else price.unknown.value,
        "fees": [_drop_empty({"name": f.name, "amount": str(f.amount), "every": f.every.value,
                              "billing": None if f.billing is None else f.billing.value}) for f in price.fees],
    })


def tier_price_from_dict(d: Mapping[str, Any]) -> TierPrice:
    return TierPrice(
        model=PricingModel(d["model"]),
        unit_price=_dec(d.get("unit_price")),
        bands=tuple(
            Band(up_to=_dec(b.get("up_to")), unit_price=D(b["unit_price"]), flat_fee=D(b.get("flat_fee", "0")))
            for b in d.get("bands", ())
        ),
        block_size=_dec(d.get("block_size")),
        block_price=_dec(d.get("block_price")),
        markup_pct=_dec(d.get("markup_pct")),
        monthly_fee=D(d.get("monthly_fee", "0")),
        included_quantity=D(d.get("included_quantity", "0")),
        minimum_charge=D(d.get("minimum_charge", "0")),
        service_credits=tuple(
            (Metric(metric), tuple(
                CreditBand(shortfall_up_to=_dec(c.get("shortfall_up_to")), credit_pct=D(c["credit_pct"]))
                for c in bands
            ))
            for metric, bands in d.get("service_credits", {}).items()
        ),
        band_edges=None if d.get("band_edges") is None else BandEdges(d["band_edges"]),
        flat_fee_at_zero=None if d.get("flat_fee_at_zero") is None else FeeAtZero(d["flat_fee_at_zero"]),
        by_value=tuple((v["value"], tier_price_from_dict(v)) for v in d.get("by_value", ())),
        unknown=None if d.get("unknown") is None else UnknownValue(d["unknown"]),
        fees=tuple(PeriodicFee(name=f["name"], amount=D(f["amount"]), every=FeeEvery(f["every"]),
                               billing=None if f.get("billing") is None else FeeBilling(f["billing"]))
                   for f in d.get("fees", ())),
    )


def tariff_version_to_dict(tv: TariffVersion) -> dict[str, Any]:
    """A tariff version as a canonical, JSON-safe dict: Decimals as their text, dates ISO,
    prices as a list in tier order. The source (file and line) is not part of it; a proration
    is only when written (so a version without one keeps the hash it had before the option)."""
    d: dict[str, Any] = {
        "service": tv.service,
        "version": tv.version,
        "effective_from": tv.effective_from.isoformat(),
        "effective_to": None if tv.effective_to is None else tv.effective_to.isoformat(),
        "currency": tv.currency,
        "prices": [{"tier": tier, **tier_price_to_dict(price)} for tier, price in tv.prices],
    }
    proration = tv.proration
    if proration is not None and (proration.month is not None or proration.end is not None):
        d["proration"] = _drop_empty({"month": None if proration.month is None else proration.month.value,
                                      "end": None if proration.end is None else proration.end.value})
    return d


def tariff_version_from_dict(d: Mapping[str, Any], *, source: SourceRef | None = None) -> TariffVersion:
    """Rebuild a tariff version from :func:`tariff_version_to_dict` output."""
    return TariffVersion(
        service=d["service"],
        version=d["version"],
        effective_from=dt.date.fromisoformat(d["effective_from"]),
        effective_to=None if d.get("effective_to") is None else dt.date.fromisoformat(d["effective_to"]),
        currency=d["currency"],
        prices=tuple((p["tier"], tier_price_from_dict(p)) for p in d["prices"]),
        source=source,
        proration=_proration_from_dict(d.get("proration")),
    )


def _proration_from_dict(d: Mapping[str, Any] | None) -> Proration | None:
    if not d:
        return None
    return Proration(month=None if d.get("month") is None else ProrationMonth(d["month"]),
                     end=None if d.get("end") is None else ProrationEnd(d["end"]))


def catalogue_to_dict(catalogue: Catalogue) -> dict[str, Any]:
    return {
        "units": [unit_to_dict(u) for u in catalogue.units],
        "services": [service_to_dict(s) for s in catalogue.services],
        "tariffs": [tariff_version_to_dict(t) for t in catalogue.tariffs],
        **({"agreements": [agreement_to_dict(a) for a in catalogue.agreements]} if catalogue.agreements else {}),
    }


def agreement_to_dict(a: Agreement) -> dict[str, Any]:
    """An agreement as a canonical, JSON-safe dict (what the store keeps)."""
    c, d = a.commitment, a.discount
    return _drop_empty({
        "business_line": a.business_line, "service": a.service, "fiscal_year": a.fiscal_year,
        "commitment": None if c is None else _drop_empty({"amount": _num(c.amount), "quantity": _num(c.quantity),
                                                          "tier": c.tier}),
        "discount": None if d is None else _drop_empty({"percent": _num(d.percent), "amount": _num(d.amount),
                                                        "applies": None if d.applies is None else d.applies.value}),
    })


def agreement_from_dict(d: Mapping[str, Any]) -> Agreement:
    c, k = d.get("commitment"), d.get("discount")
    return Agreement(
        business_line=d["business_line"], service=d["service"], fiscal_year=d.get("fiscal_year"),
        commitment=None if c is None else Commitment(amount=_dec(c.get("amount")), quantity=_dec(c.get("quantity")),
                                                     tier=c.get("tier")),
        discount=None if k is None else Discount(percent=_dec(k.get("percent")), amount=_dec(k.get("amount")),
                                                 applies=None if k.get("applies") is None else DiscountApplies(k["applies"])),
    )


def catalogue_from_dict(d: Mapping[str, Any]) -> Catalogue:
    return Catalogue(
        units=tuple(unit_from_dict(u) for u in d.get("units", ())),
        services=tuple(service_from_dict(s) for s in d.get("services", ())),
        tariffs=tuple(tariff_version_from_dict(t) for t in d.get("tariffs", ())),
        agreements=tuple(agreement_from_dict(a) for a in d.get("agreements", ())),
    )


def canonical_json(d: Mapping[str, Any]) -> str:
    """Sorted keys, no spaces, UTF-8 text: the same content always gives the same text."""
    return json.dumps(d, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def tariff_version_hash(tv: TariffVersion) -> str:
    """sha256 (hex) of the version's canonical JSON. Numbers are compared as written:
    changing "0.10" to "0.1" counts as a change."""
    return hashlib.sha256(canonical_json(tariff_version_to_dict(tv)).encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------- small helpers


def _or_zero(value: Decimal | None) -> Decimal:
    return Decimal(0) if value is None else value


def _present(records: list[Any]) -> list[Any]:
    return [r for r in records if r is not None]
