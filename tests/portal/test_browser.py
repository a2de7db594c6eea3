"""In headless Chromium (Selenium with Debian's chromium-driver), as people use the portal at
phone width: a head signs in with the one-time password, chooses a password, sees only its
line and reads the statement; finance sees the month-end dashboard; a head disputes an invoice
line found from its statement and finance accepts it. Skipped, saying why,
without Chromium, its driver or Selenium."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from billing import api
from tests.portal.conftest import MONTH, make_books

pytestmark = pytest.mark.chromium
CHARGEBACK = Path(sys.executable).with_name("chargeback")
WITHIN = 60
"""Seconds the portal may take to start and Chromium to load a page or follow a form: bounds,
not waits (each is left as soon as it is done), wide enough for a busy machine."""


def _missing() -> str | None:
    if not shutil.which("chromium") or not shutil.which("chromedriver"):
        return "Chromium or chromium-driver is not installed (apt-get install chromium chromium-driver)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "Selenium is not installed (pip install selenium)"
    return None


@pytest.fixture(scope="module")
def portal_url(tmp_path_factory):
    if (reason := _missing()) is not None:
        pytest.skip(reason)
    url = f"sqlite:///{tmp_path_factory.mktemp('browser') / 'books.db'}"
    make_books(url)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([str(CHARGEBACK), "--db", url, "serve", "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + WITHIN
    while socket.socket().connect_ex(("127.0.0.1", port)) != 0:
        assert server.poll() is None and time.monotonic() < deadline, "the portal did not start"
        time.sleep(0.2)
    yield url, f"http://127.0.0.1:{port}"
    server.terminate()
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.kill()


@pytest.fixture
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=390,844"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    driver.set_page_load_timeout(WITHIN)
    yield driver
    driver.quit()


def sign_in(browser, base: str, name: str, password: str) -> None:
    from selenium.webdriver.common.by import By

    browser.get(f"{base}/login")
    browser.find_element(By.NAME, "name").send_keys(name)
    browser.find_element(By.NAME, "password").send_keys(password)
    browser.find_element(By.CSS_SELECTOR, "form button").click()
    left(browser, f"{base}/login")


def left(browser, url: str) -> None:
    """Wait until the browser has left ``url`` (a form's answer loaded; Chromium on a busy
    machine may take a moment)."""
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(browser, WITHIN).until(lambda b: b.current_url != url)


def heading_shows(browser, text: str) -> None:
    """Wait until the page's heading says ``text``: the answer of a form that may land on the
    same address. The heading read while the answer replaces the page is stale: read again."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(browser, WITHIN, ignored_exceptions=(StaleElementReferenceException,)).until(
        lambda b: text in b.find_element(By.TAG_NAME, "h1").text)


def fits_the_width(browser) -> bool:
    return browser.execute_script("return document.documentElement.scrollWidth <= window.innerWidth + 1")


def test_a_head_signs_in_at_phone_width_and_reads_only_its_statement(portal_url, browser):
    from selenium.webdriver.common.by import By

    url, base = portal_url
    with api.open_store(url) as store:
        made = api.add_user(store, "phonehead", roles=["head"], lines=["FIN"])
    sign_in(browser, base, "phonehead", made.password)
    assert browser.current_url == f"{base}/password"  # the Secure, HttpOnly cookie was kept on 127.0.0.1
    for field, value in (("current", made.password), ("new", "a phone-typed secret"), ("again", "a phone-typed secret")):
        browser.find_element(By.NAME, field).send_keys(value)
    browser.find_element(By.CSS_SELECTOR, "form.stack button").click()
    left(browser, f"{base}/password")
    browser.get(f"{base}/lines")
    links = [a.get_attribute("href") for a in browser.find_elements(By.CSS_SELECTOR, "main a")]
    assert links == [f"{base}/lines/FIN"] and fits_the_width(browser)
    browser.get(f"{base}/lines/FIN")
    assert fits_the_width(browser)
    browser.find_element(By.LINK_TEXT, "Read").click()
    left(browser, f"{base}/lines/FIN")
    assert browser.current_url == f"{base}/lines/FIN/statements/{MONTH}"
    assert "Finance & Procurement" in browser.find_element(By.TAG_NAME, "body").text
    browser.get(f"{base}/lines/OPS")
    assert "404" in browser.find_element(By.TAG_NAME, "h1").text
    assert browser.get_cookie("cb_session")["httpOnly"] is True


def test_finance_sees_the_month_end_dashboard_at_phone_width(portal_url, browser):
    from selenium.webdriver.common.by import By

    _, base = portal_url
    sign_in(browser, base, "fin", "correct horse battery staple")
    browser.get(f"{base}/months")
    assert MONTH in browser.find_element(By.TAG_NAME, "table").text
    assert fits_the_width(browser)  # the table scrolls inside its box, the page does not
    logged = [e["message"] for e in browser.get_log("browser") if "favicon.ico" not in e["message"]]
    assert not [m for m in logged if "Content Security Policy" in m or "Refused" in m], logged


def test_a_head_disputes_a_line_from_its_statement_and_finance_accepts_it(portal_url, browser):
    """The journey of issue 15's acceptance: a head signs in, sees only its line, opens the
    statement, drills from an invoice line to the usage rows behind it and disputes the line;
    finance signs in and accepts it; the credit note is in the next open month."""
    from selenium.webdriver.common.by import By

    url, base = portal_url
    with api.open_store(url) as store:
        (invoice,) = [d for d in api.line_documents(store, "FIN") if d.kind.value == "invoice"]
        march = api.documents(store, MONTH)
        usage = api.explain(store, f"{invoice.number}/1", rows=50)
    assert usage.usage_rows, "the line priced usage rows"
    sign_in(browser, base, "head", "correct horse battery staple")
    browser.get(f"{base}/lines")
    assert [a.get_attribute("href") for a in browser.find_elements(By.CSS_SELECTOR, "main a")] == [f"{base}/lines/FIN"]
    browser.find_element(By.LINK_TEXT, "Finance & Procurement").click()
    left(browser, f"{base}/lines")
    browser.find_element(By.LINK_TEXT, "Read").click()
    left(browser, f"{base}/lines/FIN")
    assert "Finance & Procurement" in browser.find_element(By.TAG_NAME, "body").text
    browser.back()
    browser.find_element(By.LINK_TEXT, invoice.number).click()
    left(browser, f"{base}/lines/FIN")
    browser.find_element(By.LINK_TEXT, "1").click()  # the invoice's first line
    left(browser, f"{base}/invoices/{invoice.number}")
    assert browser.current_url == f"{base}/invoices/{invoice.number}/lines/1"
    rows = browser.find_element(By.CSS_SELECTOR, "table.usage").text
    assert all(r.record_id in rows for r in usage.usage_rows)
    assert fits_the_width(browser)
    browser.find_element(By.NAME, "amount").send_keys("12.00")
    browser.find_element(By.NAME, "reason").send_keys("two of these tickets were raised twice")
    browser.find_element(By.XPATH, "//button[contains(., 'Raise the dispute')]").click()
    left(browser, f"{base}/invoices/{invoice.number}/lines/1")
    raised = browser.current_url
    assert raised.startswith(f"{base}/disputes/") and "open" in browser.find_element(By.TAG_NAME, "h1").text
    browser.find_element(By.XPATH, "//nav//button[contains(., 'Sign out')]").click()
    left(browser, raised)

    sign_in(browser, base, "fin", "correct horse battery staple")
    browser.get(f"{base}/disputes?state=open")
    browser.find_element(By.CSS_SELECTOR, f"a[href='{raised.removeprefix(base)}']").click()
    left(browser, f"{base}/disputes?state=open")
    browser.find_element(By.NAME, "remark").send_keys("duplicates confirmed")
    browser.find_element(By.XPATH, "//button[contains(., 'Accept')]").click()
    heading_shows(browser, "accepted")
    with api.open_store(url) as store:
        found = api.dispute(store, int(raised.rsplit("/", 1)[1]))
        assert (found.state, found.decided_by, found.raised_by) == ("accepted", "fin", "head")
        note = api.document(store, found.note)
        assert api.documents(store, MONTH) == march  # the closed month is untouched
    assert note.month == "2026-04" and note.total == -12 and note.original_invoice == invoice.number
    browser.find_element(By.LINK_TEXT, note.number).click()
    heading_shows(browser, note.number)
    page = browser.find_element(By.TAG_NAME, "main").text
    assert "Credit note" in page and "2026-04" in page and f"dispute {found.id}:" in page
