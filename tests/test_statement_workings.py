"""Every line of every demo statement explains its amount: the steps of "How it is priced"
add up to the line's amount exactly, in the view and in the HTML a head reads."""

import html
import re
from decimal import Decimal

import pytest
from click.testing import CliRunner

from billing.jobs.documents import month_statements
from billing.store.db import open_store, transaction
from cli import chargeback
from reports.views import statement_views

MONTH = "2026-11"
ROW = re.compile(r'<td class="detail">(.*?)</td>\s*<td class="num">([^<]*)</td>', re.S)
STEP = re.compile(r'<span class="step-amount">([^<]*)</span>')


def amount(text: str) -> Decimal:
    return Decimal(html.unescape(text).strip().replace(",", "").replace("\u2212", "-"))


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """A small demo, closed through November 2026: mid-month tier changes on 15 Nov, included
    quantities, monthly fees, minimums, blocks, exclusive edges, a fee at zero usage, a 30-day
    proration, quarterly and annual fees, negotiated discounts and service credits."""
    out = tmp_path_factory.mktemp("demo") / "demo"
    result = CliRunner().invoke(chargeback, ["demo", "--out", str(out), "--months", "3", "--rows", "3000",
                                             "--business-lines", "12", "--cost-centers", "40", "--through", MONTH],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return out


def test_every_line_of_every_demo_statement_adds_up_to_its_amount(demo):
    factory = open_store(f"sqlite:///{demo / 'chargeback.db'}")
    with transaction(factory) as session:
        views = statement_views(month_statements(session, MONTH))
    lines = [line for view in views for line in (*view.lines, *view.showback_lines)]
    kinds = {line.kind for line in lines}
    assert {"usage", "sla_credit", "fee", "discount"} <= kinds
    for line in lines:
        if line.kind == "adjustment":
            continue  # a credit or debit note's line is explained by its note
        assert line.steps, line
        figures = [step.amount for step in line.steps if step.amount is not None]
        assert sum(figures, Decimal(0)) == line.amount, (line.service_code, line.steps, line.amount)
        if len(line.steps) == 1:
            assert line.steps[0].amount == line.amount
    texts = [step.text for line in lines for step in line.steps]
    for words in ("monthly fee", "included", "top-up to the minimum", "blocks of", "markup"):
        assert any(words in text for text in texts), words
    changed = [line.in_force for line in lines if "tier changed" in line.in_force]
    assert changed and all(re.match(r"(1–14 Nov, 14|15–30 Nov, 16) of 30 days; tier changed from .+ to .+ on 15 Nov$", text)
                           for text in changed), changed


def test_the_html_statement_shows_figures_that_add_up(demo):
    pages = sorted((demo / "statements").glob(f"{MONTH}-*.html"))
    assert pages
    rows = 0
    for page in pages:
        for detail, shown in ROW.findall(page.read_text()):
            rows += 1
            steps = STEP.findall(detail)
            if steps:
                assert sum(map(amount, steps), Decimal(0)) == amount(shown), (page.name, detail)
            assert "@" not in detail or "<li>" in detail or len(re.findall("@", detail)) == 1, (page.name, detail)
    assert rows > 100
