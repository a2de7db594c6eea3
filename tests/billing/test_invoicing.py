"""Invoices and credit or debit notes from plain records (billing/close/invoicing.py), without
the CLI or a store: what a business line is billed, and every note finance is refused, with
the reason it is given (docs/month-end.md, "Corrections")."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing.close.invoicing import adjustment_note, cancellation, draft_invoices
from billing.core.problems import Ask, ChargebackError
from billing.core.records import BusinessLine, ChargeKind, DocumentKind, DocumentRole, LineKind
from tariffs.model import ChargingMode, Service, ServiceKind, ServiceLevel, Tier
from tests.records import charge

MONTH = "2026-03"
ISSUED = dt.date(2026, 4, 2)
D = Decimal


def service(code: str, name: str, unit: str, mode: ChargingMode = ChargingMode.CHARGEBACK) -> Service:
    tiers = tuple(Tier(code=c, name=n, funding_level="", service_level=ServiceLevel(), rank=i)
                  for i, (c, n) in enumerate((("gold", "Gold"), ("silver", "Silver"))))
    return Service(code=code, name=name, unit=unit, kind=ServiceKind.IT, owner="IT", tiers=tiers, default_tier="silver",
                   charging_mode=mode)


SERVICES = {
    "DESK": service("DESK", "Service desk", "ticket"),
    "VM": service("VM", "Virtual machines", "vm-month"),
    "LAB": service("LAB", "Innovation lab", "hour", ChargingMode.SHOWBACK),
}
LINES = {
    "FIN": BusinessLine(code="FIN", name="Finance", head_name="Ada Lovelace"),
    "OPS": BusinessLine(code="OPS", name="Operations", head_name=None),
}
GL = {"CC-100": "4711", "CC-101": "4712", "CC-200": "5100"}


def drafts(charges, **kwargs):
    return draft_invoices(month=MONTH, charges=charges, services=SERVICES, business_lines=LINES, gl_codes=GL,
                          issue_date=ISSUED, **kwargs)


MONTH_CHARGES = [
    charge(1, "FIN", "DESK", "470.00", quantity="1", parts=(("CC-100", "282.00"), ("CC-101", "188.00"))),
    charge(2, "OPS", "VM", "1200.00", tier="silver", quantity="4", parts=(("CC-200", "1200.00"),)),
    charge(3, "FIN", "VM", "150.00", tier="silver", quantity="3", segment=(dt.date(2026, 3, 10), dt.date(2026, 3, 31)),
           parts=(("CC-100", "150.00"),)),
    charge(4, "FIN", "DESK", "-47.00", kind=ChargeKind.SLA_CREDIT, quantity="0",
           parts=(("CC-100", "-28.20"), ("CC-101", "-18.80"))),
    charge(5, "FIN", "LAB", "300.00", mode="showback", parts=(("CC-100", "300.00"),)),
]


def invoice_for(code: str = "FIN"):
    found = [i for i in drafts(MONTH_CHARGES) if i.business_line == code]
    assert len(found) == 1
    return found[0].__class__(**{**_fields(found[0]), "number": f"CB-2026-00000{1 if code == 'FIN' else 2}"})


def _fields(record) -> dict:
    return {name: getattr(record, name) for name in record.__slots__}


# --- invoices ----------------------------------------------------------------------------------


def test_one_invoice_per_business_line_in_code_order_with_a_line_per_chargeback_charge():
    fin, ops = drafts(MONTH_CHARGES)
    assert [fin.business_line, ops.business_line] == ["FIN", "OPS"]
    assert (fin.kind, fin.role, fin.number, fin.month, fin.issue_date) == (
        DocumentKind.INVOICE, DocumentRole.INVOICE, "", MONTH, ISSUED)
    assert (fin.buyer_name, fin.buyer_head, ops.buyer_head) == ("Finance", "Ada Lovelace", None)
    assert [(l.line_no, l.charge_line_no, l.amount) for l in fin.lines] == [
        (1, 1, D("470.00")), (2, 3, D("150.00")), (3, 4, D("-47.00"))]
    assert fin.total == D("573.00") and ops.total == D("1200.00")


def test_showback_is_never_invoiced_and_a_line_with_only_showback_gets_no_invoice():
    assert all(l.service != "LAB" for i in drafts(MONTH_CHARGES) for l in i.lines)
    assert drafts([charge(1, "OPS", "LAB", "99.00", mode="showback")]) == []


def test_lines_carry_the_names_unit_and_period_so_the_document_reads_the_same_forever():
    fin = drafts(MONTH_CHARGES)[0]
    desk, vm, credit = fin.lines
    assert (desk.service_name, desk.tier_name, desk.unit, desk.description) == (
        "Service desk", "Gold", "ticket", "Service desk, Gold")
    assert vm.description == "Virtual machines, Silver (10 Mar–31 Mar)"
    assert credit.kind is LineKind.SLA_CREDIT and credit.description == "Service credit: Service desk, Gold"
    assert desk.kind is LineKind.USAGE and desk.detail == "1 @ price" and desk.quantity == D("1")


def test_each_line_keeps_its_cost_centres_with_their_gl_codes():
    desk = drafts(MONTH_CHARGES)[0].lines[0]
    assert [(c.cost_center, c.gl_code, c.amount) for c in desk.cost_centers] == [
        ("CC-100", "4711", D("282.00")), ("CC-101", "4712", D("188.00"))]


def test_a_service_no_longer_in_the_catalogue_keeps_its_codes_as_names():
    (invoice,) = drafts([charge(1, "OPS", "GONE", "10.00", tier="bronze")])
    line = invoice.lines[0]
    assert (line.service_name, line.tier_name, line.unit, line.description) == ("GONE", "bronze", "", "GONE, bronze")


def test_charges_in_two_currencies_make_one_invoice_per_currency():
    found = drafts([charge(1, "FIN", "DESK", "10.00", currency="USD"), charge(2, "FIN", "VM", "1000", currency="JPY")])
    assert [(i.currency, i.total) for i in found] == [("JPY", D("1000")), ("USD", D("10.00"))]


# --- credit and debit notes --------------------------------------------------------------------


def note(original=None, **kwargs):
    kwargs.setdefault("reason", "ticket count was wrong")
    return adjustment_note(original or invoice_for(), month="2026-04", issue_date=dt.date(2026, 4, 20), **kwargs)


def test_a_whole_invoice_credit_reverses_every_line_and_cites_the_invoice():
    fin = invoice_for()
    credit = note(fin)
    assert (credit.kind, credit.role, credit.original_invoice, credit.reason) == (
        DocumentKind.CREDIT_NOTE, DocumentRole.CREDIT_NOTE, fin.number, "ticket count was wrong")
    assert [l.amount for l in credit.lines] == [D("-470.00"), D("-150.00"), D("47.00")]
    assert credit.total == -fin.total
    first = credit.lines[0]
    assert (first.kind, first.original_invoice, first.original_line_no, first.quantity) == (
        LineKind.ADJUSTMENT, fin.number, 1, D("-1"))
    assert first.description == f"Correction of {fin.number} line 1: Service desk, Gold"


def test_a_partial_credit_is_split_over_the_cost_centres_in_the_lines_proportions():
    credit = note(line_no=1, amount=D("100.00"))
    (line,) = credit.lines
    assert line.amount == D("-100.00") and credit.total == D("-100.00")
    assert [(c.cost_center, c.gl_code, c.amount) for c in line.cost_centers] == [
        ("CC-100", "4711", D("-60.00")), ("CC-101", "4712", D("-40.00"))]
    assert line.quantity == 0  # a part of the line corrects an amount, not a count


def test_a_quantity_is_priced_at_the_lines_average_price_and_rounded_once():
    (line,) = note(line_no=2, quantity=D("1")).lines  # 150.00 for 3 vm-months: 50.00 each
    assert line.amount == D("-50.00")
    (line,) = note(line_no=1, quantity=D("0.333")).lines  # 470.00 × 0.333 = 156.51
    assert line.amount == D("-156.51")


def test_a_debit_note_adds_to_a_line():
    debit = note(line_no=2, amount=D("25.00"), debit=True)
    assert (debit.kind, debit.role, debit.total) == (DocumentKind.DEBIT_NOTE, DocumentRole.DEBIT_NOTE, D("25.00"))
    assert debit.lines[0].amount == D("25.00")


def test_a_whole_invoice_credit_after_earlier_notes_credits_only_what_is_left():
    credit = note(already_adjusted={1: D("-100.00"), 2: D("-150.00")})
    assert [(l.original_line_no, l.amount) for l in credit.lines] == [(1, D("-370.00")), (3, D("47.00"))]


def test_crediting_a_whole_line_after_a_partial_credit_takes_off_the_rest():
    (line,) = note(line_no=1, already_adjusted={1: D("-100.00")}).lines
    assert line.amount == D("-370.00")


def test_a_service_credit_line_may_be_credited_back():
    (line,) = note(line_no=3).lines  # the invoice gave 47.00 off; a credit of that line takes it back
    assert line.amount == D("47.00")


def test_a_reopened_month_cancels_its_invoice_in_full():
    fin = invoice_for()
    cancel = cancellation(fin, month="2026-04", issue_date=dt.date(2026, 4, 5), reason="usage resent")
    assert (cancel.kind, cancel.role, cancel.original_invoice) == (
        DocumentKind.CREDIT_NOTE, DocumentRole.REOPEN_CANCELLATION, fin.number)
    assert cancel.total == -fin.total and [l.quantity for l in cancel.lines] == [D("-1"), D("-3"), D("0")]


@given(amount=st.integers(min_value=1, max_value=47000).map(lambda cents: D(cents) / 100))
def test_a_notes_cost_centre_parts_always_sum_to_its_amount(amount):
    (line,) = note(line_no=1, amount=amount).lines
    assert line.amount == -amount
    assert sum(c.amount for c in line.cost_centers) == line.amount
    assert all(c.amount <= 0 for c in line.cost_centers)


# --- what a note is refused for, and the reason given ------------------------------------------

REFUSALS = [
    ("no reason", dict(reason="  "), r"needs a reason"),
    ("no amount without a line", dict(amount=D("10.00")), r"an amount or quantity adjusts one line"),
    ("no quantity without a line", dict(quantity=D("1")), r"an amount or quantity adjusts one line"),
    ("a debit of a whole invoice", dict(debit=True), r"a debit note needs a line and an amount or quantity"),
    ("a line the invoice lacks", dict(line_no=7), r"CB-2026-000001 has no line 7; it has lines 1 to 3"),
    ("an amount and a quantity", dict(line_no=1, amount=D("1.00"), quantity=D("1")), r"an amount or a quantity, not both"),
    ("a quantity on a line without one", dict(line_no=3, quantity=D("1")), r"line 3 has no quantity to price an adjustment by"),
    ("a debit without an amount", dict(line_no=1, debit=True), r"a debit note needs .*amount.*quantity"),
    ("a zero amount", dict(line_no=1, amount=D("0")), r"give the amount as a positive number"),
    ("a negative amount", dict(line_no=1, amount=D("-5.00")), r"give the amount as a positive number"),
    ("more decimals than the currency", dict(line_no=1, amount=D("10.005")), r"10.005 has more decimals than USD allows"),
    ("more than the line", dict(line_no=1, amount=D("470.01")), r"line 1 has 470.00 left to credit after earlier notes; 470.01 is too much"),
    ("more than is left", dict(line_no=1, amount=D("400.00"), already_adjusted={1: D("-100.00")}),
     r"line 1 has 370.00 left to credit after earlier notes; 400.00 is too much"),
    ("a line credited in full", dict(line_no=1, already_adjusted={1: D("-470.00")}),
     r"CB-2026-000001 line 1 has nothing left to credit after earlier notes"),
    ("a service credit taken back", dict(line_no=3, already_adjusted={3: D("47.00")}),
     r"CB-2026-000001 line 3 has nothing left to credit after earlier notes"),
]


@pytest.mark.parametrize("case,kwargs,message", REFUSALS, ids=[c for c, _, _ in REFUSALS])
def test_a_note_that_cannot_be_issued_is_refused_with_its_reason(case, kwargs, message):
    with pytest.raises(ChargebackError, match=message):
        note(**kwargs)


ASKED = [
    ("no reason", dict(reason="  "), (Ask.REASON,)),
    ("no amount without a line", dict(amount=D("10.00")), (Ask.LINE,)),
    ("a debit of a whole invoice", dict(debit=True), (Ask.LINE, Ask.AMOUNT, Ask.QUANTITY)),
    ("a quantity on a line without one", dict(line_no=3, quantity=D("1")), (Ask.AMOUNT,)),
    ("a debit without an amount", dict(line_no=1, debit=True), (Ask.AMOUNT, Ask.QUANTITY)),
    ("a negative amount", dict(line_no=1, amount=D("-5.00")), (Ask.DEBIT,)),
]


@pytest.mark.parametrize("case,kwargs,asks", ASKED, ids=[c for c, _, _ in ASKED])
def test_a_refusal_says_what_it_asks_for_in_the_engines_words(case, kwargs, asks):
    with pytest.raises(ChargebackError) as refused:
        note(**kwargs)
    assert tuple(a.ask for a in refused.value.asks_for) == asks
    assert "--" not in str(refused.value)  # the command line adds its options (cli.refusal_text)


def test_an_invoice_credited_in_full_refuses_another_whole_credit():
    left = {1: D("-470.00"), 2: D("-150.00"), 3: D("47.00")}
    with pytest.raises(ChargebackError, match=r"CB-2026-000001 has already been credited in full"):
        note(already_adjusted=left)


@pytest.mark.parametrize("make,kind", [("credit note", "credit note"), ("debit note", "debit note"),
                                       ("cancellation", "credit note")])
def test_a_note_is_never_adjusted_itself_only_the_invoice_it_corrects(make, kind):
    fin = invoice_for()
    if make == "cancellation":
        corrected = cancellation(fin, month="2026-04", issue_date=ISSUED, reason="reopened")
    else:
        corrected = note(fin, line_no=1, amount=D("1.00"), debit=make == "debit note")
    corrected = corrected.__class__(**{**_fields(corrected), "number": "CB-2026-000009"})
    with pytest.raises(ChargebackError, match=rf"CB-2026-000009 is a {kind}; adjust the invoice it corrects"):
        note(corrected, line_no=1, amount=D("1.00"))


def test_the_currency_sets_how_many_decimals_a_note_may_have():
    (yen,) = drafts([charge(1, "FIN", "VM", "1000", currency="JPY", quantity="3")])
    with pytest.raises(ChargebackError, match=r"0.5 has more decimals than JPY allows"):
        note(yen, line_no=1, amount=D("0.5"))
    (line,) = note(yen, line_no=1, quantity=D("1")).lines  # 1000 / 3 = 333.33... → 333 yen
    assert line.amount == D("-333")
