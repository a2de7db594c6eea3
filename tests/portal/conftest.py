"""A closed month on SQLite and PostgreSQL for the portal's tests: the examples/start files
loaded, March 2026 rated and closed, one person per role (a head of FIN) and two API tokens.
Made once per backend for the whole run (about 30 s each); tests add to it (people, April's
usage) but never change what another test reads."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal

import pytest

from billing import api
from tests.conftest import BACKENDS, PG_URL, ROOT

START = ROOT / "examples" / "start"
MONTH = "2026-03"
PASSWORD = "correct horse battery staple"
PEOPLE = {"fin": ["finance"], "head": ["head"], "plan": ["planner"], "aud": ["auditor"], "adm": ["admin"]}


@dataclass
class Books:
    url: str
    source_token: str
    read_token: str
    fin_invoice: str  # an invoice of FIN, which the head heads
    ops_invoice: str  # an invoice of OPS, which it does not
    fin_dispute: int  # the head's dispute of FIN's line 3, left open
    ops_dispute: int  # a dispute of OPS's line 1, left open


def store_url(backend: str, tmp_path_factory) -> tuple[str, object]:
    """An empty store's URL for ``backend`` (a SQLite file, or a fresh PostgreSQL schema) and
    what drops it afterwards (None for SQLite)."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('portal') / 'books.db'}", None
    import sqlalchemy as sa

    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.begin() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in PG_URL else "?"

    def drop():
        with admin.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

    return f"{PG_URL}{separator}options=-csearch_path%3D{schema}", drop


def make_books(url: str) -> Books:
    with api.open_store(url, create=True) as store:
        api.load_tariffs(store, ROOT / "examples" / "tariffs")
        api.load_org(store, START / "business_lines.csv")
        api.load_org(store, START / "cost_centers.csv")
        api.load_subscriptions(store, START / "subscriptions.csv")
        sources = ROOT / "examples" / "sources"
        api.load_usage(store, START / "usage.csv", source="internal", sources=sources)
        api.load_usage(store, START / "tickets.csv", source="servicedesk", new_source=True, sources=sources)
        api.run_month(store, MONTH)
        closed = api.close_month(store, MONTH, confirm=True)
        for name, roles in PEOPLE.items():
            made = api.add_user(store, name, roles=roles, lines=["FIN"] if "head" in roles else [])
            signed = api.sign_in(store, name, made.password)
            api.change_password(store, signed.token, made.password, PASSWORD)
            api.sign_out(store, signed.token)
        source = api.add_token(store, name="service desk", source="servicedesk").secret
        read = api.add_token(store, name="BI", read_only=True).secret
        by_line = {i.business_line: i.number for i in closed.invoices}
        with api.acting_as("head"):
            dispute = api.raise_dispute(store, by_line["FIN"], 3, reason="the licence fee was billed twice",
                                        amount=Decimal("5.00"), lines={"FIN"})
        with api.acting_as("fin"):
            other = api.raise_dispute(store, by_line["OPS"], 1, reason="backup of a retired server",
                                      quantity=Decimal("1"))
    return Books(url=url, source_token=source, read_token=read, fin_invoice=by_line["FIN"], ops_invoice=by_line["OPS"],
                 fin_dispute=dispute.id, ops_dispute=other.id)


@pytest.fixture(scope="session", params=BACKENDS)
def books(request, tmp_path_factory) -> Books:
    url, drop = store_url(request.param, tmp_path_factory)
    yield make_books(url)
    if drop is not None:
        drop()


@pytest.fixture(scope="session")
def app(books):
    from portal.app import create_app

    from portal.security import AddressLimit

    made = create_app(books.url)
    # One app serves every test of a worker, so the sign-ins of all of them would count against
    # one address's limit; the limit itself is tested with a limiter of its own (test_portal.py).
    made.state.portal.logins = AddressLimit(tries=1_000_000)
    yield made
    made.state.portal.store.close()


def signed_in(app, books, name: str):
    """A client with ``name``'s session cookie (the portal's own sign-in is tested on its own)."""
    from starlette.testclient import TestClient

    signed = api.sign_in(app.state.portal.store, name, PASSWORD)
    client = TestClient(app, base_url="https://testserver", follow_redirects=False)
    client.cookies.set("cb_session", signed.token)
    return client, signed.token
