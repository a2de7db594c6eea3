"""Reading and validating agreements (docs/pricing.md, "Commitments and negotiated discounts",
"Validation rules"): each contradictory or incomplete commitment or discount is refused with
file, line and hint; agreements survive the store's canonical form."""

import pytest

from billing.core.problems import ProblemCode
from tariffs.load import agreement_from_dict, agreement_to_dict, load_catalogue
from tests.tariffs.test_validate import BASE

GOOD = """
agreements:
  - {business_line: FIN, service: VM, fiscal_year: 2026, commitment: {amount: "12000.00"},
     discount: {percent: 10, applies: before_minimum}}
  - {business_line: OPS, service: VM, fiscal_year: 2026, commitment: {quantity: 5000, tier: silver}}
"""


def _problems(tmp_path, agreements):
    from tariffs.validate import validate_catalogue

    (tmp_path / "vm.yaml").write_text(BASE + agreements, encoding="utf-8")
    catalogue, problems = load_catalogue(tmp_path)
    return catalogue, problems + validate_catalogue(catalogue)


def test_agreements_are_read_and_kept_in_the_stored_form(tmp_path):
    catalogue, problems = _problems(tmp_path, GOOD)
    assert [p.render() for p in problems] == []
    fin, ops = catalogue.agreements
    assert fin.discount.before_minimum and fin.commitment.amount == 12000 and fin.fiscal_year == 2026
    assert agreement_from_dict(agreement_to_dict(fin)) == fin
    assert agreement_from_dict(agreement_to_dict(ops)) == ops


@pytest.mark.parametrize(("agreement", "code", "location", "words"), [
    # a commitment without a period
    ('{business_line: FIN, service: VM, commitment: {amount: "100"}}', ProblemCode.VALUE_MISSING,
     "agreements[0].fiscal_year", "a commitment without a period"),
    # a discount of 120 %
    ("{business_line: FIN, service: VM, fiscal_year: 2026, discount: {percent: 120}}", ProblemCode.PERCENT_OUT_OF_RANGE,
     "agreements[0].discount.percent", "a discount of 120 %"),
    # a discount that is both a percent and an amount
    ('{business_line: FIN, service: VM, fiscal_year: 2026, discount: {percent: 5, amount: "10"}}', ProblemCode.INCONSISTENT,
     "agreements[0].discount", "not both"),
    # a commitment that is both an amount and a quantity
    ('{business_line: FIN, service: VM, fiscal_year: 2026, commitment: {amount: "5", quantity: 10, tier: gold}}',
     ProblemCode.INCONSISTENT, "agreements[0].commitment", "not both"),
    # a quantity without its tier
    ("{business_line: FIN, service: VM, fiscal_year: 2026, commitment: {quantity: 10}}", ProblemCode.VALUE_MISSING,
     "agreements[0].commitment.tier", "needs the tier"),
    # a quantity at a tier the service does not have
    ("{business_line: FIN, service: VM, fiscal_year: 2026, commitment: {quantity: 10, tier: platinum}}",
     ProblemCode.UNKNOWN_TIER, "agreements[0].commitment.tier", "no tier 'platinum'"),
    # a negative fixed discount (a surcharge)
    ('{business_line: FIN, service: VM, fiscal_year: 2026, discount: {amount: "-5"}}', ProblemCode.NEGATIVE,
     "agreements[0].discount.amount", "not above zero"),
    # an agreement for a service not in the catalogue
    ("{business_line: FIN, service: VMS, fiscal_year: 2026, discount: {percent: 5}}", ProblemCode.UNKNOWN_SERVICE,
     "agreements[0].service", "not in the catalogue"),
    # nothing agreed
    ("{business_line: FIN, service: VM, fiscal_year: 2026}", ProblemCode.VALUE_MISSING, "agreements[0]", "commits to nothing"),
])
def test_a_contradictory_or_incomplete_agreement_is_refused_with_file_line_and_hint(tmp_path, agreement, code, location, words):
    _catalogue, problems = _problems(tmp_path, f"agreements:\n  - {agreement}\n")
    found = [p for p in problems if p.code is code and p.source.location == location and words in p.message]
    assert found, [p.render() for p in problems]
    assert found[0].source.file.endswith("vm.yaml") and found[0].source.row and found[0].hint


def test_two_agreements_for_one_line_service_and_year_are_refused(tmp_path):
    _catalogue, problems = _problems(tmp_path, "agreements:\n"
                                     "  - {business_line: FIN, service: VM, fiscal_year: 2026, discount: {percent: 5}}\n"
                                     "  - {business_line: FIN, service: VM, fiscal_year: 2026, discount: {percent: 7}}\n")
    [problem] = problems
    assert problem.code is ProblemCode.DUPLICATE and problem.source.location == "agreements[1]" and problem.hint
