"""Rating worked examples: docs/pricing.md, "Order of a charge"."""

import datetime as dt
import textwrap
from decimal import Decimal

import polars as pl
import pytest

from billing.rating.month import NO_SUBSCRIPTION, USAGE_SCHEMA, rate_month
from billing.core.records import Ownership, SlaResult, Subscription
from tariffs.load import load_catalogue

CATALOGUE = """
units:
  - {code: ticket, name: Tickets}
services:
  - code: DESK
    name: Service desk
    unit: ticket
    kind: it
    owner: IT
    default_tier: silver
    tiers:
      - {code: gold, name: Gold, funding_level: premium, service_level: {availability_pct: 99.9}}
      - {code: silver, name: Silver, funding_level: standard, service_level: {availability_pct: 99.5}}
tariffs:
  - service: DESK
    version: "1"
    effective_from: 2024-01-01
    currency: USD
    tiers:
      gold:
        model: per_unit
        unit_price: "10.00"
        monthly_fee: "290.00"
        service_credits:
          availability_pct:
            - {shortfall_up_to: 0.5, credit_pct: 10}
            - {credit_pct: 25}
      silver:
        model: per_unit
        unit_price: "8.00"
        included_quantity: 10
"""


@pytest.fixture
def catalogue(tmp_path):
    (tmp_path / "desk.yaml").write_text(textwrap.dedent(CATALOGUE))
    found, problems = load_catalogue(tmp_path)
    assert not problems
    return found


OWNERS = [
    Ownership(cost_center="CC1", business_line="FIN", effective_from=dt.date(2000, 1, 1), effective_to=None),
    Ownership(cost_center="CC2", business_line="FIN", effective_from=dt.date(2000, 1, 1), effective_to=None),
]


def usage(*rows):
    """rows: (date, business line, cost centre, quantity)."""
    return pl.DataFrame(
        [(d, bl, cc, "DESK", None, Decimal(q), Decimal(0), 1) for d, bl, cc, q in rows],
        schema=list(USAGE_SCHEMA), orient="row",
    ).cast(USAGE_SCHEMA)


def test_mid_month_tier_change_in_leap_february(catalogue):
    # FIN is silver 1-14 Feb 2024 and gold from 15 Feb (leap year: 29 days).
    # Silver segment: 12 tickets, included 10 × 14/29 = 4.8275..., billable 7.1724..., × 8.00 = 57.3793...
    # Gold segment: 5 tickets × 10.00 = 50.00 + monthly fee 290.00 × 15/29 = 150.00 → 200.00
    subs = [
        Subscription(business_line="FIN", service="DESK", tier="silver", effective_from=dt.date(2024, 1, 1), effective_to=dt.date(2024, 2, 14)),
        Subscription(business_line="FIN", service="DESK", tier="gold", effective_from=dt.date(2024, 2, 15)),
    ]
    rated = rate_month(month="2024-02", catalogue=catalogue, subscriptions=subs, ownerships=OWNERS,
                       usage=usage((dt.date(2024, 2, 3), "FIN", "CC1", "12"), (dt.date(2024, 2, 20), "FIN", "CC2", "5")))
    assert not rated.problems
    silver, gold = rated.charges
    assert (silver.tier, silver.segment_from, silver.segment_to) == ("silver", dt.date(2024, 2, 1), dt.date(2024, 2, 14))
    assert silver.amount == Decimal("57.38")
    assert (gold.tier, gold.segment_from, gold.segment_to) == ("gold", dt.date(2024, 2, 15), dt.date(2024, 2, 29))
    assert gold.amount == Decimal("200.00")
    assert gold.cost_centers[0].cost_center == "CC2" and gold.cost_centers[0].amount == Decimal("200.00")


def test_usage_without_subscription_is_priced_at_the_default_tier_and_flagged(catalogue):
    # No subscription: default tier silver, 15 tickets - 10 included = 5 × 8.00 = 40.00.
    rated = rate_month(month="2024-03", catalogue=catalogue, subscriptions=[], ownerships=OWNERS,
                       usage=usage((dt.date(2024, 3, 5), "FIN", "CC1", "15")))
    (charge,) = rated.charges
    assert charge.tier == "silver" and charge.amount == Decimal("40.00")
    assert NO_SUBSCRIPTION in charge.flags


def test_cost_centre_split_sums_to_the_charge(catalogue):
    # 3 tickets at gold on 3 cost-centre days: 30.00 + 290.00 = 320.00 split 1:1:1 by quantity
    # → 106.666... each: floors 106.66 ×3 = 319.98, two cents to the largest remainders.
    subs = [Subscription(business_line="FIN", service="DESK", tier="gold", effective_from=dt.date(2024, 1, 1))]
    owners = OWNERS + [Ownership(cost_center="CC3", business_line="FIN", effective_from=dt.date(2000, 1, 1), effective_to=None)]
    rated = rate_month(month="2024-03", catalogue=catalogue, subscriptions=subs, ownerships=owners,
                       usage=usage((dt.date(2024, 3, 1), "FIN", "CC1", "1"), (dt.date(2024, 3, 1), "FIN", "CC2", "1"),
                                   (dt.date(2024, 3, 1), "FIN", "CC3", "1")))
    (charge,) = rated.charges
    assert charge.amount == Decimal("320.00")
    assert sorted(s.amount for s in charge.cost_centers) == [Decimal("106.66"), Decimal("106.67"), Decimal("106.67")]


def test_subscribed_line_without_usage_pays_the_monthly_fee(catalogue):
    subs = [Subscription(business_line="FIN", service="DESK", tier="gold", effective_from=dt.date(2024, 1, 1))]
    rated = rate_month(month="2024-04", catalogue=catalogue, subscriptions=subs, ownerships=OWNERS, usage=usage())
    (charge,) = rated.charges
    assert charge.amount == Decimal("290.00") and charge.usage_rows == 0
    assert charge.cost_centers[0].cost_center == "CC1"  # no usage: the first cost centre by code


def test_missed_availability_gives_a_separate_credit_line(catalogue):
    # Gold target 99.9 %, achieved 99.5 % → shortfall 0.4 points → band up to 0.5 → 10 %.
    # Charge 2 × 10.00 + 290.00 = 310.00; credit -31.00.
    subs = [Subscription(business_line="FIN", service="DESK", tier="gold", effective_from=dt.date(2024, 1, 1))]
    rated = rate_month(month="2024-04", catalogue=catalogue, subscriptions=subs, ownerships=OWNERS,
                       usage=usage((dt.date(2024, 4, 2), "FIN", "CC1", "2")),
                       sla=[SlaResult(service="DESK", tier="gold", metric="availability_pct", achieved=Decimal("99.5"))])
    charge, credit = rated.charges
    assert charge.amount == Decimal("310.00")
    assert credit.kind == "sla_credit" and credit.amount == Decimal("-31.00") and credit.credit_of_line == charge.line_no
    assert sum(s.amount for s in credit.cost_centers) == credit.amount


def test_rating_twice_gives_identical_charges(catalogue):
    subs = [Subscription(business_line="FIN", service="DESK", tier="gold", effective_from=dt.date(2024, 1, 1))]
    frame = usage((dt.date(2024, 4, 2), "FIN", "CC2", "7"), (dt.date(2024, 4, 9), "FIN", "CC1", "3"))
    first = rate_month(month="2024-04", catalogue=catalogue, subscriptions=subs, ownerships=OWNERS, usage=frame)
    second = rate_month(month="2024-04", catalogue=catalogue, subscriptions=subs, ownerships=OWNERS, usage=frame.reverse())
    assert first.charges == second.charges


def test_usage_on_a_day_without_a_tariff_is_a_problem_not_a_silent_drop(catalogue):
    rated = rate_month(month="2023-12", catalogue=catalogue, subscriptions=[], ownerships=OWNERS,
                       usage=usage((dt.date(2023, 12, 5), "FIN", "CC1", "1")))
    assert rated.charges == ()
    assert "no tariff version for DESK" in rated.problems[0].message


PASS_THROUGH = """
units:
  - {code: usd, name: US dollars}
services:
  - code: CLOUD
    name: Public cloud
    unit: usd
    kind: it
    owner: IT
    default_tier: silver
    tiers:
      - {code: silver, name: Silver, funding_level: standard, service_level: {}}
tariffs:
  - service: CLOUD
    version: "1"
    effective_from: 2024-01-01
    currency: USD
    tiers:
      silver: {model: pass_through, markup_pct: "7.5"}
"""

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

costs = st.integers(min_value=-10**9, max_value=10**9).map(lambda n: Decimal(n) / 10**6)


@settings(max_examples=150)
@given(rows=st.lists(st.tuples(st.integers(min_value=1, max_value=30), st.sampled_from(["CC1", "CC2", "CC3", None]), costs),
                     min_size=1, max_size=25))
def test_cost_centre_parts_always_sum_to_the_rounded_charge(tmp_path_factory, rows):
    # Pass-through of mixed-sign costs (refunds) split by each cost centre's exact share.
    directory = tmp_path_factory.mktemp("cat")
    (directory / "cloud.yaml").write_text(textwrap.dedent(PASS_THROUGH))
    catalogue, _ = load_catalogue(directory)
    frame = pl.DataFrame(
        [(dt.date(2024, 5, day), "FIN", cc, "CLOUD", None, Decimal(0), cost, 1) for day, cc, cost in rows],
        schema=list(USAGE_SCHEMA), orient="row",
    ).cast(USAGE_SCHEMA)
    owners = OWNERS + [Ownership(cost_center="CC3", business_line="FIN", effective_from=dt.date(2000, 1, 1), effective_to=None)]
    rated = rate_month(month="2024-05", catalogue=catalogue, subscriptions=[], ownerships=owners, usage=frame)
    for charge in rated.charges:
        assert sum(s.amount for s in charge.cost_centers) == charge.amount
        exact = sum(cost for _, _, cost in rows) * Decimal("1.075")
        assert abs(charge.amount - exact) <= Decimal("0.005")
