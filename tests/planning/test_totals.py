"""Forecast totals per business line or per service of one: the rows add up to the whole."""

from decimal import Decimal

import pytest
from hypothesis import given, strategies as st

from billing.core.problems import ChargebackError
from billing.planning.scenarios import PricedLine, ScenarioTotals
from billing.planning.totals import forecast_totals, scenario_totals

amounts = st.decimals(min_value=0, max_value=10**6, places=2, allow_nan=False, allow_infinity=False)


def line(business_line, service, amount, low=None, high=None, month="2026-04"):
    return PricedLine(business_line=business_line, service=service, month=month, tier="gold", tariff_version="2026.1",
                      quantity=Decimal(1), amount=amount, amount_low=amount if low is None else low,
                      amount_high=amount if high is None else high, currency="USD", method="ets")


@given(st.lists(st.tuples(st.sampled_from(["FIN", "OPS", "ENG"]), st.sampled_from(["VM", "DESK"]), amounts), max_size=30))
def test_the_rows_add_up_to_every_line_of_the_forecast(found):
    lines = [line(b, s, a) for b, s, a in found]
    totals = forecast_totals(lines)
    assert sum(t.amount for t in totals) == sum(l.amount for l in lines)
    assert [t.key for t in totals] == sorted({(l.business_line,) for l in lines})
    for code in {l.business_line for l in lines}:
        own = forecast_totals(lines, business_line=code)
        assert sum(t.amount for t in own) == next(t.amount for t in totals if t.key == (code,))


def test_one_business_line_per_service_tier_and_method_with_its_interval():
    lines = [line("FIN", "VM", Decimal("10.00"), Decimal("8.00"), Decimal("12.00")),
             line("FIN", "VM", Decimal("5.00"), Decimal("4.00"), Decimal("7.00"), month="2026-05"),
             line("OPS", "VM", Decimal("99.00"))]
    (vm,) = forecast_totals(lines, business_line="FIN")
    assert vm.key == ("VM", "gold", "ets") and (vm.amount, vm.amount_low, vm.amount_high, vm.quantity) == (
        Decimal("15.00"), Decimal("12.00"), Decimal("19.00"), Decimal(2))
    with pytest.raises(ChargebackError, match="no forecast for business line 'RES'"):
        forecast_totals(lines, business_line="RES")


def test_scenario_totals_add_each_scenario_over_the_business_lines():
    rows = [ScenarioTotals(business_line="FIN", baseline=Decimal("10"), amounts=(Decimal("12"), Decimal("9"))),
            ScenarioTotals(business_line="OPS", baseline=Decimal("5"), amounts=(Decimal("6"), Decimal("5")))]
    assert scenario_totals(rows, 2) == (Decimal("15"), (Decimal("18"), Decimal("14")))
