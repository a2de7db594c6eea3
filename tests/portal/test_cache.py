"""The dashboard and statement pages reuse what they computed only while the store is
unchanged: a write from anywhere (another process, the command line) shows at once, and a
line's cached statement is never shown to someone who may not see that line."""

from __future__ import annotations

import uuid

import pytest

from billing import api
from tests.portal.conftest import MONTH, PASSWORD, make_books


@pytest.fixture()
def fresh(tmp_path):
    from portal.app import create_app

    books = make_books(f"sqlite:///{tmp_path / 'books.db'}")
    app = create_app(books.url)
    yield app, books
    app.state.portal.store.close()


def client_of(app, name: str):
    from starlette.testclient import TestClient

    client = TestClient(app, base_url="https://testserver", follow_redirects=False)
    client.cookies.set("cb_session", api.sign_in(app.state.portal.store, name, PASSWORD).token)
    return client


def test_a_write_elsewhere_shows_on_the_next_page_never_the_cached_one(fresh):
    app, books = fresh
    fin = client_of(app, "fin")
    head = client_of(app, "head")
    first = head.get(f"/lines/FIN/statements/{MONTH}")
    assert first.status_code == 200 and head.get(f"/lines/FIN/statements/{MONTH}").text == first.text
    assert f'href="/months/{MONTH}/journal.csv"' in fin.get("/months").text  # the closed month's files
    with api.open_store(books.url) as other, api.acting_as("fin"):  # as another process or the command line would
        api.reopen_month(other, MONTH, reason="a late usage file")
    dashboard = fin.get("/months").text
    assert f'href="/months/{MONTH}/journal.csv"' not in dashboard and f'action="/months/{MONTH}/close"' in dashboard
    after = head.get(f"/lines/FIN/statements/{MONTH}")
    assert after.status_code == 200  # the draft of the reopened month, not the closed one
    assert "is not closed yet" in after.text and "is not closed yet" not in first.text


def test_a_cached_statement_is_kept_to_the_lines_that_may_see_it(fresh):
    app, books = fresh
    fin = client_of(app, "fin")
    head = client_of(app, "head")
    ops = fin.get(f"/lines/OPS/statements/{MONTH}")
    assert ops.status_code == 200
    assert head.get(f"/lines/OPS/statements/{MONTH}").status_code == 404  # cached for finance, still refused to FIN's head
    assert "OPS" not in head.get(f"/lines/FIN/statements/{MONTH}").text.split("<title>")[1].split("</title>")[0]



@pytest.mark.parametrize("ending", ["disable", "reset", "logout everywhere"])
def test_a_session_ended_elsewhere_is_refused_at_the_next_page(app, books, ending):
    """A page reads the session and the store's generation together; a session ended from
    another process is refused at the next page, however often the page was served before."""
    from starlette.testclient import TestClient

    name = f"h{uuid.uuid4().hex[:10]}"
    api.add_user(app.state.portal.store, name, roles=["head"], lines=["FIN"], password=PASSWORD)
    with api.open_store(books.url) as other:
        signed = api.sign_in(other, name, PASSWORD)
        api.change_password(other, signed.token, PASSWORD, PASSWORD + " again")
    head = TestClient(app, base_url="https://testserver", follow_redirects=False)
    head.cookies.set("cb_session", signed.token)
    for _ in range(2):
        assert head.get(f"/lines/FIN/statements/{MONTH}").status_code == 200
    with api.open_store(books.url) as other:  # as another process or the command line would
        if ending == "disable":
            api.disable_user(other, name)
        elif ending == "reset":
            api.reset_password(other, name)
        else:
            api.sign_out(other, signed.token, everywhere=True)
    answer = head.get(f"/lines/FIN/statements/{MONTH}")
    assert answer.status_code == 303 and answer.headers["location"] == "/login"


def test_signed_in_reads_the_session_and_the_generation_as_their_own_calls_do(app):
    store = app.state.portal.store
    for name in ("fin", "head", "plan", "aud", "adm"):
        token = api.sign_in(store, name, PASSWORD).token
        assert api.signed_in(store, token) == (api.session_principal(store, token), api.store_generation(store))
    assert api.signed_in(store, "not a session") == (None, api.store_generation(store))
    assert api.signed_in(store, "") == (None, api.store_generation(store))
