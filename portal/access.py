"""The access matrix: every route of the portal and the API, and who may call it.

Denied by default: :func:`portal.app.create_app` refuses to build when a route has no row
here, and a caller none of whose kinds the row names is refused (a person signed in: 403; no
one signed in: to the sign-in page, or 401 from the API). A row marked ``own_lines`` serves a
head only the business lines it heads: any other line, invoice or statement is answered 404,
as one that does not exist is, so a head learns nothing of another line, not even that it
exists. docs/security.md's table is :func:`matrix_markdown` (a test holds them equal).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

from billing.core.access import Principal, Role, TokenScope


class Caller(enum.StrEnum):
    """Who a request comes from, as the matrix names it."""

    ANONYMOUS = "anonymous"
    FINANCE = "finance"
    HEAD = "head"
    PLANNER = "planner"
    AUDITOR = "auditor"
    ADMIN = "admin"
    SOURCE_TOKEN = "source token"
    READ_TOKEN = "read token"


PEOPLE = frozenset({Caller.FINANCE, Caller.HEAD, Caller.PLANNER, Caller.AUDITOR, Caller.ADMIN})
EVERYONE = frozenset(Caller)


@dataclass(frozen=True, slots=True)
class Rule:
    callers: frozenset[Caller]
    own_lines: bool = False  # a head: only the business lines it heads (404 for any other)
    must_change_ok: bool = False  # reachable before a one-time password is changed


def _rule(*callers: Caller, own_lines: bool = False, must_change_ok: bool = False) -> Rule:
    return Rule(frozenset(callers), own_lines=own_lines, must_change_ok=must_change_ok)


LINES = (Caller.FINANCE, Caller.AUDITOR, Caller.HEAD)
"""Who reads business lines' figures: finance and auditors every line, a head its own."""

ACCESS: dict[str, Rule] = {
    # signing in and out
    "login": Rule(EVERYONE, must_change_ok=True),
    # single sign-on (portal/sso.py): 404 when it is not configured
    "login_sso": Rule(EVERYONE, must_change_ok=True),
    "login_sso_callback": Rule(EVERYONE, must_change_ok=True),
    "logout": Rule(PEOPLE, must_change_ok=True),
    "logout_everywhere": Rule(PEOPLE, must_change_ok=True),
    "password": Rule(PEOPLE, must_change_ok=True),
    "static": Rule(EVERYONE, must_change_ok=True),
    "home": Rule(PEOPLE),
    # month-end
    "dashboard": _rule(Caller.FINANCE, Caller.AUDITOR),
    "month_review": _rule(Caller.FINANCE, Caller.AUDITOR),
    "month_run": _rule(Caller.FINANCE),
    "month_close": _rule(Caller.FINANCE),
    # business lines
    "lines": _rule(*LINES, own_lines=True),
    "line": _rule(*LINES, own_lines=True),
    "statement": _rule(*LINES, own_lines=True),
    "statement_download": _rule(*LINES, own_lines=True),
    "statement_pdf": _rule(*LINES, own_lines=True),
    "line_xlsx": _rule(*LINES, own_lines=True),
    "line_advice": _rule(*LINES, own_lines=True),
    # a line's budget and forecast: planners too, for every line
    "line_budget": _rule(*LINES, Caller.PLANNER, own_lines=True),
    # the month's files for finance (and auditors): the journal, the FOCUS bill, the whole export
    "month_journal": _rule(Caller.FINANCE, Caller.AUDITOR),
    "month_focus": _rule(Caller.FINANCE, Caller.AUDITOR),
    "month_xlsx": _rule(Caller.FINANCE, Caller.AUDITOR),
    "invoice": _rule(*LINES, own_lines=True),
    "invoice_line": _rule(*LINES, own_lines=True),
    # disputes: a head raises them on its own lines, finance decides, auditors read
    "disputes": _rule(*LINES, own_lines=True),
    "dispute": _rule(*LINES, own_lines=True),
    "dispute_raise": _rule(Caller.HEAD, own_lines=True),
    "dispute_accept": _rule(Caller.FINANCE),
    "dispute_reject": _rule(Caller.FINANCE),
    # the API
    "api_openapi": Rule(EVERYONE),
    "api_usage_batch": _rule(Caller.SOURCE_TOKEN),
    "api_invoices": _rule(Caller.READ_TOKEN),
    "api_invoice": _rule(Caller.READ_TOKEN),
    "api_charges": _rule(Caller.READ_TOKEN),
    # a month's statements and one line's: a read-only token, and a person's session as the pages allow
    "api_statements": _rule(*LINES, Caller.READ_TOKEN, own_lines=True),
    "api_statement": _rule(*LINES, Caller.READ_TOKEN, own_lines=True),
}


def callers(principal: Principal | None, scope: TokenScope | None = None) -> frozenset[Caller]:
    """The matrix's callers a principal is (a person may hold several roles)."""
    if principal is None:
        return frozenset({Caller.ANONYMOUS})
    if scope is not None:
        return frozenset({Caller.SOURCE_TOKEN if scope is TokenScope.SOURCE else Caller.READ_TOKEN})
    return frozenset(Caller(role.value) for role in principal.roles if role in Role)


def allowed(name: str, found: Iterable[Caller]) -> bool:
    return bool(ACCESS[name].callers & set(found))


def matrix_markdown(routes: Iterable[tuple[str, str, str]]) -> str:
    """The matrix as a Markdown table: one row per (methods, path, name), one column per caller."""
    columns = list(Caller)
    lines = ["| route | " + " | ".join(c.value for c in columns) + " |",
             "| --- | " + " | ".join("---" for _ in columns) + " |"]
    for methods, path, name in routes:
        rule = ACCESS[name]
        cells = [("own lines" if rule.own_lines and c is Caller.HEAD else "yes") if c in rule.callers else "no"
                 for c in columns]
        lines.append(f"| `{methods} {path}` | " + " | ".join(cells) + " |")
    return "\n".join(lines)
