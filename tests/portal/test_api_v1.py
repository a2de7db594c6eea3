"""The HTTP API: its OpenAPI document is valid and describes exactly the routes served; a usage
batch loads as a file of its source does (the same counts, the same problems, by record
index), once per Idempotency-Key and body; bad requests get a 4xx problem and change nothing;
reads answer what the schema says."""

from __future__ import annotations

import csv
import datetime as dt
import shutil
import uuid
from decimal import Decimal

import jsonschema
import pytest
import sqlalchemy as sa
from openapi_spec_validator import validate
from starlette.testclient import TestClient

from billing import api
from portal import openapi
from portal.app import route_table
from tests.cli_helpers import run
from tests.portal.conftest import MONTH

RECORDS = [
    {"record_id": "INC-50001", "usage_date": "2026-04-02", "cost_center": "CC-ENG-APP", "service": "DESK",
     "quantity": 1, "unit": "ticket", "description": "new laptop"},
    {"record_id": "INC-50002", "usage_date": "2026-04-03", "cost_center": "CC-FIN-ACC", "service": "DESK",
     "quantity": 2.5, "unit": "ticket", "description": None},
    {"record_id": "INC-50003", "usage_date": "2026-04-03", "cost_center": "CC-FIN-ACC", "service": "DESK",
     "quantity": "lots", "unit": "ticket", "description": "not a number"},
    {"record_id": "INC-50004", "usage_date": "2026-13-01", "cost_center": "CC-NOPE", "service": "DESK",
     "quantity": 1, "unit": "ticket", "description": "bad date"},
]


def client(app, token: str | None) -> TestClient:
    made = TestClient(app, base_url="https://testserver", follow_redirects=False)
    if token:
        made.headers["Authorization"] = f"Bearer {token}"
    return made


def post(c: TestClient, records, key: str | None = "key-1", source: str = "servicedesk", **kwargs):
    headers = {"Idempotency-Key": key} if key else {}
    return c.post(f"/api/v1/sources/{source}/usage-batches", json={"records": records}, headers=headers, **kwargs)


def feeds(url: str) -> int:
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as connection:
            return connection.execute(sa.text("SELECT count(*) FROM usage_feed")).scalar()
    finally:
        engine.dispose()


def schema_of(name: str) -> jsonschema.Draft202012Validator:
    document = openapi.document()
    return jsonschema.Draft202012Validator({"$ref": f"#/components/schemas/{name}", "components": document["components"]})


def test_the_openapi_document_is_valid_and_describes_every_api_route(app):
    document = client(app, None).get("/api/v1/openapi.json").json()
    validate(document)
    served = {(m.lower(), path) for methods, path, name in route_table(app) if path.startswith("/api/")
              for m in methods.split()}
    described = {(method, path) for path, item in document["paths"].items() for method in item}
    assert served == described


def test_a_batch_loads_once_per_key_and_body_with_the_problems_of_its_records(app, books, tmp_path):
    c = client(app, books.source_token)
    key = f"batch-{uuid.uuid4()}"
    before = feeds(books.url)
    first = post(c, RECORDS, key)
    assert first.status_code == 201, first.text
    body = first.json()
    schema_of("BatchResult").validate(body)
    assert (body["records"], body["loaded"], body["quarantined"]) == (4, 2, 2)
    assert body["records"] == body["loaded"] + body["quarantined"] + body["duplicates"] + body["conflicts"] + body["excluded"]
    by_record = {(p["record"], p["code"], p["field"]) for p in body["problems"]}
    assert (2, "not-a-number", "quantity") in by_record and (3, "not-a-date", "usage_date") in by_record
    assert feeds(books.url) == before + 1
    again = post(c, RECORDS, key)
    assert (again.status_code, again.json()) == (201, body) and again.headers["idempotent-replayed"] == "true"
    other_body = post(c, RECORDS[:1], key)
    assert other_body.status_code == 409 and "was used for another batch" in other_body.json()["detail"]
    other_key = post(c, RECORDS, f"{key}-again")
    assert other_key.status_code == 200 and other_key.json()["already_loaded"] is True
    assert feeds(books.url) == before + 1  # charged once


def test_a_batch_is_read_exactly_as_the_same_records_in_a_file(app, books, tmp_path):
    if not books.url.startswith("sqlite"):
        pytest.skip("the store is copied as a SQLite file")
    copy = tmp_path / "copy.db"
    shutil.copy(books.url.removeprefix("sqlite:///"), copy)
    records = [{**r, "record_id": r["record_id"] + "-F"} for r in RECORDS]
    answer = post(client(app, books.source_token), records, f"file-{uuid.uuid4()}").json()
    path = tmp_path / "same.csv"
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(records[0]))
        writer.writeheader()
        writer.writerows([{k: "" if v is None else v for k, v in r.items()} for r in records])
    loaded = run(f"sqlite:///{copy}", "usage", "load", path, "--source", "servicedesk")
    assert answer["reconciliation"] in loaded.stdout
    for problem in answer["problems"]:  # the CLI prints each at the CSV row of the record (row 2 is record 0)
        assert f"same.csv:{problem['record'] + 2}:{problem['field']}: {problem['code']}" in loaded.stderr


@pytest.mark.parametrize("case", ["not json", "no records", "not objects", "a bool", "no key", "a long key",
                                  "not json type", "too large", "other source", "read token", "no token", "revoked"])
def test_a_bad_batch_gets_a_problem_and_changes_nothing(app, books, case, monkeypatch):
    c = client(app, books.source_token)
    before = feeds(books.url)
    if case == "not json":
        answer = c.post("/api/v1/sources/servicedesk/usage-batches", content=b"{records: [",
                        headers={"Idempotency-Key": "k", "Content-Type": "application/json"})
    elif case == "no records":
        answer = post(c, [])
    elif case == "not objects":
        answer = post(c, [RECORDS[0], ["a", "list"]])
    elif case == "a bool":
        answer = post(c, [{**RECORDS[0], "quantity": True}])
    elif case == "no key":
        answer = post(c, RECORDS, key=None)
    elif case == "a long key":
        answer = post(c, RECORDS, key="k" * 201)
    elif case == "not json type":
        answer = c.post("/api/v1/sources/servicedesk/usage-batches", content=b"record_id\nX\n",
                        headers={"Idempotency-Key": "k", "Content-Type": "text/csv"})
    elif case == "too large":
        monkeypatch.setattr("portal.batches.MAX_BATCH_BYTES", 100)
        answer = post(c, RECORDS)
    elif case == "other source":
        answer = post(c, RECORDS, source="internal")
    elif case == "read token":
        answer = post(client(app, books.read_token), RECORDS)
    elif case == "no token":
        answer = post(client(app, None), RECORDS)
    else:
        made = api.add_token(app.state.portal.store, name="gone", source="servicedesk")
        api.revoke_token(app.state.portal.store, made.token.id)
        answer = post(client(app, made.secret), RECORDS)
    expected = {"not json": 400, "no records": 422, "not objects": 422, "a bool": 422, "no key": 400, "a long key": 400,
                "not json type": 415, "too large": 413, "other source": 403, "read token": 403, "no token": 401,
                "revoked": 401}[case]
    assert answer.status_code == expected, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    schema_of("Problem").validate(answer.json())
    if case == "not objects":
        assert answer.json()["problems"] == [{"code": "value-invalid", "record": 1, "field": None,
                                              "message": "a record must be an object of fields"}]
    assert feeds(books.url) == before


def test_reads_answer_what_the_schema_says_and_need_a_read_token(app, books):
    c = client(app, books.read_token)
    invoices = c.get(f"/api/v1/invoices?month={MONTH}")
    assert invoices.status_code == 200
    schema_of("Invoices").validate(invoices.json())
    numbers = {i["number"] for i in invoices.json()["invoices"]}
    assert books.fin_invoice in numbers and books.ops_invoice in numbers
    one = c.get(f"/api/v1/invoices/{books.fin_invoice}").json()
    schema_of("Invoice").validate(one)
    assert one["business_line"] == "FIN" and sum(map(float, (l["amount"] for l in one["lines"]))) == pytest.approx(float(one["total"]))
    charges = c.get(f"/api/v1/charges?month={MONTH}")
    schema_of("Charges").validate(charges.json())
    assert charges.json()["charges"]
    assert c.get("/api/v1/invoices/CB-1900-000001").status_code == 404
    assert c.get("/api/v1/charges?month=March").status_code == 400


def test_a_statement_reads_as_the_statement_shows_it(app, books):
    c = client(app, books.read_token)
    answer = c.get(f"/api/v1/statements/FIN?month={MONTH}")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    schema_of("Statement").validate(body)
    view = api.statement(app.state.portal.store, MONTH, "FIN").view
    assert (body["business_line"], body["name"], body["draft"], body["invoice"]) == (
        "FIN", "Finance & Procurement", False, books.fin_invoice)
    assert body["total"] == format(view.total, "f") and len(body["lines"]) == len(view.lines)
    assert sum(Decimal(line["amount"]) for line in body["lines"]) == Decimal(body["total"])
    invoice = c.get(f"/api/v1/invoices/{books.fin_invoice}").json()
    assert Decimal(invoice["total"]) == Decimal(body["total"])


def test_a_months_statements_list_every_line_for_a_read_token_and_a_heads_own_for_its_session(app, books):
    from tests.portal.conftest import signed_in

    answer = client(app, books.read_token).get(f"/api/v1/statements?month={MONTH}")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    schema_of("Statements").validate(body)
    views = {v.business_line_code: v for v in api.month_statement_views(app.state.portal.store, MONTH)}
    listed = {s["business_line"]: s for s in body["statements"]}
    assert set(listed) == set(views) and {"FIN", "OPS"} <= set(listed)
    fin = listed["FIN"]
    assert (fin["name"], fin["invoice"], fin["draft"], fin["total"]) == (
        "Finance & Procurement", books.fin_invoice, False, format(views["FIN"].total, "f"))
    whole = client(app, books.read_token).get(fin["href"]).json()  # the list leads to the statement whole
    assert whole["total"] == fin["total"] and whole["invoice"] == fin["invoice"]
    head, _ = signed_in(app, books, "head")  # its session, GET only
    own = head.get(f"/api/v1/statements?month={MONTH}")
    assert own.status_code == 200 and own.headers["content-type"] == "application/json"
    schema_of("Statements").validate(own.json())
    assert own.json()["statements"] == [fin]
    assert "OPS" not in own.text and "IT Operations" not in own.text
    assert head.get(fin["href"]).json() == whole
    theirs, none = head.get(f"/api/v1/statements/OPS?month={MONTH}"), head.get(f"/api/v1/statements/NOSUCH?month={MONTH}")
    assert theirs.status_code == none.status_code == 404
    assert theirs.json() == none.json() and "OPS" not in theirs.text
    finance, _ = signed_in(app, books, "fin")
    assert {s["business_line"] for s in finance.get(f"/api/v1/statements?month={MONTH}").json()["statements"]} \
        == set(listed)
    planner, _ = signed_in(app, books, "plan")
    refused = planner.get(f"/api/v1/statements?month={MONTH}")
    assert refused.status_code == 403 and refused.headers["content-type"] == "application/problem+json"


def test_a_session_never_sends_a_usage_batch(app, books):
    """A person's session reads the API (GET) but changes nothing through it: a batch posted
    with finance's cookie is refused as a request without a token, and nothing is loaded."""
    from tests.portal.conftest import signed_in

    finance, _ = signed_in(app, books, "fin")
    before = feeds(books.url)
    answer = post(finance, RECORDS[:1], key=f"cookie-{uuid.uuid4()}")
    assert answer.status_code == 401 and answer.headers["content-type"] == "application/problem+json"
    assert feeds(books.url) == before


@pytest.mark.parametrize("path,token,status", [
    (f"/api/v1/statements?month={MONTH[:4]}", "read", 400),
    ("/api/v1/statements", "read", 400),
    ("/api/v1/statements?month=2031-01", "read", 409),
    (f"/api/v1/statements?month={MONTH}", "source", 403),
    (f"/api/v1/statements?month={MONTH}", None, 401),
    (f"/api/v1/statements/OPS?month={MONTH[:4]}", "read", 400),
    ("/api/v1/statements/FIN?month=2026-13", "read", 400),
    (f"/api/v1/statements/NOSUCH?month={MONTH}", "read", 404),
    (f"/api/v1/statements/{'X' * 60}?month={MONTH}", "read", 404),
    ("/api/v1/statements/FIN?month=2031-01", "read", 409),
    (f"/api/v1/statements/FIN?month={MONTH}", "source", 403),
    (f"/api/v1/statements/FIN?month={MONTH}", None, 401),
    (f"/api/v1/charges?month={MONTH}&month=x", "source", 403),
    ("/api/v1/invoices?month=13", "read", 400),
])
def test_a_bad_read_gets_a_problem_body(app, books, path, token, status):
    secret = {"read": books.read_token, "source": books.source_token, None: None}[token]
    answer = client(app, secret).get(path)
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    schema_of("Problem").validate(answer.json())
    assert answer.json()["status"] == status


def _expire(url: str, token: str) -> None:
    import hashlib

    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.begin() as connection:
            connection.execute(sa.text("UPDATE web_session SET expires_at = :past WHERE token_hash = :hash"),
                               {"past": dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc),
                                "hash": hashlib.sha256(token.encode()).hexdigest()})
    finally:
        engine.dispose()


@pytest.mark.parametrize("case", ["no csrf", "another session's csrf", "expired session", "too large", "not a form"])
def test_a_bad_form_gets_a_4xx_problem_body_and_changes_nothing(app, books, case):
    from tests.portal.conftest import signed_in

    store = app.state.portal.store
    finance, token = signed_in(app, books, "fin")
    finance.headers["Accept"] = "application/problem+json, text/html;q=0.5"
    path = f"/disputes/{books.fin_dispute}/reject"
    form = {"csrf": app.state.portal.csrf.token(token), "reason": "not a duplicate"}
    if case == "no csrf":
        answer = finance.post(path, data={"reason": "not a duplicate"})
    elif case == "another session's csrf":
        answer = finance.post(path, data={**form, "csrf": app.state.portal.csrf.token("another")})
    elif case == "expired session":
        _expire(books.url, token)
        answer = finance.post(path, data=form)
        page = finance.get("/months", headers={"Accept": "text/html"})
        assert page.status_code == 303 and page.headers["location"] == "/login"
    elif case == "too large":
        answer = finance.post(path, content=b"reason=" + b"x" * 70_000 + b"&csrf=" + form["csrf"].encode(),
                              headers={"Content-Type": "application/x-www-form-urlencoded"})
    else:
        answer = finance.post(path, json=form)
    expected = {"no csrf": 403, "another session's csrf": 403, "expired session": 401, "too large": 413,
                "not a form": 400}[case]
    assert answer.status_code == expected, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    schema_of("Problem").validate(answer.json())
    assert "nothing was changed" in answer.json()["detail"]
    found = api.dispute(store, books.fin_dispute)
    assert (found.state, found.decided_by) == ("open", None)
