import datetime as dt
import re
from dataclasses import replace
from decimal import Decimal
from types import SimpleNamespace

import pytest
from jinja2 import UndefinedError

from reports.html import environment, render_index, render_statement, statement_filename
from reports.views import statement_view
from tests.reports import samples


def _text(html: bytes) -> str:
    """The visible text, tags removed and spaces collapsed."""
    body = html.decode().split("<body>", 1)[1]
    return " ".join(re.sub(r"<[^>]+>", " ", body).split())


def test_hostile_input_is_shown_as_text():
    html = render_statement(samples.statement(hostile=True)).decode()
    assert "<script" not in html and "<img" not in html
    assert "Marketing &lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "Virtual machines &lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "priced at the default tier &lt;script&gt;" in html  # a flag
    assert "=HYPERLINK(&#34;http://x&#34;,&#34;y&#34;)" in html  # a component name


def test_headline_change_and_lines():
    text = _text(render_statement(samples.statement()))
    assert "Charged for March 2026 4,770.00 USD" in text
    assert "February 2026: 4,500.00 USD Change: +270.00 USD (+6.0 %) more than last month" in text
    assert "Invoice INV-2026-0001" in text and "DRAFT" not in text
    assert "Virtual machines Silver 330 vCPU-month 250 @ 12.00 + 80 @ 10.00 3,800.00" in text
    assert "Service credit: availability 99.50 % against a target of 99.90 %" in text
    assert "includes Virtual machines 6 vCPU-month" in text
    assert "Total charged 4,770.00" in text
    assert "Availability 99.90 % 99.50 % Missed -380.00" in text


def test_tier_options_show_the_differences():
    text = _text(render_statement(samples.statement()))
    assert "Gold 4,620.00 +820.00 +21.6 %" in text
    assert "Silver your tier 3,800.00 –" in text
    assert "Bronze The cheapest tier for this usage, with lower service levels: check they are enough. 3,135.00 -665.00 -17.5 %" in text


def test_showback_is_labelled_not_charged():
    text = _text(render_statement(samples.statement()))
    assert "For information – not charged (showback)" in text
    assert "Total for information (not charged) 630.00" in text
    assert "Also shown for information, not charged: 630.00 USD" in text


def test_draft_banner_and_budget_sentence():
    text = _text(render_statement(samples.statement(closed=False, with_budget=False)))
    assert text.startswith("DRAFT – March 2026 is not closed yet.")
    assert "Not invoiced yet" in text
    assert "No budget has been set for Marketing this year" in text


def test_self_contained_and_printable():
    html = render_statement(samples.statement()).decode()
    assert "@page { size: A4; margin: 15mm; }" in html
    assert not re.search(r"<(link|script|img|iframe)\b", html)
    assert "url(" not in html and "http" not in html


def test_templates_refuse_undefined_names():
    view = samples.statement()
    with pytest.raises(UndefinedError):
        environment().from_string("{{ view.no_such_field }}").render(view=view)


def test_index_links_each_statement():
    views = [samples.statement(), replace(samples.statement(), business_line_code="../FIN x", business_line_name="Finance")]
    html = render_index(views).decode()
    assert 'href="2026-03-MKT.html"' in html and 'href="2026-03-FIN_x.html"' in html
    assert statement_filename(views[1]) == "2026-03-FIN_x.html"


def test_component_shares_are_shown_as_part_of_the_price():
    shares = {3: (SimpleNamespace(service="VM", service_name="Virtual machines", unit="vCPU-month", quantity=Decimal("6"),
                                  amount=Decimal("810.00")),)}
    view = statement_view(business_line=samples.business_line(), month="2026-03", charges=samples.charges(),
                          services=samples.services(), closed=False, generated_at=dt.datetime(2026, 3, 20), components=shares)
    assert "includes Virtual machines 6 vCPU-month 810.00 of the price above" in _text(render_statement(view))


def test_the_budget_table_ends_with_its_total():
    html = render_statement(samples.statement()).decode()
    budget = html.split("Budget and actual, year to date", 1)[1].split("</table>", 1)[0]
    foot = re.search(r"<tfoot>(.*?)</tfoot>", budget, re.S)
    assert foot is not None and "Total" in foot.group(1) and "+450.00" in foot.group(1)


def test_tier_advice_is_green_only_where_the_other_tier_costs_less():
    view = samples.statement()
    dearer = [replace(o, advice="Costs more than your tier.", difference=abs(o.difference) + 1)
              for o in view.tier_options if not o.is_current][:1]
    cheaper = [replace(o, advice="Costs less than your tier.", difference=-abs(o.difference) - 1)
               for o in view.tier_options if not o.is_current][:1]
    html = render_statement(replace(view, tier_options=tuple(dearer + cheaper))).decode()
    assert re.search(r'class="advice up">Costs more', html) and re.search(r'class="advice down">Costs less', html)


def test_the_index_names_its_month_once_and_adds_up_its_statements():
    views = [samples.statement(), replace(samples.statement(), business_line_code="FIN", business_line_name="Finance")]
    html = render_index(views).decode()
    text = _text(html.encode())
    assert text.count(views[0].month_label) == 1  # in the title, not on every row
    foot = re.search(r"<tfoot>(.*?)</tfoot>", html, re.S)
    assert foot is not None
    total = sum(v.total for v in views)
    assert f"{total:,.2f}" in foot.group(1) and "Total (2 statements)" in foot.group(1)
    assert 'class="nowrap"' in html and "Change" in html
