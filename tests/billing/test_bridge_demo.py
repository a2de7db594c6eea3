"""The variance bridge over a generated demo: every business line and service of every month
adds up to its change to the cent, from the statement's totals; a closed month's bridge is the
one its close froze; `chargeback explain --change` prints it and the statement shows it first."""

import pytest
from click.testing import CliRunner

from billing.api import Store
from billing.close.bridge import Step
from billing.core.money import exact_sum, quantum
from billing.jobs.documents import month_statements
from billing.jobs.frozen import frozen_month
from cli import chargeback
from tests.cli_helpers import run

MONTHS = ("2025-11", "2025-12", "2026-01", "2026-02")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("bridge") / "demo"
    result = CliRunner().invoke(chargeback, ["demo", "--out", str(out), "--months", "4", "--rows", "3000",
                                             "--business-lines", "12", "--cost-centers", "40", "--through", MONTHS[-1]],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return out


def _statements(db: str, month: str):
    with Store(db) as store, store.transaction() as session:
        return month_statements(session, month), frozen_month(session, month)


def test_every_line_and_service_of_every_demo_month_adds_up_to_its_change(demo):
    db = f"sqlite:///{demo / 'chargeback.db'}"
    moved: dict[str, set[Step]] = {}
    for month in MONTHS[1:]:
        inputs, snapshot = _statements(db, month)
        assert snapshot is not None and snapshot.bridges is not None  # frozen at close
        for statement in inputs:
            bridge = statement.bridge
            assert bridge is not None and statement.previous_total is not None
            assert bridge == snapshot.bridges[statement.business_line.code]
            charged = exact_sum(c.amount for c in statement.charges if c.charging_mode == "chargeback")
            assert bridge.current == charged + exact_sum(line.amount for n in statement.notes for line in n.lines)
            assert bridge.previous == statement.previous_total
            assert exact_sum(amount for _, amount in bridge.pieces) == bridge.change
            for service in bridge.services:
                assert exact_sum(amount for _, amount in service.pieces) == service.change
                assert all(amount % quantum(bridge.currency) == 0 for _, amount in service.pieces)
            moved.setdefault(month, set()).update(step for step, amount in bridge.pieces if amount)
    # January brings the example catalogue's 2026.1 tariffs, fees and RES's agreements
    assert {Step.PRICE, Step.VOLUME, Step.FEES} <= moved["2026-01"]
    assert Step.PRICE not in moved["2026-02"]


def test_explain_change_prints_the_bridge_and_a_correction_of_the_next_month(demo):
    db = f"sqlite:///{demo / 'chargeback.db'}"
    inputs, _ = _statements(db, "2026-01")
    statement = max(inputs, key=lambda s: abs(s.bridge.change))
    code = statement.business_line.code
    printed = run(db, "explain", "--change", code.lower(), "2026-01").stdout
    assert f"Why {code}'s bill changed: 2026-01 against 2025-12" in printed
    assert "Price (a new tariff version)" in printed and "2025-12 total" in printed and "2026-01 total" in printed
    # a credit note of 10.00 dated in March, the next open month, is a correction of March against February
    invoice = next(s.invoice.number for s in _statements(db, "2026-02")[0] if s.business_line.code == code)
    run(db, "adjust", "--invoice", invoice, "--line", "1", "--amount", "10.00", "--reason", "bridge test")
    run(db, "month", "run", "2026-03")
    march = run(db, "explain", "--change", code, "2026-03").stdout
    assert "Corrections (credit and debit notes)" in march and "-10.00" in march
    assert run(db, "explain", "--change", "NOSUCH", "2026-03", ok=False).exit_code == 1
    assert run(db, "explain", ok=False).exit_code == 2


def test_the_statement_shows_the_bridge_first_after_the_total(demo):
    page = next((demo / "statements").glob("2026-02-*.html")).read_text(encoding="utf-8")
    assert "Why the bill changed" in page
    assert page.index("Why the bill changed") < page.index("What you are charged for")
    assert page.index("Why the bill changed") > page.index('class="total"')


def test_a_first_month_has_no_bridge(demo):
    db = f"sqlite:///{demo / 'chargeback.db'}"
    inputs, _ = _statements(db, MONTHS[0])
    assert inputs and all(s.bridge is None and s.previous_total is None for s in inputs)
