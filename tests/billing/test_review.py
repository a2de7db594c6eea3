"""The month review from plain records (billing/close/review.py, `review_month`), without the
CLI or a store: the figures finance checks before closing (docs/month-end.md, "2. Review").
The close warnings have their own tests (test_close_warnings.py)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from billing.close.review import review_month
from billing.core.records import ChargeKind, Subscription
from tests.records import charge

D = Decimal
UNALLOCATED = "UNALLOCATED"

FEBRUARY = [
    charge(1, "FIN", "DESK", "400.00"),
    charge(2, "OPS", "DESK", "1000.00"),
    charge(3, "OPS", "VM", "1000.00"),
    charge(4, "HR", "VM", "200.00"),
    charge(5, "FIN", "LAB", "900.00", mode="showback"),
]
MARCH = [
    charge(1, "FIN", "DESK", "500.00"),  # +25.0 %: on the threshold, no anomaly
    charge(2, "OPS", "DESK", "1000.00"),
    charge(3, "OPS", "VM", "1300.00"),  # OPS +15.0 %
    charge(4, "NEW", "VM", "80.00", flags=("no subscription: priced at the default tier",)),  # appeared from nothing
    charge(5, "FIN", "LAB", "2000.00", mode="showback"),  # showback moves are no anomaly
    charge(6, "OPS", "VM", "-65.00", kind=ChargeKind.SLA_CREDIT),
    charge(7, UNALLOCATED, "VM", "35.00"),
    charge(8, UNALLOCATED, "LAB", "5.00", mode="showback"),
]  # HR stopped: -100 %


def review(charges=MARCH, previous=FEBRUARY, subscriptions=(), anomaly_pct="25", **kwargs):
    return review_month(month="2026-03", previous_month="2026-02", charges=charges, previous_charges=previous,
                        subscriptions=subscriptions, anomaly_pct=D(anomaly_pct), unallocated_code=UNALLOCATED, **kwargs)


def test_totals_are_what_would_be_invoiced_with_showback_apart():
    found = review()
    assert (found.month, found.previous_month, found.currency) == ("2026-03", "2026-02", "USD")
    assert found.total == D("2850.00")  # 500 + 1000 + 1300 + 80 - 65 + 35
    assert found.previous_total == D("2600.00")
    assert found.showback_total == D("2005.00")
    assert found.sla_credits == D("-65.00")
    assert found.unallocated == D("40.00")  # what sits with UNALLOCATED, shown or charged


def test_each_business_line_and_service_against_the_month_before():
    found = review()
    lines = {m.key: (m.current, m.previous, m.change, m.change_pct) for m in found.by_business_line}
    assert lines == {
        "FIN": (D("500.00"), D("400.00"), D("100.00"), D("25.0")),
        "HR": (D("0"), D("200.00"), D("-200.00"), D("-100.0")),
        "NEW": (D("80.00"), D("0"), D("80.00"), None),
        "OPS": (D("2235.00"), D("2000.00"), D("235.00"), D("11.8")),
        UNALLOCATED: (D("35.00"), D("0"), D("35.00"), None),
    }
    assert [m.key for m in found.by_business_line] == sorted(lines)
    services = {m.key: (m.current, m.previous) for m in found.by_service}
    assert services == {"DESK": (D("1500.00"), D("1400.00")), "VM": (D("1350.00"), D("1200.00"))}  # no showback LAB


def test_the_largest_movers_are_the_business_lines_that_moved_most_either_way():
    assert [m.key for m in review().largest_movers] == ["OPS", "HR", "FIN", "NEW", UNALLOCATED]
    assert [m.key for m in review(movers=2).largest_movers] == ["OPS", "HR"]


def test_anomalies_are_moves_beyond_the_setting_and_lines_that_appeared():
    found = {(a.kind, a.key) for a in review().anomalies}
    assert found == {("business line", "HR"), ("business line", "NEW"), ("business line", UNALLOCATED)}
    assert ("business line", "FIN") in {(a.kind, a.key) for a in review(anomaly_pct="24.9").anomalies}
    services = {(a.kind, a.key) for a in review(anomaly_pct="5").anomalies if a.kind == "service"}
    assert services == {("service", "DESK"), ("service", "VM")}  # +7.1 %, +12.5 %


def test_a_first_month_has_nothing_to_compare_and_no_anomaly():
    found = review(previous=[])
    assert found.anomalies == () and found.previous_total == 0
    assert all(m.change_pct is None for m in found.by_business_line)


def test_flagged_charges_are_listed_for_finance_to_look_at():
    assert [(c.business_line, c.flags) for c in review().flagged] == [
        ("NEW", ("no subscription: priced at the default tier",))]


def test_subscriptions_in_force_in_the_month_without_usage_are_idle():
    def sub(line, service, start, end=None):
        return Subscription(business_line=line, service=service, tier="gold", effective_from=start, effective_to=end)

    subscriptions = [
        sub("FIN", "DESK", dt.date(2026, 1, 1)),  # used
        sub("FIN", "VM", dt.date(2026, 1, 1)),  # idle
        sub("HR", "VM", dt.date(2026, 1, 1), dt.date(2026, 3, 1)),  # one day of March: idle
        sub("HR", "DESK", dt.date(2026, 1, 1), dt.date(2026, 2, 28)),  # ended before March
        sub("OPS", "LAB", dt.date(2026, 4, 1)),  # starts after March
    ]
    fee_only = charge(9, "OPS", "VM", "50.00", usage_rows=0)  # a monthly fee without usage is no use
    found = review(charges=[*MARCH[:2], fee_only], subscriptions=subscriptions + [sub("OPS", "VM", dt.date(2026, 3, 15))])
    assert [(s.business_line, s.service) for s in found.idle_subscriptions] == [
        ("FIN", "VM"), ("HR", "VM"), ("OPS", "VM")]


def test_a_month_without_charges_reviews_as_zero():
    found = review(charges=[], previous=[])
    assert (found.total, found.currency, found.by_business_line, found.anomalies) == (D(0), "", (), ())
