"""A price's workings: the steps a statement explains a line with add up to the amount exactly."""

from decimal import Context, Decimal, Inexact, localcontext
from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from tariffs.model import BandEdges, FeeAtZero, PricingModel, TierPrice, WorkingKind
from tariffs.pricing import price_by_value, price_usage, workings_total
from tests.tariffs.test_pricing import CARD, D, band_lists, graduated, prices, quantities


def texts(breakdown) -> list[tuple[str, Decimal]]:
    return [(w.text, w.amount) for w in breakdown.workings]


def test_a_monthly_fee_and_included_quantity_are_steps_of_their_own():
    # docs/pricing.md: gold desk 2026, 40 tickets - 25 included = 15 × 23.00 = 345.00, plus 470.00 = 815.00
    desk = TierPrice(model=PricingModel.PER_UNIT, unit_price=D("23.00"), included_quantity=D("25"), monthly_fee=D("470.00"))
    b = price_usage(desk, D("40"))
    assert texts(b) == [("25 of 40 included", 0), ("15 @ 23.00", D("345.00")), ("monthly fee 470.00", D("470.00"))]
    assert workings_total(b.workings) == b.amount == D("815.00")


def test_a_prorated_fee_says_its_days_and_the_included_quantity_its_share():
    desk = TierPrice(model=PricingModel.PER_UNIT, unit_price=D("18.75"), included_quantity=D("10"), monthly_fee=D("210.00"))
    b = price_usage(desk, D("4"), fraction=Fraction(14, 30), basis=30)
    assert texts(b) == [("4 used, within the 10 × 14/30 included", 0), ("monthly fee 210.00 × 14/30", D("98.00"))]
    assert b.workings[1].share == (14, 30) and b.workings[1].base == D("210.00")


def test_the_minimum_top_up_is_a_step():
    price = TierPrice(model=PricingModel.PER_UNIT, unit_price=D("25.00"), minimum_charge=D("250.00"))
    b = price_usage(price, D("9"))
    assert texts(b) == [("9 @ 25.00", D("225.00")), ("top-up to the minimum 250.00", D("25.00"))]
    assert [w.kind for w in b.workings] == [WorkingKind.USAGE, WorkingKind.MINIMUM]


def test_bands_flat_fees_blocks_and_edges_are_steps():
    b = price_usage(graduated((1000, "0.146", "26.00"), (None, "0.125")), D("3021.73"))
    assert texts(b) == [("1,000 @ 0.146", D("146.000")), ("flat fee of band 1, once entered", D("26.00")),
                        ("2,021.73 @ 0.125", D("252.71625"))]
    blocks = price_usage(graduated((1000, "0.23"), (None, "0.20"), block_size=D("100")), D("530.771"))
    assert texts(blocks) == [("530.771 counted in blocks of 100: a started block is charged whole", 0),
                             ("6 blocks of 100 @ 23.00", D("138.00"))]
    fleet = TierPrice(model=PricingModel.VOLUME, band_edges=BandEdges.EXCLUSIVE, bands=CARD.bands)
    edge = price_usage(fleet, D("250"))
    assert edge.workings[0].kind is WorkingKind.NOTE and "band edge" in edge.workings[0].text
    assert edge.workings[1].text == "all 250 @ 0.10"
    zero = price_usage(graduated((1000, "0.146", "26.00"), (None, "0.125"), flat_fee_at_zero=FeeAtZero.CHARGED,
                                 monthly_fee=D("156.00")), D("0"))
    assert texts(zero) == [("the first band's flat fee, charged at zero usage", D("26.00")),
                           ("monthly fee 156.00", D("156.00"))]


def test_pass_through_shows_the_cost_and_the_markup():
    cloud = TierPrice(model=PricingModel.PASS_THROUGH, markup_pct=D("8"))
    b = price_usage(cloud, D("1"), cost=D("447.70"))
    assert texts(b) == [("cost 447.70", D("447.70")), ("8% markup on the cost", D("35.8160"))]
    package = TierPrice(model=PricingModel.PACKAGE, block_size=D("5"), block_price=D("198.00"))
    assert texts(price_usage(package, D("7.3"))) == [("7.3 as 2 started blocks of 5 @ 198.00", D("396.00"))]


def test_a_price_by_dimension_keeps_the_terms_steps_apart():
    price = TierPrice(model=PricingModel.PER_UNIT, unit_price=D("0.10"), monthly_fee=D("30.00"), minimum_charge=D("100.00"),
                      by_value=(("eu-west", TierPrice(model=PricingModel.PER_UNIT, unit_price=D("0.20"))),))
    result = price_by_value(price, {"eu-west": (D("100"), D("0"))}, fraction=Fraction(1, 2), basis=30)
    assert [w.text for w in result.terms.workings] == [
        "monthly fee 30.00 × 15/30", "top-up to the minimum 100.00 × 15/30 over every value's usage and the fee"]
    assert workings_total(result.terms.workings) == result.terms.amount == D("30.00")  # 15.00 fee + 15.00 up to 50.00 over 20.00 of usage


models = st.sampled_from(["per_unit", "graduated", "volume", "package", "pass_through", "fixed"])


@given(models, band_lists(), prices, quantities, quantities, prices, prices, st.integers(min_value=0, max_value=31),
       st.booleans(), st.booleans(), st.decimals(min_value=-50, max_value=50, places=1),
       st.decimals(min_value=-5000, max_value=5000, places=4))
def test_property_workings_add_up_and_each_step_is_its_own_product(model, bands, unit_price, quantity, included, fee,
                                                                   minimum, days, exclusive, at_zero, markup, cost):
    parts = {
        "per_unit": {"unit_price": unit_price, "included_quantity": included},
        "graduated": {"bands": bands, "included_quantity": included, "block_size": None},
        "volume": {"bands": bands, "band_edges": BandEdges.EXCLUSIVE if exclusive else BandEdges.INCLUSIVE,
                   "flat_fee_at_zero": FeeAtZero.CHARGED if at_zero else FeeAtZero.NOT_CHARGED},
        "package": {"block_size": Decimal(10), "block_price": unit_price, "included_quantity": included},
        "pass_through": {"markup_pct": markup},
        "fixed": {},
    }[model]
    price = TierPrice(model=PricingModel(model), monthly_fee=fee, minimum_charge=minimum,
                      **{k: v for k, v in parts.items() if v is not None})
    b = price_usage(price, quantity, cost=cost, fraction=Fraction(days, 31), basis=31)
    assert b.workings and workings_total(b.workings) == b.amount
    for working in b.workings:
        if working.quantity is not None and working.rate is not None:
            with localcontext(Context(prec=400, traps=[Inexact])):
                assert working.quantity * working.rate == working.amount
        if working.kind in (WorkingKind.INCLUDED, WorkingKind.NOTE):
            assert working.amount == 0
        if working.share is not None:
            assert working.share == (days, 31)
