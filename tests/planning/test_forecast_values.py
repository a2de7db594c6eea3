"""A forecast of a service priced by dimension is priced by value (docs/planning.md,
"Forecasting"): the forecast volume is split over the dimension values by each value's share of
the business line's rated volume (``billing.planning.plan_months.value_parts``), each part at its
value's price, the rest at the default price."""

from decimal import Decimal
from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from billing.planning.plan_months import SPLIT_STEP, value_parts
from billing.planning.scenarios import VolumeForecast, price_volumes
from tests.cli_helpers import load_two_business_lines, run, write

TARIFFS = """\
units:
  - {code: vm-hour, name: VM hours}
services:
  - code: VM
    name: Virtual machines
    unit: vm-hour
    kind: it
    owner: Infrastructure
    default_tier: bronze
    dimension: region
    tiers:
      - {code: bronze, name: Bronze, funding_level: standard}
tariffs:
  - service: VM
    version: "1"
    effective_from: 2026-01-01
    currency: USD
    tiers:
      bronze:
        model: graduated
        unknown: default
        bands: [{unit_price: "0.10"}]
        by_value:
          eu-west: {bands: [{unit_price: "0.30"}]}
"""


def _rated_three_months(url, tmp_path):
    load_two_business_lines(url, tmp_path)
    run(url, "tariffs", "load", write(tmp_path / "tariffs" / "vm.yaml", TARIFFS).parent)
    run(url, "subscriptions", "load", write(tmp_path / "subs.csv", """
        business_line,service,tier,effective_from,effective_to
        FIN,VM,bronze,2026-01-01,
    """))
    rows = ["record_id,usage_date,cost_center,service,quantity,unit,region"]
    for n, month in enumerate(("2026-01", "2026-02", "2026-03")):
        rows += [f"e{n},{month}-05,CC-100,VM,300,vm-hour,eu-west", f"u{n},{month}-06,CC-100,VM,100,vm-hour,us-east"]
    run(url, "usage", "load", write(tmp_path / "usage.csv", "\n".join(rows) + "\n"), "--source", "internal")
    for month in ("2026-01", "2026-02", "2026-03"):
        run(url, "month", "run", month)


def test_a_line_using_a_dear_region_is_forecast_at_the_region_price(sqlite_url, tmp_path):
    """FIN rated VM bronze 2026-01..03, each month 300 vm-hours in eu-west (0.30 a vm-hour) and
    100 in us-east (a region the tariff does not list: the default price, 0.10); each month rated
    eu-west 300 × 0.30 = 90.00 and us-east 100 × 0.10 = 10.00, 100.00.

    The history is flat, so each forecast month is 400 vm-hours. eu-west used 900 of the 1,200
    vm-hours rated (75 %), us-east 300 (25 %): eu-west's part is 400 × 900 / 1200 = 300.0000,
    us-east's 400 × 300 / 1200 = 100.0000, nothing is left naming no value. The month costs
    300 × 0.30 + 100 × 0.10 = 90.00 + 10.00 = 100.00 (at the default price, as before, it was
    400 × 0.10 = 40.00)."""
    _rated_three_months(sqlite_url, tmp_path)
    from billing.jobs.forecast import forecast_volumes, run_forecast
    from billing.store.db import open_store

    with open_store(sqlite_url).begin() as session:
        outlook = forecast_volumes(session, months=2, workers=1)
        result = run_forecast(session, months=2)
    [april, may] = outlook.volumes
    assert april.quantity == Decimal("400.00")
    assert april.value_volumes == (("eu-west", Decimal(900)), ("us-east", Decimal(300)))
    assert april.rated_volume == Decimal(1200)
    assert april.values(april.quantity) == (("eu-west", Decimal("300.0000")), ("us-east", Decimal("100.0000")))
    assert [(line.month, line.amount) for line in result.lines] == [("2026-04", Decimal("100.00")),
                                                                   ("2026-05", Decimal("100.00"))]
    out = run(sqlite_url, "forecast", "--months", "2").stdout
    assert "200.00" in out, out


def test_a_volume_without_value_history_is_priced_at_the_default(sqlite_url, tmp_path):
    """The same tariff priced straight: 400 vm-hours naming no value cost 400 × 0.10 = 40.00; with
    the 75 % / 25 % history of the line above, 100.00; a scenario's growth of 10 % (440 vm-hours)
    splits as 330.0000 eu-west and 110.0000 us-east: 99.00 + 11.00 = 110.00."""
    from tariffs.load import load_catalogue

    catalogue, problems = load_catalogue(write(tmp_path / "tariffs" / "vm.yaml", TARIFFS).parent)
    assert not problems
    q = Decimal(400)
    plain = VolumeForecast(business_line="FIN", service="VM", month="2026-04", tier="bronze", quantity=q, low=q, high=q,
                           method="mean")
    split = VolumeForecast(business_line="FIN", service="VM", month="2026-04", tier="bronze", quantity=q, low=q, high=q,
                           method="mean", value_volumes=(("eu-west", Decimal(900)), ("us-east", Decimal(300))),
                           rated_volume=Decimal(1200))
    grown = VolumeForecast(business_line="FIN", service="VM", month="2026-05", tier="bronze", quantity=Decimal(440),
                           low=Decimal(400), high=Decimal(480), method="mean", value_volumes=split.value_volumes,
                           rated_volume=split.rated_volume)
    [line], _ = price_volumes([plain], catalogue)
    assert line.amount == Decimal("40.00")
    lines, _ = price_volumes([split, grown], catalogue)
    assert [(p.amount, p.amount_low, p.amount_high) for p in lines] == [
        (Decimal("100.00"), Decimal("100.00"), Decimal("100.00")),
        (Decimal("110.00"), Decimal("100.00"), Decimal("120.00"))]


volumes = st.decimals(min_value=Decimal("-10"), max_value=Decimal("1e9"), places=2, allow_nan=False, allow_infinity=False)
used = st.decimals(min_value=Decimal("-50"), max_value=Decimal("1e7"), places=4, allow_nan=False, allow_infinity=False)


@given(volume=volumes, shares=st.lists(used, min_size=1, max_size=6), other=used)
def test_the_value_parts_and_the_rest_add_up_to_the_volume_exactly(volume, shares, other):
    values = tuple((f"v{i}", q) for i, q in enumerate(shares))
    whole = sum(shares, Decimal(0)) + other
    parts = value_parts(volume, values, whole)
    assert [v for v, _p in parts] == [v for v, _q in values]
    rest = volume - sum((p for _v, p in parts), Decimal(0))
    assert rest + sum((p for _v, p in parts), Decimal(0)) == volume
    assert all(p >= 0 and p == p.quantize(SPLIT_STEP) for _v, p in parts)
    if volume <= 0:
        assert all(p == 0 for _v, p in parts)
    else:
        assert rest >= 0  # the parts never take more than the volume
        denominator = max(whole, sum((max(q, Decimal(0)) for q in shares), Decimal(0)))
        for (_v, p), q in zip(parts, shares):
            exact = Fraction(volume) * Fraction(max(q, Decimal(0))) / Fraction(denominator) if denominator > 0 else 0
            assert exact - Fraction(SPLIT_STEP) < Fraction(p) <= exact  # cut to 0.0001, never rounded up


def test_the_plan_prices_its_forecast_months_as_its_value_rows_split_them(sqlite_url, tmp_path):
    """The FY2026 plan of the line above: January to March as rated (100.00 each), April to
    December forecast at 400 vm-hours split 300.0000 eu-west and 100.0000 us-east by the year's
    rated months, each 100.00: the service's row shows the forecast cost 100.00 a month, the
    value rows the split volumes, and the plan's total is 12 × 100.00 = 1,200.00."""
    _rated_three_months(sqlite_url, tmp_path)
    from billing.jobs.plan import build_plan
    from billing.store.db import open_store

    with open_store(sqlite_url).begin() as session:
        result = build_plan(session, 2026)
    [sheet] = result.view.sheets
    rows = {s.value: s for s in sheet.services}
    assert sorted(rows) == ["", "eu-west", "us-east"]
    own, east, west = rows[""], rows["us-east"], rows["eu-west"]
    assert own.forecast_amounts[3:] == (Decimal("100.00"),) * 9
    assert west.forecast_volumes[3:] == (Decimal("300.0000"),) * 9 and east.forecast_volumes[3:] == (Decimal("100.0000"),) * 9
    assert own.forecast_volumes[3:] == (Decimal("0.0000"),) * 9
    assert result.total == Decimal("1200.00")
