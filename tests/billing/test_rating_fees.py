"""Quarterly and annual fees (docs/pricing.md, "Quarterly and annual fees"): the period a month
is in, in advance and spread, prorated by the months in force under the tariff's convention,
each a charge line of its own that the invoice, the statement and the journal name with its period."""

import dataclasses
import datetime as dt
import textwrap
from decimal import Decimal
from fractions import Fraction

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from billing.core.money import exact_sum
from billing.core.records import ChargeKind, Ownership, Subscription
from billing.core.periods import add_months
from billing.rating.fees import fee_part, fee_period, parts_of_period
from billing.rating.month import USAGE_SCHEMA, empty_usage, rate_month
from tariffs.load import load_catalogue
from tariffs.model import FeeBilling, FeeEvery, PeriodicFee
from tariffs.validate import validate_catalogue

LICENCE = PeriodicFee(name="Licence", amount=Decimal("300.00"), every=FeeEvery.QUARTERLY, billing=FeeBilling.SPREAD)
MAINTENANCE = PeriodicFee(name="Maintenance", amount=Decimal("1200.00"), every=FeeEvery.ANNUAL)


def test_quarters_and_years_follow_the_fiscal_year_start():
    assert fee_period(FeeEvery.QUARTERLY, "2026-05", 1).months == ("2026-04", "2026-05", "2026-06")
    assert fee_period(FeeEvery.QUARTERLY, "2026-05", 1).name == "Q2 FY2026"
    # a fiscal year from April: April to June is Q1 of FY2027 (named by the year it ends in)
    assert fee_period(FeeEvery.QUARTERLY, "2026-05", 4).months == ("2026-04", "2026-05", "2026-06")
    assert fee_period(FeeEvery.QUARTERLY, "2026-05", 4).name == "Q1 FY2027"
    assert fee_period(FeeEvery.QUARTERLY, "2027-02", 4).months == ("2027-01", "2027-02", "2027-03")
    assert fee_period(FeeEvery.QUARTERLY, "2027-02", 11).months == ("2027-02", "2027-03", "2027-04")

    year = fee_period(FeeEvery.ANNUAL, "2027-02", 4)
    assert (year.first, year.last, year.name) == (dt.date(2026, 4, 1), dt.date(2027, 3, 31), "FY2027")


def test_a_quarterly_fee_spread_over_a_quarter_with_a_mid_quarter_start():
    # 300.00 a quarter, spread; from 15 Feb 2027: January 0, February 14/28, March whole.
    # 300 x (1/2 + 1) / 3 = 150.00 for the quarter: February 50.00, March 100.00.
    period = fee_period(FeeEvery.QUARTERLY, "2027-02", 1)
    fractions = {"2027-02": Fraction(1, 2), "2027-03": Fraction(1)}
    assert fee_part(LICENCE, period, fractions, "2027-01", "USD") is None
    february = fee_part(LICENCE, period, fractions, "2027-02", "USD")
    assert (february.amount, february.period_amount) == (Decimal("50.00"), Decimal("150.00"))
    assert "in force 1.5 of its 3 months" in february.detail and "part 1 of 2" in february.detail
    assert fee_part(LICENCE, period, fractions, "2027-03", "USD").amount == Decimal("100.00")


def test_a_spread_fee_that_does_not_divide_evenly_gives_the_cent_to_the_first_month():
    fee = PeriodicFee(name="Licence", amount=Decimal("100.00"), every=FeeEvery.QUARTERLY, billing=FeeBilling.SPREAD)
    period = fee_period(FeeEvery.QUARTERLY, "2026-01", 1)
    whole = {m: Fraction(1) for m in period.months}
    assert parts_of_period(fee, period, whole, "USD") == [Decimal("33.34"), Decimal("33.33"), Decimal("33.33")]


def test_an_annual_fee_in_advance_falls_in_the_first_month_in_force():
    period = fee_period(FeeEvery.ANNUAL, "2026-04", 4)  # FY2027: April 2026 to March 2027
    whole = {m: Fraction(1) for m in period.months}
    assert fee_part(MAINTENANCE, period, whole, "2026-04", "USD").amount == Decimal("1200.00")
    assert fee_part(MAINTENANCE, period, whole, "2026-05", "USD") is None
    # from 16 October under a 30-day month: October 15/30, November to March whole: 5.5 of 12 months
    late = {"2026-10": Fraction(1, 2), **{add_months("2026-11", i): Fraction(1) for i in range(5)}}
    assert fee_part(MAINTENANCE, period, late, "2026-04", "USD") is None
    october = fee_part(MAINTENANCE, period, late, "2026-10", "USD")
    assert october.amount == Decimal("550.00") and "billed in advance" in october.detail


@settings(max_examples=200, deadline=None)
@given(amount=st.integers(min_value=1, max_value=10**9).map(lambda c: Decimal(c) / 100),
       every=st.sampled_from(list(FeeEvery)),
       shares=st.lists(st.fractions(min_value=0, max_value=1, max_denominator=31), min_size=12, max_size=12),
       currency=st.sampled_from(["USD", "JPY", "BHD"]))
def test_property_spread_parts_sum_to_the_periods_fee_and_a_whole_period_to_the_fee(amount, every, shares, currency):
    fee = PeriodicFee(name="Fee", amount=amount, every=every, billing=FeeBilling.SPREAD)
    ahead = PeriodicFee(name="Fee", amount=amount, every=every)
    period = fee_period(every, "2026-01", 1)
    fractions = dict(zip(period.months, shares))
    parts = parts_of_period(fee, period, fractions, currency)
    in_advance = parts_of_period(ahead, period, fractions, currency)
    assert exact_sum(parts) == exact_sum(in_advance)  # spread or in advance, the period costs the same
    assert all(p >= 0 for p in parts)
    assert all(p == 0 for p, s in zip(parts, shares) if s == 0)  # a month not in force carries nothing
    whole = {m: Fraction(1) for m in period.months}
    from billing.core.money import round_minor
    assert exact_sum(parts_of_period(fee, period, whole, currency)) == round_minor(amount, currency)


CATALOGUE = """\
units:
  - {code: seat, name: Seats}
services:
  - code: LIC
    name: Design software
    unit: seat
    kind: it
    owner: IT
    default_tier: std
    tiers: [{code: std, name: Standard, funding_level: standard}, {code: lite, name: Lite, funding_level: basic}]
tariffs:
  - service: LIC
    version: "1"
    effective_from: 2020-01-01
    currency: USD
    tiers:
      std:
        model: per_unit
        unit_price: "2.00"
        fees:
          - {name: Quarterly licence, amount: "300.00", every: quarterly, billing: spread}
          - {name: Annual maintenance, amount: "1200.00", every: annual}
      lite: {model: per_unit, unit_price: "3.00"}
"""
OWNERS = [Ownership(cost_center=f"CC-{line}", business_line=line, effective_from=dt.date(2000, 1, 1), effective_to=None)
          for line in ("FIN", "HR")]


@pytest.fixture
def fee_catalogue(tmp_path):
    (tmp_path / "lic.yaml").write_text(textwrap.dedent(CATALOGUE), encoding="utf-8")
    loaded, problems = load_catalogue(tmp_path)
    assert problems == [] and validate_catalogue(loaded) == []
    return loaded


def _rate(catalogue, month, subscriptions, usage=None, fiscal_year_start=1):
    return rate_month(month=month, catalogue=catalogue, subscriptions=subscriptions, ownerships=OWNERS,
                      usage=usage if usage is not None else empty_usage(), fiscal_year_start=fiscal_year_start)


def test_fees_are_charge_lines_of_their_own_with_their_period(fee_catalogue):
    subs = [Subscription(business_line="FIN", service="LIC", tier="std", effective_from=dt.date(2027, 2, 15))]
    usage = pl.DataFrame([(dt.date(2027, 2, 20), "FIN", "CC-FIN", "LIC", None, Decimal("10"), Decimal(0), 1)],
                         schema=list(USAGE_SCHEMA), orient="row").cast(USAGE_SCHEMA)
    rated = _rate(fee_catalogue, "2027-02", subs, usage)
    assert rated.problems == ()
    by_kind = {(c.kind, c.label): c for c in rated.charges}
    assert by_kind[(ChargeKind.USAGE, "")].amount == Decimal("20.00")
    licence = by_kind[(ChargeKind.FEE, "Quarterly licence")]
    assert licence.amount == Decimal("50.00")  # 300 x 1.5 / 3 = 150.00 spread 1/2 : 1
    assert (licence.period_from, licence.period_to) == (dt.date(2027, 2, 15), dt.date(2027, 3, 31))
    assert (licence.segment_from, licence.segment_to, licence.days_in_force) == (dt.date(2027, 2, 15), dt.date(2027, 2, 28), 14)
    assert [(s.cost_center, s.amount) for s in licence.cost_centers] == [("CC-FIN", Decimal("50.00"))]
    # the annual fee in advance: 15 Feb to 31 Dec is 1/2 + 10 months of 12: 1,200 x 10.5 / 12 = 1,050.00
    assert by_kind[(ChargeKind.FEE, "Annual maintenance")].amount == Decimal("1050.00")
    march = {c.label: c.amount for c in _rate(fee_catalogue, "2027-03", subs).charges if c.kind is ChargeKind.FEE}
    assert march == {"Quarterly licence": Decimal("100.00")}  # the year's fee was billed in February
    april = {c.label: c.amount for c in _rate(fee_catalogue, "2027-04", subs).charges if c.kind is ChargeKind.FEE}
    assert april == {"Quarterly licence": Decimal("100.00")}  # Q2, whole: 300 / 3


def test_a_subscription_ending_inside_the_period_is_prorated_and_a_fiscal_year_from_april(fee_catalogue):
    subs = [Subscription(business_line="HR", service="LIC", tier="std", effective_from=dt.date(2026, 4, 1),
                         effective_to=dt.date(2026, 9, 30))]
    rated = _rate(fee_catalogue, "2026-04", subs, fiscal_year_start=4)
    fees = {c.label: c for c in rated.charges if c.kind is ChargeKind.FEE}
    assert fees["Annual maintenance"].amount == Decimal("600.00")  # 6 of FY2027's 12 months
    assert "FY2027, 01 Apr 2026–31 Mar 2027, in force 6 of its 12 months" in fees["Annual maintenance"].detail
    assert fees["Quarterly licence"].amount == Decimal("100.00")
    assert not [c for c in _rate(fee_catalogue, "2026-10", subs, fiscal_year_start=4).charges]


def test_a_tier_without_fees_and_usage_without_a_subscription_carry_none(fee_catalogue):
    subs = [Subscription(business_line="FIN", service="LIC", tier="lite", effective_from=dt.date(2026, 1, 1))]
    usage = pl.DataFrame([(dt.date(2026, 1, 5), "HR", "CC-HR", "LIC", None, Decimal("1"), Decimal(0), 1)],
                         schema=list(USAGE_SCHEMA), orient="row").cast(USAGE_SCHEMA)
    rated = _rate(fee_catalogue, "2026-01", subs, usage)
    assert [c.kind for c in rated.charges] == [ChargeKind.USAGE]  # HR's unsubscribed usage, at std, no fee


def test_a_tier_change_inside_the_quarter_prorates_each_tiers_fees(fee_catalogue):
    subs = [Subscription(business_line="FIN", service="LIC", tier="lite", effective_from=dt.date(2026, 1, 1),
                         effective_to=dt.date(2026, 1, 31)),
            Subscription(business_line="FIN", service="LIC", tier="std", effective_from=dt.date(2026, 2, 1))]
    fees = {c.label: c.amount for c in _rate(fee_catalogue, "2026-02", subs).charges if c.kind is ChargeKind.FEE}
    # std from February: the quarter's 2 of 3 months (200.00, spread 100 + 100), the year's 11 of 12 (1,100.00)
    assert fees == {"Quarterly licence": Decimal("100.00"), "Annual maintenance": Decimal("1100.00")}


def test_the_rate_card_line_names_each_fee():
    from dataclasses import replace

    from tariffs.model import PricingModel, TierPrice
    from tariffs.pricing import describe_price

    price = replace(TierPrice(model=PricingModel.PER_UNIT, unit_price=Decimal("2.00")), fees=(LICENCE, MAINTENANCE))
    assert describe_price(price, "seat") == ("2.00 per seat; Licence 300.00 a quarter, spread monthly; "
                                             "Maintenance 1,200.00 a year, in advance")


def test_an_in_advance_fee_is_credited_in_the_month_a_subscription_ends_for_the_months_not_held(fee_catalogue):
    # FIN held std from 1 January 2026 with no end recorded: January billed the year's 1,200.00
    # maintenance in advance. The subscription is then ended on 15 June: June carries a credit of
    # what was billed less what the days held come to, 1,200.00 x (5 + 15/30) / 12 = 550.00:
    # -650.00, a fee line of its own (docs/pricing.md, "Quarterly and annual fees")
    from billing.rating.fees import FeeBilled

    open_ended = [Subscription(business_line="FIN", service="LIC", tier="std", effective_from=dt.date(2026, 1, 1))]
    january = [c for c in _rate(fee_catalogue, "2026-01", open_ended).charges if c.label == "Annual maintenance"]
    assert [c.amount for c in january] == [Decimal("1200.00")]
    billed = tuple(FeeBilled(business_line=c.business_line, service=c.service, tier=c.tier, label=c.label,
                             period_from=c.period_from, amount=c.amount) for c in january)
    ended = [Subscription(business_line="FIN", service="LIC", tier="std", effective_from=dt.date(2026, 1, 1),
                          effective_to=dt.date(2026, 6, 15))]

    def june(fees_billed):
        rated = rate_month(month="2026-06", catalogue=fee_catalogue, subscriptions=ended, ownerships=OWNERS,
                           usage=empty_usage(), fees_billed=fees_billed)
        return {c.label: c for c in rated.charges if c.kind is ChargeKind.FEE}

    credit = june(billed)["Annual maintenance"]
    assert credit.amount == Decimal("-650.00") and credit.cost_centers[0].amount == Decimal("-650.00")
    assert "550 due for the days held to 15 Jun 2026, 1,200 billed: credit -650" in credit.detail
    assert (credit.period_from, credit.period_to) == (dt.date(2026, 1, 1), dt.date(2026, 6, 15))
    # the spread licence is not credited: its later months simply carry nothing
    assert june(billed)["Quarterly licence"].amount > 0
    # billed knowing the end (550.00), or the credit already given: nothing more
    assert "Annual maintenance" not in june([dataclasses.replace(billed[0], amount=Decimal("550.00"))])
    assert "Annual maintenance" not in june([*billed, dataclasses.replace(billed[0], amount=Decimal("-650.00"))])
    # what was billed is not known (not given): nothing is guessed
    assert "Annual maintenance" not in june(())
    # a month after the end carries nothing
    later = rate_month(month="2026-07", catalogue=fee_catalogue, subscriptions=ended, ownerships=OWNERS,
                       usage=empty_usage(), fees_billed=billed)
    assert later.charges == ()
