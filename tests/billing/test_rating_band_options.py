"""A month's rating with the band options of docs/pricing.md ("Band options"): blocks, exclusive
edges and the first band's flat fee at zero usage, each on a charge as a statement shows it."""

import datetime as dt
import textwrap
from decimal import Decimal

import polars as pl

from billing.core.records import ChargeKind, Ownership, Subscription
from billing.rating.month import USAGE_SCHEMA, rate_month
from tariffs.load import load_catalogue
from tariffs.validate import validate_catalogue

CATALOGUE = """\
units:
  - {code: gb, name: GB-months}
services:
  - {code: STORE, name: Storage, unit: gb, kind: it, owner: IT, default_tier: std,
     tiers: [{code: std, name: Standard, funding_level: standard}]}
  - {code: FLEET, name: Fleet, unit: gb, kind: non-it, owner: Fleet, default_tier: std,
     tiers: [{code: std, name: Standard, funding_level: standard}]}
  - {code: VM, name: VMs, unit: gb, kind: it, owner: IT, default_tier: std,
     tiers: [{code: std, name: Standard, funding_level: standard}]}
tariffs:
  - service: STORE
    version: "1"
    effective_from: 2026-01-01
    currency: USD
    tiers:
      std:
        model: volume
        block_size: 100
        bands: [{up_to: 1000, unit_price: "0.23"}, {up_to: 10000, unit_price: "0.20"}, {unit_price: "0.17"}]
  - service: FLEET
    version: "1"
    effective_from: 2026-01-01
    currency: USD
    tiers:
      std:
        model: volume
        band_edges: exclusive
        bands: [{up_to: 10, unit_price: "710.00"}, {up_to: 50, unit_price: "680.00"}, {unit_price: "650.00"}]
  - service: VM
    version: "1"
    effective_from: 2026-01-01
    currency: USD
    tiers:
      std:
        model: graduated
        flat_fee_at_zero: charged
        monthly_fee: "156.00"
        bands: [{up_to: 1000, unit_price: "0.146", flat_fee: "26.00"}, {unit_price: "0.104"}]
"""

OWNERS = [Ownership(cost_center="CC1", business_line=line, effective_from=dt.date(2000, 1, 1), effective_to=None)
          for line in ("FIN", "HR")]


def test_month_run_prices_every_band_option(tmp_path):
    (tmp_path / "catalogue.yaml").write_text(textwrap.dedent(CATALOGUE), encoding="utf-8")
    catalogue, problems = load_catalogue(tmp_path)
    assert problems == [] and validate_catalogue(catalogue) == []
    subscriptions = [Subscription(business_line=line, service=service, tier="std", effective_from=dt.date(2026, 4, 1),
                                  effective_to=None) for line in ("FIN", "HR") for service in ("STORE", "FLEET", "VM")]
    usage = pl.DataFrame(
        [(dt.date(2026, 4, 3), "FIN", "CC1", "STORE", None, Decimal("1250"), Decimal(0), 1),
         (dt.date(2026, 4, 3), "FIN", "CC1", "FLEET", None, Decimal("10"), Decimal(0), 1),
         (dt.date(2026, 4, 9), "FIN", "CC1", "VM", None, Decimal("10"), Decimal(0), 1)],
        schema=list(USAGE_SCHEMA), orient="row").cast(USAGE_SCHEMA)
    rated = rate_month(month="2026-04", catalogue=catalogue, subscriptions=subscriptions, ownerships=OWNERS, usage=usage)
    assert rated.problems == ()
    charges = {(c.business_line, c.service): c for c in rated.charges if c.kind is ChargeKind.USAGE}
    # FIN: 1,250 GB in 13 blocks of 100 at band 2 (1,300 x 0.20); 10 vehicles on the exclusive
    # edge, in band 2 (10 x 680.00); 10 VM hours: 1.46 + 26.00 + 156.00
    assert (charges[("FIN", "STORE")].amount, charges[("FIN", "STORE")].detail) == (
        Decimal("260.00"), "1,250 as 13 blocks of 100: 13 blocks @ 20.00")
    assert charges[("FIN", "FLEET")].amount == Decimal("6800.00")
    assert "edges exclusive" in charges[("FIN", "FLEET")].detail
    assert charges[("FIN", "VM")].amount == Decimal("183.46")
    # HR is subscribed to all three and used nothing: only VM charges, its fee and the first
    # band's flat fee, on its cost centre
    hr = {service: c for (line, service), c in charges.items() if line == "HR"}
    assert list(hr) == ["VM"]
    assert (hr["VM"].quantity, hr["VM"].amount) == (Decimal(0), Decimal("182.00"))
    assert hr["VM"].detail == "nothing billable: the first band's flat fee 26.00, charged at zero usage"
    assert [(s.cost_center, s.amount) for s in hr["VM"].cost_centers] == [("CC1", Decimal("182.00"))]
