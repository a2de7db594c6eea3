"""Single sign-on with OpenID Connect, against a real provider on 127.0.0.1
(tests/portal/oidc_provider.py: discovery, JWKS, the authorization-code flow with PKCE, RS256
ID tokens), on SQLite and PostgreSQL: a good sign-in adds the person with the roles the claim
maps to and a later one brings them up to date; a wrong state, a wrong nonce, a forged
signature, an expired token, another audience, a claim that maps to no role, a disabled person
and a name a password's user holds are refused, kept in the audit trail, and sign nobody in.
The sign-in page offers single sign-on only when it is configured; `chargeback serve --sso`
offers it in every worker, and headless Chromium signs in through it."""

from __future__ import annotations

import time
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

from billing import api
from billing.core.problems import ProblemsError
from billing.core.sso import read_sso_settings
from billing.store import audit
from tests.portal.oidc_provider import CLIENT_ID, CLIENT_SECRET, OpenIdProvider

SETTINGS = """\
issuer: {issuer}
client_id: {client_id}
label: Example Corp
roles_claim: groups
roles:
  cb-finance: finance
  cb-heads-fin: {{head: [FIN]}}
  cb-heads-gone: {{head: [NOSUCH]}}
  cb-audit: [auditor, planner]
"""
ENVIRON = {"CHARGEBACK_SSO_CLIENT_SECRET": CLIENT_SECRET}


@pytest.fixture(scope="module")
def provider():
    with OpenIdProvider() as running:
        yield running


@pytest.fixture(scope="module")
def sso_app(books, provider):
    from portal.app import create_app

    settings = read_sso_settings(SETTINGS.format(issuer=provider.issuer, client_id=CLIENT_ID), ENVIRON)
    made = create_app(books.url, sso=settings)
    yield made
    made.state.portal.store.close()


@pytest.fixture
def person(provider):
    """A person of the provider's of their own for the test (a subject and name no other test
    uses), in finance's group; what the next token says is reset after."""
    n = time.monotonic_ns()
    provider.user = {"sub": f"subject-{n}", "preferred_username": f"sso.{n}", "groups": ["cb-finance"]}
    provider.next = {}
    yield provider.user
    provider.next = {}


def browser(app) -> TestClient:
    return TestClient(app, base_url="https://testserver", follow_redirects=False)


def sign_in(provider, client: TestClient, *, state: str | None = None) -> httpx.Response:
    """Start at the portal, go through the provider, come back with its code (``state``: the
    state sent back changed); the portal's answer to the callback."""
    start = client.get("/login/sso")
    assert start.status_code == 303, start.text[:500]
    to_provider = start.headers["location"]
    assert to_provider.startswith(f"{provider.issuer}/authorize?")
    back = httpx.get(to_provider, follow_redirects=False)
    assert back.status_code == 302, back.text
    callback = urlsplit(back.headers["location"])
    query = dict(parse_qsl(callback.query))
    if state is not None:
        query["state"] = state
    return client.get(f"{callback.path}?{urlencode(query)}")


def trail(store, action: str, subject: str):
    with store.transaction() as session:
        return [e for e in audit.events(session, limit=5000) if e.action == action and e.subject == subject]


def refusals(store):
    """The refused sign-ins kept in the audit trail, newest first."""
    with store.transaction() as session:
        return [e for e in audit.events(session, limit=5000) if e.action == "login.refused"]


def user(store, name: str):
    return next((u for u in api.users(store) if u.name == name), None)


def test_a_good_sign_in_adds_the_person_with_the_roles_the_claim_maps_to(sso_app, provider, person):
    store = sso_app.state.portal.store
    client = browser(sso_app)
    page = client.get("/login")
    assert 'href="/login/sso"' in page.text and "Sign in with Example Corp" in page.text
    answer = sign_in(provider, client)
    assert answer.status_code == 303 and answer.headers["location"] == "/", answer.text[:1000]
    cookie = answer.headers["set-cookie"]
    assert "cb_session=" in cookie and "HttpOnly" in cookie and "Secure" in cookie and "SameSite=lax" in cookie
    asked = provider.authorize_requests[-1]
    assert asked["code_challenge_method"] == "S256" and asked["nonce"] and asked["state"]
    assert asked["redirect_uri"] == "https://testserver/login/sso/callback"
    assert provider.token_requests[-1]["code_verifier"]  # the code was exchanged with its PKCE verifier
    name = person["preferred_username"]
    home = client.get("/")
    assert home.status_code == 200 and name in home.text
    assert client.get("/months").status_code == 200  # finance
    added = user(store, name)
    assert (added.roles, added.lines, added.single_sign_on, added.must_change_password, added.disabled) == (
        ("finance",), (), True, False, False)
    assert [e.detail for e in trail(store, "user.add", name)] == [
        f"by single sign-on from {provider.issuer}; roles finance"]
    assert [e.detail for e in trail(store, "login", name)] == ["single sign-on"]

    # the provider moves the person to the heads of FIN: the next sign-in says so
    person["groups"] = ["cb-heads-fin", "not-mapped"]
    again = browser(sso_app)
    assert sign_in(provider, again).status_code == 303
    assert (user(store, name).roles, user(store, name).lines) == (("head",), ("FIN",))
    assert [e.detail for e in trail(store, "user.roles", name)] == ["by single sign-on: roles head; lines FIN"]
    assert again.get("/lines/FIN").status_code == 200 and again.get("/lines/OPS").status_code == 404
    assert again.get("/months").status_code == 403
    assert len([u for u in api.users(store) if u.name == name]) == 1  # the same person, not a second one
    with pytest.raises(api.LoginRefused):  # no password signs in as a person of the provider's
        api.sign_in(store, name, "")
    with pytest.raises(api.ChargebackError, match="signs in by single sign-on"):
        api.reset_password(store, name)


def _refused(sso_app, provider, client, *, status: int, says: str, **kwargs):
    store = sso_app.state.portal.store
    before = len(api.users(store))
    answer = sign_in(provider, client, **kwargs)
    assert answer.status_code == status and says in answer.text, answer.text[:3000]
    assert "cb_session=" not in answer.headers.get("set-cookie", "")
    assert client.get("/").status_code == 303  # nobody is signed in
    assert len(api.users(store)) == before
    return answer


@pytest.mark.parametrize("case,status,says", [
    ("wrong nonce", 401, "its nonce claim is not the one expected"),
    ("bad signature", 401, "its signature is not the provider"),
    ("expired", 401, "the ID token has expired"),
    ("another audience", 401, "its audience claim is not the one expected"),
    ("another issuer", 401, "its issuer claim is not the one expected"),
    ("no subject", 401, "its subject claim is missing"),
    ("no role", 403, "gives no role here"),
    ("heads no line there is", 403, "gives no role here"),
])
def test_a_token_that_does_not_hold_or_gives_no_role_signs_nobody_in(sso_app, provider, person, case, status, says):
    now = int(time.time())
    if case == "no role":
        person["groups"] = ["someone-else"]
    elif case == "heads no line there is":
        person["groups"] = ["cb-heads-gone"]
    else:
        provider.next = {"wrong nonce": {"nonce": "not-the-one-sent"}, "bad signature": {"sign_with_other_key": True},
                         "expired": {"iat": now - 7200, "exp": now - 3600},
                         "another audience": {"aud": "another-client"},
                         "another issuer": {"iss": "http://127.0.0.1:1"}, "no subject": {"sub": None}}[case]
    store = sso_app.state.portal.store
    before = len(refusals(store))
    _refused(sso_app, provider, browser(sso_app), status=status, says=says)
    kept = refusals(store)
    assert len(kept) == before + 1 and says in kept[0].detail and kept[0].detail.startswith("single sign-on: ")


def test_a_state_that_does_not_match_is_refused_before_the_code_is_exchanged(sso_app, provider, person):
    client = browser(sso_app)
    exchanged = len(provider.token_requests)
    _refused(sso_app, provider, client, status=400, says="state does not match", state="forged-state")
    assert len(provider.token_requests) == exchanged
    without = browser(sso_app).get("/login/sso/callback?code=x&state=y")  # a callback no sign-in here started
    assert without.status_code == 400 and "did not start here" in without.text


def test_a_disabled_person_and_a_name_a_password_holds_are_refused(sso_app, provider, person, books):
    store = sso_app.state.portal.store
    name = person["preferred_username"]
    assert sign_in(provider, browser(sso_app)).status_code == 303
    api.disable_user(store, name)
    _refused(sso_app, provider, browser(sso_app), status=403, says=f"{name} is disabled")
    assert trail(store, "login.refused", name)[-1].detail == f"single sign-on: {name} is disabled"
    person.update({"sub": f"{person['sub']}-other", "preferred_username": "fin"})  # the books' finance person
    _refused(sso_app, provider, browser(sso_app), status=403, says="signs in here with a password")
    assert user(store, "fin").single_sign_on is False


def test_the_sign_in_page_offers_single_sign_on_only_when_it_is_configured(app):
    client = browser(app)
    page = client.get("/login")
    assert page.status_code == 200 and "/login/sso" not in page.text and "Sign in with" not in page.text
    assert client.get("/login/sso").status_code == 404
    assert client.get("/login/sso/callback?code=x&state=y").status_code == 404


def test_the_settings_are_checked_whole_and_the_secret_comes_from_the_environment(tmp_path):
    good = read_sso_settings(SETTINGS.format(issuer="https://login.example.com/realms/corp/", client_id="cb"), ENVIRON)
    assert good.issuer == "https://login.example.com/realms/corp"
    assert good.discovery_url == "https://login.example.com/realms/corp/.well-known/openid-configuration"
    assert good.client_secret == CLIENT_SECRET and CLIENT_SECRET not in repr(good)
    assert good.grants["cb-heads-fin"].lines == {"FIN"} and {r.value for r in good.grants["cb-audit"].roles} == {
        "auditor", "planner"}
    bad = "issuer: http://login.example.com\nclient_id: cb\nroles:\n  cb-finance: boss\n  heads: {head: []}\n"
    with pytest.raises(ProblemsError) as refused:
        read_sso_settings(bad, {})
    messages = " | ".join(p.message for p in refused.value.problems)
    for says in ("is not an https:// address", "CHARGEBACK_SSO_CLIENT_SECRET, which is not set", "'boss' is not a role",
                 "a head heads named business lines"):
        assert says in messages, messages
    from cli import chargeback

    (tmp_path / "sso.yaml").write_text(bad, encoding="utf-8")
    result = CliRunner().invoke(chargeback, ["--db", f"sqlite:///{tmp_path / 'none.db'}", "serve", "--sso",
                                             str(tmp_path / "sso.yaml")])
    assert result.exit_code == 1 and "is not an https:// address" in result.output, result.output
    assert "Traceback" not in result.output


def test_chargeback_serve_with_sso_offers_it_in_every_worker(books, provider, tmp_path, monkeypatch):
    """`chargeback serve --sso FILE --workers 2` over real HTTP: each process reads the settings
    (the secret from the environment) and sends the browser to the provider."""
    from tests.portal.test_serve import serving

    if not books.url.startswith("sqlite"):
        pytest.skip("once is enough: the store's backend does not change how the portal starts")
    (tmp_path / "sso.yaml").write_text(SETTINGS.format(issuer=provider.issuer, client_id=CLIENT_ID), encoding="utf-8")
    monkeypatch.setenv("CHARGEBACK_SSO_CLIENT_SECRET", CLIENT_SECRET)
    with serving(books.url, "--sso", str(tmp_path / "sso.yaml"), "--workers", "2") as (port, page):
        assert "Sign in with Example Corp" in page.text
        for _ in range(4):  # both processes, most likely
            start = httpx.get(f"http://127.0.0.1:{port}/login/sso", follow_redirects=False)
            assert start.status_code == 303 and start.headers["location"].startswith(f"{provider.issuer}/authorize?")
            assert f"redirect_uri=http%3A%2F%2F127.0.0.1%3A{port}%2Flogin%2Fsso%2Fcallback" in start.headers["location"]


@pytest.mark.chromium
def test_a_person_signs_in_through_the_provider_in_headless_chromium(books, provider, person, tmp_path, monkeypatch):
    """In a real browser at phone width, against `chargeback serve --sso`: the button on the
    sign-in page, the provider, back with the code, and signed in; the flow's and the session's
    cookies are kept by Chromium (Secure and SameSite=Lax on http://127.0.0.1) and HttpOnly."""
    from tests.portal.test_browser import _missing, left
    from tests.portal.test_serve import serving

    if (reason := _missing()) is not None:
        pytest.skip(reason)
    if not books.url.startswith("sqlite"):
        pytest.skip("once is enough: the browser's journey does not depend on the store's backend")
    import shutil

    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By

    (tmp_path / "sso.yaml").write_text(SETTINGS.format(issuer=provider.issuer, client_id=CLIENT_ID), encoding="utf-8")
    monkeypatch.setenv("CHARGEBACK_SSO_CLIENT_SECRET", CLIENT_SECRET)
    person["groups"] = ["cb-heads-fin"]
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=390,844"):
        options.add_argument(argument)
    with serving(books.url, "--sso", str(tmp_path / "sso.yaml")) as (port, _):
        browser = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
        try:
            browser.set_page_load_timeout(30)
            base = f"http://127.0.0.1:{port}"
            browser.get(f"{base}/login")
            browser.find_element(By.LINK_TEXT, "Sign in with Example Corp").click()
            left(browser, f"{base}/login")
            assert browser.current_url == f"{base}/", browser.page_source[:2000]
            assert person["preferred_username"] in browser.page_source
            session = browser.get_cookie("cb_session")
            assert session and session["httpOnly"] and session["secure"] and session["sameSite"] == "Lax"
            assert browser.get_cookie("cb_sso") is None  # the flow's cookie is used once
            browser.get(f"{base}/lines/FIN")
            assert "Finance &amp; Procurement" in browser.page_source or "Finance & Procurement" in browser.page_source
            browser.get(f"{base}/lines/OPS")
            assert "IT Operations" not in browser.page_source
        finally:
            browser.quit()
