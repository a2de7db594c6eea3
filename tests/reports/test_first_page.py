"""A statement's first page stands alone: total and change, the two pictures with their figures,
service levels in brief, the budget position and the tier change worth most (issue 16)."""

from __future__ import annotations

import re
from decimal import Decimal
from html.parser import HTMLParser

from billing.close.trends import cost_history
from reports.charts import PALETTE, budget_burn_svg, cost_trend_svg
from reports.html import render_statement
from reports.summary import cost_trend
from reports.text import quantity
from tests.reports import samples


class Tables(HTMLParser):
    """Every table's rows as lists of cell texts, by the id of the figure holding it."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._figure = None
        self._row: list[str] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "figure":
            self._figure = attrs.get("id")
        elif tag == "tr" and self._figure:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.tables.setdefault(self._figure, []).append(self._row)
            self._row = None
        elif tag == "figure":
            self._figure = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def _page(**options) -> str:
    return render_statement(samples.statement(pictures=True, **options)).decode("utf-8")


def _first_page(html: str) -> str:
    return html[html.index('<div class="first-page">'):html.index('<div class="details">')]


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace("\u00a0", " ")


def test_the_first_page_holds_total_change_pictures_service_levels_budget_and_tier_change():
    first = _first_page(_page())
    text = _text(re.sub(r"<svg.*?</svg>", "", first, flags=re.S))
    assert "4,770.00 USD" in text and "+270.00 USD (+6.0 %)" in text
    assert 'id="chart-cost-trend"' in first and 'id="chart-budget-burn"' in first
    assert "Cost by service, Mar 2025 to Mar 2026" in text
    assert "2 of 3 targets met; 1 missed , credited 380.00 USD (already deducted)" in text
    missed = first[first.index("<h2>Service levels</h2>"):first.index("<h2>Budget</h2>")]
    assert missed.count("<tr>") == 2 and "Availability" in missed and "-380.00" in missed  # the header and the one miss
    assert "Year to date: 13,670.00 USD against a budget of 15,000.00 USD: -1,330.00 USD under budget" in text
    assert ("Fiscal year 2026, forecast: 57,770.00 USD (80 % range 53,270.09 to 62,269.91) against the year's budget "
            "of 60,000.00 USD: -2,230.00 USD under budget.") in text
    assert "Virtual machines at Bronze instead of Silver would have cost 665.00 USD less this month (-17.5 %)" in text
    # the details follow: every line, every target, every tier
    details = _page()[_page().index('<div class="details">'):]
    assert "What you are charged for" in details and "Service levels: target and achieved" in details
    assert "Your tiers: what the same usage would cost" in details


def test_the_pictures_tables_carry_the_figures_the_pictures_are_drawn_from():
    view = samples.statement(pictures=True)
    parser = Tables()
    parser.feed(_page())
    trend = parser.tables["cost-by-service"]
    assert trend[0] == ["Month", "Virtual machines", "Managed application hosting", "Total"]
    assert [row[0] for row in trend[1:]] == list(view.trend.month_labels)
    for i, row in enumerate(trend[1:]):
        assert [Decimal(c.replace(",", "")) for c in row[1:]] == [s.amounts[i] for s in view.trend.series] + [view.trend.totals[i]]
    assert trend[-1][1:] == ["3,420.00", "1,350.00", "4,770.00"] and trend[-2][-1] == "4,500.00"
    burn = parser.tables["budget-burn"]
    assert burn[0][:3] == ["Month", "Budget", "Actual"]
    assert burn[3] == ["Mar", "15,000.00", "13,670.00", "13,670.00", "13,670.00", "13,670.00"]
    assert burn[-1] == ["Dec", "60,000.00", "", "57,770.00", "53,270.09", "62,269.91"]
    for row, point in zip(burn[1:], view.burn.points):
        assert row[1] == f"{point.budget:,.2f}"
        assert row[2] == ("" if point.actual is None else f"{point.actual:,.2f}")
    # the pictures are drawn from the same figures: each bar's and point's value, written as text
    html = _page()
    trend_svg = html[html.index('id="chart-cost-trend"'):]
    values = re.findall(r'<desc class="value">([^<]*)</desc>', trend_svg[:trend_svg.index("</svg>")])
    assert values == [quantity(a.normalize()) for s in view.trend.series for a in s.amounts]
    burn_svg = html[html.index('id="chart-budget-burn"'):]
    values = re.findall(r'<desc class="value">([^<]*)</desc>', burn_svg[:burn_svg.index("</svg>")])
    shown = [p.actual for p in view.burn.points if p.actual is not None] + [p.forecast for p in view.burn.points if p.forecast is not None]
    assert values == [quantity(a.normalize()) for a in shown]


def test_pictures_are_reproducible_self_contained_and_escape_names():
    view = samples.statement(pictures=True, hostile=True)
    for svg in (cost_trend_svg(view.trend, "USD"), budget_burn_svg(view.burn, "USD")):
        assert svg == (cost_trend_svg(view.trend, "USD") if "cost-trend" in svg else budget_burn_svg(view.burn, "USD"))
        assert "<script" not in svg and "<!--" not in svg and "xml-stylesheet" not in svg
        assert not re.search(r"(href|src)=", svg) and "url(" not in svg  # nothing fetched
        assert "http" not in svg.replace("http://www.w3.org/2000/svg", "").replace("http://www.w3.org/1999/xlink", "")
    html = render_statement(view).decode("utf-8")
    assert "<script" not in html
    assert "Virtual machines &lt;script&gt;alert(1)&lt;/script&gt;" in html


def _lightness(colour: str) -> float:
    """CIE L* of an sRGB colour: how light it prints in grey."""
    channels = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    y = 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    return 116 * y ** (1 / 3) - 16 if y > 0.008856 else 903.3 * y


def test_the_bands_step_in_lightness_so_grey_prints_tell_them_apart():
    lightness = [_lightness(c) for c in PALETTE]
    assert lightness == sorted(lightness)
    assert min(b - a for a, b in zip(lightness, lightness[1:])) >= 10


def test_the_cost_picture_names_five_services_and_adds_up_the_rest():
    amounts = {("2026-03", f"S{i}"): Decimal(100 * (i + 1)) for i in range(8)}
    trend = cost_trend(cost_history("2026-03", amounts), {})
    assert [s.name for s in trend.series] == ["S7", "S6", "S5", "S4", "S3", "Other services"]
    assert trend.series[-1].amounts[-1] == Decimal(100 + 200 + 300) and trend.totals[-1] == Decimal(3600)
    assert trend.totals[:-1] == (Decimal(0),) * 12  # the months before the first charge are on the picture
    assert cost_trend(cost_history("2026-03", {}), {}) is None


def test_without_a_budget_the_first_page_says_so_and_draws_no_burn():
    html = render_statement(samples.statement(pictures=True, with_budget=False)).decode("utf-8")
    first = _first_page(html)
    assert 'id="chart-budget-burn"' not in first and 'id="chart-cost-trend"' in first
    assert "No budget has been set for Marketing this year" in _text(first)


def test_pictures_drawn_side_by_side_are_the_pictures_drawn_one_by_one():
    from reports.charts import pictures_of, statement_pictures

    views = [samples.statement(pictures=True), samples.statement(pictures=True, with_budget=False)] * 6
    assert pictures_of(views, workers=2) == [statement_pictures(v) for v in views]
    assert render_statement(views[0], pictures=pictures_of(views)[0]) == render_statement(views[0])


def test_pictures_known_already_are_taken_as_they_are_and_only_the_others_drawn():
    from reports.charts import picture_keys, pictures_of, statement_pictures

    with_budget, without = samples.statement(pictures=True), samples.statement(pictures=True, with_budget=False)
    keys = picture_keys(with_budget)
    assert keys["trend"] == picture_keys(without)["trend"] and keys["burn"] and picture_keys(without)["burn"] is None
    from dataclasses import replace

    moved = replace(with_budget, trend=replace(with_budget.trend, totals=(Decimal(1), *with_budget.trend.totals[1:])))
    assert picture_keys(moved)["trend"] != keys["trend"] and picture_keys(moved)["burn"] == keys["burn"]
    assert picture_keys(replace(with_budget, currency="EUR"))["burn"] != keys["burn"]
    known = {keys["trend"]: "<svg>kept trend</svg>"}
    found = pictures_of([with_budget, without], known=known)
    assert found[0] == statement_pictures(with_budget)  # its burn was not known: both drawn
    assert found[1] == {"trend": "<svg>kept trend</svg>", "burn": None}


def test_a_closed_months_pictures_are_drawn_once_and_kept_with_its_close(sqlite_url, tmp_path):
    from sqlalchemy import create_engine, text

    from tests.billing.test_month_pack import setup_month
    from tests.cli_helpers import run

    setup_month(sqlite_url, tmp_path)
    run(sqlite_url, "month", "close", "2026-03", "--confirm")
    run(sqlite_url, "statements", "2026-03", "--out", tmp_path / "first")
    run(sqlite_url, "statements", "2026-03", "--out", tmp_path / "again")
    for name in ("2026-03-FIN.html", "2026-03-OPS.html"):
        first = (tmp_path / "first" / name).read_bytes()
        assert b'id="chart-cost-trend"' in first and (tmp_path / "again" / name).read_bytes() == first
    engine = create_engine(sqlite_url)
    with engine.begin() as db:  # what the later statements show is what was kept, not drawn again
        kept = db.execute(text("SELECT count(*) FROM close_snapshot WHERE section = 'picture'")).scalar()
        assert kept >= 3  # FIN's, OPS's and UNALLOCATED's cost trends at least
        db.execute(text("""UPDATE close_snapshot SET data = '"<svg id=\\"kept\\"></svg>"' WHERE section = 'picture'"""))
    run(sqlite_url, "statements", "2026-03", "--out", tmp_path / "kept")
    assert b'<svg id="kept"></svg>' in (tmp_path / "kept" / "2026-03-FIN.html").read_bytes()
    run(sqlite_url, "month", "reopen", "2026-03", "--reason", "a test")  # an open month's are drawn every time
    run(sqlite_url, "statements", "2026-03", "--out", tmp_path / "open")
    assert b'<svg id="kept"></svg>' not in (tmp_path / "open" / "2026-03-FIN.html").read_bytes()
    run(sqlite_url, "month", "close", "2026-03", "--confirm")  # closed again: a close of its own, drawn again
    run(sqlite_url, "statements", "2026-03", "--out", tmp_path / "closed-again")
    page = (tmp_path / "closed-again" / "2026-03-FIN.html").read_bytes()
    assert b'<svg id="kept"></svg>' not in page and b'id="chart-cost-trend"' in page
    engine.dispose()


def test_a_long_bridge_shows_its_largest_steps_first_and_every_step_in_the_details():
    from billing.close.bridge import STEP_LABELS
    from reports.bridge import FIRST_PAGE_STEPS

    view = samples.statement(pictures=True, bridge=True)
    shown = view.bridge.first_page_steps
    assert len(shown) == FIRST_PAGE_STEPS + 1 and shown[-1].label == "6 other steps"
    assert sum(s.amount for s in shown) == view.bridge.change == Decimal("270.00")  # still adds up to the change
    kept = [s.amount for s in shown[:-1]]
    assert min(abs(a) for a in kept) >= max(abs(s.amount) for s in view.bridge.steps if s not in shown)
    html = render_statement(view).decode("utf-8")
    first, details = _text(_first_page(html)), _text(html[html.index('<div class="details">'):])
    assert "6 other steps each in the details +30.00" in first and "(2026.1 → 2026.2, 2026.3)" not in first
    assert all(label in details for label in STEP_LABELS.values())
    assert "Block storage +10.00 (2026.1 → 2026.2, 2026.3)" in details
