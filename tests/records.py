"""Plain records for the tests of the pure core: a charge as rating makes it, with the fields a
test does not care about filled in."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from billing.core.records import Charge, ChargeKind, CostCenterShare

MARCH = (dt.date(2026, 3, 1), dt.date(2026, 3, 31))


def charge(line_no: int, business_line: str, service: str, amount: str, *, tier: str = "gold", quantity: str = "10",
           mode: str = "chargeback", kind: ChargeKind = ChargeKind.USAGE, segment: tuple[dt.date, dt.date] = MARCH,
           currency: str = "USD", parts: tuple[tuple[str, str], ...] = (), usage_rows: int = 1,
           flags: tuple[str, ...] = ()) -> Charge:
    """``amount`` as rounded; ``parts``: (cost centre, amount) pairs that sum to it."""
    value = Decimal(amount)
    return Charge(
        line_no=line_no, kind=kind, business_line=business_line, service=service, tier=tier, tariff_version="2026",
        charging_mode=mode, segment_from=segment[0], segment_to=segment[1], model="per_unit",
        quantity=Decimal(quantity), included=Decimal(0), billable=Decimal(quantity), cost=Decimal(0),
        exact_amount=value, amount=value, currency=currency, detail=f"{quantity} @ price", flags=flags,
        usage_rows=usage_rows if kind is ChargeKind.USAGE else 0,
        cost_centers=tuple(CostCenterShare(cost_center=cc, quantity=Decimal(0), amount=Decimal(a)) for cc, a in parts),
    )


US_EAST_BANDS = '{bands: [{up_to: 100, unit_price: "0.10"}, {unit_price: "0.08"}]}'


def vm_by_region(*, unknown: str = "default", us_east: str = US_EAST_BANDS, more_values: str = "",
                 fees: str = "") -> str:
    """The test catalogue of a price by dimension, as YAML: virtual machines (VM, vm-hours) of one
    tier, std, priced by region from 2026-01-01 in USD: graduated 0.20 to 100 then 0.15 with a
    monthly fee of 50.00, eu-west at 0.12 then 0.10, us-east at ``us_east`` (0.10 then 0.08);
    ``unknown`` the rule for a region the tariff does not list (default, quarantine, refuse);
    ``more_values`` further ``by_value`` entries (``ap-south: {...}``), ``fees`` the tier's fees
    (``- {name: ..., amount: ..., every: quarterly}``), each a line of YAML."""
    text = f"""\
units:
  - {{code: vm-hour, name: VM hours}}
services:
  - code: VM
    name: Virtual machines
    unit: vm-hour
    kind: it
    owner: Infrastructure
    default_tier: std
    dimension: region
    tiers:
      - {{code: std, name: Standard, funding_level: standard}}
tariffs:
  - service: VM
    version: "1"
    effective_from: 2026-01-01
    currency: USD
    tiers:
      std:
        model: graduated
        monthly_fee: "50.00"
        unknown: {unknown}
        bands: [{{up_to: 100, unit_price: "0.20"}}, {{unit_price: "0.15"}}]
        by_value:
          eu-west: {{bands: [{{up_to: 100, unit_price: "0.12"}}, {{unit_price: "0.10"}}]}}
          us-east: {us_east}
"""
    if more_values:
        text += f"          {more_values}\n"
    if fees:
        text += f"        fees:\n          {fees}\n"
    return text
