"""Statements as PDF (issue 16): one A4 PDF per business line printed by headless Chromium, the
first page standing alone, page numbers and the invoice number on every page, and nothing of
another business line in a statement's HTML or PDF. The PDFs are read back with poppler
(pdfinfo, pdftotext, pdftoppm) as a reader's viewer would."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from reports.browser import find_chromium
from reports.html import render_statement
from reports.pdf import statement_pdfs
from tests.conftest import ROOT
from tests.reports import samples

CHARGEBACK = Path(sys.executable).with_name("chargeback")
BUDGETED = ("ENG", "DATA", "FIN", "OPS", "RES")  # every line of the sample but UNALLOCATED
POPPLER = all(shutil.which(tool) for tool in ("pdfinfo", "pdftotext", "pdftoppm"))


def needs_a_browser() -> None:
    if find_chromium() is None:
        pytest.skip("chromium not installed: apt-get install chromium")
    if not POPPLER:
        pytest.skip("poppler-utils not installed (pdfinfo, pdftotext, pdftoppm): apt-get install poppler-utils")


def pages(pdf: Path) -> int:
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert re.search(r"Page size:\s+59[45](\.\d+)? x 84[12](\.\d+)? pts \(A4\)", info), info
    return int(re.search(r"Pages:\s+(\d+)", info).group(1))


def page_text(pdf: Path, page: int | None = None) -> str:
    where = ["-f", str(page), "-l", str(page)] if page else []
    text = subprocess.run(["pdftotext", "-layout", *where, str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    return re.sub(r"[ \t]+", " ", text)


def inked_share(pdf: Path, page: int, folder: Path) -> float:
    """The share of a page's pixels that are not white, rasterised in grey at 30 dpi."""
    stem = folder / f"page-{page}"
    subprocess.run(["pdftoppm", "-gray", "-r", "30", "-f", str(page), "-l", str(page), "-singlefile", str(pdf), str(stem)],
                   check=True)
    data = stem.with_suffix(".pgm").read_bytes()
    header = re.match(rb"P5\s+(\d+)\s+(\d+)\s+(\d+)\s", data)
    width, height = int(header.group(1)), int(header.group(2))
    pixels = data[header.end():header.end() + width * height]
    return sum(1 for p in pixels if p < 200) / len(pixels)


@pytest.mark.chromium
def test_the_sample_statement_prints_on_two_a4_pages_first_page_alone(tmp_path):
    needs_a_browser()
    view, hostile = samples.statement(pictures=True), samples.statement(pictures=True, hostile=True)
    pdf, other = tmp_path / "statement.pdf", tmp_path / "hostile.pdf"
    for path, data in zip((pdf, other), statement_pdfs([(v, render_statement(v)) for v in (view, hostile)])):
        path.write_bytes(data)
    assert pages(pdf) == 2  # the first page, then the details (eight lines, three targets, seven tiers)
    first = page_text(pdf, 1)
    for shown in ("4,770.00 USD", "+270.00 USD (+6.0 %)", "Cost by service, Mar 2025 to Mar 2026",
                  "Budget burn, fiscal year 2026", "2 of 3 targets met", "Year to date: 13,670.00 USD",
                  "would have cost 665.00 USD less"):
        assert shown in first, shown
    assert "What you are charged for" not in first and "What you are charged for" in page_text(pdf, 2)
    for page in (1, 2):
        text = page_text(pdf, page)
        assert "Marketing (MKT) · statement March 2026" in text
        assert "Invoice INV-2026-0001" in text and f"Page {page} of 2" in text
    assert "Marketing <script>alert(1)</script> (MKT)" in page_text(other, 1)  # a name in the header is text, not markup
    assert inked_share(pdf, 1, tmp_path) > 0.03  # text and two pictures, not a blank page


@pytest.mark.chromium
def test_a_long_bridge_leaves_the_first_page_standing_alone(tmp_path):
    needs_a_browser()
    view = samples.statement(pictures=True, bridge=True)  # eleven steps moving, six services each
    pdf = tmp_path / "long.pdf"
    pdf.write_bytes(next(iter(statement_pdfs([(view, render_statement(view))]))))
    count = pages(pdf)
    first = page_text(pdf, 1)
    for shown in ("4,770.00 USD", "Why the bill changed", "Volume (quantity used, days in service)", "6 other steps",
                  "change +270.00", "Cost by service, Mar 2025 to Mar 2026", "Budget burn, fiscal year 2026",
                  "2 of 3 targets met", "Year to date: 13,670.00 USD", "would have cost 665.00 USD less", f"Page 1 of {count}"):
        assert shown in first, shown
    assert "What you are charged for" not in first and "Why the bill changed, step by step" not in first
    details = page_text(pdf, 2)  # every step, with every service and what it was and is
    assert "Why the bill changed, step by step" in details and "Tier change" in details and "(silver → gold, silver)" in details
    assert inked_share(pdf, 1, tmp_path) > 0.03


@pytest.fixture(scope="module")
def first_month(tmp_path_factory):
    """`chargeback init`'s first month with a budget, closed, its statements as HTML and PDF."""
    if not CHARGEBACK.exists():
        pytest.skip(f"the chargeback command is not installed next to {sys.executable}")
    needs_a_browser()
    folder = tmp_path_factory.mktemp("first") / "first-month"
    budget = "business_line,service,month,amount\n" + "".join(
        f"{line},{service},2026-{month:02d},{amount}\n" for line in BUDGETED
        for service, amount in (("VM", "900.00"), ("STORAGE", "300.00")) for month in range(1, 13))
    script = f"""set -euo pipefail
        chargeback init {folder}
        cd {folder}
        chargeback tariffs load
        chargeback org load business_lines.csv
        chargeback org load cost_centers.csv
        chargeback subscriptions load subscriptions.csv
        chargeback usage load usage.csv --source internal
        chargeback usage load tickets.csv --source servicedesk --new-source
        chargeback usage load focus-cloud.csv --source focus-cloud
        chargeback month run 2026-03
        printf '{budget}' > budget.csv
        chargeback budget load budget.csv
        chargeback month close 2026-03 --confirm
        chargeback statements 2026-03 --out html
        chargeback statements 2026-03 --out pdf --format pdf
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHARGEBACK_")}
    env["PATH"] = f"{CHARGEBACK.parent}{os.pathsep}{env.get('PATH', '')}"
    done = subprocess.run(["bash", "-c", script], cwd=folder.parent, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    return folder


def _lines(folder: Path) -> dict[str, tuple[str, str]]:
    """Business line code → (name, total charged), from the HTML index."""
    index = (folder / "html" / "index.html").read_text()
    found = {}
    for name, code, total in re.findall(r'<a href="[^"]+">([^<]+)</a> <span class="muted small nowrap">([^<]+)</span>'
                                        r'.*?<td class="num">([^<]+)</td>', index, re.S):
        found[code] = (name.replace("&amp;", "&"), total.removesuffix(" USD"))
    return found


@pytest.mark.chromium
def test_one_pdf_per_business_line_each_first_page_standing_alone(first_month):
    lines = _lines(first_month)
    assert len(lines) >= 5
    pdfs = sorted((first_month / "pdf").glob("2026-03-*.pdf"))
    assert [p.stem.removeprefix("2026-03-") for p in pdfs] == sorted(lines)
    index = (first_month / "pdf" / "index.html").read_text()
    assert all(f'href="{p.name}"' in index for p in pdfs)
    for pdf in pdfs:
        code = pdf.stem.removeprefix("2026-03-")
        count = pages(pdf)
        assert count >= 2
        first = page_text(pdf, 1)
        assert f"{lines[code][1]} USD" in first  # the total
        assert "Cost by service, Mar 2025 to Mar 2026" in first
        assert re.search(r"All \d+ targets met|\d+ of \d+ targets met|No service-level targets", first)
        if code in BUDGETED:
            assert "Budget burn, fiscal year 2026" in first and "Year to date:" in first
        else:
            assert "No budget has been set" in first
        invoice = re.search(r"Invoice (CB-\d{4}-\d+)", first).group(1)
        for page in range(1, count + 1):
            text = page_text(pdf, page)
            assert f"Invoice {invoice}" in text and f"Page {page} of {count}" in text
        assert inked_share(pdf, 1, first_month) > 0.03


@pytest.mark.chromium
def test_a_statement_shows_nothing_of_another_business_line(first_month):
    lines = _lines(first_month)
    for code, (name, total) in lines.items():
        html = re.sub(r"<[^>]+>", " ", (first_month / "html" / f"2026-03-{code}.html").read_text()).replace("&amp;", "&")
        pdf = page_text(first_month / "pdf" / f"2026-03-{code}.pdf")
        for shown in (html, pdf):
            assert re.search(rf"\b{re.escape(code)}\b", shown) and name in shown and total in shown
            for other, (other_name, other_total) in lines.items():
                if other == code:
                    continue
                assert not re.search(rf"\b{re.escape(other)}\b", shown), f"{code}'s statement names {other}"
                assert other_name not in shown, f"{code}'s statement names {other_name}"
                if len(other_total) >= len("100.00"):  # a few cents may well be on two lines' statements
                    assert not re.search(rf"(?<![\d.,]){re.escape(other_total)}(?!\d)", shown), \
                        f"{code}'s statement shows {other}'s total {other_total}"


def test_without_chromium_the_pdf_statements_say_what_to_install(tmp_path):
    env = {**os.environ, "CHARGEBACK_CHROMIUM": str(tmp_path / "no-such-browser")}
    db = ["--db", f"sqlite:///{tmp_path / 'c.db'}"]
    subprocess.run([sys.executable, "-m", "cli", *db, "db", "upgrade"], cwd=ROOT, env=env, check=True, capture_output=True)
    done = subprocess.run([sys.executable, "-m", "cli", *db, "statements", "2026-03", "--out", str(tmp_path / "out"),
                           "--format", "pdf"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "Error: Chromium is not installed: install it (apt-get install chromium) to write PDF statements; nothing was written"]
    assert not (tmp_path / "out").exists()
