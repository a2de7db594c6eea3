import datetime as dt
from dataclasses import replace
from decimal import Decimal
from types import SimpleNamespace

import pytest

from reports.views import month_export_view, month_label, statement_view
from tests.reports import samples

D = Decimal


def test_statement_figures_of_the_worked_month():
    view = samples.statement()
    # 3,800.00 - 380.00 + 1,350.00 = 4,770.00; last month 4,500.00 → +270.00, +6 %.
    assert (view.total, view.previous_total, view.change, view.change_pct) == (D("4770.00"), D("4500.00"), D("270.00"), D("6"))
    assert view.month_label == "March 2026" and view.previous_month_label == "February 2026"
    assert not view.is_draft and view.invoice_number == "INV-2026-0001"
    assert [(l.service_code, l.tier_name, l.kind, l.amount) for l in view.lines] == [
        ("VM", "Silver", "usage", D("3800.00")),
        ("VM", "Silver", "sla_credit", D("-380.00")),
        ("APPHOST", "Gold", "usage", D("1350.00")),
    ]
    credit = view.lines[1]
    assert credit.quantity is None
    assert credit.description == "Service credit: availability 99.50 % against a target of 99.90 %"
    assert credit.detail == "10 % of the month's charge for this tier"
    hosting = view.lines[2]
    # 3 instances × 2 vCPU-month and × 50 GB-month.
    assert [(c.service_name, c.quantity, c.unit) for c in hosting.components] == [
        ("Virtual machines", D("6"), "vCPU-month"), ("Block storage", D("150"), "GB-month")]
    assert hosting.flags == ("no subscription: priced at the default tier",)
    assert [(l.service_name, l.amount) for l in view.showback_lines] == [("Service desk", D("630.00"))]
    assert view.showback_total == D("630.00")


def test_sla_rows_put_the_credit_on_the_missed_metric_and_ignore_other_lines_results():
    rows = samples.statement().sla_rows
    assert [(r.service_name, r.metric_label, r.target_text, r.achieved_text, r.met, r.credit) for r in rows] == [
        ("Virtual machines", "Availability", "99.90 %", "99.50 %", False, D("-380.00")),
        ("Virtual machines", "Response time", "60 min", "45 min", True, None),
        ("Managed application hosting", "Availability", "99.95 %", "99.97 %", True, None),  # not OTHER's 99.99
    ]


def test_tier_options_compare_with_the_current_tier():
    options = samples.statement().tier_options
    vm = [(o.tier_name, o.is_current, o.amount, o.difference) for o in options if o.service_name == "Virtual machines"]
    # gold 4,620.00 - 3,800.00 = +820.00; bronze 3,135.00 - 3,800.00 = -665.00.
    assert vm == [("Gold", False, D("4620.00"), D("820.00")), ("Silver", True, D("3800.00"), D("0.00")),
                  ("Bronze", False, D("3135.00"), D("-665.00"))]
    bronze = options[2]
    assert bronze.difference_pct == D("-17.5") and bronze.advice.startswith("The cheapest tier")
    assert options[0].advice is None and options[0].service_levels.startswith("Availability 99.95\u00a0%, response 30\u00a0min")
    assert [o.service_name for o in options][:1] == ["Virtual machines"]  # in the order of the charges


def test_budget_variance():
    rows = samples.statement().budget_rows
    assert [(r.service_name, r.variance, r.variance_pct) for r in rows] == [
        ("Virtual machines", D("1400.00"), D("14")), ("Managed application hosting", D("-950.00"), D("-19"))]


def test_draft_statement_has_no_invoice_and_no_previous_month():
    view = statement_view(business_line=samples.business_line(), month="2026-03", charges=samples.charges(),
                          services=samples.services(), closed=False, generated_at=dt.datetime(2026, 3, 20))
    assert view.is_draft and view.invoice_number is None
    assert view.change is None and view.change_pct is None
    assert view.sla_rows == () and view.tier_options == () and view.budget_rows == ()


def test_credit_notes_show_as_corrections_and_count_in_the_total():
    invoice = samples.invoice()
    line = replace(invoice.lines[2], line_no=1, kind="adjustment", amount=D("-450.00"), cost_centers=(),
                   description="Correction of INV-2026-0001 line 3")
    note = replace(invoice, number="CN-2026-0001", kind="credit_note", role="credit_note", lines=(line,), total=D("-450.00"),
                   reason="one instance was a test", original_invoice="INV-2026-0001")
    view = statement_view(business_line=samples.business_line(), month="2026-03", charges=samples.charges(),
                          services=samples.services(), closed=True, invoice=invoice, notes=[note],
                          generated_at=dt.datetime(2026, 4, 2))
    assert view.total == D("4320.00")  # 4,770.00 - 450.00
    assert view.lines[-1].kind == "adjustment"
    assert view.lines[-1].description.startswith("Credit note CN-2026-0001 (one instance was a test)")


def test_statement_refuses_inconsistent_input():
    common = dict(business_line=samples.business_line(), month="2026-03", services=samples.services(),
                  generated_at=dt.datetime(2026, 4, 2))
    with pytest.raises(ValueError, match="is open"):
        statement_view(**common, charges=samples.charges(), closed=False, invoice=samples.invoice())
    with pytest.raises(ValueError, match="totals"):
        statement_view(**common, charges=samples.charges()[:1], closed=True, invoice=samples.invoice())
    with pytest.raises(ValueError, match="exactly one currency"):
        statement_view(**common, charges=(), closed=True)
    euro = replace(samples.charges()[0], currency="EUR", line_no=9)
    with pytest.raises(ValueError, match="EUR, USD"):
        statement_view(**common, charges=(*samples.charges(), euro), closed=False)


def test_month_export_from_invoices_splits_by_cost_center():
    view = samples.export()
    assert [(r.line_no, r.cost_center, r.gl_code, r.quantity, r.amount) for r in view.rows] == [
        (1, "CC-MKT-1", "4100-10", D("200"), D("2303.03")),
        (1, "CC-MKT-2", "4100-20", D("130"), D("1496.97")),
        (2, "CC-MKT-1", "4100-10", D("0"), D("-230.30")),
        (2, "CC-MKT-2", "4100-20", D("0"), D("-149.70")),
        (3, "CC-MKT-1", "4100-10", D("3"), D("1350.00")),
    ]
    assert view.services == (("APPHOST", "Managed application hosting"), ("VM", "Virtual machines"))
    assert view.amounts == ((D("1350.00"), D("3420.00")),)
    assert view.total == D("4770.00") and view.closed


def test_month_export_of_an_open_month_uses_charges_and_leaves_out_showback():
    view = samples.export(closed=False)
    assert not view.closed and {r.invoice_number for r in view.rows} == {""}
    assert view.total == D("4770.00") and "DESK" not in {r.service for r in view.rows}


def test_month_export_line_without_split_is_one_row_with_empty_cost_center():
    invoice = samples.invoice()
    bare = replace(invoice.lines[2], cost_centers=())
    doc = replace(invoice, lines=(*invoice.lines[:2], bare))
    rows = month_export_view(month="2026-03", closed=True, documents=[doc]).rows
    assert (rows[-1].cost_center, rows[-1].gl_code, rows[-1].quantity) == ("", "", D("3"))


def test_month_label_does_not_depend_on_the_locale():
    assert month_label("2026-12") == "December 2026"


def test_component_shares_of_a_composite_are_shown_beneath_it():
    # 1,350.00 split by the components' list prices: 810.00 for VM, 540.00 for storage.
    shares = {3: (SimpleNamespace(service="VM", service_name="Virtual machines", unit="vCPU-month", quantity=D("6"), amount=D("810.00")),
                  SimpleNamespace(service="STORAGE", service_name="Block storage", unit="GB-month", quantity=D("150"), amount=D("540.00")))}
    view = statement_view(business_line=samples.business_line(), month="2026-03", charges=samples.charges(),
                          services=samples.services(), closed=False, generated_at=dt.datetime(2026, 3, 20), components=shares)
    hosting = view.lines[2]
    assert [(c.service_name, c.quantity, c.amount) for c in hosting.components] == [
        ("Virtual machines", D("6"), D("810.00")), ("Block storage", D("150"), D("540.00"))]
    assert sum(c.amount for c in hosting.components) == hosting.amount


def test_the_budget_table_has_a_total_row_that_adds_up_its_rows():
    view = samples.statement()
    total = view.budget_total
    assert total is not None and total.service_name == "Total"
    assert total.budget_ytd == sum(r.budget_ytd for r in view.budget_rows)
    assert total.actual_ytd == sum(r.actual_ytd for r in view.budget_rows)
    assert total.variance == D("450.00") == sum(r.variance for r in view.budget_rows)  # 1,400.00 over - 950.00 under
    assert samples.statement(with_budget=False).budget_total is None
