"""A month's rating under each proration convention (docs/pricing.md, "Proration conventions"):
the monthly fee and included quantity of a subscription starting 15 February, one ending on
22 February, and one handed over from one subscription to the next, in leap and common years."""

import datetime as dt
import textwrap
from decimal import Decimal

import polars as pl
import pytest

from billing.core.records import ChargeKind, Ownership, Subscription
from billing.rating.month import USAGE_SCHEMA, rate_month
from tariffs.load import load_catalogue
from tariffs.validate import validate_catalogue

#: One service per convention, each with the same price: 300.00 a month, 30 units included,
#: 1.00 a unit beyond.
CONVENTIONS = {
    "ACTUAL": "",
    "THIRTY": "    proration: {month: thirty_day}\n",
    "ACTUALX": "    proration: {end: exclusive}\n",
    "THIRTYX": "    proration: {month: thirty_day, end: exclusive}\n",
}


def catalogue(tmp_path):
    text = "units:\n  - {code: u, name: Units}\nservices:\n"
    for code in CONVENTIONS:
        text += (f"  - {{code: {code}, name: {code}, unit: u, kind: it, owner: IT, default_tier: std,\n"
                 f"     tiers: [{{code: std, name: Standard, funding_level: standard}}]}}\n")
    text += "tariffs:\n"
    for code, proration in CONVENTIONS.items():
        text += (f"  - service: {code}\n    version: \"1\"\n    effective_from: 2020-01-01\n    currency: USD\n{proration}"
                 f"    tiers:\n      std: {{model: per_unit, unit_price: \"1.00\", monthly_fee: \"300.00\", included_quantity: 30}}\n")
    (tmp_path / "catalogue.yaml").write_text(textwrap.dedent(text), encoding="utf-8")
    loaded, problems = load_catalogue(tmp_path)
    assert problems == [] and validate_catalogue(loaded) == []
    return loaded


OWNERS = [Ownership(cost_center="CC1", business_line=line, effective_from=dt.date(2000, 1, 1), effective_to=None)
          for line in ("FIN", "HR", "OPS")]

# (year, business line) -> amount per service. FIN from 15 Feb on, 20 units used; HR 15 to 22
# Feb, nothing used; OPS to 14 Feb, then a new subscription from 15 Feb (no end: the whole month).
EXPECTED = {
    # 2028, leap: actual 15/29: 300 x 15/29 + (20 - 30 x 15/29) = 159.655.. ; 30-day 16/30: 160.00 + 4.00
    (2028, "FIN"): {"ACTUAL": "159.66", "THIRTY": "164.00", "ACTUALX": "159.66", "THIRTYX": "164.00"},
    # 8 days, or 7 without the end day: 300 x 8/29, 8/30, 7/29, 7/30
    (2028, "HR"): {"ACTUAL": "82.76", "THIRTY": "80.00", "ACTUALX": "72.41", "THIRTYX": "70.00"},
    (2028, "OPS"): {"ACTUAL": "300.00", "THIRTY": "300.00", "ACTUALX": "300.00", "THIRTYX": "300.00"},
    # 2027, common: actual 14/28: 150.00 + (20 - 15); 30-day still 16/30
    (2027, "FIN"): {"ACTUAL": "155.00", "THIRTY": "164.00", "ACTUALX": "155.00", "THIRTYX": "164.00"},
    (2027, "HR"): {"ACTUAL": "85.71", "THIRTY": "80.00", "ACTUALX": "75.00", "THIRTYX": "70.00"},
    (2027, "OPS"): {"ACTUAL": "300.00", "THIRTY": "300.00", "ACTUALX": "300.00", "THIRTYX": "300.00"},
}


@pytest.mark.parametrize("year", [2028, 2027])
def test_february_prorated_under_each_convention(tmp_path, year):
    subscriptions = []
    for service in CONVENTIONS:
        subscriptions += [
            Subscription(business_line="FIN", service=service, tier="std", effective_from=dt.date(year, 2, 15)),
            Subscription(business_line="HR", service=service, tier="std", effective_from=dt.date(year, 2, 15),
                         effective_to=dt.date(year, 2, 22)),
            Subscription(business_line="OPS", service=service, tier="std", effective_from=dt.date(year, 1, 1),
                         effective_to=dt.date(year, 2, 14)),
            Subscription(business_line="OPS", service=service, tier="std", effective_from=dt.date(year, 2, 15)),
        ]
    usage = pl.DataFrame(
        [(dt.date(year, 2, 20), "FIN", "CC1", service, None, Decimal("20"), Decimal(0), 1) for service in CONVENTIONS],
        schema=list(USAGE_SCHEMA), orient="row").cast(USAGE_SCHEMA)
    rated = rate_month(month=f"{year}-02", catalogue=catalogue(tmp_path), subscriptions=subscriptions,
                       ownerships=OWNERS, usage=usage)
    assert rated.problems == ()
    got: dict[str, dict[str, str]] = {}
    for charge in rated.charges:
        assert charge.kind is ChargeKind.USAGE
        got.setdefault(charge.business_line, {})[charge.service] = str(charge.amount)
    assert got == {line: EXPECTED[(year, line)] for line in ("FIN", "HR", "OPS")}


def test_a_subscription_ending_on_the_last_day_of_the_month_ends_under_exclusive(tmp_path):
    # to 31 Jan with nothing from 1 Feb: the 31st is its end day; a 30-day month gave it 0 already
    subscriptions = [Subscription(business_line="FIN", service=s, tier="std", effective_from=dt.date(2026, 1, 1),
                                  effective_to=dt.date(2026, 1, 31)) for s in CONVENTIONS]
    rated = rate_month(month="2026-01", catalogue=catalogue(tmp_path), subscriptions=subscriptions, ownerships=OWNERS,
                       usage=pl.DataFrame(schema=USAGE_SCHEMA))
    amounts = {c.service: str(c.amount) for c in rated.charges}
    # actual: 31/31; exclusive: 30/31 = 290.32; 30-day: 30/30 either way (the 31st weighs nothing)
    assert amounts == {"ACTUAL": "300.00", "ACTUALX": "290.32", "THIRTY": "300.00", "THIRTYX": "300.00"}


def test_rates_propose_finds_a_30_day_fraction_again_from_last_years_charges(tmp_path):
    from fractions import Fraction

    from billing.recovery.rates import expected_revenue, history_volumes

    loaded = catalogue(tmp_path)
    subscriptions = [Subscription(business_line="FIN", service=s, tier="std", effective_from=dt.date(2028, 2, 15))
                     for s in CONVENTIONS]
    usage = pl.DataFrame(
        [(dt.date(2028, 2, 20), "FIN", "CC1", service, None, Decimal("20"), Decimal(0), 1) for service in CONVENTIONS],
        schema=list(USAGE_SCHEMA), orient="row").cast(USAGE_SCHEMA)
    rated = rate_month(month="2028-02", catalogue=loaded, subscriptions=subscriptions, ownerships=OWNERS, usage=usage)
    volumes = {v.charge.service: v for v in history_volumes(rated.charges, loaded)}
    assert {s: v.fraction for s, v in volumes.items()} == {
        "ACTUAL": Fraction(15, 29), "ACTUALX": Fraction(15, 29), "THIRTY": Fraction(16, 30), "THIRTYX": Fraction(16, 30)}
    for tv in loaded.tariffs:  # re-priced under the same version, last year's volumes give last year's amounts
        assert expected_revenue(tv, [volumes[tv.service]]) == volumes[tv.service].charge.amount
