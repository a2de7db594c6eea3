"""Anomalies in the month review: judged against each line's own history and season, ranked
by money, above a money floor (docs/month-end.md, "Anomalies")."""

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from billing.close.review import ANOMALY_SCORE, Movement, find_anomalies
from billing.core.periods import add_months

D = Decimal
MONTH = "2026-11"


def judge(series: dict[str, list[str]], *, floor="0", pct="25", kind="business line"):
    """``series``: code → its totals, oldest first, the last one this month's."""
    history: dict[str, dict[tuple[str, str], Decimal]] = {}
    movements = []
    for code, amounts in series.items():
        values = [D(a) for a in amounts]
        for back, value in enumerate(reversed(values[:-2]), start=2):
            history.setdefault(add_months(MONTH, -back), {})[(kind, code)] = value
        previous = values[-2] if len(values) > 1 else D(0)
        movements.append(Movement(key=code, current=values[-1], previous=previous))
    return find_anomalies(month=MONTH, movements={kind: movements}, history=history, anomaly_pct=D(pct), floor=D(floor))


STEADY = ["1000", "1012", "995", "1008", "1003", "990", "1010", "1001", "997", "1006", "999", "1004", "1002"]


def test_a_jump_against_a_steady_history_is_an_anomaly_and_its_usual_wobble_is_not():
    found = judge({"JUMP": [*STEADY, "1600"], "CALM": [*STEADY, "1009"]})
    assert [a.key for a in found] == ["JUMP"]
    (jump,) = found
    assert jump.unexpected == D("598") - jump.expected and jump.score >= ANOMALY_SCORE
    assert jump.basis in ("its last 12 months' changes", "the same month last year (2025-11)")
    (short,) = judge({"JUMP": [*STEADY[1:], "1600"]})  # no October 2025: no season to judge by
    assert short.basis == "its last 11 months' changes"


def test_a_seasonal_swing_is_no_anomaly_when_last_year_had_it_too():
    # every November the bill rises by about 400 and falls back in December
    months = [add_months(MONTH, -back) for back in range(24, -1, -1)]  # 2024-11 to 2026-11
    amounts = {m: str(1000 + (i * 7) % 9 - 4) for i, m in enumerate(months)}
    amounts["2025-11"] = "1400"
    amounts[MONTH] = str(int(amounts["2026-10"]) + 401)
    assert judge({"SEASON": [amounts[m] for m in months]}) == ()
    # without last year, the same month is an anomaly against the usual change
    (found,) = judge({"SEASON": [amounts[m] for m in months[-12:]]})
    assert found.key == "SEASON" and found.basis == "its last 10 months' changes"


def test_a_usual_month_after_an_unusual_one_last_year_is_no_anomaly():
    year = list(STEADY[:12])
    last_year = [*year, *year]
    last_year[-12] = "5000"  # November 2025 jumped; this November is ordinary
    last_year[-11] = "1000"
    assert judge({"ORDINARY": [*last_year, "1003", "1001"]}) == ()


def test_the_money_floor_keeps_tiny_lines_off_the_list_and_the_list_is_ranked_by_money():
    tiny = ["10", "10.1", "9.9", "10", "10.2", "9.8", "10", "10.1", "9.9", "10", "10", "10.1", "10", "40"]
    big = [*STEADY, "1600"]
    bigger = [str(D(a) * 10) for a in [*STEADY, "1300"]]
    found = judge({"TINY": tiny, "BIG": big, "BIGGER": bigger}, floor="100")
    assert [a.key for a in found] == ["BIGGER", "BIG"]
    assert [a.key for a in judge({"TINY": tiny, "BIG": big}, floor="0")] == ["BIG", "TINY"]


def test_a_short_history_is_judged_by_the_anomaly_pct_and_a_new_line_by_the_floor():
    found = judge({"SHORT": ["100", "110", "200"], "NEW": ["0", "300"], "SMALL_NEW": ["0", "5"]}, floor="10")
    assert {a.key: a.basis for a in found} == {"SHORT": "short history: moved more than 25%", "NEW": "new"}


@given(st.lists(st.decimals(min_value=100, max_value=100_000, places=2), min_size=14, max_size=26),
       st.decimals(min_value=Decimal("0.01"), max_value=1000, places=2),
       st.decimals(min_value=0, max_value=5000, places=2))
def test_property_ranked_by_money_above_the_floor_and_the_same_in_any_unit(amounts, scale, floor):
    series = {f"L{i}": [str(a * (i + 1)) for a in amounts] for i in range(3)}
    found = judge(series, floor=str(floor))
    unexpected = [abs(a.unexpected) for a in found]
    assert unexpected == sorted(unexpected, reverse=True)
    assert all(u >= floor for u in unexpected)
    assert all(a.score is None or abs(a.score) >= ANOMALY_SCORE - D("0.05") for a in found)
    scaled = judge({k: [str(D(a) * scale) for a in v] for k, v in series.items()}, floor=str(floor * scale))
    assert [a.key for a in scaled] == [a.key for a in found]


@given(st.decimals(min_value=100, max_value=100_000, places=2), st.decimals(min_value=-2, max_value=5, places=1),
       st.integers(min_value=14, max_value=26))
def test_property_a_line_that_keeps_its_own_pattern_is_never_an_anomaly(start, growth_pct, length):
    amounts = []
    value = start
    for _ in range(length):
        amounts.append(str(value.quantize(D("0.01"))))
        value = value * (1 + growth_pct / 100)
    assert judge({"PATTERN": amounts}) == ()
