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
