"""Composite business services: a service made of other services, IT and non-IT alike (pure).

"Field repair" is technician hours + a van + a mobile device and app licence. How it works
(docs/allocation.md, "Composite business services"):

- **Price.** A composite has its own tariff, like any service: rating prices its usage (repairs)
  at its own tier and tariff version. Its components are not charged a second time for it.
- **Cost.** Its cost rolls up from its components: after the allocation steps, each component's
  cost is split between its own direct usage and the composites that use it, by volume
  (``billing.recovery.allocation``, the "composite roll-up" step), so the recovery report sets the
  composite's price against what its parts really cost.
- **Statement.** One line for the composite with its components beneath: the components'
  equivalent quantities (composite quantity × quantity per unit) and their share of the
  composite's amount (:func:`composite_lines`), so a business-line head sees the whole process.

The share of the amount is weighted by each component's own list price for its equivalent
quantity (its tariff in force on the charge's last day, at the composite's tier when the
component has it, else the component's default tier; usage price only, no monthly fee or
minimum), and split with largest remainder so the shares sum exactly to the line.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from billing.core.money import ZERO, allocate
from billing.core.records import Charge, ChargeKind
from tariffs.model import Catalogue, PricingModel, Service
from tariffs.pricing import price_usage

__all__ = ["ComponentShare", "composites_of", "expand_components", "component_shares", "composite_lines"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ComponentShare:
    """A component beneath a composite's statement line (not charged apart)."""

    service: str
    service_name: str
    unit: str
    quantity: Decimal  # equivalent quantity: composite quantity × quantity per unit
    amount: Decimal  # its share of the composite line's amount; shares sum to the line
    list_value: Decimal  # its own usage price for that quantity (the weight), exact


def composites_of(catalogue: Catalogue) -> dict[str, tuple[tuple[str, Decimal], ...]]:
    """Composite service code → ((component, quantity per unit), ...), as written."""
    return {s.code: tuple((c.service, c.quantity) for c in s.components) for s in catalogue.services if s.components}


def expand_components(code: str, catalogue: Catalogue, *, _seen: frozenset[str] = frozenset()) -> tuple[tuple[str, Decimal], ...]:
    """The leaf services one unit of ``code`` uses, with nested composites multiplied out
    (a service that is not a composite is its own single leaf)."""
    service = catalogue.service(code)
    if service is None or not service.components or code in _seen:
        return ((code, Decimal(1)),)
    found: dict[str, Decimal] = {}
    for component in service.components:
        for leaf, quantity in expand_components(component.service, catalogue, _seen=_seen | {code}):
            found[leaf] = found.get(leaf, ZERO) + component.quantity * quantity
    return tuple(found.items())


def component_shares(
    service: Service, tier: str, quantity: Decimal, amount: Decimal, catalogue: Catalogue, *, day, currency: str
) -> tuple[ComponentShare, ...]:
    """The direct components of ``service`` for a line of ``quantity`` units and ``amount``."""
    parts = []
    for component in service.components:
        part = catalogue.service(component.service)
        equivalent = quantity * component.quantity
        parts.append((component.service, part, equivalent, _list_value(part, tier, equivalent, catalogue, day)))
    if not parts:
        return ()
    weights = [max(v, ZERO) for *_, v in parts]
    if sum(weights, ZERO) == 0:
        weights = [max(q, ZERO) for _, _, q, _ in parts]
    if sum(weights, ZERO) == 0:
        weights = [Decimal(1)] * len(parts)
    amounts = allocate(amount, weights, currency, keys=[code for code, *_ in parts])
    return tuple(
        ComponentShare(service=code, service_name=part.name if part else code, unit=part.unit if part else "",
                       quantity=equivalent, amount=share, list_value=value)
        for (code, part, equivalent, value), share in zip(parts, amounts)
    )


def composite_lines(charges: Sequence[Charge], catalogue: Catalogue) -> dict[int, tuple[ComponentShare, ...]]:
    """For each usage charge of a composite service: charge line_no → its components' shares.

    For statements: show the composite's line, then these beneath it. Service credits on a
    composite stay on the composite's own line.
    """
    services: Mapping[str, Service] = {s.code: s for s in catalogue.services}
    found = {}
    for charge in charges:
        service = services.get(charge.service)
        if charge.kind is not ChargeKind.USAGE or service is None or not service.components:
            continue
        found[charge.line_no] = component_shares(service, charge.tier, charge.quantity, charge.amount, catalogue,
                                                 day=charge.segment_to, currency=charge.currency)
    return found


def _list_value(part: Service | None, tier: str, quantity: Decimal, catalogue: Catalogue, day) -> Decimal:
    if part is None:
        return ZERO
    version = catalogue.tariff_at(part.code, day)
    if version is None:
        return ZERO
    price = version.price(tier if part.tier(tier) else part.default_tier)
    if price is None or price.model is PricingModel.PASS_THROUGH:
        return ZERO
    breakdown = price_usage(price, quantity, cost=ZERO, fraction=Fraction(0))
    return breakdown.usage_amount
