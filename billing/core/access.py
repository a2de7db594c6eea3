"""Who may do what: the roles, the people and API tokens that hold them, and the one record a
shell asks about a request's caller (:class:`Principal`).

A role is one of five (:class:`Role`). A head holds the role for named business lines only;
the other roles cover every line. Pure: no database, no hashing (billing/jobs/access.py hashes).
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from dataclasses import dataclass

from billing.core.limits import USER, too_long
from billing.core.problems import Ask, Asked, ChargebackError, excerpt, has_control


class LoginRefused(ChargebackError):
    """A sign-in refused: a wrong name or password, a disabled person, or too many tries; one
    message for the first three, so a refusal never tells which names exist."""


class Role(enum.StrEnum):
    """What a person may do in the portal and the API (docs/security.md)."""

    FINANCE = "finance"  # every business line; run, review, close, reopen, adjust
    HEAD = "head"  # the statements, budget and advice of the business lines named, nothing of any other
    PLANNER = "planner"  # forecasts, scenarios, plan workbooks
    AUDITOR = "auditor"  # read-only, the audit trail
    ADMIN = "admin"  # users and tokens


class TokenScope(enum.StrEnum):
    """What an API token may do: send usage for its one source, or read."""

    SOURCE = "source"
    READ = "read"


_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+-]*")
SESSION_HOURS = 12
"""How long a portal session lasts from sign-in (then the person signs in again)."""
MIN_PASSWORD = 12
"""The shortest password accepted (NIST SP 800-63B asks for at least 8; 12 is common practice)."""
MAX_PASSWORD = 256
"""The longest password accepted: argon2 takes any length, a limit keeps a login request small."""


def check_user_name(name: str) -> str:
    """A user name as stored: letters, digits and ``. _ @ + -``, at most :data:`USER` characters."""
    if (message := too_long("the user name", name, USER)) is not None:
        raise ChargebackError(f"{message}: give a shorter name")
    if not _NAME.fullmatch(name):
        raise ChargebackError(f"the user name {excerpt(name)!r} may hold letters, digits and . _ @ + - only, "
                              f"starting with a letter or digit (e.g. ada.lovelace)")
    return name


def check_password(password: str) -> str:
    """A new password: :data:`MIN_PASSWORD` to :data:`MAX_PASSWORD` characters, no control character."""
    if len(password) < MIN_PASSWORD:
        raise ChargebackError(f"the password is {len(password)} characters long: give at least {MIN_PASSWORD}")
    if len(password) > MAX_PASSWORD:
        raise ChargebackError(f"the password is {len(password):,} characters long: give at most {MAX_PASSWORD}")
    if has_control(password):
        raise ChargebackError("the password holds a control character: type it again")
    return password


def check_roles(roles: tuple[Role, ...], lines: tuple[str, ...]) -> None:
    """A head names the business lines it heads; no other role takes lines."""
    if not roles:
        raise ChargebackError("give the user at least one role: finance, head, planner, auditor or admin")
    if Role.HEAD in roles and not lines:
        raise ChargebackError("a head heads named business lines: give each of the business lines",
                              asks_for=(Asked(Ask.BUSINESS_LINES, "CODE"),))
    if lines and Role.HEAD not in roles:
        raise ChargebackError("the business lines are those a head heads: give the role head with them",
                              asks_for=(Asked(Ask.ROLE, "head"),))


@dataclass(frozen=True, slots=True, kw_only=True)
class Principal:
    """Who is asking, with what they hold: a person signed in, or an API token."""

    name: str
    roles: frozenset[Role]
    lines: frozenset[str] = frozenset()  # the business lines a head heads
    source: str | None = None  # an API token for one usage source
    must_change_password: bool = False

    def has(self, *roles: Role) -> bool:
        return any(role in self.roles for role in roles)

    def sees_line(self, code: str) -> bool:
        """Whether this caller may see business line ``code``'s figures: every role that
        covers all lines, and a head for the lines named."""
        if self.roles & {Role.FINANCE, Role.AUDITOR}:
            return True
        return Role.HEAD in self.roles and code in self.lines


@dataclass(frozen=True, slots=True, kw_only=True)
class User:
    """A person who signs in to the portal."""

    name: str
    roles: tuple[Role, ...]
    lines: tuple[str, ...]
    disabled: bool
    must_change_password: bool
    created_at: dt.datetime
    created_by: str
    sessions: int = 0  # sessions open now
    single_sign_on: bool = False  # signs in through the OpenID Connect provider, never with a password


@dataclass(frozen=True, slots=True, kw_only=True)
class ApiToken:
    """An API token as listed: never its secret, which is shown once when it is made."""

    id: int
    prefix: str  # the first characters of the token, to tell it apart
    name: str
    scope: TokenScope
    source: str | None
    created_at: dt.datetime
    created_by: str
    revoked_at: dt.datetime | None
    last_used_at: dt.datetime | None
