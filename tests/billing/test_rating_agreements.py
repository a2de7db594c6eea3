"""Commitments and negotiated discounts (docs/pricing.md, "Commitments and negotiated
discounts"): a discount before and after the minimum, a fixed discount larger than the charge,
an amount and a quantity commitment trued-up in the year's last month, a line leaving mid-year."""

import datetime as dt
import textwrap
from decimal import Decimal

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from billing.core.records import ChargeKind, Ownership, Subscription
from billing.rating.agreements import YearToDate, discount_off, true_up_due
from billing.rating.month import USAGE_SCHEMA, empty_usage, rate_month
from tariffs.load import load_catalogue
from tariffs.model import Discount, DiscountApplies
from tariffs.validate import validate_catalogue

TEN_AFTER = Discount(percent=Decimal(10))
TEN_BEFORE = Discount(percent=Decimal(10), applies=DiscountApplies.BEFORE_MINIMUM)


@pytest.mark.parametrize(("usage", "after", "before"), [
    # usage 400.00 under a minimum of 500.00: after, 10 % of 500.00; before, 360.00 is topped up to 500.00
    (Decimal("400.00"), Decimal("-50.00"), Decimal("0")),
    # usage 540.00: after 486.00; before 486.00 is below the minimum, which holds: 500.00
    (Decimal("540.00"), Decimal("-54.00"), Decimal("-40.00")),
    # usage 800.00: 720.00 either way
    (Decimal("800.00"), Decimal("-80.00"), Decimal("-80.00")),
])
def test_a_ten_percent_discount_before_and_after_a_minimum(usage, after, before):
    minimum = Decimal("500.00")
    charge = max(usage, minimum)
    assert discount_off(TEN_AFTER, charge=charge, subtotal=usage, minimum=minimum) == after
    assert discount_off(TEN_BEFORE, charge=charge, subtotal=usage, minimum=minimum) == before


def test_a_fixed_discount_larger_than_the_charge_takes_it_to_zero_and_no_further():
    fifty = Discount(amount=Decimal("50.00"))
    assert discount_off(fifty, charge=Decimal("30.00"), subtotal=Decimal("30.00"), minimum=Decimal(0)) == Decimal("-30.00")
    assert discount_off(fifty, charge=Decimal("80.00"), subtotal=Decimal("80.00"), minimum=Decimal(0)) == Decimal("-50.00")
    assert discount_off(fifty, charge=Decimal("-5.00"), subtotal=Decimal("-5.00"), minimum=Decimal(0)) == 0  # a refund


amounts = st.integers(min_value=-10**6, max_value=10**8).map(lambda c: Decimal(c) / 100)


@settings(max_examples=300, deadline=None)
@given(subtotal=amounts, minimum=amounts.map(abs), percent=st.integers(min_value=1, max_value=100),
       fixed=amounts.map(abs), before=st.booleans(), use_percent=st.booleans())
def test_property_a_discount_never_makes_a_charge_negative_nor_adds_to_it(subtotal, minimum, percent, fixed, before,
                                                                         use_percent):
    discount = Discount(percent=Decimal(percent) if use_percent else None, amount=None if use_percent else fixed,
                        applies=DiscountApplies.BEFORE_MINIMUM if before else None)
    charge = max(subtotal, minimum)
    off = discount_off(discount, charge=charge, subtotal=subtotal, minimum=minimum)
    assert off <= 0
    assert charge <= 0 and off == 0 or charge + off >= 0
    if before and charge > 0:
        assert charge + off >= minimum  # before the minimum, the minimum still holds


@settings(max_examples=300, deadline=None)
@given(committed=amounts.map(abs), year=amounts)
def test_property_a_years_charges_and_true_up_reach_the_commitment_and_equal_it_when_short(committed, year):
    due = true_up_due(committed, year)
    assert due >= 0 and year + due >= committed
    if year < committed:
        assert year + due == committed
    else:
        assert due == 0


CATALOGUE = """\
units:
  - {code: gb, name: GB}
services:
  - code: STORE
    name: Storage
    unit: gb
    kind: it
    owner: IT
    default_tier: std
    tiers: [{code: std, name: Standard, funding_level: standard}]
  - code: VM
    name: VMs
    unit: gb
    kind: it
    owner: IT
    default_tier: gold
    tiers: [{code: gold, name: Gold, funding_level: premium}]
tariffs:
  - service: STORE
    version: "1"
    effective_from: 2020-01-01
    currency: USD
    tiers:
      std: {model: per_unit, unit_price: "1.00", minimum_charge: "500.00"}
  - service: VM
    version: "1"
    effective_from: 2020-01-01
    currency: USD
    tiers:
      gold:
        model: graduated
        bands: [{up_to: 1000, unit_price: "0.15"}, {unit_price: "0.10"}]
agreements:
  - {business_line: FIN, service: STORE, fiscal_year: 2026, commitment: {amount: "12000.00"},
     discount: {percent: 10, applies: before_minimum}}
  - {business_line: FIN, service: VM, fiscal_year: 2026, commitment: {quantity: 5000, tier: gold}}
  - {business_line: HR, service: STORE, fiscal_year: 2026, commitment: {amount: "12000.00"}}
  - {business_line: GHOST, service: STORE, fiscal_year: 2026, discount: {amount: "50.00"}}
"""
OWNERS = [Ownership(cost_center=f"CC-{line}", business_line=line, effective_from=dt.date(2000, 1, 1), effective_to=None)
          for line in ("FIN", "HR")]
SUBS = [Subscription(business_line="FIN", service="STORE", tier="std", effective_from=dt.date(2026, 1, 1)),
        Subscription(business_line="FIN", service="VM", tier="gold", effective_from=dt.date(2026, 1, 1)),
        Subscription(business_line="HR", service="STORE", tier="std", effective_from=dt.date(2026, 1, 1),
                     effective_to=dt.date(2026, 6, 30))]


@pytest.fixture
def catalogue(tmp_path):
    (tmp_path / "c.yaml").write_text(textwrap.dedent(CATALOGUE), encoding="utf-8")
    loaded, problems = load_catalogue(tmp_path)
    assert problems == [] and validate_catalogue(loaded) == []
    return loaded


def _usage(month_day, *rows):
    return pl.DataFrame([(month_day, line, f"CC-{line}", service, None, Decimal(q), Decimal(0), 1) for line, service, q in rows],
                        schema=list(USAGE_SCHEMA), orient="row").cast(USAGE_SCHEMA)


def test_a_discount_is_a_line_of_its_own_each_month_of_its_year(catalogue):
    rated = rate_month(month="2026-03", catalogue=catalogue, subscriptions=SUBS, ownerships=OWNERS,
                       usage=_usage(dt.date(2026, 3, 9), ("FIN", "STORE", "540")), business_lines=frozenset({"FIN", "HR"}))
    lines = {(c.business_line, c.service, c.kind): c for c in rated.charges}
    assert lines[("FIN", "STORE", ChargeKind.USAGE)].amount == Decimal("540.00")
    discount = lines[("FIN", "STORE", ChargeKind.DISCOUNT)]
    assert discount.amount == Decimal("-40.00")  # before the minimum: 486.00 is topped up to 500.00
    assert discount.label == "Negotiated discount 10 %" and "before the minimum" in discount.detail
    assert [(s.cost_center, s.amount) for s in discount.cost_centers] == [("CC-FIN", Decimal("-40.00"))]
    # HR's minimum of 500.00 has no discount; the unknown business line is reported, not charged
    assert ("HR", "STORE", ChargeKind.DISCOUNT) not in lines
    [ghost] = [p for p in rated.problems if "GHOST" in p.message]
    assert ghost.severity.value == "warning" and ghost.hint
    # another fiscal year: no discount
    later = rate_month(month="2027-01", catalogue=catalogue, subscriptions=SUBS, ownerships=OWNERS,
                       usage=_usage(dt.date(2027, 1, 9), ("FIN", "STORE", "540")))
    assert [c.kind for c in later.charges if c.service == "STORE"] == [ChargeKind.USAGE]


def test_an_amount_commitment_is_trued_up_in_the_years_last_month_and_prorated_for_a_line_that_left(catalogue):
    earlier = {("FIN", "STORE"): YearToDate(business_line="FIN", service="STORE", amount=Decimal("9625.00")),
               ("HR", "STORE"): YearToDate(business_line="HR", service="STORE", amount=Decimal("3000.00")),
               ("FIN", "VM"): YearToDate(business_line="FIN", service="VM", quantities=(("gold", Decimal("4000")),))}
    rated = rate_month(month="2026-12", catalogue=catalogue, subscriptions=SUBS, ownerships=OWNERS,
                       usage=_usage(dt.date(2026, 12, 9), ("FIN", "STORE", "900"), ("FIN", "VM", "200")),
                       year_to_date=earlier)
    assert rated.problems == ()
    lines = {(c.business_line, c.service, c.kind): c for c in rated.charges}
    # FIN STORE: 900.00 - 10 % = 810.00 in December; the year 9,625.00 + 810.00 = 10,435.00: true-up 1,565.00
    assert lines[("FIN", "STORE", ChargeKind.DISCOUNT)].amount == Decimal("-90.00")
    true_up = lines[("FIN", "STORE", ChargeKind.TRUE_UP)]
    assert true_up.amount == Decimal("1565.00") and true_up.label == "Commitment true-up FY2026"
    assert (true_up.period_from, true_up.period_to) == (dt.date(2026, 1, 1), dt.date(2026, 12, 31))
    # HR left on 30 June: 181 of 365 days, 12,000.00 x 181/365 = 5,950.68..., the year 3,000.00: 2,950.68
    assert lines[("HR", "STORE", ChargeKind.TRUE_UP)].amount == Decimal("2950.68")
    # FIN VM: 5,000 hours at gold, 4,000 + 200 used: 800 short, valued above the first 1,000: 800 x 0.10
    assert lines[("FIN", "VM", ChargeKind.TRUE_UP)].amount == Decimal("80.00")


def test_a_true_up_waits_for_the_years_earlier_months(catalogue):
    rated = rate_month(month="2026-12", catalogue=catalogue, subscriptions=SUBS, ownerships=OWNERS, usage=empty_usage(),
                       year_to_date={("FIN", "STORE"): YearToDate(business_line="FIN", service="STORE",
                                                                  unrated=("2026-04",))})
    [problem] = [p for p in rated.problems if "FIN" in p.message and "STORE" in p.message]
    assert problem.severity.value == "error" and "2026-04" in problem.message and "month run 2026-04" in problem.hint
    assert not [c for c in rated.charges if c.kind is ChargeKind.TRUE_UP and c.service == "STORE" and c.business_line == "FIN"]


def test_a_met_commitment_gives_no_true_up(catalogue):
    earlier = {("FIN", "STORE"): YearToDate(business_line="FIN", service="STORE", amount=Decimal("11500.00")),
               ("HR", "STORE"): YearToDate(business_line="HR", service="STORE", amount=Decimal("6000.00")),
               ("FIN", "VM"): YearToDate(business_line="FIN", service="VM", quantities=(("gold", Decimal("5000")),))}
    rated = rate_month(month="2026-12", catalogue=catalogue, subscriptions=SUBS, ownerships=OWNERS,
                       usage=_usage(dt.date(2026, 12, 9), ("FIN", "STORE", "600")), year_to_date=earlier)
    assert not [c for c in rated.charges if c.kind is ChargeKind.TRUE_UP]
