"""People, sessions and API tokens on every backend: what `chargeback users` and `chargeback
tokens` do, and what signing in and out through billing.api leaves in the store."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from billing import api
from billing.api import LoginRefused
from billing.jobs.access import LOGIN_TRIES
from tests.conftest import EXAMPLE_TARIFFS
from tests.cli_helpers import load_two_business_lines, run, write


def password_of(output: str) -> str:
    return re.search(r"one-time password \(shown once, changed at the first sign-in\): ([^\s;]+)", output).group(1)


def rows(db_url: str, query: str) -> list[tuple]:
    engine = sa.create_engine(db_url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as connection:
            return [tuple(r) for r in connection.execute(sa.text(query))]
    finally:
        engine.dispose()


def test_a_person_added_signs_in_with_the_one_time_password_and_must_change_it(db_url, tmp_path):
    load_two_business_lines(db_url, tmp_path)
    added = run(db_url, "users", "add", "ada", "--role", "head", "--line", "FIN", "--line", "OPS").stdout
    password = password_of(added)
    listed = run(db_url, "users", "list").stdout
    assert re.search(r"ada\s+head\s+FIN, OPS\s+must change password\s+password\s+0", listed), listed
    with api.open_store(db_url) as store:
        signed = api.sign_in(store, "ada", password)
        assert signed.principal.lines == {"FIN", "OPS"} and signed.principal.must_change_password
        assert api.session_principal(store, signed.token).name == "ada"
        api.change_password(store, signed.token, password, "a much longer secret")
        assert api.session_principal(store, signed.token).must_change_password is False
        with pytest.raises(LoginRefused):
            api.sign_in(store, "ada", password)  # the one-time password is gone
        assert api.sign_in(store, "ada", "a much longer secret").principal.name == "ada"
    stored = rows(db_url, "SELECT password_hash FROM app_user")
    assert stored[0][0].startswith("$argon2id$") and password not in str(rows(db_url, "SELECT * FROM app_user"))
    assert ("login", "ada") in rows(db_url, "SELECT action, subject FROM audit_event")


def test_a_session_is_kept_hashed_and_ends_at_logout_and_everywhere(db_url, tmp_path):
    run(db_url, "db", "upgrade")  # people are added to a store that exists
    password = password_of(run(db_url, "users", "add", "fin", "--role", "finance").stdout)
    with api.open_store(db_url) as store:
        first, second, third = (api.sign_in(store, "fin", password) for _ in range(3))
        assert first.token not in str(rows(db_url, "SELECT token_hash FROM web_session"))
        assert api.sign_out(store, first.token) == 1
        assert api.session_principal(store, first.token) is None
        assert api.session_principal(store, second.token) is not None
        assert api.sign_out(store, second.token, everywhere=True) == 2
        assert api.session_principal(store, third.token) is None


def test_disable_and_reset_end_every_session(db_url, tmp_path):
    run(db_url, "db", "upgrade")  # people are added to a store that exists
    password = password_of(run(db_url, "users", "add", "ops", "--role", "planner").stdout)
    with api.open_store(db_url) as store:
        signed = api.sign_in(store, "ops", password)
    reset = run(db_url, "users", "reset", "ops").stdout
    assert "1 open session(s) ended" in reset
    with api.open_store(db_url) as store:
        assert api.session_principal(store, signed.token) is None
        again = api.sign_in(store, "ops", password_of(reset.replace("new one-time", "one-time")))
    assert "1 open session(s) ended" in run(db_url, "users", "disable", "ops").stdout
    with api.open_store(db_url) as store:
        assert api.session_principal(store, again.token) is None
        with pytest.raises(LoginRefused, match="the name or the password is wrong"):
            api.sign_in(store, "ops", password)
    assert "disabled" in run(db_url, "users", "list").stdout


def test_sign_ins_are_refused_after_too_many_wrong_passwords_even_with_the_right_one(db_url):
    run(db_url, "db", "upgrade")  # people are added to a store that exists
    password = password_of(run(db_url, "users", "add", "aud", "--role", "auditor").stdout)
    with api.open_store(db_url) as store:
        for _ in range(LOGIN_TRIES):
            with pytest.raises(LoginRefused, match="wrong"):
                api.sign_in(store, "aud", "not the password at all")
        with pytest.raises(LoginRefused, match="too many refused sign-ins"):
            api.sign_in(store, "aud", password)
        with pytest.raises(LoginRefused, match="the name or the password is wrong"):
            api.sign_in(store, "nobody", password)  # an unknown name is refused alike


@pytest.mark.parametrize("args,said", [
    (["users", "add", "x", "--role", "head"], "a head heads named business lines: give each of the business lines (--line CODE)"),
    (["users", "add", "x", "--role", "finance", "--line", "FIN"], "the business lines are those a head heads: give the role head with them (--role head)"),
    (["users", "add", "x", "--role", "head", "--line", "NOPE"], "no business line 'NOPE'"),
    (["users", "add", "bad name", "--role", "admin"], "may hold letters, digits"),
    (["users", "add", "u" * 121, "--role", "admin"], "is 121 characters long; at most 120 are kept"),
    (["users", "reset", "nobody"], "no user 'nobody'"),
    (["tokens", "add", "--name", "x"], "a token is for one usage source or read-only: give one (--source NAME or --read-only)"),
    (["tokens", "add", "--name", "x", "--source", "nope"], "no usage source 'nope'"),
    (["tokens", "add", "--name", "N" * 201, "--read-only"], "is 201 characters long; at most 200 are kept"),
    (["tokens", "revoke", "7"], "no API token 7"),
])
def test_wrong_users_and_tokens_are_refused_in_one_line(db_url, tmp_path, args, said):
    load_two_business_lines(db_url, tmp_path)
    run(db_url, "users", "add", "someone", "--role", "admin")
    result = run(db_url, *args, ok=False)
    assert result.exit_code == 1 and said in result.stderr and "Traceback" not in result.stderr, result.stderr
    assert len(rows(db_url, "SELECT id FROM app_user")) == 1 and rows(db_url, "SELECT id FROM api_token") == []


def test_a_token_is_shown_once_kept_hashed_scoped_and_revocable(db_url, tmp_path):
    load_two_business_lines(db_url, tmp_path)
    run(db_url, "tariffs", "load", EXAMPLE_TARIFFS)
    run(db_url, "usage", "load", write(tmp_path / "u.csv", "record_id,usage_date,cost_center,service,quantity,unit\n"
                                       "T-1,2026-03-03,CC-100,DESK,1,ticket\n"), "--source", "servicedesk", "--new-source")
    made = run(db_url, "tokens", "add", "--name", "ServiceNow export", "--source", "servicedesk").stdout
    secret = re.search(r"keep it safe\): (cb_\S+)", made).group(1)
    reader = re.search(r"keep it safe\): (cb_\S+)", run(db_url, "tokens", "add", "--name", "BI", "--read-only").stdout).group(1)
    assert secret not in str(rows(db_url, "SELECT * FROM api_token"))
    listed = run(db_url, "tokens", "list").stdout
    assert secret not in listed and secret[:11] + "…" in listed and "servicedesk" in listed
    with api.open_store(db_url) as store:
        principal, token = api.token_principal(store, secret)
        assert principal.source == "servicedesk" and token.scope == "source"
        assert api.token_principal(store, reader)[1].scope == "read"
        assert api.token_principal(store, secret[:-1] + ("A" if secret[-1] != "A" else "B")) is None
    run(db_url, "tokens", "revoke", str(token.id))
    with api.open_store(db_url) as store:
        assert api.token_principal(store, secret) is None
    assert re.search(r"ServiceNow export\s+source\s+servicedesk\s+revoked", run(db_url, "tokens", "list").stdout)
    actions = [a for (a,) in rows(db_url, "SELECT action FROM audit_event ORDER BY id")]
    assert actions[-3:] == ["token.add", "token.add", "token.revoke"]
