"""The vectorised parsers: numbers, dates and timestamps from text."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from billing.feeds.values import date_column, round_excess_decimals, utc_date_column, with_decimal


def parse_numbers(values: list[str | None]) -> list[tuple]:
    frame = with_decimal(pl.DataFrame({"t": values}, schema={"t": pl.String}), "t", prefix="n")
    return frame.select("n_number", "n_decimals", "n").rows()


def test_digits_are_ascii_digits():
    rows = parse_numbers(["\u0663", "1\u0660"])  # Arabic-Indic three, and ten
    assert [(number, value) for number, _, value in rows] == [(False, None)] * 2


def test_huge_exponents_are_numbers_too_large_to_keep():
    assert parse_numbers(["1E1000000", "1e-1000000"]) == [(True, 0, None), (True, 1000000, None)]


def test_zero_has_no_decimals_however_it_is_written():
    assert parse_numbers(["0E-2", "0.000e-20", "-0e5", "0.0"]) == [(True, 0, Decimal(0))] * 4


def test_numbers():
    assert parse_numbers(["1.5", "-0.000000000001", "+3", ".5", "5.", "1.5E-3", "100E-14", "1.50000000000000"]) == [
        (True, 1, Decimal("1.5")), (True, 12, Decimal("-1e-12")), (True, 0, Decimal(3)), (True, 1, Decimal("0.5")),
        (True, 0, Decimal(5)), (True, 4, Decimal("0.0015")), (True, 12, Decimal("1e-12")), (True, 1, Decimal("1.5")),
    ]


def test_not_numbers_too_precise_and_too_large():
    rows = parse_numbers(["ten", "1,5", "1 000", "NaN", "inf", "0x10", "$5", "0.0000000000001", "1" * 27, None,
                          "1e15", "-999999999999999.999999999999"])
    assert [r[0] for r in rows] == [False] * 7 + [True, True, None, True, True]
    assert rows[7] == (True, 13, None)  # too precise: no value, never silently rounded
    assert rows[8] == (True, 0, None)  # 27 integer digits do not even fit Decimal(38,12)
    assert rows[10] == (True, 0, None)  # 10**15: out of the range a usage value has (billing/core/limits.py)
    assert rows[11] == (True, 12, Decimal("-999999999999999.999999999999"))  # the largest in range


def test_excess_decimals_round_half_up_on_request():
    frame = pl.DataFrame({"t": ["0.0000000000005", "-0.0000000000005", "0.0000000000015", "2"]})
    frame = round_excess_decimals(with_decimal(frame, "t", prefix="n"), text="t", prefix="n")
    assert frame.get_column("n").to_list() == [Decimal("1e-12"), Decimal("-1e-12"), Decimal("2e-12"), Decimal(2)]


def test_dates():
    frame = pl.DataFrame({"t": ["2024-09-01", "2024-09-01 23:59:59", "2024-09-01T08:00", "2024-02-30", "01/09/2024",
                                "2024-09-01 25:00:00", "45536"]})
    got = frame.select(date_column("t", alias="d")).to_series().to_list()
    assert got == [dt.date(2024, 9, 1)] * 3 + [None] * 4


def test_timestamps_in_utc():
    frame = pl.DataFrame({"t": ["2024-09-30 22:00:00", "2024-09-30T22:00:00Z", "2024-09-30T22:00:00.123Z",
                                "2024-10-01T01:00:00+04:00", "2024-09-30T22:00:00-0300", "2024-09-30t22:00z",
                                "2024-09-30", "2024-09-30 24:00:00", "yesterday"]})
    got = frame.select(utc_date_column("t", alias="d")).to_series().to_list()
    assert got == [dt.date(2024, 9, 30)] * 3 + [dt.date(2024, 9, 30), dt.date(2024, 10, 1), dt.date(2024, 9, 30),
                                                 dt.date(2024, 9, 30), None, None]


def expected_number(text: str | None) -> tuple:
    """The specification of with_decimal, one text at a time: a number is digits with one
    optional point and an optional exponent, surrounding spaces allowed; blank is no value."""
    stripped = (text or "").strip()
    if not stripped:
        return None, 0, None
    if not re.fullmatch(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", stripped):
        return False, None, None
    value = Decimal(stripped)
    digits, exponent = value.as_tuple()[1:]
    trailing_zeros = len(digits) - len("".join(map(str, digits)).rstrip("0"))
    decimals = max(0, -(exponent + trailing_zeros)) if value else 0
    fits = decimals <= 12 and (not value or value.adjusted() < 15)  # under 10**15 (billing.core.limits.QUANTITY)
    return True, decimals, value if fits else None


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(alphabet="0123456789+-.eE ,x\u0663", max_size=18),
                          st.decimals(allow_nan=False, allow_infinity=False).map(str),
                          st.from_regex(r"[+-]?[0-9]{0,30}(\.[0-9]{0,30})?([eE][+-]?[0-9]{1,7})?", fullmatch=True)),
                max_size=30))
def test_numbers_follow_their_specification(texts):
    got = parse_numbers(texts)
    for text, (number, decimals, value) in zip(texts, got):
        want_number, want_decimals, want_value = expected_number(text)
        assert number == want_number, text
        if number:
            assert (decimals, value) == (want_decimals, want_value), text
