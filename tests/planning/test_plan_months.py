"""A planned or forecast year of a service priced as rating prices it: the tier's quarterly and
annual fees when they fall due, the negotiated discount each month and the commitment's
true-up in the fiscal year's last month (docs/planning.md, "What a planned month costs")."""

import datetime as dt
import textwrap
from decimal import Decimal

import polars as pl

from billing.core.money import ZERO
from billing.core.periods import add_months
from billing.core.records import Ownership, Subscription
from billing.planning.plan_months import PlannedMonth, YearSoFar, price_months
from billing.planning.scenarios import VolumeForecast, price_volumes, with_draft_tariffs
from billing.rating.agreements import YearToDate
from billing.rating.month import USAGE_SCHEMA, rate_month
from tariffs.load import load_catalogue
from tariffs.model import Catalogue
from tariffs.validate import validate_catalogue

CATALOGUE = """\
units:
  - {code: gb, name: GB}
services:
  - code: STORE
    name: Storage
    unit: gb
    kind: it
    owner: Infrastructure
    default_tier: std
    tiers:
      - {code: std, name: Standard, funding_level: standard}
      - {code: lite, name: Lite, funding_level: basic}
tariffs:
  - service: STORE
    version: "1"
    effective_from: 2026-01-01
    currency: USD
    tiers:
      std:
        model: graduated
        bands: [{up_to: 1000, unit_price: "1.00"}, {unit_price: "0.50"}]
        minimum_charge: "500.00"
        fees:
          - {name: Backup licence, amount: "1200.00", every: annual, billing: in_advance}
          - {name: Support contract, amount: "300.00", every: quarterly, billing: spread}
      lite: {model: per_unit, unit_price: "0.80"}
agreements:
  - business_line: FIN
    service: STORE
    fiscal_year: 2027
    commitment: {amount: "12000.00"}
    discount: {percent: 10}
"""
YEAR = tuple(f"2027-{m:02d}" for m in range(1, 13))


def _catalogue(tmp_path, text=CATALOGUE):
    (tmp_path / "store.yaml").write_text(textwrap.dedent(text), encoding="utf-8")
    catalogue, problems = load_catalogue(tmp_path)
    assert problems == [] and validate_catalogue(catalogue) == []
    return catalogue


def _planned(catalogue, quantities, months=YEAR, tier="std"):
    version = catalogue.tariffs[0]
    return [PlannedMonth(month=m, version=version, tier=tier, quantity=Decimal(q)) for m, q in zip(months, quantities)]


def test_a_planned_year_carries_its_fees_discount_and_true_up(tmp_path):
    # 400 GB a month: 400.00 topped up to the 500.00 minimum, 10 % off after it (-50.00); the
    # support contract spread 100.00 a month, the licence 1,200.00 in January; the year's
    # 12 x 550.00 + 1,200.00 = 7,800.00 against the 12,000.00 committed: 4,200.00 in December
    catalogue = _catalogue(tmp_path)
    lines = price_months(_planned(catalogue, ["400"] * 12), business_line="FIN", service="STORE", catalogue=catalogue,
                         currency="USD")
    assert [(l.usage, l.fees, l.discount, l.true_up) for l in lines[:2]] == [
        (Decimal("500.00"), Decimal("1300.00"), Decimal("-50.00"), ZERO),
        (Decimal("500.00"), Decimal("100.00"), Decimal("-50.00"), ZERO)]
    assert lines[-1].true_up == Decimal("4200.00")
    assert sum((l.amount for l in lines), ZERO) == Decimal("12000.00")
    # another business line has no agreement: fees only
    other = price_months(_planned(catalogue, ["400"] * 12), business_line="OPS", service="STORE", catalogue=catalogue,
                         currency="USD")
    assert sum((l.amount for l in other), ZERO) == Decimal("8400.00") and not any(l.discount or l.true_up for l in other)


def test_a_planned_year_is_what_rating_the_same_months_gives(tmp_path):
    # the same year rated month by month (one subscription all year, 1,300 GB in each month
    # but 200 in March): every month's lines add up to the planned month's amount
    catalogue = _catalogue(tmp_path)
    quantities = ["1300", "1300", "200"] + ["1300"] * 9
    planned = price_months(_planned(catalogue, quantities), business_line="FIN", service="STORE", catalogue=catalogue,
                           currency="USD")
    subs = [Subscription(business_line="FIN", service="STORE", tier="std", effective_from=dt.date(2026, 1, 1))]
    owners = [Ownership(cost_center="CC", business_line="FIN", effective_from=dt.date(2020, 1, 1), effective_to=None)]
    so_far = ZERO
    for month, quantity, plan in zip(YEAR, quantities, planned):
        usage = pl.DataFrame([(dt.date.fromisoformat(f"{month}-10"), "FIN", "CC", "STORE", None, Decimal(quantity),
                               Decimal(0), 1)], schema=list(USAGE_SCHEMA), orient="row").cast(USAGE_SCHEMA)
        ytd = {("FIN", "STORE"): YearToDate(business_line="FIN", service="STORE", amount=so_far)}
        rated = rate_month(month=month, catalogue=catalogue, subscriptions=subs, ownerships=owners, usage=usage,
                           year_to_date=ytd)
        assert rated.problems == ()
        assert rated.total() == plan.amount, month
        so_far += rated.total()
    assert so_far == sum((p.amount for p in planned), ZERO)


def test_a_forecast_starting_inside_the_year_counts_the_rated_months_and_the_fees_already_billed(tmp_path):
    # a forecast from March: January and February were rated (2,300.00 with the licence); March
    # carries its part of Q1's spread contract, not the licence billed in January
    catalogue = _catalogue(tmp_path)
    lines = price_months(_planned(catalogue, ["400"] * 10, months=YEAR[2:]), business_line="FIN", service="STORE",
                         catalogue=catalogue, currency="USD", year_so_far={2027: YearSoFar(amount=Decimal("2300.00"))})
    assert lines[0].fees == Decimal("100.00")
    assert lines[-1].true_up == Decimal("12000.00") - Decimal("2300.00") - 10 * Decimal("550.00")


def test_a_line_that_leaves_mid_year_commits_its_share_and_a_tier_change_prorates_each_tiers_fees(tmp_path):
    catalogue = _catalogue(tmp_path)
    left = [Subscription(business_line="FIN", service="STORE", tier="std", effective_from=dt.date(2026, 1, 1),
                         effective_to=dt.date(2027, 6, 30))]
    planned = _planned(catalogue, ["400"] * 6) + _planned(catalogue, ["0"] * 6, months=YEAR[6:], tier="lite")
    lines = price_months(planned, business_line="FIN", service="STORE", catalogue=catalogue,
                         currency="USD", subscriptions=left, held=lambda m: m <= "2027-06")
    # months 7-12 are not held: no fees there; the licence is prorated by the months held, in
    # advance: 1,200.00 x 6/12; January 500.00 - 50.00 + 600.00 + 100.00, then 5 x 550.00; the
    # commitment is 12,000.00 x 181/365 = 5,950.684...: 5,950.68 - 3,900.00
    assert [l.amount for l in lines[6:11]] == [ZERO] * 5
    assert lines[0].fees == Decimal("600.00") + Decimal("100.00")
    assert lines[-1].true_up == Decimal("2050.68")
    # std to lite from May (a scenario's move): std's Q2 contract is 1 of its 3 months
    moved = _planned(catalogue, ["400"] * 4) + _planned(catalogue, ["400"] * 8, months=YEAR[4:], tier="lite")
    lines = price_months(moved, business_line="OPS", service="STORE", catalogue=catalogue, currency="USD")
    assert lines[3].fees == Decimal("100.00") and [l.fees for l in lines[4:]] == [ZERO] * 8


def test_forecast_lines_and_scenarios_carry_the_fees_discount_and_true_up(tmp_path):
    catalogue = _catalogue(tmp_path)
    volumes = [VolumeForecast(business_line="FIN", service="STORE", month=m, tier="std", quantity=Decimal(400),
                              low=Decimal(300), high=Decimal(1500), method="trend") for m in YEAR]
    lines, problems = price_volumes(volumes, catalogue)
    assert problems == []
    assert sum((l.amount for l in lines), ZERO) == Decimal("12000.00")
    assert (lines[0].fees, lines[0].discount, lines[-1].true_up) == (Decimal("1300.00"), Decimal("-50.00"), Decimal("4200.00"))
    # the interval's bounds are priced the same way: the high volume (1,500 GB: 1,250.00 - 10 %
    # + 100.00 a month) meets the commitment by itself, so December's lower bound is the high
    # volume's month without a true-up, its upper bound the low volume's with one
    assert lines[1].amount_high == Decimal("1225.00")
    assert (lines[-1].amount_low, lines[-1].amount_high) == (Decimal("1225.00"), Decimal("4750.00"))
    # a draft's agreements replace the catalogue's for their year
    draft = Catalogue(units=(), services=(), tariffs=(),
                      agreements=tuple(a.__class__(**{**{f: getattr(a, f) for f in a.__slots__}, "discount": None})
                                       for a in catalogue.agreements))
    lines, _ = price_volumes(volumes, with_draft_tariffs(catalogue, draft))
    assert not any(l.discount for l in lines) and lines[-1].true_up == Decimal("12000.00") - 12 * 500 - 1200 - 1200


def test_a_commitment_by_quantity_values_the_shortfall_at_the_tiers_next_units(tmp_path):
    text = CATALOGUE.replace('commitment: {amount: "12000.00"}', "commitment: {quantity: 15000, tier: std}")
    catalogue = _catalogue(tmp_path, text)
    lines = price_months(_planned(catalogue, ["1000"] * 12), business_line="FIN", service="STORE", catalogue=catalogue,
                         currency="USD")
    # 12,000 GB planned against 15,000: the 3,000 next GB above 12,000 in a month's bands at 0.50
    assert lines[-1].true_up == Decimal("1500.00")
    assert add_months(YEAR[0], 11) == lines[-1].month
