"""Rate setting: break-even prices for next year from budgeted cost and expected volumes (pure).

For each service, the budgeted cost that must come back through its tariff (``budget``) is set
against last year's charged volumes, re-priced charge by charge (docs/recovery.md, "Rate
setting"):

- Each tier's *headline* price is its unit price (per unit), first band's unit price
  (graduated, volume), block price (package) or monthly fee (fixed). Declared tier
  differentials fix the headline ratios (gold = 1.3 × bronze); without them the current
  ratios stay. Every price of a tier (each band's unit price and flat fee) scales by the one
  factor that brings its headline to ``base × differential``.
- Solve ``base`` so that Σ scaled usage amounts + the monthly fees kept = budget, then round
  every scaled price to the declared price step. Included quantities, monthly fees of
  non-fixed tiers and minimum charges stay as they are (minimum top-ups are left out of the
  solve; the expected recovery, re-priced with the rounded prices, includes them).
- Pass-through services: every tier's markup moves by the same number of points so that
  Σ cost × (1 + markup) + fees = budget (rounded to 0.01 points).
- A price by dimension (``by_value``) re-prices each segment as rating does
  (``tariffs.pricing.price_by_value``: each value's usage at its own price, the tier's terms
  once); each value's prices scale by the tier's factor, so the values keep their ratios.
- Quarterly and annual fees are kept as they are: last year's fee lines, valued at the draft's
  fee of the same name, are revenue the solve counts as kept (so a tier's usage prices need to
  recover only the rest of the budget), and the expected recovery includes them.

Nothing is rounded here except through ``billing.core.money``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, localcontext
from fractions import Fraction

from billing.recovery.allocation import RateSetting
from billing.core.money import ZERO, round_minor, round_to_step
from billing.core.periods import month_of
from billing.core.problems import Problem, ProblemCode, Severity, SourceRef
from billing.core.records import Charge, ChargeKind
from billing.rating.reprice import charge_fraction
from tariffs.model import Band, Catalogue, PricingModel, TariffVersion, TierPrice, UnknownValue
from tariffs.pricing import PriceBreakdown, price_by_value, price_usage

__all__ = ["ServiceProposal", "RateProposal", "Volume", "history_volumes", "propose_rates", "expected_revenue",
           "fee_revenue", "segments", "repriced", "draft_tariff_yaml", "MARKUP_STEP"]

MARKUP_STEP = Decimal("0.01")


@dataclass(frozen=True, slots=True, kw_only=True)
class ServiceProposal:
    service: str
    name: str
    model: str  # the models of its tiers, e.g. "per_unit" or "graduated, fixed"
    budget: Decimal
    volume: Decimal  # last year's charged quantity, every tier
    last_year: Decimal  # last year's charges (usage and fee lines), as priced then
    current_prices: Decimal  # last year's volumes (and fees) at the current version's prices
    expected: Decimal  # last year's volumes at the proposed prices, with the fees kept: the expected recovery
    method: str  # what was solved, e.g. "base rate 0.0912 (gold 1.3, silver 1.1, bronze 1.0)"
    version: TariffVersion
    note: str = ""
    fees: Decimal = ZERO  # the quarterly and annual fees in ``expected`` (kept, not solved)

    @property
    def difference(self) -> Decimal:
        return self.expected - self.budget

    @property
    def recovery_pct(self) -> Decimal | None:
        return None if self.budget == 0 else self.expected * 100 / self.budget


@dataclass(frozen=True, slots=True, kw_only=True)
class RateProposal:
    fiscal_year: int
    version: str
    effective_from: dt.date
    currency: str
    services: tuple[ServiceProposal, ...]
    problems: tuple[Problem, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Volume:
    """A charged segment of last year, with the share of its month its tier was in force (the
    fraction its monthly fee, included quantity and minimum were prorated by)."""

    charge: Charge
    fraction: Fraction


def history_volumes(charges: Sequence[Charge], catalogue: Catalogue) -> list[Volume]:
    """Last year's usage charges with their proration fraction: the one the charge kept
    (``Charge.fraction``). A charge rated before charges kept it (store migration 0006), or
    under a tariff version with a proration convention other than the default (a charge keeps
    its calendar days, not the convention's), has it found again: the fraction (days in force /
    days in the month, of 30 under ``thirty_day``) with which the tariff version that priced it
    gives its exact amount; the segment's span by the convention when none does."""
    versions = {(tv.service, tv.version): tv for tv in catalogue.tariffs}
    found = []
    for charge in charges:
        if charge.kind is not ChargeKind.USAGE:
            continue
        version = versions.get((charge.service, charge.tariff_version))
        found.append(Volume(charge=charge, fraction=charge_fraction(charge, version)))
    return found


def segments(volumes: Sequence[Volume]) -> list[list[Volume]]:
    """Last year's usage charges by segment (business line, service, tier, tariff version and
    month): a price by dimension charges a segment in several lines (its terms, then a line per
    value), priced together."""
    grouped: dict[tuple, list[Volume]] = defaultdict(list)
    for volume in volumes:
        c = volume.charge
        grouped[(c.business_line, c.service, c.tier, c.tariff_version, month_of(c.segment_from))].append(volume)
    return list(grouped.values())


def repriced(price: TierPrice, segment: Sequence[Volume]) -> list[PriceBreakdown]:
    """A segment's lines priced by ``price`` as rating prices them: a line per charge
    (``price_usage``), or for a price by dimension the tier's terms and a line per value
    (``price_by_value`` over the values' quantities; a value the price holds gives no line)."""
    if not price.by_value:
        return [price_usage(price, v.charge.quantity, cost=v.charge.cost, fraction=v.fraction) for v in segment]
    usage: dict[str, tuple[Decimal, Decimal]] = {}
    for v in segment:
        c = v.charge
        if c.dimension_value is None and c.quantity == 0 and c.cost == 0:
            continue  # the tier's terms line: priced again below, once
        quantity, cost = usage.get(c.dimension_value or "", (ZERO, ZERO))
        usage[c.dimension_value or ""] = (quantity + c.quantity, cost + c.cost)
    result = price_by_value(price, usage, fraction=segment[0].fraction)
    return [result.terms, *(value.breakdown for value in result.values)]


def expected_revenue(version: TariffVersion, volumes: Sequence[Volume]) -> Decimal:
    """What last year's volumes would have cost under ``version``: each segment re-priced at
    its tier, each line rounded once, like an invoice line."""
    total = ZERO
    for segment in segments(volumes):
        price = version.price(segment[0].charge.tier)
        if price is None:
            continue
        total += sum((round_minor(b.amount, version.currency) for b in repriced(price, segment)), ZERO)
    return total


def fee_revenue(version: TariffVersion, fee_lines: Sequence[Charge], catalogue: Catalogue) -> Decimal:
    """Last year's quarterly and annual fee lines valued at ``version``'s fees: each line times
    the fee of the same name at its tier in ``version`` over the fee that charged it (the same
    months held), rounded once; a fee ``version`` does not have brings nothing."""
    charged_by = {(tv.service, tv.version): tv for tv in catalogue.tariffs}
    total = ZERO
    for line in fee_lines:
        if line.kind is not ChargeKind.FEE:
            continue
        price = version.price(line.tier)
        new = next((f for f in price.fees if f.name == line.label), None) if price is not None else None
        old_version = charged_by.get((line.service, line.tariff_version))
        old_price = old_version.price(line.tier) if old_version is not None else None
        old = next((f for f in old_price.fees if f.name == line.label), None) if old_price is not None else None
        if new is None:
            continue
        if old is None or old.amount == new.amount:
            total += line.amount
            continue
        with localcontext() as ctx:
            ctx.prec = 50
            total += round_minor(line.exact_amount * new.amount / old.amount, version.currency)
    return total


def propose_rates(
    *,
    fiscal_year: int,
    version: str,
    effective_from: dt.date,
    catalogue: Catalogue,
    base_versions: Mapping[str, TariffVersion],
    budget: Mapping[str, Decimal],
    history: Sequence[Charge],
    setting: RateSetting,
) -> RateProposal:
    """A draft tariff version per service in ``base_versions``: re-priced where there is a
    budget and volume to price by, otherwise a copy of the current prices (with a note)."""
    by_service: dict[str, list[Volume]] = defaultdict(list)
    for volume in history_volumes(history, catalogue):
        by_service[volume.charge.service].append(volume)
    fee_lines: dict[str, list[Charge]] = defaultdict(list)
    for charge in history:
        if charge.kind is ChargeKind.FEE:
            fee_lines[charge.service].append(charge)
    problems: list[Problem] = []
    proposals = []
    currency = ""
    for service in catalogue.services:
        base = base_versions.get(service.code)
        if base is None:
            continue
        currency = currency or base.currency
        charges = by_service.get(service.code, [])
        target = budget.get(service.code, ZERO)
        fees = fee_revenue(base, fee_lines.get(service.code, []), catalogue)  # the draft keeps base's fees
        prices, method, note = _solve(base, charges, target, setting, setting.differential(service.code), fees)
        draft = TariffVersion(service=service.code, version=version, effective_from=effective_from, effective_to=None,
                              currency=base.currency, prices=tuple(prices), proration=base.proration)
        if note and (charges or target):
            problems.append(Problem(code=ProblemCode.INCONSISTENT, severity=Severity.WARNING, message=note,
                                    source=SourceRef(file=f"rates FY{fiscal_year}", location=service.code)))
        proposals.append(ServiceProposal(
            service=service.code, name=service.name, model=", ".join(dict.fromkeys(p.model.value for _, p in base.prices)),
            budget=target, volume=sum((v.charge.quantity for v in charges), ZERO),
            last_year=sum((c.amount for c in [*(v.charge for v in charges), *fee_lines.get(service.code, [])]), ZERO),
            current_prices=expected_revenue(base, charges) + fees,
            expected=expected_revenue(draft, charges) + fees, method=method, version=draft, note=note, fees=fees,
        ))
    return RateProposal(fiscal_year=fiscal_year, version=version, effective_from=effective_from, currency=currency,
                        services=tuple(proposals), problems=tuple(problems))


# --------------------------------------------------------------------------- solving


def _headline(price: TierPrice) -> Decimal:
    if price.by_value and not _has_own_usage_price(price):
        return _headline(price.by_value[0][1])  # no default price (unknown: quarantine): the first value's
    if price.model is PricingModel.PER_UNIT:
        return price.unit_price or ZERO
    if price.model in (PricingModel.GRADUATED, PricingModel.VOLUME):
        return price.bands[0].unit_price if price.bands else ZERO
    if price.model is PricingModel.PACKAGE:
        return price.block_price or ZERO
    if price.model is PricingModel.FIXED:
        return price.monthly_fee
    return ZERO


def _has_own_usage_price(price: TierPrice) -> bool:
    return bool(price.unit_price is not None or price.bands or price.block_price is not None
                or price.markup_pct is not None or price.model is PricingModel.FIXED)


def _parts(price: TierPrice, segment: Sequence[Volume]) -> tuple[Decimal, Decimal]:
    """(the amount that scales with the tier's prices, the amount kept) for one segment."""
    lines = repriced(price, segment)
    if price.model is PricingModel.FIXED and not price.by_value:
        return sum((b.monthly_fee for b in lines), ZERO), ZERO
    return sum((b.usage_amount for b in lines), ZERO), sum((b.monthly_fee for b in lines), ZERO)


def _solve(base: TariffVersion, charges: list[Volume], target: Decimal, setting: RateSetting,
           differentials: dict[str, Decimal] | None, fees: Decimal = ZERO) -> tuple[list[tuple[str, TierPrice]], str, str]:
    unchanged = [(tier, price) for tier, price in base.prices]
    if target <= 0:
        return unchanged, "kept", "no budgeted cost reaches this service: its prices are kept"
    if not charges:
        return unchanged, "kept", "no volume last year to price by: its prices are kept"
    prices = dict(base.prices)
    if all(p.model is PricingModel.PASS_THROUGH for p in prices.values()):
        return _solve_markup(base, charges, target - fees)
    scalable = {t for t, p in prices.items() if p.model is not PricingModel.PASS_THROUGH and _headline(p) > 0}
    notes = []
    if differentials:
        ignored = sorted(t for t in scalable if t not in differentials)
        scalable -= set(ignored)
        if ignored:
            notes.append(f"no differential for {', '.join(ignored)}: kept")
    kept_tiers = sorted(set(prices) - scalable)
    if kept_tiers:
        notes.append(f"tier(s) {', '.join(kept_tiers)} kept as they are")
    factor_of = {t: (differentials[t] if differentials else _headline(prices[t])) for t in scalable}
    weighted, kept = ZERO, fees
    with localcontext() as ctx:
        ctx.prec = 50
        for segment in segments(charges):
            tier = segment[0].charge.tier
            price = prices.get(tier)
            if price is None:
                continue
            scaling, fixed = _parts(price, segment)
            if tier in scalable:
                weighted += scaling * factor_of[tier] / _headline(price)
                kept += fixed
            else:
                kept += scaling + fixed
        if weighted <= 0:
            return unchanged, "kept", "; ".join(notes + ["nothing to scale: its prices are kept"])
        base_rate = (target - kept) / weighted
    if base_rate <= 0:
        return unchanged, "kept", "; ".join(notes + [f"fees already recover {kept}, at least the budget: prices kept"])
    step = setting.price_step
    result = []
    for tier, price in base.prices:
        if tier in scalable:
            with localcontext() as ctx:
                ctx.prec = 50
                factor = base_rate * factor_of[tier] / _headline(price)
            result.append((tier, _scaled(price, factor, step)))
        else:
            result.append((tier, price))
    if differentials:
        shown = ", ".join(f"{t} {differentials[t].normalize()}" for t, _ in base.prices if t in scalable)
        method = f"base rate {round_to_step(base_rate, step / 100)} ({shown})"
    else:
        with localcontext() as ctx:
            ctx.prec = 50
            sample = next(t for t, _ in base.prices if t in scalable)
            scale = base_rate * factor_of[sample] / _headline(prices[sample])
        method = f"prices × {round_to_step(scale, Decimal('0.0001'))}"
    return result, method, "; ".join(notes)


def _scaled(price: TierPrice, factor: Decimal, step: Decimal) -> TierPrice:
    def scale(value: Decimal | None) -> Decimal | None:
        if value is None:
            return None
        with localcontext() as ctx:
            ctx.prec = 50
            return round_to_step(value * factor, step)

    if price.by_value:
        values = tuple((value, _scaled(own, factor, step)) for value, own in price.by_value)
        default = _scaled(dataclasses.replace(price, by_value=()), factor, step) if _has_own_usage_price(price) else price
        return dataclasses.replace(default, by_value=values)
    if price.model is PricingModel.PER_UNIT:
        return dataclasses.replace(price, unit_price=scale(price.unit_price))
    if price.model in (PricingModel.GRADUATED, PricingModel.VOLUME):
        bands = tuple(Band(up_to=b.up_to, unit_price=scale(b.unit_price), flat_fee=scale(b.flat_fee) if b.flat_fee else b.flat_fee)
                      for b in price.bands)
        return dataclasses.replace(price, bands=bands)
    if price.model is PricingModel.PACKAGE:
        return dataclasses.replace(price, block_price=scale(price.block_price))
    if price.model is PricingModel.FIXED:
        return dataclasses.replace(price, monthly_fee=scale(price.monthly_fee))
    return price


def _solve_markup(base: TariffVersion, charges: list[Volume], target: Decimal) -> tuple[list, str, str]:
    prices = dict(base.prices)
    cost = at_current = ZERO
    for segment in segments(charges):
        price = prices.get(segment[0].charge.tier)
        if price is None:
            continue
        cost += sum((v.charge.cost for v in segment), ZERO)
        at_current += sum((b.usage_amount + b.monthly_fee for b in repriced(price, segment)), ZERO)
    if cost == 0:
        return list(base.prices), "kept", "no provider cost last year to set a markup by: kept"
    with localcontext() as ctx:
        ctx.prec = 50
        delta = (target - at_current) * 100 / cost
    result = []
    for tier, price in base.prices:
        markup = round_to_step(price.markup_pct + delta, MARKUP_STEP) if price.markup_pct is not None else None
        if markup is not None and markup < -100:
            markup = Decimal(-100)
        values = tuple((value, dataclasses.replace(own, markup_pct=round_to_step(own.markup_pct + delta, MARKUP_STEP)))
                       if own.markup_pct is not None else (value, own) for value, own in price.by_value)
        result.append((tier, dataclasses.replace(price, markup_pct=markup, by_value=values)))
    sign = "+" if delta >= 0 else ""
    return result, f"markups {sign}{round_to_step(delta, MARKUP_STEP)} points", ""


# --------------------------------------------------------------------------- the draft as YAML


def draft_tariff_yaml(proposal: RateProposal, *, header: str = "") -> str:
    """The draft versions in the tariff file format of examples/tariffs (docs/pricing.md)."""
    lines = [f"# {line}".rstrip() for line in header.splitlines()] if header else []
    lines.append("tariffs:")
    for item in proposal.services:
        tv = item.version
        lines += [
            f"  - service: {tv.service}",
            f'    version: "{tv.version}"',
            f"    effective_from: {tv.effective_from.isoformat()}",
        ]
        if tv.effective_to:
            lines.append(f"    effective_to: {tv.effective_to.isoformat()}")
        lines.append(f"    currency: {tv.currency}")
        if tv.proration is not None and (tv.proration.month or tv.proration.end):
            parts = [f"{name}: {value.value}" for name, value in (("month", tv.proration.month), ("end", tv.proration.end))
                     if value is not None]
            lines.append("    proration: {" + ", ".join(parts) + "}")
        lines.append("    tiers:")
        for tier, price in tv.prices:
            lines.append(f"      {tier}:")
            lines += [f"        {line}" for line in _price_lines(price)]
        lines.append("")
    return "\n".join(lines) + "\n"


def _price_lines(price: TierPrice) -> list[str]:
    out = [f"model: {price.model.value}"]
    if price.unit_price is not None:
        out.append(f'unit_price: "{_money(price.unit_price)}"')
    if price.bands:
        out.append("bands:")
        for band in price.bands:
            parts = []
            if band.up_to is not None:
                parts.append(f"up_to: {_text(band.up_to)}")
            parts.append(f'unit_price: "{_money(band.unit_price)}"')
            if band.flat_fee:
                parts.append(f'flat_fee: "{_money(band.flat_fee)}"')
            out.append("  - {" + ", ".join(parts) + "}")
    for name in ("block_size", "block_price", "markup_pct"):
        value = getattr(price, name)
        if value is not None:
            out.append(f'{name}: "{_money(value) if name == "block_price" else _text(value)}"')
    for name in ("band_edges", "flat_fee_at_zero"):
        value = getattr(price, name)
        if value is not None:
            out.append(f"{name}: {value.value}")
    for name in ("monthly_fee", "included_quantity", "minimum_charge"):
        value = getattr(price, name)
        if value:
            out.append(f'{name}: "{_text(value) if name == "included_quantity" else _money(value)}"')
    if price.by_value:
        out.append(f"unknown: {(price.unknown or UnknownValue.QUARANTINE).value}")
        out.append("by_value:")
        for value, own in price.by_value:
            out.append(f"  {json.dumps(value)}:")
            out += [f"    {line}" for line in _price_lines(own)]
    if price.fees:
        out.append("fees:")
        for fee in price.fees:
            parts = [f"name: {json.dumps(fee.name, ensure_ascii=False)}", f'amount: "{_money(fee.amount)}"',
                     f"every: {fee.every.value}"]
            if fee.billing is not None:
                parts.append(f"billing: {fee.billing.value}")
            out.append("  - {" + ", ".join(parts) + "}")
    if price.service_credits:
        out.append("service_credits:")
        for metric, bands in price.service_credits:
            out.append(f"  {metric.value}:")
            for band in bands:
                parts = []
                if band.shortfall_up_to is not None:
                    parts.append(f"shortfall_up_to: {_text(band.shortfall_up_to)}")
                parts.append(f"credit_pct: {_text(band.credit_pct)}")
                out.append("    - {" + ", ".join(parts) + "}")
    return out


def _text(value: Decimal) -> str:
    """A quantity or percentage as plain text (no exponent)."""
    return format(value, "f")


def _money(value: Decimal) -> str:
    """A price as text with at least two decimals (900 → 900.00, 0.125 stays 0.125)."""
    whole, _, frac = format(value, "f").partition(".")
    return f"{whole}.{frac.ljust(2, '0')}"
