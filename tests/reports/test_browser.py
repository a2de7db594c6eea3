import struct

import pytest

from reports.browser import find_chromium, print_pdf, screenshot
from reports.html import render_statement
from tests.reports import samples

pytestmark = pytest.mark.chromium


@pytest.fixture
def statement_file(tmp_path):
    if find_chromium() is None:
        pytest.skip("chromium not installed: apt-get install chromium")
    path = tmp_path / "statement.html"
    path.write_bytes(render_statement(samples.statement(hostile=True)))
    return path


def test_screenshot_of_a_hostile_statement(statement_file, tmp_path):
    png = tmp_path / "statement.png"
    screenshot(statement_file, png, width=1240, height=1754)
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])  # the IHDR chunk
    assert (width, height) == (1240, 1754)
    assert len(data) > 30_000  # a page of text, not a blank window


def test_print_pdf(statement_file, tmp_path):
    pdf = tmp_path / "statement.pdf"
    print_pdf(statement_file, pdf)
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF-") and len(data) > 10_000
