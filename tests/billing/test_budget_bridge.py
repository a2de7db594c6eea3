"""Year to date against budget, step by step (billing.planning.budget_bridge; docs/statements.md,
"Against the budget"): services not in the budget, budgeted and not charged, volume at the
budget's price a unit, service credits, then price, tier and fees; the pieces add up to the
difference to the cent (a hypothesis property), and the statement shows them."""

from __future__ import annotations

import html
import re
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from billing.core.money import exact_sum
from billing.core.records import ChargeKind
from billing.planning.budget_bridge import BUDGET_STEPS, BudgetStep, UsedFigure, budget_bridge
from tests.billing.test_month_pack import setup_month
from tests.cli_helpers import run, write

MONTHS = ("2026-01", "2026-02", "2026-03")
SERVICES = ("DESK", "NETWORK", "VM")
cents = st.integers(-10**8, 10**8).map(lambda c: Decimal(c) / 100)


@st.composite
def year_to_date(draw):
    budgeted = [(m, s, draw(st.integers(0, 10**8).map(lambda c: Decimal(c) / 100)),
                 draw(st.none() | st.integers(0, 500).map(Decimal)))
                for m in MONTHS for s in SERVICES if draw(st.booleans())]
    used = [UsedFigure(month=m, service=s, kind=draw(st.sampled_from(list(ChargeKind))),
                       quantity=draw(st.integers(0, 900).map(lambda q: Decimal(q) / 10)), amount=draw(cents))
            for m in MONTHS for s in SERVICES for _ in range(draw(st.integers(0, 2)))]
    totals = [(s, exact_sum(a for _m, code, a, _q in budgeted if code == s), exact_sum(u.amount for u in used if u.service == s))
              for s in SERVICES]
    return [t for t in totals if t[1] or t[2]], budgeted, used


@settings(max_examples=300, deadline=None)
@given(year_to_date())
def test_property_the_pieces_add_up_to_the_difference_to_the_cent(data):
    totals, budgeted, used = data
    bridge = budget_bridge(totals, budgeted, used, "USD")
    assert exact_sum(a for _, a in bridge.pieces) == bridge.difference == exact_sum(t[2] - t[1] for t in totals)
    for service in bridge.services:
        assert tuple(step for step, _ in service.pieces) == BUDGET_STEPS
        assert all(a == a.quantize(Decimal("0.01")) for _, a in service.pieces)
        if not service.budget:  # nothing budgeted: all of it is "not in the budget"
            assert service.piece(BudgetStep.UNBUDGETED) == service.actual
        if not any(q for _m, s, _a, q in budgeted if s == service.service):
            assert service.piece(BudgetStep.VOLUME) == 0  # no budgeted quantity, no volume step


def test_volume_at_the_budgets_price_then_credits_then_the_rest():
    # NETWORK budgeted at 5 sites for 4,425.00 (885.00 a site); 10 sites used for 8,850.00 and a
    # 442.50 credit: volume +4,425.00, credits -442.50, price 0.00; DESK not in the budget
    used = [UsedFigure(month="2026-03", service="NETWORK", kind=ChargeKind.USAGE, quantity=Decimal(10), amount=Decimal("8850.00")),
            UsedFigure(month="2026-03", service="NETWORK", kind=ChargeKind.SLA_CREDIT, quantity=Decimal(0),
                       amount=Decimal("-442.50")),
            UsedFigure(month="2026-03", service="DESK", kind=ChargeKind.USAGE, quantity=Decimal(0), amount=Decimal("470.00"))]
    bridge = budget_bridge([("DESK", Decimal(0), Decimal("470.00")), ("NETWORK", Decimal("4425.00"), Decimal("8407.50")),
                            ("VM", Decimal("100.00"), Decimal(0))],
                           [("2026-03", "NETWORK", Decimal("4425.00"), Decimal(5)), ("2026-03", "VM", Decimal("100.00"), None)],
                           used, "USD")
    assert dict(bridge.pieces) == {BudgetStep.UNBUDGETED: Decimal("470.00"), BudgetStep.UNUSED: Decimal("-100.00"),
                                   BudgetStep.VOLUME: Decimal("4425.00"), BudgetStep.SERVICE_CREDITS: Decimal("-442.50"),
                                   BudgetStep.RATE: Decimal("0.00")}


def _text(page: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def test_the_statement_shows_the_budget_steps_open_and_closed(db_url, tmp_path):
    setup_month(db_url, tmp_path)
    # FIN: NETWORK budgeted at 5 sites for March; DESK (940.00 to date) not budgeted
    run(db_url, "budget", "load", write(tmp_path / "fin.csv", """
        business_line,service,month,amount,quantity
        FIN,NETWORK,2026-03,4425.00,5
        OPS,NETWORK,2026-03,30000.00,
    """))
    for state in ("open", "closed"):
        if state == "closed":
            run(db_url, "month", "close", "2026-03", "--confirm")
        run(db_url, "statements", "2026-03", "--out", tmp_path / state, "--line", "FIN")
        page = (tmp_path / state / "2026-03-FIN.html").read_text(encoding="utf-8")
        table = page[page.index('<table class="budget-steps"'):]
        steps = _text(table[:table.index("</table>")])
        assert ("Budget to date 4,425.00 Services not in the budget Service desk +940.00 +940.00 "
                "Volume (quantity against the budget's, at its price) Network and connectivity +4,425.00 +4,425.00 "
                "Service credits Network and connectivity -442.50 -442.50 "
                "Actual to date +4,922.50 against the budget 9,347.50") in steps, steps
        assert "Price, tier and fees" not in steps  # 0.00: a step that did not move is left out
