"""A business line's tier advice and its budget and forecast pages: the figures
``chargeback advise``, ``chargeback budget show`` and ``chargeback forecast`` print for the same
store, shown to finance, auditors and the line's head (and the budget and forecast to
planners), on SQLite and PostgreSQL; another line's head gets the 404 of a line that does not exist; names escaped."""

from __future__ import annotations

import html
import re

import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

from billing import api
from cli import chargeback
from tests.conftest import BACKENDS
from tests.portal.conftest import MONTH, PASSWORD, START, make_books, store_url

HOSTILE = '<script>alert("x")</script> & Co'
BUDGET = ("business_line,service,month,amount\nFIN,VM,2026-01,100.00\nFIN,VM,2026-02,100.00\n"
          "FIN,VM,2026-03,100.00\nFIN,DESK,2026-03,50.00\n")


@pytest.fixture(scope="module", params=BACKENDS)
def budgeted(request, tmp_path_factory):
    """Books of their own, on SQLite and PostgreSQL (skipped saying why without
    CHARGEBACK_TEST_PG_URL), with a budget for FIN and a business line named in HTML: the
    shared books stay without a budget for every other test."""
    from portal.app import create_app

    folder = tmp_path_factory.mktemp("planning")
    url, drop = store_url(request.param, tmp_path_factory)
    make_books(url)
    (folder / "budget.csv").write_text(BUDGET, encoding="utf-8")
    lines = (START / "business_lines.csv").read_text(encoding="utf-8").rstrip("\n")
    (folder / "business_lines.csv").write_text(
        lines + f'\nXSS,"{HOSTILE.replace(chr(34), chr(34) * 2)}",Eve <b>Bold</b>,eve@example.com,Corporate\n',
        encoding="utf-8")
    with api.open_store(url) as store:
        api.load_budget(store, folder / "budget.csv")
        api.load_org(store, folder / "business_lines.csv")
    app = create_app(url)
    yield url, app
    app.state.portal.store.close()
    if drop is not None:
        drop()


def client_as(app, name: str) -> TestClient:
    client = TestClient(app, base_url="https://testserver", follow_redirects=False)
    client.cookies.set("cb_session", api.sign_in(app.state.portal.store, name, PASSWORD).token)
    return client


def cli(url: str, *args: str) -> str:
    result = CliRunner().invoke(chargeback, ["--db", url, *args])
    assert result.exit_code == 0, result.output
    return result.output


def cli_rows(output: str) -> list[list[str]]:
    """The rows of the table the command printed (below its ``---`` rule)."""
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("---")) + 1
    rows = []
    for line in lines[start:]:
        if not line.strip() or line.startswith(tuple(s + ":" for s in ("DESK", "STORAGE", "WORKPLACE"))):
            break
        rows.append(re.split(r"\s{2,}", line.strip()))
    return rows


def page_rows(text: str, table: int = 0) -> list[list[str]]:
    """The body and footer rows of the page's ``table``-th table, each cell's text."""
    body = re.findall(r"<table>(.*?)</table>", text, re.S)[table]
    rows = []
    for row in re.findall(r"<tr>(.*?)</tr>", body.split("</thead>")[1], re.S):
        rows.append([html.unescape(re.sub(r"<[^>]+>", "", c)).strip()
                     for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S)])
    return rows


def figures(cells: list[str]) -> list[str]:
    """Cells as the command writes them: amounts without the currency code, ``+5.2%``."""
    return [c.removesuffix(" USD").replace(" %", "%") for c in cells]


def test_the_line_page_leads_to_its_advice_and_budget(budgeted):
    _, app = budgeted
    page = client_as(app, "head").get("/lines/FIN").text
    assert 'href="/lines/FIN/advice"' in page and 'href="/lines/FIN/budget"' in page


def test_a_head_sees_its_lines_tier_advice_as_chargeback_advise_prints_it(budgeted):
    url, app = budgeted
    answer = client_as(app, "head").get("/lines/FIN/advice")
    assert answer.status_code == 200
    printed = cli_rows(cli(url, "advise", "--business-line", "FIN"))
    shown = page_rows(answer.text)
    assert len(shown) == len(printed) == 9
    for cells, row in zip(shown, printed):
        assert cells[1].endswith("(current)") == row[1].endswith("(current)")
        assert figures([cells[2], cells[-1]]) == [row[2], row[-1]]  # amount and credits
        if not cells[1].endswith("(current)"):
            assert figures(cells[3:5]) == row[3:5]  # difference and %
    advice = api.advise(app.state.portal.store, "FIN")
    for option in advice.options:
        if not option.is_current:
            assert html.escape(option.sentence) in answer.text


def test_a_head_sees_its_lines_budget_and_forecast_as_the_commands_print_them(budgeted):
    url, app = budgeted
    head = client_as(app, "head")
    answer = head.get(f"/lines/FIN/budget?month={MONTH}")
    assert answer.status_code == 200
    budget = cli_rows(cli(url, "budget", "show", MONTH, "--business-line", "FIN"))
    assert [figures(r) for r in page_rows(answer.text, 0)] == budget
    assert budget[0] == ["DESK", "50.00", "470.00", "420.00", "+840.0%"]
    forecast = cli_rows(cli(url, "forecast", "--business-line", "FIN"))
    shown = page_rows(answer.text, 1)
    assert [r[:3] + figures(r[4:]) for r in shown[:-1]] == [r[:3] + r[4:] for r in forecast[:-1]]
    assert figures(shown[-1][-3:-2]) == forecast[-1][-1:]  # the total
    assert head.get("/lines/FIN/budget").text == answer.text  # the newest rated month by default


def test_a_month_without_a_budget_says_so(budgeted):
    _, app = budgeted
    answer = client_as(app, "fin").get("/lines/FIN/budget?month=2025-03")
    assert answer.status_code == 200 and "No budget is loaded for the fiscal year of 2025-03" in answer.text
    assert client_as(app, "fin").get("/lines/FIN/budget?month=March").status_code == 404


@pytest.mark.parametrize("page", ["advice", "budget"])
def test_another_lines_head_gets_the_404_of_a_line_that_does_not_exist(budgeted, page):
    _, app = budgeted
    head = client_as(app, "head")
    theirs, none = head.get(f"/lines/OPS/{page}"), head.get(f"/lines/NOSUCH/{page}")
    assert theirs.status_code == none.status_code == 404 and theirs.text == none.text
    assert "OPS" not in theirs.text and "IT Operations" not in theirs.text
    assert client_as(app, "aud").get(f"/lines/OPS/{page}").status_code == 200
    assert client_as(app, "fin").get(f"/lines/NOSUCH/{page}").status_code == 404


def test_a_planner_sees_every_lines_budget_and_forecast_but_no_advice(budgeted):
    _, app = budgeted
    planner = client_as(app, "plan")
    home = planner.get("/").text
    assert 'href="/lines/OPS/budget"' in home and 'href="/lines/FIN/budget"' in home and "/advice" not in home
    assert html.escape(HOSTILE, quote=False) in home.replace("&#34;", "\"") and "<script>" not in home
    page = planner.get(f"/lines/OPS/budget?month={MONTH}")
    assert page.status_code == 200 and "Forecast" in page.text
    assert 'href="/lines/OPS"' not in page.text  # no link to a page it may not read
    assert planner.get("/lines/NOSUCH/budget").status_code == 404
    assert planner.get("/lines/OPS/advice").status_code == 403
    assert client_as(app, "adm").get("/lines/OPS/budget").status_code == 403


@pytest.mark.parametrize("page", ["advice", "budget"])
def test_a_line_named_in_html_is_shown_escaped(budgeted, page):
    _, app = budgeted
    answer = client_as(app, "fin").get(f"/lines/XSS/{page}")
    assert answer.status_code == 200
    assert "<script>" not in answer.text and html.escape(HOSTILE, quote=False) in answer.text.replace("&#34;", '"')
