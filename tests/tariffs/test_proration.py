"""Proration conventions (docs/pricing.md, "Proration conventions"): the days fraction of a
segment under actual and 30-day months, the end day counted or not, leap February under each;
reading, storing and validating the tariff's ``proration``."""

import dataclasses
import datetime as dt
import textwrap
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing.core.problems import ProblemCode
from tariffs.load import load_catalogue, tariff_version_from_dict, tariff_version_hash, tariff_version_to_dict
from tariffs.model import Proration, ProrationEnd, ProrationMonth
from tariffs.pricing import proration_fraction

ACTUAL = None  # not written: actual days, end inclusive
ACTUAL_EXCLUSIVE = Proration(end=ProrationEnd.EXCLUSIVE)
THIRTY = Proration(month=ProrationMonth.THIRTY_DAY)
THIRTY_EXCLUSIVE = Proration(month=ProrationMonth.THIRTY_DAY, end=ProrationEnd.EXCLUSIVE)
CONVENTIONS = [ACTUAL, Proration(month=ProrationMonth.ACTUAL, end=ProrationEnd.INCLUSIVE), ACTUAL_EXCLUSIVE, THIRTY,
               THIRTY_EXCLUSIVE]


def days(year: int, month: int, first: int, last: int) -> list[dt.date]:
    return [dt.date(year, month, d) for d in range(first, last + 1)]


# ---- the fraction, worked by hand in docs/pricing.md

@pytest.mark.parametrize("proration, leap, common", [
    # from 15 Feb on: 15 days of 29 in 2028, 14 of 28 in 2027
    (ACTUAL, Fraction(15, 29), Fraction(14, 28)),
    (ACTUAL_EXCLUSIVE, Fraction(15, 29), Fraction(14, 28)),  # nothing ends: the same
    # a 30-day February: 15 Feb to its end is 30 - 14 = 16 days either year
    (THIRTY, Fraction(16, 30), Fraction(16, 30)),
    (THIRTY_EXCLUSIVE, Fraction(16, 30), Fraction(16, 30)),
])
def test_a_subscription_from_15_february_in_a_leap_and_a_common_year(proration, leap, common):
    assert proration_fraction(days(2028, 2, 15, 29), proration) == leap
    assert proration_fraction(days(2027, 2, 15, 28), proration) == common


@pytest.mark.parametrize("proration, leap, common", [
    # from 15 Feb to (and ending on) 22 Feb: 8 days, or 7 when the end day does not count
    (ACTUAL, Fraction(8, 29), Fraction(8, 28)),
    (ACTUAL_EXCLUSIVE, Fraction(7, 29), Fraction(7, 28)),
    (THIRTY, Fraction(8, 30), Fraction(8, 30)),
    (THIRTY_EXCLUSIVE, Fraction(7, 30), Fraction(7, 30)),
])
def test_a_subscription_from_15_to_22_february_ending_there(proration, leap, common):
    assert proration_fraction(days(2028, 2, 15, 22), proration, ends=[dt.date(2028, 2, 22)]) == leap
    assert proration_fraction(days(2027, 2, 15, 22), proration, ends=[dt.date(2027, 2, 22)]) == common


def test_the_last_day_of_february_fills_a_30_day_month():
    # the 29th of a leap February weighs 2 days, the 28th of a common one 3
    assert proration_fraction([dt.date(2028, 2, 29)], THIRTY) == Fraction(2, 30)
    assert proration_fraction([dt.date(2027, 2, 28)], THIRTY) == Fraction(3, 30)
    assert proration_fraction([dt.date(2028, 2, 28)], THIRTY) == Fraction(1, 30)
    # ending on it with the end day not counted: 1 to 28 Feb 2028 ending 29 Feb is 28 days
    assert proration_fraction(days(2028, 2, 1, 29), THIRTY_EXCLUSIVE, ends=[dt.date(2028, 2, 29)]) == Fraction(28, 30)
    assert proration_fraction(days(2027, 2, 1, 28), THIRTY_EXCLUSIVE, ends=[dt.date(2027, 2, 28)]) == Fraction(27, 30)
    assert proration_fraction(days(2028, 2, 1, 29), ACTUAL_EXCLUSIVE, ends=[dt.date(2028, 2, 29)]) == Fraction(28, 29)


def test_a_30_day_month_gives_nothing_for_the_31st():
    assert proration_fraction([dt.date(2026, 1, 31)], THIRTY) == 0
    assert proration_fraction([dt.date(2026, 1, 31)], ACTUAL) == Fraction(1, 31)
    # from the 16th of a 31-day month: 15 days of 30 (the 31st adds none), 16 of 31 actual
    assert proration_fraction(days(2026, 1, 16, 31), THIRTY) == Fraction(15, 30)
    assert proration_fraction(days(2026, 1, 16, 31), ACTUAL) == Fraction(16, 31)
    # to the 30th: the whole 30-day month already
    assert proration_fraction(days(2026, 1, 1, 30), THIRTY) == 1
    # a 30-day calendar month is the same either way
    assert proration_fraction(days(2026, 4, 10, 30), THIRTY) == proration_fraction(days(2026, 4, 10, 30)) == Fraction(21, 30)


def test_an_end_day_counts_only_when_the_end_is_exclusive_and_no_day_is_nothing():
    assert proration_fraction(days(2026, 3, 1, 10), ACTUAL, ends=[dt.date(2026, 3, 10)]) == Fraction(10, 31)
    assert proration_fraction([dt.date(2026, 3, 10)], ACTUAL_EXCLUSIVE, ends=[dt.date(2026, 3, 10)]) == 0
    assert proration_fraction([], THIRTY) == 0


def test_days_of_two_months_are_refused():
    with pytest.raises(ValueError, match="one month"):
        proration_fraction([dt.date(2026, 1, 31), dt.date(2026, 2, 1)])


# ---- properties: a month's segments never add up to more than the month; a whole month is 1

@st.composite
def month_in_segments(draw):
    year = draw(st.integers(1900, 2400))
    month = draw(st.integers(1, 12))
    first_next = dt.date(year + month // 12, month % 12 + 1, 1)
    month_days = (first_next - dt.date(year, month, 1)).days
    cuts = sorted(draw(st.sets(st.integers(2, month_days), max_size=6)))
    starts = [1, *cuts]
    stops = [*(c - 1 for c in cuts), month_days]
    segments = [days(year, month, a, b) for a, b in zip(starts, stops)]
    # some segments end (their subscription stops), the others hand over to the next
    ending = draw(st.lists(st.booleans(), min_size=len(segments), max_size=len(segments)))
    return year, month, month_days, segments, ending


@given(month_in_segments(), st.sampled_from(CONVENTIONS))
def test_property_segments_of_a_month_never_exceed_it_and_the_whole_month_is_1(drawn, proration):
    year, month, month_days, segments, ending = drawn
    whole = days(year, month, 1, month_days)
    assert proration_fraction(whole, proration) == 1
    fractions = [proration_fraction(s, proration, ends=[s[-1]] if end else []) for s, end in zip(segments, ending)]
    assert all(0 <= f <= 1 for f in fractions)
    assert sum(fractions) <= 1
    if not any(ending):  # segments handing over day by day cover the month exactly
        assert sum(fractions) == 1
    # any subset of the month's days, however split, is at most the month
    assert sum(proration_fraction(s, proration) for s in segments[::2]) <= 1


# ---- the tariff option: read, stored, validated

TARIFF = """\
units:
  - {code: ticket, name: Tickets}
services:
  - {code: DESK, name: Service desk, unit: ticket, kind: it, owner: IT, default_tier: std,
     tiers: [{code: std, name: Standard, funding_level: standard}]}
tariffs:
  - service: DESK
    version: "1"
    effective_from: 2026-01-01
    effective_to: 2026-12-31
    currency: USD
    tiers:
      std: {model: per_unit, unit_price: "18.75", monthly_fee: "210.00", included_quantity: 10}
  - service: DESK
    version: "2"
    effective_from: 2027-01-01
    currency: USD
PRORATION
    tiers:
      std: {model: per_unit, unit_price: "19.00", monthly_fee: "220.00", included_quantity: 10}
"""
#: The stored hash of TARIFF's version "2" without a proration, as it was before the option existed.
HASH_BEFORE_THE_OPTION = "b49b0c94104cbb1b1721f1221136b5c358b23b1003210f63f775d5bb3f0c1adf"


def load(tmp_path, proration: str = "", replace: dict[str, str] | None = None):
    text = TARIFF.replace("PRORATION\n", proration + ("\n" if proration else ""))
    for old, new in (replace or {}).items():
        text = text.replace(old, new)
    (tmp_path / "desk.yaml").write_text(textwrap.dedent(text), encoding="utf-8")
    return load_catalogue(tmp_path)


def test_proration_is_read_from_the_tariff_version_and_kept_in_the_stored_form(tmp_path):
    catalogue, problems = load(tmp_path, "    proration: {month: thirty_day, end: exclusive}")
    assert problems == []
    tv = catalogue.tariffs[1]
    assert (tv.proration.month, tv.proration.end) == (ProrationMonth.THIRTY_DAY, ProrationEnd.EXCLUSIVE)
    assert tv.proration.source.row == 18
    d = tariff_version_to_dict(tv)
    assert d["proration"] == {"month": "thirty_day", "end": "exclusive"}
    assert tariff_version_from_dict(d) == dataclasses.replace(tv, source=None)
    # one part written, the other left to its default
    half, _ = load(tmp_path, "    proration: {end: exclusive}")
    assert tariff_version_to_dict(half.tariffs[1])["proration"] == {"end": "exclusive"}
    assert half.tariffs[1].proration.exclusive_end and not half.tariffs[1].proration.thirty_day


def test_a_version_without_proration_keeps_its_stored_form_and_hash(tmp_path):
    plain, problems = load(tmp_path)
    assert problems == []
    tv = plain.tariffs[1]
    assert tv.proration is None and "proration" not in tariff_version_to_dict(tv)
    assert tariff_version_hash(tv) == HASH_BEFORE_THE_OPTION
    # written empty, or as the defaults, it prices the same; empty is the same version
    empty, _ = load(tmp_path, "    proration: {}")
    assert empty.tariffs[1].proration is None and tariff_version_hash(empty.tariffs[1]) == HASH_BEFORE_THE_OPTION
    written, _ = load(tmp_path, "    proration: {month: actual, end: inclusive}")
    assert tariff_version_hash(written.tariffs[1]) != HASH_BEFORE_THE_OPTION  # said in so many words: a change


@pytest.mark.parametrize("proration, location, hint", [
    ("    proration: {month: thirty}", "tariffs[1].proration.month", "did you mean 'thirty_day'"),
    ("    proration: {end: exclusiv}", "tariffs[1].proration.end", "did you mean 'exclusive'"),
    ("    proration: {months: thirty_day}", "tariffs[1].proration.months", "month"),
    ("    proration: thirty_day", "tariffs[1].proration", "{"),
])
def test_a_wrong_proration_is_reported_with_file_line_and_hint(tmp_path, proration, location, hint):
    _, problems = load(tmp_path, proration)
    [p] = problems
    assert p.source.location == location, p.render()
    assert p.source.file.endswith("desk.yaml") and p.source.row == 18 and hint in p.hint, p.render()


def test_a_proration_changing_inside_a_month_is_refused(tmp_path):
    from tariffs.validate import validate_catalogue

    catalogue, problems = load(tmp_path, "    proration: {month: thirty_day}",
                               {"2026-12-31": "2027-01-14", "2027-01-01": "2027-01-15"})
    assert problems == []
    [p] = validate_catalogue(catalogue)
    assert (p.code, p.source.location, p.source.row) == (ProblemCode.INCONSISTENT, "tariffs[1].proration", 18), p.render()
    assert "inside a month" in p.message and "effective_from: 2027-02-01" in p.hint
    # from the 1st of a month it may change
    catalogue, _ = load(tmp_path, "    proration: {month: thirty_day}")
    assert validate_catalogue(catalogue) == []
