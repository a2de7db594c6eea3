"""The month's bill as FOCUS rows: a hand-worked month, and sums that hold for any month.

The worked month is tests/reports/samples.py (Marketing, March 2026, USD):

    INV-2026-0001 line 1  VM silver usage  3,800.00 = CC-MKT-1 2,303.03 (200 vCPU-month) + CC-MKT-2 1,496.97 (130)
                  line 2  VM silver credit  -380.00 = -230.30 + -149.70
                  line 3  APPHOST gold      1,350.00 = CC-MKT-1 (3 instance-month)
                                            4,770.00 = the invoice total = Σ BilledCost
    CN-2026-0002 (April) credits 100.00 of March's line 1: -60.61 CC-MKT-1, -39.39 CC-MKT-2
"""

import datetime as dt
from dataclasses import replace
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from billing.close.focus_bill import (
    COLUMNS, FocusRow, Provider, ascii_id, ascii_text, charge_category, fee_in_use, focus_rows, focus_unit,
)
from billing.core.records import Charge, CostCenterShare, Invoice, InvoiceLine, LineCostCenter
from tariffs.model import SERVICE_CATEGORIES
from tests.reports import samples

PROVIDER = Provider(account_id="IT", name="IT services")
UTC = dt.timezone.utc
CATEGORIES = {"VM": ("Compute", "Virtual Machines")}


def sample_rows(*documents: Invoice, month: str = "2026-03", corrected=None) -> tuple[FocusRow, ...]:
    invoice = samples.invoice()
    by_line_no = {c.line_no: c for c in samples.charges()}
    charges = {(invoice.number, line.line_no): by_line_no[line.charge_line_no] for line in invoice.lines}
    return focus_rows(documents or (invoice,), month=month, provider=PROVIDER, charges=charges,
                      corrected_months=corrected or {}, categories=CATEGORIES)


def test_one_row_per_invoice_line_and_cost_centre_summing_to_the_invoice():
    rows = sample_rows()
    assert [(r.x_invoice_line_number, r.x_cost_center, r.billed_cost) for r in rows] == [
        (1, "CC-MKT-1", Decimal("2303.03")), (1, "CC-MKT-2", Decimal("1496.97")),
        (2, "CC-MKT-1", Decimal("-230.30")), (2, "CC-MKT-2", Decimal("-149.70")),
        (3, "CC-MKT-1", Decimal("1350.00")),
    ]
    assert sum(r.billed_cost for r in rows) == samples.invoice().total == Decimal("4770.00")
    for row in rows:
        assert row.effective_cost == row.list_cost == row.contracted_cost == row.billed_cost
        assert (row.invoice_id, row.billing_currency, row.sub_account_id, row.sub_account_name) == (
            "INV-2026-0001", "USD", "MKT", "Marketing")
        assert (row.billing_account_id, row.billing_account_name, row.invoice_issuer_name, row.provider_name) == (
            "IT", "IT services", "IT services", "IT services")
        assert row.billing_period_start == dt.datetime(2026, 3, 1, tzinfo=UTC)
        assert row.billing_period_end == dt.datetime(2026, 4, 1, tzinfo=UTC)
        assert row.charge_class is None


def test_usage_rows_carry_the_cost_centre_quantity_unit_tags_and_catalogue_category():
    first, second, credit, _, apphost = sample_rows()
    assert (first.charge_category, first.charge_frequency, first.pricing_category) == ("Usage", "Usage-Based", "Standard")
    assert (first.pricing_quantity, second.pricing_quantity, apphost.pricing_quantity) == (200, 130, 3)
    assert (first.pricing_unit, first.x_unit) == ("vCPU-Months", "vCPU-month")
    assert dict(first.tags) == {"cost_center": "CC-MKT-1", "tier": "silver", "tariff_version": "2026.1"}
    assert (first.service_name, first.service_category, first.service_subcategory) == (
        "Virtual machines", "Compute", "Virtual Machines")
    assert (apphost.service_category, apphost.service_subcategory) == ("Other", "Other (Other)")  # not in the catalogue map
    assert (first.x_general_ledger_cost_center, first.x_tariff_version, first.x_pricing_model) == ("4100-10", "2026.1", "graduated")
    assert first.x_price_detail == "250 @ 12.00 + 80 @ 10.00"
    assert (first.charge_period_start, first.charge_period_end) == (
        dt.datetime(2026, 3, 1, tzinfo=UTC), dt.datetime(2026, 4, 1, tzinfo=UTC))
    # A service credit is a Credit with no priced quantity.
    assert (credit.charge_category, credit.charge_frequency, credit.pricing_quantity, credit.pricing_unit,
            credit.pricing_category) == ("Credit", "One-Time", None, None, None)


def test_a_monthly_fee_on_its_own_is_a_recurring_purchase():
    fixed = samples.charges()[0]
    assert charge_category(samples.invoice().lines[0], replace(fixed, model="fixed")) == "Purchase"
    assert charge_category(samples.invoice().lines[0], replace(fixed, quantity=Decimal(0))) == "Purchase"
    assert charge_category(samples.invoice().lines[0], fixed) == "Usage"
    invoice = samples.invoice()
    fee_line = replace(invoice.lines[2], quantity=Decimal(0))
    fee_invoice = replace(invoice, lines=(fee_line,), total=fee_line.amount)
    charge = replace(samples.charges()[2], quantity=Decimal(0), billable=Decimal(0))
    purchase, use = focus_rows((fee_invoice,), month="2026-03", provider=PROVIDER,
                               charges={(invoice.number, 3): charge}, corrected_months={}, categories={})
    # FOCUS: a purchase bills the fee with no effective cost; its use in the month carries the
    # fee as effective cost and bills nothing, so both costs sum to the invoice
    assert (purchase.charge_category, purchase.charge_frequency, purchase.pricing_quantity, purchase.billed_cost,
            purchase.effective_cost, purchase.list_cost) == (
        "Purchase", "Recurring", Decimal(0), Decimal("1350.00"), Decimal(0), Decimal("1350.00"))
    assert (use.charge_category, use.charge_frequency, use.billed_cost, use.effective_cost, use.list_cost,
            use.contracted_cost) == ("Usage", "Recurring", Decimal(0), Decimal("1350.00"), Decimal(0), Decimal(0))
    assert (use.sub_account_id, use.service_name, use.tags, use.charge_period_start, use.invoice_id) == (
        purchase.sub_account_id, purchase.service_name, purchase.tags, purchase.charge_period_start, purchase.invoice_id)


def credit_note(amount: str = "100.00", *, month: str = "2026-04") -> Invoice:
    """A credit note in ``month`` taking ``amount`` off line 1 of the March invoice."""
    original = samples.invoice().lines[0]
    value = -Decimal(amount)
    first = (value * Decimal("2303.03") / Decimal("3800.00")).quantize(Decimal("0.01"))
    line = InvoiceLine(
        line_no=1, kind="adjustment", service="VM", service_name=original.service_name, tier="silver",
        tier_name=original.tier_name, description="Correction of INV-2026-0001 line 1: Virtual machines, Silver",
        quantity=Decimal(0), unit=original.unit, detail=original.detail, amount=value,
        cost_centers=(LineCostCenter(cost_center="CC-MKT-1", gl_code="4100-10", amount=first),
                      LineCostCenter(cost_center="CC-MKT-2", gl_code="4100-20", amount=value - first)),
        original_invoice="INV-2026-0001", original_line_no=1,
    )
    return Invoice(number="CN-2026-0002", kind="credit_note", month=month, issue_date=dt.date(2026, 4, 20),
                   business_line="MKT", buyer_name="Marketing", buyer_head=None, currency="USD", lines=(line,),
                   total=value, original_invoice="INV-2026-0001", reason="outage")


def test_a_note_correcting_an_earlier_month_is_a_correction_of_that_charge_period():
    rows = sample_rows(credit_note(), month="2026-04", corrected={"INV-2026-0001": "2026-03"})
    assert [r.billed_cost for r in rows] == [Decimal("-60.61"), Decimal("-39.39")]
    for row in rows:
        assert (row.charge_category, row.charge_class, row.charge_frequency) == ("Adjustment", "Correction", "One-Time")
        assert (row.invoice_id, row.x_document_type, row.x_corrected_invoice_id, row.x_corrected_invoice_line_number) == (
            "CN-2026-0002", "credit_note", "INV-2026-0001", 1)
        assert (row.pricing_quantity, row.pricing_unit) == (None, None)
        # Billed in April, for March's usage.
        assert row.billing_period_start == dt.datetime(2026, 4, 1, tzinfo=UTC)
        assert (row.charge_period_start, row.charge_period_end) == (
            dt.datetime(2026, 3, 1, tzinfo=UTC), dt.datetime(2026, 4, 1, tzinfo=UTC))


def test_a_note_inside_its_own_month_is_no_correction_of_an_earlier_one():
    # The cancellation of a reopened month is dated in that month.
    rows = sample_rows(credit_note(month="2026-03"), month="2026-03", corrected={"INV-2026-0001": "2026-03"})
    assert {(r.charge_category, r.charge_class) for r in rows} == {("Adjustment", None)}


def test_focus_strings_are_ascii_and_identifiers_stay_distinct():
    assert ascii_text("Zürich – Köln “Nord”") == 'Zurich - Koln "Nord"'
    assert ascii_text("Marketing") == "Marketing"
    assert ascii_id("BL-Ä") != ascii_id("BL-A") and ascii_id("BL-Ä").isascii()
    hostile = samples.invoice(hostile=True)
    by_line_no = {c.line_no: c for c in samples.charges(hostile=True)}
    rows = focus_rows((hostile,), month="2026-03", provider=PROVIDER, corrected_months={}, categories={},
                      charges={(hostile.number, l.line_no): by_line_no[l.charge_line_no] for l in hostile.lines})
    assert rows[-1].charge_description == samples.FORMULAS[0]  # written as issued, not neutralised
    assert rows[0].sub_account_name == "Marketing <script>alert(1)</script>"


def test_catalogue_units_become_focus_units():
    assert [focus_unit(u) for u in ("vm-hour", "gb-month", "tb-month", "ticket", "usd", "technician-hour", "GB")] == [
        "VM-Hours", "GB-Months", "TB-Months", "Tickets", "USD", "Technician-Hours", "GB"]
    assert focus_unit("m3/h") == "m3/h"  # no FOCUS form: as written


def test_columns_are_focus_first_then_custom():
    names = [c for c, _ in COLUMNS]
    custom = [c for c in names if c.startswith("x_")]
    assert names == sorted(names[: len(names) - len(custom)]) + custom
    assert len(set(names)) == len(names)
    assert "Other" in SERVICE_CATEGORIES


# --- any month: Σ BilledCost = Σ documents, per invoice and per currency, to the cent ----------

amounts = st.decimals(min_value=Decimal("-99999.99"), max_value=Decimal("99999.99"), places=2, allow_nan=False)


@st.composite
def months(draw):
    """Invoices of March (lines with 0-3 cost centres, positive or negative) and credit and
    debit notes in April against them, with the charges their lines came from."""
    documents, charges = [], {}
    for n in range(draw(st.integers(1, 4))):
        currency = draw(st.sampled_from(["USD", "EUR"]))
        number = f"CB-2026-{n + 1:06d}"
        lines = []
        for line_no in range(1, draw(st.integers(1, 4)) + 1):
            parts = draw(st.lists(amounts, min_size=0, max_size=3))
            amount = sum(parts, Decimal("0.00")) if parts else draw(amounts)
            centres = tuple(LineCostCenter(cost_center=f"CC-{i}", gl_code=f"GL{i}", amount=p) for i, p in enumerate(parts))
            quantity = draw(st.decimals(min_value=0, max_value=1000, places=3, allow_nan=False))
            kind = draw(st.sampled_from(["usage", "usage", "sla_credit"]))
            lines.append(InvoiceLine(line_no=line_no, kind=kind, service="VM", service_name="Virtual machines",
                                     tier="silver", tier_name="Silver", description="VM", quantity=quantity,
                                     unit="vm-hour", detail="", amount=amount, cost_centers=centres, charge_line_no=line_no))
            charges[(number, line_no)] = Charge(
                line_no=line_no, kind=kind, business_line="BL", service="VM", tier="silver", tariff_version="2026.1",
                charging_mode="chargeback", segment_from=dt.date(2026, 3, 1), segment_to=dt.date(2026, 3, 31),
                model=draw(st.sampled_from(["per_unit", "fixed"])), quantity=quantity, included=Decimal(0),
                billable=quantity, cost=Decimal(0), exact_amount=amount, amount=amount, currency=currency, detail="",
                cost_centers=tuple(CostCenterShare(cost_center=c.cost_center, quantity=quantity / 4, amount=c.amount)
                                   for c in centres))
        documents.append(Invoice(number=number, kind="invoice", month="2026-03", issue_date=dt.date(2026, 4, 1),
                                 business_line=f"BL{n}", buyer_name=f"Line {n}", buyer_head=None, currency=currency,
                                 lines=tuple(lines), total=sum((l.amount for l in lines), Decimal("0.00"))))
    for n, original in enumerate(draw(st.lists(st.sampled_from(documents), max_size=3))):
        target = draw(st.sampled_from(original.lines))
        value = draw(amounts)
        centres = tuple(LineCostCenter(cost_center=c.cost_center, gl_code=c.gl_code, amount=Decimal("0.00"))
                        for c in target.cost_centers[1:])
        if target.cost_centers:
            centres = (LineCostCenter(cost_center=target.cost_centers[0].cost_center, gl_code="", amount=value),) + centres
        line = replace(target, line_no=1, kind="adjustment", amount=value, cost_centers=centres, charge_line_no=None,
                       original_invoice=original.number, original_line_no=target.line_no)
        documents.append(Invoice(number=f"CB-2026-{100 + n:06d}", kind="debit_note" if value > 0 else "credit_note",
                                 month="2026-04", issue_date=dt.date(2026, 4, 15), business_line=original.business_line,
                                 buyer_name=original.buyer_name, buyer_head=None, currency=original.currency,
                                 lines=(line,), total=value, original_invoice=original.number, reason="x"))
    return documents, charges


def billed_months(documents, charges):
    """(month, its documents, their FOCUS rows) for March and April of a drawn month."""
    for billed_month in ("2026-03", "2026-04"):
        own = [d for d in documents if d.month == billed_month]
        yield billed_month, own, focus_rows(own, month=billed_month, provider=PROVIDER, charges=charges, categories={},
                                            corrected_months={d.number: d.month for d in documents})


@given(months())
def test_billed_cost_sums_to_every_document_and_the_month_to_the_cent(month):
    for billed_month, own, rows in billed_months(*month):
        for document in own:
            for cost in ("billed_cost", "effective_cost", "list_cost", "contracted_cost"):
                assert sum((getattr(r, cost) for r in rows if r.invoice_id == document.number),
                           Decimal(0)) == document.total, cost
        for currency in ("USD", "EUR"):
            assert sum((r.billed_cost for r in rows if r.billing_currency == currency), Decimal(0)) == sum(
                (d.total for d in own if d.currency == currency), Decimal(0))
        for row, following in zip(rows, [*rows[1:], None]):
            if row.charge_category == "Purchase":  # a fee bought on its own, then its use in the month
                assert row.effective_cost == 0 and row.list_cost == row.contracted_cost == row.billed_cost
                assert following == fee_in_use(row)
            elif not (row.charge_frequency == "Recurring" and row.billed_cost == 0):
                assert row.effective_cost == row.list_cost == row.contracted_cost == row.billed_cost
            assert (row.charge_class == "Correction") == (billed_month == "2026-04")
            assert (row.pricing_quantity is None) == (row.charge_category in ("Credit", "Adjustment"))
