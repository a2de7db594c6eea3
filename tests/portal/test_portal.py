"""The portal as people use it: signing in with a one-time password and changing it, forms
without their CSRF token refused, the security headers, too many tries, finance's dashboard
and a head's statement, at phone width too (one style sheet, no script)."""

from __future__ import annotations

import re

import pytest
from starlette.testclient import TestClient

from billing import api
from portal.security import AddressLimit
from tests.portal.conftest import MONTH, PASSWORD, signed_in


def browser(app) -> TestClient:
    return TestClient(app, base_url="https://testserver", follow_redirects=False)


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([0-9a-f]{64})"', html).group(1)


def sign_in(client: TestClient, name: str, password: str):
    page = client.get("/login")
    return client.post("/login", data={"csrf": csrf_of(page.text), "name": name, "password": password})


def test_a_new_person_signs_in_with_the_one_time_password_changes_it_and_signs_out(app, books):
    store = app.state.portal.store
    made = api.add_user(store, "newhead", roles=["head"], lines=["DATA"])
    client = browser(app)
    assert client.get("/lines").headers["location"] == "/login"
    answer = sign_in(client, "newhead", made.password)
    assert answer.status_code == 303 and answer.headers["location"] == "/password"
    cookie = answer.headers["set-cookie"]
    assert "cb_session=" in cookie and "HttpOnly" in cookie and "Secure" in cookie and "SameSite=lax" in cookie
    assert client.get("/lines").headers["location"] == "/password"  # nothing else before the password is changed
    form = {"csrf": csrf_of(client.get("/password").text), "current": made.password, "new": "my own long secret",
            "again": "my own long secret"}
    assert client.post("/password", data=form).headers["location"] == "/"
    lines = client.get("/lines")
    assert lines.status_code == 200 and "/lines/DATA" in lines.text and "/lines/FIN" not in lines.text
    out = client.post("/logout", data={"csrf": csrf_of(lines.text)})
    assert out.headers["location"] == "/login"
    assert client.get("/lines").headers["location"] == "/login"
    assert sign_in(browser(app), "newhead", "my own long secret").headers["location"] == "/"


def test_a_wrong_password_is_refused_with_the_sign_in_page_and_no_cookie(app, books):
    answer = sign_in(browser(app), "fin", "not the password, surely")
    assert answer.status_code == 401 and "the name or the password is wrong" in answer.text
    assert "cb_session=" not in answer.headers.get("set-cookie", "")


def test_forms_without_their_csrf_token_are_refused_and_change_nothing(app, books):
    client, token = signed_in(app, books, "fin")
    for data in ({}, {"csrf": "0" * 64}, {"csrf": app.state.portal.csrf.token("another session")}):
        answer = client.post("/logout/everywhere", data=data)
        assert answer.status_code == 403 and "the form has expired" in answer.text
    assert api.session_principal(app.state.portal.store, token) is not None  # still signed in
    login = browser(app).post("/login", data={"name": "fin", "password": PASSWORD})  # no pre-session, no token
    assert login.status_code == 403 and "cb_session" not in login.headers.get("set-cookie", "")
    big = client.post("/logout", content=b"csrf=" + b"a" * 70_000,
                      headers={"content-type": "application/x-www-form-urlencoded"})
    assert big.status_code == 413


def test_every_answer_carries_the_security_headers_and_pages_load_no_script(app, books):
    client, _ = signed_in(app, books, "fin")
    for path in ("/login", "/", "/months", "/lines/FIN", f"/lines/FIN/statements/{MONTH}", "/api/v1/openapi.json",
                 "/static/portal.css", "/no/such/page"):
        answer = client.get(path)
        csp = answer.headers["content-security-policy"]
        assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp and "script-src" not in csp, path
        assert answer.headers["x-frame-options"] == "DENY" and answer.headers["referrer-policy"] == "no-referrer"
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert "<script" not in answer.text and "cdn" not in answer.text.lower(), path
    statement = client.get(f"/lines/FIN/statements/{MONTH}")
    assert "'sha256-" in statement.headers["content-security-policy"]  # its own style block, by hash
    assert "unsafe-inline" not in statement.headers["content-security-policy"]


def test_too_many_tries_from_one_address_are_answered_429(app, books):
    client = browser(app)
    portal = app.state.portal
    before = portal.logins
    portal.logins = AddressLimit(tries=3)
    try:
        answers = [sign_in(client, f"someone{i}", "wrong password!!").status_code for i in range(4)]
    finally:
        portal.logins = before
    assert answers == [401, 401, 401, 429]


def test_finance_sees_each_months_state_and_the_buttons_heads_never_do(app, books):
    client, _ = signed_in(app, books, "fin")
    page = client.get("/months").text
    assert MONTH in page and "closed" in page and "/months/2026-03/review" in page
    assert 'name="viewport"' in page and 'href="/static/portal.css"' in page
    review = client.get(f"/months/{MONTH}/review")
    assert review.status_code == 200 and "2026-03" in review.text
    refused = client.post(f"/months/{MONTH}/close", data={"csrf": csrf_of(page)})
    assert refused.status_code == 409 and "closed" in refused.text
    auditor, _ = signed_in(app, books, "aud")
    assert "<button>Close</button>" not in auditor.get("/months").text


def test_a_head_reads_and_downloads_the_statement_of_its_line(app, books):
    client, _ = signed_in(app, books, "head")
    line = client.get("/lines/FIN")
    assert line.status_code == 200 and f"/lines/FIN/statements/{MONTH}" in line.text
    online = client.get(f"/lines/FIN/statements/{MONTH}")
    expected = api.statement(app.state.portal.store, MONTH, "FIN")
    assert online.content == expected.html  # the statement as the command writes it
    download = client.get(f"/lines/FIN/statements/{MONTH}/download")
    assert download.headers["content-disposition"].startswith(f'attachment; filename="{expected.filename}";')
    invoice = client.get(f"/invoices/{books.fin_invoice}")
    assert invoice.status_code == 200 and books.fin_invoice in invoice.text


@pytest.mark.parametrize("path", ["/months/2026-13/review", "/lines/FIN/statements/2026-13"])
def test_a_month_that_is_not_one_is_not_found(app, books, path):
    client, _ = signed_in(app, books, "fin")
    assert client.get(path).status_code == 404
