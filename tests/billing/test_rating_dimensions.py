"""A month rated with a price by dimension (docs/pricing.md, "Price dimensions"): a charge per
dimension value, the tier's terms once, held usage kept with its value; nothing lost."""

import datetime as dt
import textwrap
from decimal import Decimal

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from billing.core.money import round_minor
from billing.core.records import ChargeKind, Ownership, Subscription
from billing.rating.month import DAILY_SCHEMA, rate_month
from tariffs.load import load_catalogue
from tariffs.pricing import price_usage
from tariffs.validate import validate_catalogue
from tests.tariffs.test_dimensions import CATALOGUE

OWNERS = [Ownership(cost_center=cc, business_line="FIN", effective_from=dt.date(2000, 1, 1), effective_to=None)
          for cc in ("CC1", "CC2")]
SUBS = [Subscription(business_line="FIN", service="VM", tier="std", effective_from=dt.date(2026, 1, 1))]


def _catalogue(tmp_path, text=CATALOGUE):
    (tmp_path / "vm.yaml").write_text(textwrap.dedent(text), encoding="utf-8")
    catalogue, problems = load_catalogue(tmp_path)
    assert problems == [] and validate_catalogue(catalogue) == []
    return catalogue


def _usage(rows):
    return pl.DataFrame([(dt.date(2026, 4, day), "FIN", cc, "VM", None, Decimal(q), Decimal(0), 1, value)
                         for day, cc, value, q in rows], schema=list(DAILY_SCHEMA), orient="row").cast(DAILY_SCHEMA)


ROWS = [(3, "CC1", "eu-west", "100"), (9, "CC2", "eu-west", "50"), (4, "CC1", "us-east", "80"), (5, "CC1", "ap-south", "30")]


def test_a_charge_per_region_after_the_tiers_monthly_fee(tmp_path):
    rated = rate_month(month="2026-04", catalogue=_catalogue(tmp_path), subscriptions=SUBS, ownerships=OWNERS,
                       usage=_usage(ROWS))
    assert rated.problems == () and rated.held == ()
    lines = [(c.dimension, c.dimension_value, c.quantity, c.amount) for c in rated.charges]
    assert lines == [("region", None, Decimal(0), Decimal("50.00")),  # the tier's terms: its monthly fee
                     ("region", "ap-south", Decimal(30), Decimal("6.00")),  # not listed: the default price
                     ("region", "eu-west", Decimal(150), Decimal("17.00")),  # 100 x 0.12 + 50 x 0.10
                     ("region", "us-east", Decimal(80), Decimal("8.00"))]
    eu = rated.charges[2]
    assert [(s.cost_center, s.amount) for s in eu.cost_centers] == [("CC1", Decimal("11.33")), ("CC2", Decimal("5.67"))]
    assert rated.total() == Decimal("81.00") and sum(c.usage_rows for c in rated.charges) == 4


def test_under_quarantine_the_unknown_region_is_held_for_the_review(tmp_path):
    catalogue = _catalogue(tmp_path, CATALOGUE.replace("unknown: default", "unknown: quarantine"))
    rated = rate_month(month="2026-04", catalogue=catalogue, subscriptions=SUBS, ownerships=OWNERS, usage=_usage(ROWS))
    assert rated.total() == Decimal("75.00")
    assert [c.dimension_value for c in rated.charges] == [None, "eu-west", "us-east"]
    (held,) = rated.held
    assert (held.business_line, held.service, held.tier, held.dimension, held.value, held.quantity, held.rows) == (
        "FIN", "VM", "std", "region", "ap-south", Decimal(30), 1)
    assert "by_value" in held.hint and "run the month again" in held.hint


def test_usage_without_dimension_values_prices_as_before(tmp_path):
    plain = CATALOGUE.replace("    dimension: region\n", "")
    plain = plain[:plain.index("        unknown: default")] + \
        '        bands: [{up_to: 100, unit_price: "0.20"}, {unit_price: "0.15"}]\n'
    rated = rate_month(month="2026-04", catalogue=_catalogue(tmp_path, plain), subscriptions=SUBS, ownerships=OWNERS,
                       usage=_usage(ROWS))
    (charge,) = rated.charges  # one charge: the price has no values, whatever the rows carry
    assert charge.dimension is None and charge.quantity == Decimal(260)
    assert charge.amount == Decimal("50.00") + Decimal("20.00") + Decimal("24.00")  # 100 x 0.20 + 160 x 0.15


VALUES = st.sampled_from(["eu-west", "us-east", "EU-West", "ap-south", "", None])


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(st.tuples(st.integers(1, 30), st.sampled_from(["CC1", "CC2"]), VALUES,
                               st.decimals(min_value=0, max_value=500, places=3)), max_size=25),
       quarantine=st.booleans())
def test_the_charges_split_by_value_sum_to_each_values_own_price_and_every_row_is_priced_or_held(tmp_path_factory, rows,
                                                                                                  quarantine):
    text = CATALOGUE.replace("unknown: default", "unknown: quarantine") if quarantine else CATALOGUE
    catalogue = _catalogue(tmp_path_factory.mktemp("c"), text)
    price = catalogue.tariffs[0].price("std")
    rated = rate_month(month="2026-04", catalogue=catalogue, subscriptions=SUBS, ownerships=OWNERS,
                       usage=_usage([(d, cc, v, str(q)) for d, cc, v, q in rows]))
    by_key: dict[str, Decimal] = {}
    for _, _, value, q in rows:
        key = (value or "").strip().casefold()
        by_key[key] = by_key.get(key, Decimal(0)) + q
    priced = {(c.dimension_value or "").casefold(): c for c in rated.charges if c.dimension_value is not None}
    for key, quantity in by_key.items():
        value_price = price.value_price(key)
        if not key or value_price is None:
            continue
        # each value's charge is what its own price gives its rows, bands counted per value
        assert priced[key].amount == round_minor(price_usage(value_price, quantity).amount, "USD")
    values_rows = sum(c.usage_rows for c in rated.charges if c.kind is ChargeKind.USAGE)
    assert values_rows + sum(h.rows for h in rated.held) == len(rows)  # nothing lost
    held_quantity = sum((h.quantity for h in rated.held), Decimal(0))
    assert sum((c.quantity for c in rated.charges), Decimal(0)) + held_quantity == sum((q for *_, q in rows), Decimal(0))
    assert bool(rated.held) == (quarantine and any(k not in ("eu-west", "us-east") for k in by_key))


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(st.tuples(st.integers(1, 30), st.sampled_from(["CC1", "CC2"]), VALUES,
                               st.decimals(min_value=0, max_value=500, places=3)), max_size=30),
       fold_rows=st.integers(1, 40), quarantine=st.booleans())
def test_rows_summed_as_a_load_stores_them_rate_to_charges_per_value_that_sum_to_the_service_total(
        tmp_path_factory, rows, fold_rows, quarantine):
    """Usage rows (record by record, values in any case, code columns as the load's Enums) summed
    by the load's daily sums, then rated: the charges per value and the tier's terms add up to
    the service's total, each value's line is its own price of its rows' sum, and every row's
    quantity is on a line or held."""
    from billing.feeds.daily import DailySums

    text = CATALOGUE.replace("unknown: default", "unknown: quarantine") if quarantine else CATALOGUE
    catalogue = _catalogue(tmp_path_factory.mktemp("c"), text)
    price = catalogue.tariffs[0].price("std")
    frame = pl.DataFrame(
        [(dt.date(2026, 4, day), "FIN", cc, "VM", None, Decimal(q), None, value) for day, cc, value, q in rows],
        schema={"usage_date": pl.Date, "business_line": pl.Enum(["FIN"]), "cost_center": pl.Enum(["CC1", "CC2"]),
                "service": pl.Enum(["VM"]), "tier": pl.Enum(["std"]), "quantity": pl.Decimal(38, 12),
                "cost": pl.Decimal(38, 12), "dimension_value": pl.String}, orient="row")
    sums = DailySums(fold_rows=fold_rows)
    for start in range(0, frame.height, 7):  # batches, as a feed arrives
        sums.add(frame.slice(start, 7))
    rated = rate_month(month="2026-04", catalogue=catalogue, subscriptions=SUBS, ownerships=OWNERS, usage=sums.total())
    assert rated.problems == ()
    by_key: dict[str, Decimal] = {}
    for _, _, value, q in rows:
        key = (value or "").strip().casefold()
        by_key[key] = by_key.get(key, Decimal(0)) + q
    expected = Decimal("50.00")  # the tier's terms line, once
    for key, quantity in by_key.items():
        value_price = price.value_price(key)
        if value_price is not None:
            expected += round_minor(price_usage(value_price, quantity).amount, "USD")
    assert rated.total() == expected
    assert sum((c.quantity for c in rated.charges), Decimal(0)) + sum((h.quantity for h in rated.held), Decimal(0)) \
        == sum((q for *_, q in rows), Decimal(0))
    assert sum(c.usage_rows for c in rated.charges) + sum(h.rows for h in rated.held) == len(rows)
