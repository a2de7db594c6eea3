"""Statements (and finance's month pack) as A4 PDFs: the HTML statement printed by headless Chromium (reports.browser).

The PDF is the HTML page itself, printed: the same content, with on every page a header
naming the business line, the month and the invoice number, and a footer with the page
number ("Page 2 of 4"). Chromium prints the header and footer in the page margins (15 mm,
from the statement's ``@page`` rule); their text comes from input, so it is escaped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from markupsafe import escape

from reports.browser import Browser, PrintJob
from reports.pack import MonthPackView
from reports.views import StatementView

__all__ = ["statement_print_job", "statement_pdfs", "pdf_filename", "month_pack_pdf"]

PRINT_TABS = 4
"""Tabs printing statements side by side: a tab waits on its layout and print as much as it
works, so four keep two cores busier than two do (docs/performance.md: 200 statements took
104 s and 122 s against 143 s and 154 s with two tabs, on a loaded machine)."""

_MARGIN = ("font-family: 'DejaVu Sans', 'Liberation Sans', Arial, sans-serif; font-size: 7.5pt; color: #59636e; "
           "width: 100%; margin: 0 15mm; display: flex; justify-content: space-between;")


def _document(view: StatementView) -> str:
    if view.invoice_number:
        return f"Invoice {view.invoice_number}"
    return "Draft: not invoiced yet" if view.is_draft else "Nothing invoiced this month"


def statement_print_job(view: StatementView, html: bytes) -> PrintJob:
    """The statement's page with its header (business line, month, invoice number) and footer
    (page N of M)."""
    header = (f'<div style="{_MARGIN}"><span>{escape(view.business_line_name)} ({escape(view.business_line_code)}) · '
              f'statement {escape(view.month_label)}</span><span>{escape(_document(view))}</span></div>')
    footer = (f'<div style="{_MARGIN}"><span>{escape(_document(view))}</span>'
              f'<span>{escape(_prepared(view))}</span>'
              f'<span>Page <span class="pageNumber"></span> of <span class="totalPages"></span></span></div>')
    return PrintJob(html=html.decode("utf-8"), header=header, footer=footer)


def _prepared(view: StatementView) -> str:
    """The page's closing line, printed in the footer of every page instead (the draft notice
    stays at the top of the first page)."""
    zone = f" {view.generated_at.tzname()}" if view.generated_at.tzname() else ""
    return f"Amounts in {view.currency} · prepared {view.generated_at.strftime('%d %B %Y, %H:%M')}{zone}"


def pdf_filename(html_filename: str) -> str:
    """``2026-03-MKT.pdf`` for ``2026-03-MKT.html``."""
    return html_filename.rsplit(".", 1)[0] + ".pdf"


def statement_pdfs(pages: Sequence[tuple[StatementView, bytes]], *,
                   on_printed: Callable[[int], None] | None = None) -> Iterator[bytes]:
    """Each (view, its HTML) as a PDF, in order, printed by one browser in :data:`PRINT_TABS` tabs."""
    with Browser(tabs=PRINT_TABS) as browser:
        yield from browser.print_pdfs((statement_print_job(view, html) for view, html in pages), on_printed=on_printed)


def month_pack_pdf(view: MonthPackView, html: bytes) -> bytes:
    """Finance's month pack as an A4 PDF: on every page its month (and DRAFT while the month is
    open) and page N of M."""
    state = "DRAFT: the month is open" if view.is_draft else "closed"
    header = (f'<div style="{_MARGIN}"><span>Month pack · {escape(view.month_label)}</span>'
              f'<span>{escape(state)}</span></div>')
    footer = (f'<div style="{_MARGIN}"><span>Amounts in {escape(view.currency)}</span>'
              f'<span>Page <span class="pageNumber"></span> of <span class="totalPages"></span></span></div>')
    with Browser(tabs=1) as browser:
        return next(iter(browser.print_pdfs([PrintJob(html=html.decode("utf-8"), header=header, footer=footer)])))
