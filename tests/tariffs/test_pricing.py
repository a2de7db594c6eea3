"""Pricing rules, each with the worked example from docs/pricing.md."""

import calendar
import dataclasses
import datetime as dt
import random
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing.core.money import round_minor
from tariffs.load import load_catalogue
from tariffs.model import Band, BandEdges, CreditBand, FeeAtZero, Metric, PricingModel, ServiceLevel, TierPrice
from tariffs.pricing import describe_price, price_usage, segment_fraction, service_credit

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "tariffs"


def D(text: str) -> Decimal:
    return Decimal(text)


def graduated(*bands: tuple, **parts) -> TierPrice:
    return TierPrice(model=PricingModel.GRADUATED, bands=tuple(_band(*b) for b in bands), **parts)


def volume(*bands: tuple, **parts) -> TierPrice:
    return TierPrice(model=PricingModel.VOLUME, bands=tuple(_band(*b) for b in bands), **parts)


def _band(up_to, unit_price, flat_fee="0") -> Band:
    return Band(up_to=None if up_to is None else D(str(up_to)), unit_price=D(unit_price), flat_fee=D(flat_fee))


# The card used in the docs: up to 250 at 0.12, everything above at 0.10.
CARD = graduated((250, "0.12"), (None, "0.10"))


# --------------------------------------------------------------------------- bands


def test_graduated_band_edge_inclusive():
    # 250 units: all in band 1 (the edge is inclusive): 250 x 0.12 = 30.00
    assert price_usage(CARD, D("250")).amount == D("30.00")
    # 251 units: 250 x 0.12 + 1 x 0.10 = 30.10
    assert price_usage(CARD, D("251")).amount == D("30.10")


def test_graduated_each_band_its_own_rate():
    # 330 units: 250 x 0.12 = 30.00, then 80 x 0.10 = 8.00, total 38.00
    b = price_usage(CARD, D("330"))
    assert b.amount == D("38.00")
    assert [(u.band_index, u.quantity, u.amount) for u in b.bands] == [(0, D("250"), D("30.00")), (1, D("80"), D("8.00"))]
    assert b.detail == "250 @ 0.12 + 80 @ 0.10"


def test_graduated_flat_fee_when_band_entered():
    price = graduated((100, "1.00", "5.00"), (200, "0.50", "10.00"), (None, "0.25", "20.00"))
    # 150 units: band 1 100 x 1.00 + 5.00 = 105.00; band 2 50 x 0.50 + 10.00 = 35.00; band 3 not entered
    assert price_usage(price, D("150")).amount == D("140.00")
    # 100 units: band 2 starts above 100, so it is not entered and adds no fee: 105.00
    assert price_usage(price, D("100")).amount == D("105.00")
    # nothing used: no band entered, no fee
    assert price_usage(price, D("0")).amount == 0
    assert price_usage(price, D("150")).detail == "100 @ 1.00 + flat 5.00 + 50 @ 0.50 + flat 10.00"


def test_volume_all_units_at_the_band_reached():
    price = volume((1000, "0.30", "20.00"), (10000, "0.26", "40.00"), (None, "0.22", "80.00"))
    # 1,000 GB: band 1 (edge inclusive): 1,000 x 0.30 + 20.00 = 320.00
    assert price_usage(price, D("1000")).amount == D("320.00")
    # 1,200 GB: band 2 for every GB: 1,200 x 0.26 + 40.00 = 352.00
    b = price_usage(price, D("1200"))
    assert b.amount == D("352.00")
    assert b.detail == "1,200 @ 0.26 + flat 40.00"
    # 20,000 GB: 20,000 x 0.22 + 80.00 = 4,480.00
    assert price_usage(price, D("20000")).amount == D("4480.00")


def test_volume_zero_quantity_no_flat_fee():
    price = volume((1000, "0.30", "20.00"), (None, "0.22", "80.00"))
    b = price_usage(price, D("0"))
    assert (b.amount, b.bands, b.detail) == (0, (), "nothing billable")


def test_bands_priced_in_edge_order_whatever_the_written_order():
    written = graduated((None, "0.10"), (1000, "0.08"), (250, "0.12"))
    in_order = graduated((250, "0.12"), (1000, "0.08"), (None, "0.10"))
    # 1,200 units: 250 x 0.12 + 750 x 0.08 + 200 x 0.10 = 30 + 60 + 20 = 110.00
    assert price_usage(written, D("1200")).amount == price_usage(in_order, D("1200")).amount == D("110.00")


def test_quantity_above_last_band_refused():
    # a tariff that did not pass validation (no open-ended band) cannot price 300
    with pytest.raises(ValueError, match="above the last band"):
        price_usage(graduated((250, "0.12")), D("300"))
    with pytest.raises(ValueError, match="above the last band"):
        price_usage(volume((250, "0.12")), D("300"))


# --------------------------------------------------------------------------- models


def test_per_unit():
    # 330 x 0.09 = 29.70
    b = price_usage(TierPrice(model=PricingModel.PER_UNIT, unit_price=D("0.09")), D("330"))
    assert (b.amount, b.detail) == (D("29.70"), "330 @ 0.09")


def test_package_started_block_counts_whole():
    price = TierPrice(model=PricingModel.PACKAGE, block_size=D("100"), block_price=D("7.00"))
    # 250 units need 3 blocks of 100: 3 x 7.00 = 21.00
    b = price_usage(price, D("250"))
    assert (b.amount, b.detail) == (D("21.00"), "3 blocks of 100 @ 7.00")
    assert price_usage(price, D("300")).amount == D("21.00")  # exactly 3 blocks
    assert price_usage(price, D("300.5")).amount == D("28.00")  # a 4th block started
    assert price_usage(price, D("0")).amount == 0


def test_pass_through_markup():
    price = TierPrice(model=PricingModel.PASS_THROUGH, markup_pct=D("8"))
    # 1,234.56 x 1.08 = 1,333.3248 (exact; rounded only on the invoice line, to 1,333.32)
    b = price_usage(price, D("1234.56"), cost=D("1234.56"))
    assert (b.amount, b.cost, b.detail) == (D("1333.3248"), D("1234.56"), "cost 1,234.56 + 8% markup")
    assert round_minor(b.amount, "USD") == D("1333.32")


def test_pass_through_refund_is_negative_and_minimum_does_not_apply():
    price = TierPrice(model=PricingModel.PASS_THROUGH, markup_pct=D("8"), minimum_charge=D("100.00"))
    # refund of 200.00: -200.00 x 1.08 = -216.00; no top-up to the 100.00 minimum
    b = price_usage(price, D("-200"), cost=D("-200.00"))
    assert (b.amount, b.minimum_topup) == (D("-216.00"), 0)
    # a positive cost below the minimum is topped up: 50.00 x 1.08 = 54.00 -> 100.00
    b = price_usage(price, D("50"), cost=D("50.00"))
    assert (b.amount, b.minimum_topup) == (D("100.00"), D("46.00"))


def test_pass_through_discount_and_at_cost_details():
    assert price_usage(TierPrice(model=PricingModel.PASS_THROUGH, markup_pct=D("-5")), D("0"),
                       cost=D("100")).detail == "cost 100.00 - 5% discount"
    assert price_usage(TierPrice(model=PricingModel.PASS_THROUGH, markup_pct=D("0")), D("0"),
                       cost=D("100")).amount == D("100")


def test_fixed_charges_monthly_fee_only():
    price = TierPrice(model=PricingModel.FIXED, monthly_fee=D("3000.00"))
    # 7 sites or none: 3,000.00
    assert price_usage(price, D("7")).amount == price_usage(price, D("0")).amount == D("3000.00")
    assert price_usage(price, D("7")).detail == "monthly fee only"


# --------------------------------------------------------------------------- price parts


DESK_SILVER = TierPrice(model=PricingModel.PER_UNIT, unit_price=D("18.00"), included_quantity=D("10"),
                        monthly_fee=D("200.00"))


def test_included_quantity_taken_off_first():
    # 40 tickets - 10 included = 30 x 18.00 = 540.00, plus 200.00 fee = 740.00
    b = price_usage(DESK_SILVER, D("40"))
    assert (b.included, b.billable, b.usage_amount, b.amount) == (D("10"), D("30"), D("540.00"), D("740.00"))
    # 5 tickets, all included: only the fee
    assert price_usage(DESK_SILVER, D("5")).amount == D("200.00")


def test_included_quantity_before_bands():
    price = graduated((250, "0.12"), (None, "0.10"), included_quantity=D("10"))
    # 260 used - 10 included = 250 billable, all in band 1: 30.00
    assert price_usage(price, D("260")).amount == D("30.00")


def test_monthly_fee_added():
    price = graduated((250, "0.12"), (None, "0.10"), monthly_fee=D("50.00"))
    # 330 units: 38.00 + 50.00 = 88.00
    b = price_usage(price, D("330"))
    assert (b.usage_amount, b.monthly_fee, b.amount) == (D("38.00"), D("50.00"), D("88.00"))


def test_minimum_charge_is_a_floor():
    price = TierPrice(model=PricingModel.PER_UNIT, unit_price=D("37.50"), minimum_charge=D("560.00"))
    # 12 users x 37.50 = 450.00 < 560.00: charge 560.00, top-up 110.00
    b = price_usage(price, D("12"))
    assert (b.usage_amount, b.minimum_topup, b.amount) == (D("450.00"), D("110.00"), D("560.00"))
    # 20 users x 37.50 = 750.00 > 560.00: no top-up
    assert price_usage(price, D("20")).minimum_topup == 0


def test_negative_quantity_bills_nothing():
    # corrections larger than the month's usage: nothing to charge, the fee still applies
    b = price_usage(DESK_SILVER, D("-5"))
    assert (b.billable, b.usage_amount, b.amount) == (0, 0, D("200.00"))


def test_float_quantity_refused():
    with pytest.raises(TypeError):
        price_usage(DESK_SILVER, 0.1)


# --------------------------------------------------------------------------- proration and segments


def test_prorate_fee_included_minimum_not_band_edges():
    price = graduated((250, "0.12"), (None, "0.10"), monthly_fee=D("50.00"), included_quantity=D("10"),
                      minimum_charge=D("100.00"))
    # half a month: fee 25.00, included 5, minimum 50.00; the band edge stays at 250
    # 255 - 5 = 250 billable, all in band 1: 30.00; 30.00 + 25.00 = 55.00 >= 50.00
    b = price_usage(price, D("255"), fraction=segment_fraction(15, 30))
    assert (b.monthly_fee, b.included, b.billable, b.amount) == (D("25.00"), D("5"), D("250"), D("55.00"))


def test_mid_month_tier_change_is_priced_per_segment():
    # April (30 days): silver on days 1-10 (10/30 = 1/3), gold on days 11-30 (20/30 = 2/3)
    silver = TierPrice(model=PricingModel.PER_UNIT, unit_price=D("2.00"), included_quantity=D("30"),
                       monthly_fee=D("300.00"))
    gold = TierPrice(model=PricingModel.PER_UNIT, unit_price=D("3.00"), included_quantity=D("60"),
                     monthly_fee=D("600.00"))
    assert calendar.monthrange(2026, 4)[1] == 30
    # silver: included 30 x 1/3 = 10; 40 used - 10 = 30 x 2.00 = 60.00; fee 300.00 x 1/3 = 100.00 -> 160.00
    first = price_usage(silver, D("40"), fraction=Fraction(10, 30))
    # gold: included 60 x 2/3 = 40; 100 used - 40 = 60 x 3.00 = 180.00; fee 600.00 x 2/3 = 400.00 -> 580.00
    second = price_usage(gold, D("100"), fraction=Fraction(20, 30))
    assert (first.amount, second.amount) == (D("160.00"), D("580.00"))
    assert round_minor(first.amount, "USD") + round_minor(second.amount, "USD") == D("740.00")


def test_bands_apply_to_each_segments_own_quantity():
    # 200 units before a tariff change and 200 after: each segment is priced from band 1,
    # 200 x 0.12 + 200 x 0.12 = 48.00 (not 250 x 0.12 + 150 x 0.10 = 45.00 for the month as one)
    before = price_usage(CARD, D("200"), fraction=Fraction(15, 31))
    after = price_usage(CARD, D("200"), fraction=Fraction(16, 31))
    assert before.amount + after.amount == D("48.00")


def test_leap_february_has_29_days():
    # February 2028 has 29 days; a tier in force on days 1-10 has 10/29 of the monthly fee:
    # 290.00 x 10/29 = 100.00
    days = calendar.monthrange(2028, 2)[1]
    assert days == 29
    price = TierPrice(model=PricingModel.FIXED, monthly_fee=D("290.00"))
    assert price_usage(price, D("0"), fraction=Fraction(10, days)).amount == D("100")
    # with the Decimal share (50 significant digits) the exact amount is 99.999...96, which
    # rounds to 100.00 on the invoice line
    inexact = price_usage(price, D("0"), fraction=segment_fraction(10, days)).amount
    assert inexact != 100 and round_minor(inexact, "USD") == D("100.00")


def test_detail_shows_a_long_prorated_quantity_to_six_decimals():
    # 17 of 31 days: included 10 x 17/31 = 5.4838709677...; 40 - 5.48387... = 34.516129...
    b = price_usage(DESK_SILVER, D("40"), fraction=Fraction(17, 31))
    assert b.detail == "≈34.516129 @ 18.00"
    assert len(b.billable.as_tuple().digits) > 40  # the figures keep every digit; only the text is shortened


def test_segment_fraction_precision():
    third = segment_fraction(1, 3)
    assert len(third.as_tuple().digits) == 50
    assert segment_fraction(31, 31) == 1 and segment_fraction(0, 31) == 0
    assert segment_fraction(15, 30) == D("0.5")
    with pytest.raises(ValueError):
        segment_fraction(32, 31)


def test_fraction_keeps_ties_exact():
    # 0.21 x 2/28 = 0.015 exactly, a tie that rounds half-up to 0.02
    price = TierPrice(model=PricingModel.FIXED, monthly_fee=D("0.21"))
    exact = price_usage(price, D("0"), fraction=Fraction(2, 28)).amount
    assert exact == D("0.015") and round_minor(exact, "USD") == D("0.02")


# --------------------------------------------------------------------------- rounding and dates


def test_rounding_half_up_ties_away_from_zero():
    assert round_minor(D("0.025"), "USD") == D("0.03")
    assert round_minor(D("-0.025"), "USD") == D("-0.03")
    assert round_minor(D("1333.3248"), "USD") == D("1333.32")


def test_totals_are_sums_of_rounded_lines():
    # three lines of 100.00 x 1/3 = 33.333...: each line 33.33, the total 99.99
    price = TierPrice(model=PricingModel.FIXED, monthly_fee=D("100.00"))
    lines = [round_minor(price_usage(price, D("0"), fraction=Fraction(1, 3)).amount, "USD") for _ in range(3)]
    assert lines == [D("33.33")] * 3 and sum(lines) == D("99.99")


def test_effective_dates_both_ends_inclusive():
    catalogue, _ = load_catalogue(EXAMPLES)
    assert catalogue.tariff_at("VM", dt.date(2024, 1, 1)).version == "2024.1"
    assert catalogue.tariff_at("VM", dt.date(2025, 12, 31)).version == "2024.1"
    assert catalogue.tariff_at("VM", dt.date(2026, 1, 1)).version == "2026.1"
    assert catalogue.tariff_at("VM", dt.date(2099, 6, 30)).version == "2026.1"  # open-ended
    assert catalogue.tariff_at("VM", dt.date(2023, 12, 31)) is None


# --------------------------------------------------------------------------- service credits

GOLD = ServiceLevel(availability_pct=D("99.95"), response_minutes=D("15"), restore_hours=D("4"))
CREDITS = TierPrice(
    model=PricingModel.PER_UNIT,
    unit_price=D("1"),
    service_credits=(
        (Metric.AVAILABILITY_PCT, (CreditBand(shortfall_up_to=D("0.5"), credit_pct=D("10")),
                                   CreditBand(shortfall_up_to=None, credit_pct=D("25")))),
        (Metric.RESPONSE_MINUTES, (CreditBand(shortfall_up_to=D("15"), credit_pct=D("5")),
                                   CreditBand(shortfall_up_to=None, credit_pct=D("15")))),
    ),
)


def test_credit_availability_shortfall_in_points():
    # target 99.95 %, achieved 99.60 %: shortfall 0.35 points, within the first band: 10 %
    a = service_credit(CREDITS, GOLD, {Metric.AVAILABILITY_PCT: D("99.60")})
    assert (a.credit_pct, a.metric, a.shortfall) == (D("10"), Metric.AVAILABILITY_PCT, D("0.35"))


def test_credit_band_edge_inclusive():
    # shortfall exactly 0.5 points: first band (inclusive), 10 %; 0.51 points: 25 %
    assert service_credit(CREDITS, GOLD, {Metric.AVAILABILITY_PCT: D("99.45")}).credit_pct == D("10")
    assert service_credit(CREDITS, GOLD, {Metric.AVAILABILITY_PCT: D("99.44")}).credit_pct == D("25")


def test_credit_response_shortfall_is_achieved_minus_target():
    # target 15 minutes, achieved 45: shortfall 30 minutes, beyond 15: 15 %
    a = service_credit(CREDITS, GOLD, {Metric.RESPONSE_MINUTES: D("45")})
    assert (a.credit_pct, a.shortfall) == (D("15"), D("30"))


def test_credit_target_met_gives_nothing():
    # availability 99.95 exactly (shortfall 0) and response 10 minutes (shortfall -5): no credit
    a = service_credit(CREDITS, GOLD, {Metric.AVAILABILITY_PCT: D("99.95"), Metric.RESPONSE_MINUTES: D("10")})
    assert (a.credit_pct, a.metric) == (0, None)
    assert [r.shortfall for r in a.results] == [D("0"), D("-5")]


def test_credit_no_target_or_no_measurement_gives_nothing():
    no_target = ServiceLevel(response_minutes=D("15"))
    a = service_credit(CREDITS, no_target, {Metric.AVAILABILITY_PCT: D("90")})
    assert a.credit_pct == 0 and a.results[0].shortfall is None
    assert service_credit(CREDITS, GOLD, {}).credit_pct == 0


def test_credit_largest_applies_credits_do_not_stack():
    # availability missed by 0.35 (10 %) and response by 30 minutes (15 %): 15 %, not 25 %
    a = service_credit(CREDITS, GOLD, {Metric.AVAILABILITY_PCT: D("99.60"), Metric.RESPONSE_MINUTES: D("45")})
    assert (a.credit_pct, a.metric) == (D("15"), Metric.RESPONSE_MINUTES)


def test_credit_capped_at_100():
    price = TierPrice(model=PricingModel.FIXED, service_credits=(
        (Metric.RESTORE_HOURS, (CreditBand(shortfall_up_to=None, credit_pct=D("150")),)),))
    assert service_credit(price, GOLD, {Metric.RESTORE_HOURS: D("10")}).credit_pct == D("100")


def test_credit_past_a_closed_last_band_gets_the_last_bands_credit():
    price = TierPrice(model=PricingModel.FIXED, service_credits=(
        (Metric.RESTORE_HOURS, (CreditBand(shortfall_up_to=D("2"), credit_pct=D("5")),
                                CreditBand(shortfall_up_to=D("4"), credit_pct=D("10")))),))
    # target 4 h, restored in 20 h: shortfall 16 h, past the last band (4): 10 %
    assert service_credit(price, GOLD, {Metric.RESTORE_HOURS: D("20")}).credit_pct == D("10")


def test_describe_price():
    assert describe_price(CARD, "vm-hour") == "graduated: first 250 @ 0.12, above 250 @ 0.10 per vm-hour"
    assert describe_price(DESK_SILVER, "ticket") == "18.00 per ticket; monthly fee 200.00; 10 ticket included"


# --------------------------------------------------------------------------- band options

BLOCKS = D("100")
EXCLUSIVE = BandEdges.EXCLUSIVE
CHARGED = FeeAtZero.CHARGED


def test_graduated_bands_in_blocks_charge_a_started_block_whole():
    # blocks of 100 GB; bands <= 1,000 at 0.12 + 5.00, above at 0.10: 1,250 GB is 13 blocks,
    # 10 in band 1 (1,000 x 0.12 + 5.00 = 125.00) and 3 in band 2 (300 x 0.10 = 30.00): 155.00
    price = graduated((1000, "0.12", "5.00"), (None, "0.10"), block_size=BLOCKS)
    b = price_usage(price, D("1250"))
    assert b.amount == D("155.00") and b.billable == D("1250")
    assert [(u.blocks, u.quantity, u.amount) for u in b.bands] == [(10, D("1000"), D("125.00")), (3, D("300"), D("30.00"))]
    assert b.detail == "1,250 as 13 blocks of 100: 10 blocks @ 12.00 + flat 5.00 + 3 blocks @ 10.00"
    # 1,200 GB is exactly 12 blocks: no block is started; 1,200.5 starts the 13th
    assert price_usage(price, D("1200")).amount == D("145.00")
    assert price_usage(price, D("1200.5")).amount == D("155.00")
    # the included quantity comes off before the blocks are counted: 1,250 - 60 = 1,190 -> 12 blocks
    assert price_usage(graduated((1000, "0.12", "5.00"), (None, "0.10"), block_size=BLOCKS,
                                 included_quantity=D("60")), D("1250")).amount == D("145.00")


def test_volume_bands_in_blocks_charge_every_block_at_the_band_reached():
    # blocks of 100 GB; bands <= 1,000 at 0.23, <= 10,000 at 0.20, above at 0.17:
    # 1,250 GB is 13 blocks, all in band 2: 1,300 x 0.20 = 260.00; 950 GB is 10 blocks in band 1
    price = volume((1000, "0.23"), (10000, "0.20"), (None, "0.17"), block_size=BLOCKS)
    b = price_usage(price, D("1250"))
    assert (b.amount, b.detail) == (D("260.00"), "1,250 as 13 blocks of 100: 13 blocks @ 20.00")
    assert price_usage(price, D("950")).amount == D("230.00")  # 10 blocks x 23.00
    assert price_usage(price, D("1")).detail == "1 as 1 block of 100: 1 block @ 23.00"
    assert price_usage(price, D("0")).amount == 0


def test_exclusive_edge_puts_a_quantity_on_the_edge_in_the_band_above():
    # CloudKitty-style thresholds: bands < 10 at 710.00, < 50 at 680.00, from 50 at 650.00
    fleet = volume((10, "710.00"), (50, "680.00"), (None, "650.00"), band_edges=EXCLUSIVE)
    assert price_usage(fleet, D("10")).amount == D("6800.00")  # 10 x 680.00 (inclusive: 10 x 710.00)
    assert price_usage(fleet, D("9")).amount == D("6390.00")
    assert price_usage(fleet, D("50")).amount == D("32500.00")
    assert price_usage(fleet, D("10")).detail == "10 @ 680.00 (10 is on a band edge, priced in the band above: edges exclusive)"
    inclusive = volume((10, "710.00"), (50, "680.00"), (None, "650.00"))
    assert price_usage(inclusive, D("10")).amount == D("7100.00")


def test_exclusive_edge_enters_the_next_graduated_band_at_the_edge():
    # bands <= 100 at 1.00 + 5.00, <= 200 at 0.50 + 10.00, above at 0.25 + 20.00, 100 units:
    # inclusive: band 2 is not entered, 105.00; exclusive: 100 reaches band 2, whose flat fee is due: 115.00
    bands = ((100, "1.00", "5.00"), (200, "0.50", "10.00"), (None, "0.25", "20.00"))
    assert price_usage(graduated(*bands), D("100")).amount == D("105.00")
    b = price_usage(graduated(*bands, band_edges=EXCLUSIVE), D("100"))
    assert b.amount == D("115.00")
    assert [(u.band_index, u.quantity) for u in b.bands] == [(0, D("100")), (1, D("0"))]
    # off the edges both conventions agree
    for q in ("0", "99.5", "150", "200.01", "1000"):
        assert price_usage(graduated(*bands, band_edges=EXCLUSIVE), D(q)).amount == price_usage(graduated(*bands), D(q)).amount


def test_flat_fee_at_zero_charges_the_first_bands_fee_when_nothing_is_billable():
    # VM gold: bands <= 1,000 at 0.146 + 26.00, above at 0.104; no usage in the month
    bands = ((1000, "0.146", "26.00"), (None, "0.104"))
    assert price_usage(graduated(*bands), D("0")).amount == 0  # today's default: no band entered
    b = price_usage(graduated(*bands, flat_fee_at_zero=CHARGED, monthly_fee=D("156.00")), D("0"))
    assert (b.usage_amount, b.amount) == (D("26.00"), D("182.00"))
    assert b.detail == "nothing billable: the first band's flat fee 26.00, charged at zero usage"
    # usage within the included quantity, or a negative month, is nothing billable too
    assert price_usage(graduated(*bands, flat_fee_at_zero=CHARGED, included_quantity=D("10")), D("4")).amount == D("26.00")
    assert price_usage(graduated(*bands, flat_fee_at_zero=CHARGED), D("-3")).amount == D("26.00")
    # with usage nothing changes: 10 h = 1.46 + 26.00
    assert price_usage(graduated(*bands, flat_fee_at_zero=CHARGED), D("10")).amount == D("27.46")
    # volume: the first band's fee at zero, the band reached's fee otherwise
    storage = volume((1000, "0.31", "21.00"), (10000, "0.27", "42.00"), (None, "0.23", "84.00"), flat_fee_at_zero=CHARGED)
    assert price_usage(storage, D("0")).amount == D("21.00")
    assert price_usage(storage, D("1200")).amount == D("366.00")
    # the fee is the band's, not the month's: it is not prorated (a monthly fee is)
    assert price_usage(graduated(*bands, flat_fee_at_zero=CHARGED), D("0"), fraction=Fraction(10, 30)).amount == D("26.00")


def test_band_options_on_the_rate_card_line():
    price = graduated((1000, "0.12", "5.00"), (None, "0.10"), block_size=BLOCKS, flat_fee_at_zero=CHARGED)
    assert describe_price(price, "gb") == ("graduated: first 1,000 @ 0.12 (+ 5.00 once entered), above 1,000 @ 0.10 per gb; "
                                           "in started blocks of 100 gb; first band's flat fee 5.00 charged at zero usage")
    fleet = volume((10, "710.00"), (None, "650.00"), band_edges=EXCLUSIVE)
    assert describe_price(fleet, "vehicle") == "volume (below 10: all @ 710.00; from 10: all @ 650.00) per vehicle"


def test_a_band_edge_between_blocks_has_no_price():
    with pytest.raises(ValueError, match="250 is not a whole number of blocks of 100"):
        price_usage(graduated((250, "0.12"), (None, "0.10"), block_size=BLOCKS), D("10"))


# --------------------------------------------------------------------------- properties

prices = st.decimals(min_value=0, max_value=100, places=3)
quantities = st.decimals(min_value=0, max_value=50_000, places=2)


@st.composite
def band_lists(draw) -> tuple[Band, ...]:
    edges = sorted(draw(st.sets(st.integers(min_value=1, max_value=20_000), max_size=4)))
    bands = [Band(up_to=Decimal(e), unit_price=draw(prices), flat_fee=draw(prices)) for e in edges]
    return tuple(bands + [Band(up_to=None, unit_price=draw(prices), flat_fee=draw(prices))])


@given(band_lists(), quantities, quantities)
def test_property_graduated_never_decreases(bands, q1, q2):
    price = TierPrice(model=PricingModel.GRADUATED, bands=bands)
    low, high = sorted((q1, q2))
    assert price_usage(price, low).amount <= price_usage(price, high).amount


@given(st.sampled_from(["graduated", "per_unit", "package"]), band_lists(), prices, quantities, quantities)
def test_property_included_never_increases_charge(model, bands, unit_price, quantity, included):
    # (not for volume: fewer billable units can fall in a dearer band; see docs/pricing.md)
    parts = {
        "graduated": {"bands": bands},
        "per_unit": {"unit_price": unit_price},
        "package": {"block_size": Decimal(10), "block_price": unit_price},
    }[model]
    without = TierPrice(model=PricingModel(model), **parts)
    with_included = TierPrice(model=PricingModel(model), included_quantity=included, **parts)
    assert price_usage(with_included, quantity).amount <= price_usage(without, quantity).amount


@given(band_lists(), quantities, prices, st.integers(min_value=0, max_value=31))
def test_property_minimum_is_a_floor(bands, quantity, minimum, days):
    price = TierPrice(model=PricingModel.VOLUME, bands=bands, minimum_charge=minimum)
    fraction = Fraction(days, 31)
    b = price_usage(price, quantity, fraction=fraction)
    floor = minimum * days / Decimal(31)  # 28 digits here, 50 in pricing: compare with a margin
    assert b.amount >= floor - Decimal("1e-20")
    assert b.amount >= b.usage_amount + b.monthly_fee
    assert b.minimum_topup >= 0


@given(st.integers(min_value=1, max_value=500), prices, st.integers(min_value=0, max_value=100),
       st.decimals(min_value=Decimal("0.01"), max_value=1, places=2))
def test_property_package_is_a_step_function(size, block_price, blocks, step):
    price = TierPrice(model=PricingModel.PACKAGE, block_size=Decimal(size), block_price=block_price)
    edge = Decimal(size * blocks)
    at_edge = price_usage(price, edge).amount
    assert at_edge == blocks * block_price
    inside = edge + Decimal(size) * step  # anywhere in the next block, up to its end
    assert price_usage(price, inside).amount == at_edge + block_price


@given(band_lists(), quantities, st.randoms(use_true_random=False))
def test_property_band_order_does_not_matter(bands, quantity, rnd: random.Random):
    shuffled = list(bands)
    rnd.shuffle(shuffled)
    for model in (PricingModel.GRADUATED, PricingModel.VOLUME):
        written = TierPrice(model=model, bands=tuple(shuffled))
        ordered = TierPrice(model=model, bands=bands)
        assert price_usage(written, quantity) == price_usage(ordered, quantity)


@given(band_lists(), quantities)
def test_property_volume_is_never_negative(bands, quantity):
    assert price_usage(TierPrice(model=PricingModel.VOLUME, bands=bands), quantity).amount >= 0


@st.composite
def blocked_band_lists(draw) -> tuple[Decimal, tuple[Band, ...]]:
    """A block size and bands whose edges are whole numbers of blocks."""
    size = draw(st.sampled_from([Decimal("0.5"), Decimal(1), Decimal(5), Decimal(100), Decimal("2.25")]))
    blocks = sorted(draw(st.sets(st.integers(min_value=1, max_value=400), max_size=4)))
    bands = [Band(up_to=size * b, unit_price=draw(prices), flat_fee=draw(prices)) for b in blocks]
    return size, tuple(bands + [Band(up_to=None, unit_price=draw(prices), flat_fee=draw(prices))])


@given(blocked_band_lists(), quantities, st.sampled_from(list(BandEdges)), st.sampled_from(list(FeeAtZero)),
       st.sampled_from([PricingModel.GRADUATED, PricingModel.VOLUME]))
def test_property_blocks_never_below_the_unblocked_price_and_at_most_one_block_above(sized, quantity, edges, at_zero, model):
    size, bands = sized
    unblocked = TierPrice(model=model, bands=bands, band_edges=edges, flat_fee_at_zero=at_zero)
    blocked = TierPrice(model=model, bands=bands, band_edges=edges, flat_fee_at_zero=at_zero, block_size=size)
    a, b = price_usage(unblocked, quantity), price_usage(blocked, quantity)
    # the same bands are entered, so the same flat fees; the difference is the started block
    assert [u.band_index for u in a.bands] == [u.band_index for u in b.bands]
    last = b.bands[-1] if b.bands else None
    one_block = size * last.unit_price if last else 0
    assert a.amount <= b.amount <= a.amount + one_block
    assert b.amount - a.amount < one_block or one_block == 0
    for use in b.bands:  # every band charges whole blocks
        assert use.blocks * size == use.quantity


@given(band_lists(), st.decimals(min_value=0, max_value=50_000, places=12), st.sampled_from(list(FeeAtZero)))
def test_property_exclusive_edge_is_the_inclusive_price_with_edges_moved_by_the_smallest_step(bands, quantity, at_zero):
    # quantities carry at most 12 decimals (billing/core/limits.py): the smallest step is 1E-12
    step = Decimal("1E-12")
    moved = tuple(Band(up_to=None if b.up_to is None else b.up_to - step, unit_price=b.unit_price, flat_fee=b.flat_fee)
                  for b in bands)
    exclusive = TierPrice(model=PricingModel.VOLUME, bands=bands, band_edges=BandEdges.EXCLUSIVE, flat_fee_at_zero=at_zero)
    inclusive = TierPrice(model=PricingModel.VOLUME, bands=moved, flat_fee_at_zero=at_zero)
    assert price_usage(exclusive, quantity).amount == price_usage(inclusive, quantity).amount
    # graduated: the same bands are entered (the same flat fees); the parts differ by at most the
    # step inside a band, so the amounts by at most step x the largest price
    g_ex = price_usage(dataclasses.replace(exclusive, model=PricingModel.GRADUATED), quantity)
    g_in = price_usage(dataclasses.replace(inclusive, model=PricingModel.GRADUATED), quantity)
    assert [u.band_index for u in g_ex.bands] == [u.band_index for u in g_in.bands]
    assert abs(g_ex.amount - g_in.amount) <= step * max(b.unit_price for b in bands)


@given(blocked_band_lists(), quantities, st.sampled_from(list(BandEdges)), st.sampled_from(list(FeeAtZero)))
def test_property_graduated_bands_sum_to_their_parts_with_every_option(sized, quantity, edges, at_zero):
    size, bands = sized
    for block_size in (None, size):
        price = TierPrice(model=PricingModel.GRADUATED, bands=bands, band_edges=edges, flat_fee_at_zero=at_zero,
                          block_size=block_size)
        b = price_usage(price, quantity)
        assert b.usage_amount == sum((u.quantity * u.unit_price + u.flat_fee for u in b.bands), Decimal(0))
        assert all(u.quantity >= 0 for u in b.bands)
        covered = sum((u.quantity for u in b.bands), Decimal(0))
        assert quantity <= covered < quantity + (block_size or 0) or (quantity == covered)
        # a graduated charge still never falls as the quantity grows
        assert price_usage(price, quantity + size).amount >= b.amount


@given(band_lists(), quantities)
def test_property_fee_at_zero_only_adds_the_first_flat_fee_when_nothing_is_billable(bands, quantity):
    for model in (PricingModel.GRADUATED, PricingModel.VOLUME):
        plain_price = TierPrice(model=model, bands=bands)
        charged = TierPrice(model=model, bands=bands, flat_fee_at_zero=FeeAtZero.CHARGED)
        extra = bands[0].flat_fee if quantity == 0 else 0
        assert price_usage(charged, quantity).amount == price_usage(plain_price, quantity).amount + extra
