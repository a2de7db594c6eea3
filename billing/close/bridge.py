"""Why a business line's bill changed: the month against the month before, split into steps (pure).

For each service the change (this month's charged total less last month's, both on the
statement's basis: chargeback charges plus the credit and debit notes issued in the month) is
split into pieces, one per step, in this order (docs/statements.md, "Why the bill changed"):

1. **price** — last month's usage priced again at this month's tariff versions (same tier,
   quantity and days) less last month's usage charges;
2. **tier** — last month's usage at this month's versions and tiers (spread over this month's
   segments by their days, in force as many days as last month) less step 1's figure;
3. **volume** — this month's usage charges less step 2's figure (more or less used, or more or
   fewer days in service);
4. **new and ended services** — all of a service's charges when it had none the other month;
5. **service credits**, 6. **fees** (quarterly and annual), 7. **negotiated discounts**,
8. **commitment true-ups** — this month's lines of that kind less last month's;
9. **corrections** — credit and debit notes issued this month less those issued last month;
10. **funding** — a service moved between showback and chargeback: what it charged the month
    it was charged.

Each step's figure is a sum of lines rounded once (``billing.core.money.round_minor``, through
``billing.rating.reprice``, which prices with ``tariffs.pricing`` as rating does), so every piece
is a whole number of minor units and the pieces add up to the change exactly, by construction.
"""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, localcontext
from fractions import Fraction

from billing.core.money import EXACT, ZERO, exact_sum
from billing.core.periods import previous_month
from billing.core.records import Charge, ChargeKind, Invoice
from billing.rating.reprice import UsageLine, charge_fraction, segment_amount, usage_lines
from tariffs.model import ChargingMode, TariffVersion

__all__ = ["Step", "STEPS", "STEP_LABELS", "ServiceBridge", "Bridge", "CompanyBridge", "month_bridge", "service_bridge",
           "company_bridge"]


class Step(enum.StrEnum):
    PRICE = "price"
    TIER = "tier"
    VOLUME = "volume"
    NEW = "new"
    ENDED = "ended"
    SERVICE_CREDITS = "service_credits"
    FEES = "fees"
    DISCOUNTS = "discounts"
    TRUE_UPS = "true_ups"
    CORRECTIONS = "corrections"
    FUNDING = "funding"


STEPS: tuple[Step, ...] = tuple(Step)
"""The steps in the order they are taken (each figure builds on the one before)."""

STEP_LABELS: Mapping[Step, str] = {
    Step.PRICE: "Price (a new tariff version)",
    Step.TIER: "Tier change",
    Step.VOLUME: "Volume (quantity used, days in service)",
    Step.NEW: "New services",
    Step.ENDED: "Ended services",
    Step.SERVICE_CREDITS: "Service credits",
    Step.FEES: "Quarterly and annual fees",
    Step.DISCOUNTS: "Negotiated discounts",
    Step.TRUE_UPS: "Commitment true-ups",
    Step.CORRECTIONS: "Corrections (credit and debit notes)",
    Step.FUNDING: "Moved between showback and chargeback",
}

_KIND_STEP = {ChargeKind.SLA_CREDIT: Step.SERVICE_CREDITS, ChargeKind.FEE: Step.FEES,
              ChargeKind.DISCOUNT: Step.DISCOUNTS, ChargeKind.TRUE_UP: Step.TRUE_UPS}


@dataclass(frozen=True, slots=True, kw_only=True)
class ServiceBridge:
    """One service's change from ``previous`` to ``current``, a piece per step (every step, in
    :data:`STEPS` order; most are zero). The pieces sum to the change, or it does not exist."""

    service: str
    previous: Decimal
    current: Decimal
    pieces: tuple[tuple[Step, Decimal], ...]
    previous_tiers: tuple[str, ...] = ()  # the usage's tiers, in the order they were in force
    current_tiers: tuple[str, ...] = ()
    previous_versions: tuple[str, ...] = ()  # the usage's tariff versions
    current_versions: tuple[str, ...] = ()
    previous_quantity: Decimal = ZERO  # the usage's quantity (chargeback)
    current_quantity: Decimal = ZERO

    def __post_init__(self) -> None:
        if tuple(step for step, _ in self.pieces) != STEPS:
            raise ValueError(f"{self.service}: a bridge has a piece for every step, in order")
        if exact_sum(amount for _, amount in self.pieces) != self.change:
            raise ValueError(f"{self.service}: the pieces do not sum to the change {self.change}")

    @property
    def change(self) -> Decimal:
        return self.current - self.previous

    def piece(self, step: Step) -> Decimal:
        return dict(self.pieces)[step]


@dataclass(frozen=True, slots=True, kw_only=True)
class Bridge:
    """A business line's month against the month before, by service and step. The showback
    totals are for information: they are in neither total nor change."""

    business_line: str
    month: str
    previous_month: str
    currency: str
    services: tuple[ServiceBridge, ...]
    showback_previous: Decimal = ZERO
    showback_current: Decimal = ZERO

    @property
    def previous(self) -> Decimal:
        return exact_sum(s.previous for s in self.services)

    @property
    def current(self) -> Decimal:
        return exact_sum(s.current for s in self.services)

    @property
    def change(self) -> Decimal:
        return self.current - self.previous

    @property
    def pieces(self) -> tuple[tuple[Step, Decimal], ...]:
        """Each step over every service, in :data:`STEPS` order."""
        return tuple((step, exact_sum(s.piece(step) for s in self.services)) for step in STEPS)

    def piece(self, step: Step) -> Decimal:
        return dict(self.pieces)[step]


@dataclass(frozen=True, slots=True, kw_only=True)
class CompanyBridge:
    """The whole company's month against the month before: every business line's bridge, added
    up by step (the month pack's "Why the total changed"). Nothing is priced again: each step is
    the sum of the lines' pieces, so the steps add up to the change exactly because each line's do."""

    month: str
    previous_month: str
    currency: str
    lines: tuple[Bridge, ...]  # by business line code

    def __post_init__(self) -> None:
        for line in self.lines:
            if (line.month, line.currency) != (self.month, self.currency):
                raise ValueError(f"{line.business_line}: a company bridge adds up bridges of {self.month} in {self.currency}")

    @property
    def previous(self) -> Decimal:
        return exact_sum(b.previous for b in self.lines)

    @property
    def current(self) -> Decimal:
        return exact_sum(b.current for b in self.lines)

    @property
    def change(self) -> Decimal:
        return self.current - self.previous

    @property
    def pieces(self) -> tuple[tuple[Step, Decimal], ...]:
        """Each step over every line and service, in :data:`STEPS` order."""
        return tuple((step, exact_sum(s.piece(step) for b in self.lines for s in b.services)) for step in STEPS)

    def by_service(self, step: Step) -> tuple[tuple[str, Decimal], ...]:
        """``step``'s piece per service over every line (services it did not move left out),
        the largest first."""
        return _largest((s.service, s.piece(step)) for b in self.lines for s in b.services)

    def by_business_line(self, step: Step) -> tuple[tuple[str, Decimal], ...]:
        """``step``'s piece per business line (lines it did not move left out), the largest first."""
        return _largest((b.business_line, s.piece(step)) for b in self.lines for s in b.services)

    @property
    def showback_previous(self) -> Decimal:
        return exact_sum(b.showback_previous for b in self.lines)

    @property
    def showback_current(self) -> Decimal:
        return exact_sum(b.showback_current for b in self.lines)


def _largest(pairs: Iterable[tuple[str, Decimal]]) -> tuple[tuple[str, Decimal], ...]:
    totals: dict[str, list[Decimal]] = defaultdict(list)
    for key, amount in pairs:
        totals[key].append(amount)
    summed = [(key, exact_sum(amounts)) for key, amounts in totals.items()]
    return tuple(sorted(((k, a) for k, a in summed if a), key=lambda kv: (-abs(kv[1]), kv[0])))


def company_bridge(bridges: Iterable[Bridge], *, month: str, currency: str) -> CompanyBridge:
    """The company's bridge of ``month`` from its business lines' ``bridges`` (one each)."""
    lines = tuple(sorted(bridges, key=lambda b: b.business_line))
    return CompanyBridge(month=month, previous_month=previous_month(month), currency=currency, lines=lines)


def month_bridge(*, business_line: str, month: str, charges: Iterable[Charge], previous_charges: Iterable[Charge],
                 notes: Iterable[Invoice] = (), previous_notes: Iterable[Invoice] = (),
                 tariffs: Iterable[TariffVersion], currency: str) -> Bridge:
    """``business_line``'s bridge from the month before ``month`` to ``month``: ``charges`` and
    ``previous_charges`` the months' rated charges, ``notes`` and ``previous_notes`` the credit
    and debit notes issued in each (other business lines' are left out); ``tariffs`` every
    tariff version (the ones in force this month price last month's usage again)."""
    now = [c for c in charges if c.business_line == business_line]
    before = [c for c in previous_charges if c.business_line == business_line]
    notes_now = [n for n in notes if n.business_line == business_line]
    notes_before = [n for n in previous_notes if n.business_line == business_line]
    versions = {(v.service, v.version): v for v in tariffs}
    codes = {c.service for c in now} | {c.service for c in before}
    codes |= {line.service for n in notes_now + notes_before for line in n.lines}
    services = []
    for code in sorted(codes):
        services.append(service_bridge(
            code, [c for c in now if c.service == code], [c for c in before if c.service == code],
            _note_total(notes_now, code), _note_total(notes_before, code), versions, currency))
    shown = [c for c in now if c.charging_mode is ChargingMode.SHOWBACK]
    shown_before = [c for c in before if c.charging_mode is ChargingMode.SHOWBACK]
    return Bridge(business_line=business_line, month=month, previous_month=previous_month(month), currency=currency,
                  services=tuple(s for s in services if s.previous or s.current or any(a for _, a in s.pieces)),
                  showback_previous=exact_sum(c.amount for c in shown_before),
                  showback_current=exact_sum(c.amount for c in shown))


def _note_total(notes: Sequence[Invoice], service: str) -> Decimal:
    return exact_sum(line.amount for n in notes for line in n.lines if line.service == service)


def service_bridge(service: str, now: Sequence[Charge], before: Sequence[Charge], notes_now: Decimal,
                   notes_before: Decimal, versions: Mapping[tuple[str, str], TariffVersion], currency: str) -> ServiceBridge:
    """One service's bridge: ``now`` and ``before`` its charges of each month (chargeback and
    showback), ``notes_now`` and ``notes_before`` what the notes issued in each month came to
    for it, ``versions`` the tariff versions by (service, version)."""
    charged = [c for c in now if c.charging_mode is ChargingMode.CHARGEBACK]
    charged_before = [c for c in before if c.charging_mode is ChargingMode.CHARGEBACK]
    pieces = dict.fromkeys(STEPS, ZERO)
    pieces[Step.CORRECTIONS] = notes_now - notes_before
    usage = [c for c in charged if c.kind is ChargeKind.USAGE]
    usage_before = [c for c in charged_before if c.kind is ChargeKind.USAGE]
    if charged and charged_before:
        price, tier, volume = _usage_steps(usage, usage_before, versions, currency)
        pieces[Step.PRICE], pieces[Step.TIER], pieces[Step.VOLUME] = price, tier, volume
        for kind, step in _KIND_STEP.items():
            pieces[step] = (exact_sum(c.amount for c in charged if c.kind is kind)
                            - exact_sum(c.amount for c in charged_before if c.kind is kind))
    elif charged:
        shown_before = any(c.charging_mode is ChargingMode.SHOWBACK for c in before)
        pieces[Step.FUNDING if shown_before else Step.NEW] = exact_sum(c.amount for c in charged)
    elif charged_before:
        shown_now = any(c.charging_mode is ChargingMode.SHOWBACK for c in now)
        pieces[Step.FUNDING if shown_now else Step.ENDED] = -exact_sum(c.amount for c in charged_before)
    return ServiceBridge(
        service=service, previous=exact_sum(c.amount for c in charged_before) + notes_before,
        current=exact_sum(c.amount for c in charged) + notes_now, pieces=tuple(pieces.items()),
        previous_tiers=_in_order(usage_before, "tier"), current_tiers=_in_order(usage, "tier"),
        previous_versions=_in_order(usage_before, "tariff_version"), current_versions=_in_order(usage, "tariff_version"),
        previous_quantity=exact_sum(c.quantity for c in usage_before), current_quantity=exact_sum(c.quantity for c in usage),
    )


def _in_order(charges: Sequence[Charge], field: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(getattr(c, field) for c in sorted(charges, key=lambda c: (c.segment_from, c.line_no))))


@dataclass(frozen=True, slots=True)
class _Segment:
    """A service's usage under one tier and tariff version in a month."""

    tier: str
    version: str
    charges: tuple[Charge, ...]
    fraction: Fraction  # what its monthly fee, included quantity and minimum were prorated by
    days: int | None

    @property
    def amount(self) -> Decimal:
        return exact_sum(c.amount for c in self.charges)


def _segments(usage: Sequence[Charge], versions: Mapping[tuple[str, str], TariffVersion]) -> list[_Segment]:
    grouped: dict[tuple[str, str], list[Charge]] = defaultdict(list)
    for charge in sorted(usage, key=lambda c: (c.segment_from, c.line_no)):
        grouped[(charge.tier, charge.tariff_version)].append(charge)
    made = []
    for (tier, version), charges in grouped.items():
        first = charges[0]
        made.append(_Segment(tier=tier, version=version, charges=tuple(charges),
                             fraction=charge_fraction(first, versions.get((first.service, version))),
                             days=first.days_in_force))
    return made


def _shares(segments: Sequence[_Segment]) -> list[Fraction]:
    """Each segment's share of the month's days in force (equal shares when they are not known)."""
    days = [s.days for s in segments]
    if any(d is None for d in days) or not sum(d or 0 for d in days):
        return [Fraction(1, len(segments))] * len(segments)
    total = sum(d or 0 for d in days)
    return [Fraction(d or 0, total) for d in days]


def _scaled(lines: Sequence[UsageLine], share: Fraction) -> list[UsageLine]:
    if share == 1:
        return list(lines)
    with localcontext() as ctx:
        ctx.prec = 60
        return [(v, q * share.numerator / share.denominator, c * share.numerator / share.denominator) for v, q, c in lines]


def _usage_steps(usage: Sequence[Charge], usage_before: Sequence[Charge],
                 versions: Mapping[tuple[str, str], TariffVersion], currency: str) -> tuple[Decimal, Decimal, Decimal]:
    """(price, tier, volume) of a service's usage charges (see the module's steps 1 to 3)."""
    current, previous = exact_sum(c.amount for c in usage), exact_sum(c.amount for c in usage_before)
    if not usage or not usage_before:
        return ZERO, ZERO, current - previous
    now, before = _segments(usage, versions), _segments(usage_before, versions)
    service = usage[0].service
    now_shares = _shares(now)
    by_version: dict[str, Fraction] = defaultdict(Fraction)
    for segment, share in zip(now, now_shares):
        by_version[segment.version] += share
    # 1. last month's segments at this month's versions (each split by the versions' days)
    at_price = ZERO
    for segment in before:
        at_price += segment.amount if set(by_version) == {segment.version} else _at_versions(
            segment, by_version, versions, service, currency)
    # 2. last month's usage at this month's versions and tiers, spread over this month's segments
    tiers_before, tiers_now = {s.tier for s in before}, {s.tier for s in now}
    at_tier = at_price
    if not (tiers_before == tiers_now and len(tiers_now) == 1):
        lines = [line for s in before for line in usage_lines(s.charges)]
        days = min(sum((s.fraction for s in before), Fraction(0)), Fraction(1))
        figure = ZERO
        for segment, share in zip(now, now_shares):
            tariff = versions.get((service, segment.version))
            price = tariff.price(segment.tier) if tariff is not None else None
            if price is None:
                figure = at_price  # this month's price is not known: no tier step
                break
            figure += segment_amount(price, _scaled(lines, share), days * share, currency)
        at_tier = figure
    with localcontext(EXACT):
        return at_price - previous, at_tier - at_price, current - at_tier


def _at_versions(segment: _Segment, by_version: Mapping[str, Fraction], versions: Mapping[tuple[str, str], TariffVersion],
                 service: str, currency: str) -> Decimal:
    """Last month's ``segment`` priced at this month's versions, split by each version's share
    of this month's days; a version without a price for the tier prices it as last month's did
    (and a segment whose prices are not known at all counts as charged: no price step)."""
    lines = usage_lines(segment.charges)
    own = versions.get((service, segment.version))
    figure = ZERO
    for version, share in by_version.items():
        tariff = versions.get((service, version))
        price = tariff.price(segment.tier) if tariff is not None else None
        if price is None and own is not None:
            price = own.price(segment.tier)
        if price is None:
            return segment.amount
        figure += segment_amount(price, _scaled(lines, share), segment.fraction * share, currency)
    return figure
