"""Reading and validating quarterly and annual fees (docs/pricing.md, "Quarterly and annual
fees", "Validation rules"): each wrong or incomplete fee is refused with file, line and hint,
and a version's fees survive the store's canonical form."""

from decimal import Decimal

from billing.core.problems import ProblemCode
from tariffs.load import load_catalogue, tariff_version_from_dict, tariff_version_hash, tariff_version_to_dict
from tariffs.model import FeeBilling, FeeEvery
from tests.tariffs.test_validate import SILVER_2026, check, one

FEES = ('silver: {model: package, block_size: 100, block_price: "7.00", fees: [%s]}')


def with_fees(*fees: str) -> tuple[str, str]:
    return SILVER_2026, FEES % ", ".join(fees)


def test_fees_are_read_and_kept_in_the_stored_form(tmp_path):
    assert check(tmp_path, with_fees('{name: Licence, amount: "300.00", every: quarterly, billing: spread}',
                                     '{name: Maintenance, amount: "1200", every: annual}')) == []
    catalogue, _ = load_catalogue(tmp_path)
    version = next(v for v in catalogue.tariffs if v.version == "2026.1")
    licence, maintenance = version.price("silver").fees
    assert (licence.amount, licence.every, licence.billing) == (Decimal("300.00"), FeeEvery.QUARTERLY, FeeBilling.SPREAD)
    assert (maintenance.every, maintenance.billing, maintenance.spread) == (FeeEvery.ANNUAL, None, False)
    again = tariff_version_from_dict(tariff_version_to_dict(version))
    assert again.price("silver").fees == version.price("silver").fees
    assert tariff_version_hash(again) == tariff_version_hash(version)
    # a version without fees keeps the stored form it had before fees existed
    older = next(v for v in catalogue.tariffs if v.version == "2025.1")
    assert "fees" not in str(tariff_version_to_dict(older))


def test_a_fee_of_zero_or_below_is_refused(tmp_path):
    p = one(check(tmp_path, with_fees('{name: Licence, amount: "-5", every: quarterly}')),
            ProblemCode.NEGATIVE, "tariffs[1].tiers.silver.fees[0].amount")
    assert "for the whole quarter or year" in p.hint
    one(check(tmp_path, with_fees('{name: Licence, amount: "0", every: annual}')),
        ProblemCode.VALUE_INVALID, "tariffs[1].tiers.silver.fees[0].amount")


def test_a_fee_written_twice_is_refused(tmp_path):
    p = one(check(tmp_path, with_fees('{name: Licence, amount: "1", every: annual}',
                                      '{name: licence, amount: "2", every: annual}')),
            ProblemCode.DUPLICATE, "tariffs[1].tiers.silver.fees[1]")
    assert "two names" in p.hint
    # the same name for a quarterly and an annual fee is two fees
    assert check(tmp_path, with_fees('{name: Licence, amount: "1", every: annual}',
                                     '{name: Licence, amount: "2", every: quarterly}')) == []


def test_a_monthly_or_incomplete_fee_is_refused_with_file_line_and_hint(tmp_path):
    path = tmp_path / "vm.yaml"
    for fee, location, code, hint in (
        ('{name: Licence, amount: "1", every: monthly}', "fees[0].every", ProblemCode.VALUE_INVALID, "monthly_fee"),
        ('{name: Licence, amount: "1"}', "fees[0].every", ProblemCode.VALUE_MISSING, "every"),
        ('{name: Licence, every: annual}', "fees[0].amount", ProblemCode.VALUE_MISSING, "amount"),
        ('{name: Licence, amount: "1", every: annual, billing: arrears}', "fees[0].billing",
         ProblemCode.VALUE_INVALID, "in_advance"),
    ):
        from tests.tariffs.test_validate import BASE

        path.write_text(BASE.replace(SILVER_2026, FEES % fee), encoding="utf-8")
        _catalogue, problems = load_catalogue(tmp_path)
        [problem] = problems
        assert problem.code is code and problem.source.location == f"tariffs[1].tiers.silver.{location}", problem.render()
        assert problem.source.file == str(path) and problem.source.row and hint in (problem.hint + problem.message)


def test_a_fee_in_a_dimension_values_price_is_refused(tmp_path):
    from tests.tariffs.test_dimensions import CATALOGUE, _load

    fee = 'eu-west: {fees: [{name: Licence, amount: "10", every: annual}], bands:'
    _catalogue, problems = _load(tmp_path, CATALOGUE.replace("eu-west: {bands:", fee))
    [problem] = problems
    assert problem.code is ProblemCode.INCONSISTENT and "fees does not belong to a region value's price" in problem.message
    assert problem.source.row and "once, for the tier" in problem.hint
