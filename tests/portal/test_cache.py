"""The dashboard and statement pages reuse what they computed only while the store is
unchanged: a write from anywhere (another process, the command line) shows at once, and a
line's cached statement is never shown to someone who may not see that line."""

from __future__ import annotations

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
