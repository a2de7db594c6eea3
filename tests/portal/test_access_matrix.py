"""Every route × every caller, as portal/access.py declares it, on SQLite and PostgreSQL: an
allowed caller gets the route's answer, a refused one is refused (a person 403, no one signed
in to the sign-in page or 401 from the API, a token of the wrong scope 403). A route the app
serves without its row here and in the matrix fails; so does a head that learns anything of a
line it does not head."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from billing import api
from portal.access import ACCESS, PEOPLE, Caller, matrix_markdown
from portal.app import route_table
from reports.browser import find_chromium
from tests.conftest import ROOT
from tests.portal.conftest import MONTH

BATCH = {"records": [{"record_id": "INC-MATRIX-1", "usage_date": "2026-04-01", "cost_center": "CC-FIN-ACC",
                      "service": "DESK", "quantity": "1", "unit": "ticket"}]}

# The request each route is tried with and the answer an allowed caller gets. FIN is the
# line the head heads; the month is closed, so a run or a close is answered 409 (nothing changes).
SAMPLES = {
    "login": [("GET", "/login", None, 200), ("POST", "/login", {"name": "nobody", "password": "x" * 12}, 401)],
    # single sign-on is not configured for these books: its routes are the 404 of a page there is not
    "login_sso": [("GET", "/login/sso", None, 404)],
    "login_sso_callback": [("GET", "/login/sso/callback?code=x&state=y", None, 404)],
    "logout": [("POST", "/logout", {}, 303)],
    "logout_everywhere": [("POST", "/logout/everywhere", {}, 303)],
    "password": [("GET", "/password", None, 200)],
    "static": [("GET", "/static/portal.css", None, 200)],
    "home": [("GET", "/", None, 200)],
    "dashboard": [("GET", "/months", None, 200)],
    "month_review": [("GET", f"/months/{MONTH}/review", None, 200)],
    "month_run": [("POST", f"/months/{MONTH}/run", {}, 409)],
    "month_close": [("POST", f"/months/{MONTH}/close", {}, 409)],
    "lines": [("GET", "/lines", None, 200)],
    "line": [("GET", "/lines/FIN", None, 200)],
    "line_advice": [("GET", "/lines/FIN/advice", None, 200)],
    "line_budget": [("GET", f"/lines/FIN/budget?month={MONTH}", None, 200)],
    "statement": [("GET", f"/lines/FIN/statements/{MONTH}", None, 200)],
    "statement_download": [("GET", f"/lines/FIN/statements/{MONTH}/download", None, 200)],
    "statement_pdf": [("GET", f"/lines/FIN/statements/{MONTH}/pdf", None, 200 if find_chromium() else 503)],
    "line_xlsx": [("GET", f"/lines/FIN/statements/{MONTH}/xlsx", None, 200)],
    "month_journal": [("GET", f"/months/{MONTH}/journal.csv", None, 200)],
    "month_focus": [("GET", f"/months/{MONTH}/focus.csv", None, 200)],
    "month_xlsx": [("GET", f"/months/{MONTH}/export.xlsx", None, 200)],
    "invoice": [("GET", "/invoices/{fin_invoice}", None, 200)],
    "invoice_line": [("GET", "/invoices/{fin_invoice}/lines/1", None, 200)],
    "disputes": [("GET", "/disputes", None, 200)],
    "dispute": [("GET", "/disputes/{fin_dispute}", None, 200)],
    # a dispute without its reason is refused (422) and kept nowhere; a decision on one that
    # does not exist is 404: the matrix changes no dispute that other tests read
    "dispute_raise": [("POST", "/invoices/{fin_invoice}/lines/1/disputes", {"amount": "1.00"}, 422)],
    "dispute_accept": [("POST", "/disputes/999999/accept", {}, 404)],
    "dispute_reject": [("POST", "/disputes/999999/reject", {"reason": "not ours"}, 404)],
    "api_openapi": [("GET", "/api/v1/openapi.json", None, 200)],
    "api_usage_batch": [("POST", "/api/v1/sources/servicedesk/usage-batches", BATCH, 201)],
    "api_invoices": [("GET", f"/api/v1/invoices?month={MONTH}", None, 200)],
    "api_invoice": [("GET", "/api/v1/invoices/{fin_invoice}", None, 200)],
    "api_charges": [("GET", f"/api/v1/charges?month={MONTH}", None, 200)],
    "api_statements": [("GET", f"/api/v1/statements?month={MONTH}", None, 200)],
    "api_statement": [("GET", f"/api/v1/statements/FIN?month={MONTH}", None, 200)],
}
PERSON = {Caller.FINANCE: "fin", Caller.HEAD: "head", Caller.PLANNER: "plan", Caller.AUDITOR: "aud", Caller.ADMIN: "adm"}
CASES = [(name, i, caller) for name in sorted(SAMPLES) for i in range(len(SAMPLES[name])) for caller in Caller]




def test_every_route_has_its_row_in_the_matrix_and_a_sample_here(app):
    names = {name for _, _, name in route_table(app)}
    assert names == set(ACCESS), "routes without a row in portal/access.py, or rows for no route"
    assert names == set(SAMPLES), "routes without a sample request in this test, or samples for no route"


def test_docs_security_md_holds_the_matrix_as_declared(app):
    text = (ROOT / "docs" / "security.md").read_text(encoding="utf-8")
    assert matrix_markdown(route_table(app)) in text, "docs/security.md's access table differs from portal/access.py"


_SESSIONS: dict[tuple[str, str], str] = {}


def client_for(app, books, caller: Caller, *, fresh: bool = False):
    """A client as ``caller``: a person's session (one per person and store, but ``fresh``
    for a case that ends it), or an API token."""
    client = TestClient(app, base_url="https://testserver", follow_redirects=False)
    session = None
    if caller in PERSON:
        key = (books.url, PERSON[caller])
        if fresh or key not in _SESSIONS:
            _SESSIONS[key] = api.sign_in(app.state.portal.store, PERSON[caller], "correct horse battery staple").token
        session = _SESSIONS.pop(key) if fresh else _SESSIONS[key]
        client.cookies.set("cb_session", session)
    elif caller is Caller.SOURCE_TOKEN:
        client.headers["Authorization"] = f"Bearer {books.source_token}"
    elif caller is Caller.READ_TOKEN:
        client.headers["Authorization"] = f"Bearer {books.read_token}"
    return client, session


@pytest.mark.parametrize("name,index,caller", CASES, ids=[f"{n}-{i}-{c.value}" for n, i, c in CASES])
def test_each_route_answers_only_the_callers_its_row_names(app, books, name, index, caller):
    method, path, form, ok = SAMPLES[name][index]
    path = path.format(fin_invoice=books.fin_invoice, fin_dispute=books.fin_dispute)
    client, session = client_for(app, books, caller, fresh=name.startswith("logout"))
    if path.startswith("/api/"):
        client.headers["Idempotency-Key"] = f"matrix-{caller.value}"
        response = client.request(method, path, json=form)
    else:
        response = None
    if form is not None and response is None:
        bound = session
        if bound is None:  # the sign-in form: a pre-session cookie, as GET /login sets it
            bound = "pre-session-value-for-the-test"
            client.cookies.set("cb_presession", bound)
        form = {**form, "csrf": app.state.portal.csrf.token(bound)}
    if response is None:
        response = client.request(method, path, data=form)
    rule = ACCESS[name]
    if caller in rule.callers:
        assert response.status_code == ok, (response.status_code, response.text[:300])
        if name.startswith("logout"):
            assert api.session_principal(app.state.portal.store, session) is None
    elif path.startswith("/api/"):  # a person's session is read for GET only: a POST with it has no token
        signed = caller in (Caller.SOURCE_TOKEN, Caller.READ_TOKEN) or (caller in PEOPLE and method == "GET")
        assert response.status_code == (403 if signed else 401), (response.status_code, response.text[:300])
        assert response.headers["content-type"] == "application/problem+json"
    elif caller in PEOPLE:
        assert response.status_code == 403, (response.status_code, response.text[:300])
    else:
        assert response.status_code == 303 and response.headers["location"] == "/login"


def test_a_head_guessing_another_lines_ids_gets_the_404_of_ids_that_do_not_exist(app, books):
    client, _ = client_for(app, books, Caller.HEAD)
    guesses = {  # another line's, and none's: the same answer
        "line": ("/lines/OPS", "/lines/NOSUCH"),
        "statement": (f"/lines/OPS/statements/{MONTH}", f"/lines/NOSUCH/statements/{MONTH}"),
        "download": (f"/lines/OPS/statements/{MONTH}/download", f"/lines/NOSUCH/statements/{MONTH}/download"),
        "invoice": (f"/invoices/{books.ops_invoice}", "/invoices/CB-2026-999999"),
        "other month": ("/lines/OPS/statements/2026-02", "/lines/OPS/statements/not-a-month"),
        "invoice line": (f"/invoices/{books.ops_invoice}/lines/1", "/invoices/CB-2026-999999/lines/1"),
        "usage page": (f"/invoices/{books.ops_invoice}/lines/1?page=2", "/invoices/CB-2026-999999/lines/1?page=2"),
        "dispute": (f"/disputes/{books.ops_dispute}", "/disputes/999999"),
        "workbook": (f"/lines/OPS/statements/{MONTH}/xlsx", f"/lines/NOSUCH/statements/{MONTH}/xlsx"),
        "pdf": (f"/lines/OPS/statements/{MONTH}/pdf", f"/lines/NOSUCH/statements/{MONTH}/pdf"),
        "tier advice": ("/lines/OPS/advice", "/lines/NOSUCH/advice"),
        "budget and forecast": (f"/lines/OPS/budget?month={MONTH}", f"/lines/NOSUCH/budget?month={MONTH}"),
        "API statement": (f"/api/v1/statements/OPS?month={MONTH}", f"/api/v1/statements/NOSUCH?month={MONTH}"),
    }
    for what, (theirs, none) in guesses.items():
        a, b = client.get(theirs), client.get(none)
        assert a.status_code == b.status_code == 404, what
        assert a.text == b.text, f"{what}: another line's answer differs from a missing one's"
        assert "OPS" not in a.text and "IT Operations" not in a.text
    csrf = app.state.portal.csrf.token(client.cookies.get("cb_session"))
    form = {"csrf": csrf, "amount": "1.00", "reason": "guessing"}
    theirs = client.post(f"/invoices/{books.ops_invoice}/lines/1/disputes", data=form)
    none = client.post("/invoices/CB-2026-999999/lines/1/disputes", data=form)
    assert theirs.status_code == none.status_code == 404 and theirs.text == none.text
    assert books.ops_dispute not in [d.id for d in api.disputes(app.state.portal.store, lines={"FIN"})]
    assert [d.business_line for d in api.disputes(app.state.portal.store, lines={"OPS"})].count("OPS") == 1
    queue = client.get("/disputes").text
    assert f"/disputes/{books.fin_dispute}" in queue and f"/disputes/{books.ops_dispute}" not in queue
    assert "OPS" not in queue
    listed = client.get("/lines").text
    assert "/lines/FIN" in listed and "/lines/OPS" not in listed
    own = client.get(f"/lines/FIN/statements/{MONTH}")
    assert own.status_code == 200 and "Finance &amp; Procurement" in own.text
    finance, _ = client_for(app, books, Caller.FINANCE)
    assert finance.get(f"/invoices/{books.ops_invoice}").status_code == 200
