"""Price dimensions (docs/pricing.md, "Price dimensions"): a tier priced per value of an
attribute of the usage, read from YAML, refused when contradictory, and priced per value."""

import textwrap
from decimal import Decimal

import pytest

from billing.core.problems import ProblemCode
from tests.records import vm_by_region
from tariffs.load import load_catalogue, tariff_version_from_dict, tariff_version_hash, tariff_version_to_dict
from tariffs.model import PricingModel, UnknownValue
from tariffs.pricing import price_by_value
from tariffs.validate import validate_catalogue

CATALOGUE = vm_by_region()


def _load(tmp_path, text=CATALOGUE):
    (tmp_path / "vm.yaml").write_text(textwrap.dedent(text), encoding="utf-8")
    catalogue, problems = load_catalogue(tmp_path)
    return catalogue, problems + validate_catalogue(catalogue)


def _price(tmp_path, text=CATALOGUE):
    catalogue, problems = _load(tmp_path, text)
    assert problems == []
    return catalogue.tariffs[0].price("std")


def test_a_price_by_dimension_is_read_with_its_values_and_rule(tmp_path):
    catalogue, problems = _load(tmp_path)
    assert problems == []
    assert catalogue.service("VM").dimension == "region"
    price = catalogue.tariffs[0].price("std")
    assert [v for v, _ in price.by_value] == ["eu-west", "us-east"]
    assert price.unknown is UnknownValue.DEFAULT
    eu = price.by_value[0][1]
    assert eu.model is PricingModel.GRADUATED  # the tier's model, not written again
    assert eu.monthly_fee == 0 and eu.bands[0].unit_price == Decimal("0.12")


def test_a_price_by_dimension_keeps_its_stored_form(tmp_path):
    tv = _load(tmp_path)[0].tariffs[0]
    again = tariff_version_from_dict(tariff_version_to_dict(tv))
    assert again.prices == tv.prices and tariff_version_hash(again) == tariff_version_hash(tv)
    assert tariff_version_to_dict(tv)["prices"][0]["by_value"][0]["value"] == "eu-west"


def test_graduated_bands_are_counted_per_region_and_an_unknown_region_takes_the_default(tmp_path):
    # the worked example of docs/pricing.md: eu-west 150, us-east 80, ap-south 30 (not listed)
    result = price_by_value(_price(tmp_path), {"eu-west": (Decimal(150), Decimal(0)), "us-east": (Decimal(80), Decimal(0)),
                                               "ap-south": (Decimal(30), Decimal(0))})
    amounts = {v.value: v.breakdown.amount for v in result.values}
    assert amounts == {"eu-west": Decimal("17.00"), "us-east": Decimal("8.00"), "ap-south": Decimal("6.00")}
    assert [v.listed for v in result.values] == [False, True, True]  # sorted: ap-south, eu-west, us-east
    assert result.terms.amount == Decimal("50.00") and result.held == ()
    assert result.amount == Decimal("81.00")


def test_under_quarantine_an_unknown_region_is_held_not_priced(tmp_path):
    price = _price(tmp_path, CATALOGUE.replace("unknown: default", "unknown: quarantine"))
    result = price_by_value(price, {"eu-west": (Decimal(150), Decimal(0)), "ap-south": (Decimal(30), Decimal(0)),
                                    None: (Decimal(4), Decimal(0))})
    assert [(h.value, h.quantity) for h in result.held] == [("", Decimal(4)), ("ap-south", Decimal(30))]
    assert [v.value for v in result.values] == ["eu-west"]
    assert result.amount == Decimal("67.00")


def test_values_match_whatever_their_case_and_spaces(tmp_path):
    result = price_by_value(_price(tmp_path), {"EU-West ": (Decimal(60), Decimal(0)), "eu-west": (Decimal(60), Decimal(0))})
    assert [(v.value, v.breakdown.quantity, v.breakdown.amount) for v in result.values] == [
        ("eu-west", Decimal(120), Decimal("14.00"))]  # one value: 100 x 0.12 + 20 x 0.10


def test_the_minimum_tops_up_over_every_value_once(tmp_path):
    price = _price(tmp_path, CATALOGUE.replace('monthly_fee: "50.00"', 'monthly_fee: "50.00"\n        minimum_charge: "100.00"'))
    result = price_by_value(price, {"eu-west": (Decimal(150), Decimal(0)), "us-east": (Decimal(80), Decimal(0))},
                            fraction=Decimal(1))
    assert result.terms.monthly_fee == Decimal("50.00") and result.terms.minimum_topup == Decimal("25.00")
    assert result.amount == Decimal("100.00")
    half = price_by_value(price, {}, fraction=Decimal("0.5"))
    assert half.amount == Decimal("50.00") and half.values == ()  # fee 25 + top-up to the minimum of 50


@pytest.mark.parametrize(("change", "code", "words"), [
    # a value priced twice (case and spaces do not make another value)
    (("          us-east:", "          EU-West :"), ProblemCode.DUPLICATE, "priced twice"),
    # unknown: default without a default price
    (('        bands: [{up_to: 100, unit_price: "0.20"}, {unit_price: "0.15"}]\n', ""), ProblemCode.VALUE_MISSING,
     "no default price"),
    # by_value without the rule for values not listed
    (("        unknown: default\n", ""), ProblemCode.VALUE_MISSING, "does not say"),
    # a dimension value's price with a tier term
    (('eu-west: {bands:', 'eu-west: {monthly_fee: "5.00", bands:'), ProblemCode.INCONSISTENT,
     "monthly_fee does not belong to a region value's price"),
    # an option in a value's price that contradicts its model
    (('us-east: {bands: [{up_to: 100, unit_price: "0.10"}, {unit_price: "0.08"}]}', 'us-east: {unit_price: "0.10"}'),
     ProblemCode.INCONSISTENT, "unit_price does not belong to a graduated price"),
    # by_value on a service that names no dimension
    (("    dimension: region\n", ""), ProblemCode.INCONSISTENT, "names no dimension"),
    # an included quantity: which value's units it takes off is not said
    (('monthly_fee: "50.00"', 'included_quantity: 10'), ProblemCode.INCONSISTENT, "included_quantity does not belong"),
    # a dimension name that a source cannot map
    (("dimension: region", "dimension: 'the region'"), ProblemCode.VALUE_INVALID, "is not a name"),
])
def test_validation_refuses_a_contradictory_price_by_dimension(tmp_path, change, code, words):
    old, new = change
    assert old in CATALOGUE
    catalogue, problems = _load(tmp_path, CATALOGUE.replace(old, new))
    found = [p for p in problems if p.code is code and words in p.message]
    assert found, [p.render() for p in problems]
    assert found[0].source.file.endswith("vm.yaml") and found[0].source.row is not None and found[0].hint


def test_a_value_price_may_use_another_model(tmp_path):
    text = CATALOGUE.replace('us-east: {bands: [{up_to: 100, unit_price: "0.10"}, {unit_price: "0.08"}]}',
                             'us-east: {model: per_unit, unit_price: "0.09"}')
    result = price_by_value(_price(tmp_path, text), {"us-east": (Decimal(80), Decimal(0))})
    assert result.values[0].breakdown.amount == Decimal("7.20")


def test_the_rate_card_line_lists_each_value(tmp_path):
    from tariffs.pricing import describe_price
    text = describe_price(_price(tmp_path), "vm-hour")
    assert text.startswith("graduated: first 100 @ 0.20, above 100 @ 0.15 per vm-hour, by value (eu-west: graduated: ")
    assert "others at the price above" in text and text.endswith("monthly fee 50.00")
