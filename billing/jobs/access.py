"""People, sessions and API tokens: add, disable, reset, sign in and out, make and revoke tokens.

Passwords are kept as argon2id hashes (argon2-cffi's defaults, RFC 9106's second recommended
parameter set); a session's cookie value and an API token are random (``secrets``, 256 bits)
and kept as their SHA-256, which is enough for values that long. A one-time password is shown
once by the shell that made it and must be changed at the first sign-in. Every change is in the
audit trail with who made it. docs/security.md says what each role may do.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy.orm import Session

from billing.core.access import (
    ApiToken,
    SESSION_HOURS,
    LoginRefused,
    Principal,
    Role,
    TokenScope,
    User,
    check_password,
    check_roles,
    check_user_name,
)
from billing.core.limits import NAME, SOURCE_NAME, SSO_SUBJECT, too_long
from billing.core.problems import Ask, Asked, ChargebackError, excerpt
from billing.store import access as store
from billing.store import audit, locks

LOGIN_WINDOW = dt.timedelta(minutes=15)
LOGIN_TRIES = 5
"""Sign-ins refused for one user name within :data:`LOGIN_WINDOW` before further tries are
refused without checking the password, until the window has passed."""
TOKEN_PREFIX = "cb_"


def _hasher():
    from argon2 import PasswordHasher

    return PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def _verify(password_hash: str, password: str) -> bool:
    from argon2.exceptions import InvalidHashError, VerificationError

    try:
        return _hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


_DUMMY_HASH: str | None = None


def _spend_as_verifying(password: str) -> None:
    """Verify against a throw-away hash, so an unknown name takes as long as a wrong password."""
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = hash_password(secrets.token_urlsafe(16))
    _verify(_DUMMY_HASH, password)


def digest(secret: str) -> str:
    """What the store keeps of a session's or a token's value."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def one_time_password() -> str:
    return secrets.token_urlsafe(15)  # 20 characters, 120 bits


# --- people ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NewPassword:
    """A user added or reset: the one-time password, shown once, to be changed at first sign-in."""

    user: str
    password: str
    sessions_revoked: int = 0


def add_user(session: Session, name: str, *, roles: tuple[Role, ...], lines: tuple[str, ...] = (),
             password: str | None = None) -> NewPassword:
    check_user_name(name)
    check_roles(roles, lines)
    given = check_password(password) if password is not None else one_time_password()
    hashed = hash_password(given)
    locks.lock_access(session)
    if lines:
        unknown = store.unknown_business_lines(session, lines)
        if unknown:
            raise ChargebackError(f"no business line {', '.join(map(repr, map(excerpt, unknown)))}: "
                                  f"see `chargeback org list` for the codes")
    if store.credentials(session, name) is not None:
        raise ChargebackError(f"there is a user {name!r} already: `chargeback users reset {name}` gives a new password")
    by = audit.current_user()
    store.add_user(session, name=name, password_hash=hashed, roles=roles, lines=lines, at=audit.now(), by=by)
    audit.record(session, "user.add", name, "roles " + ", ".join(sorted(r.value for r in roles))
                 + (f"; lines {', '.join(sorted(lines))}" if lines else ""))
    return NewPassword(user=name, password=given)


def _existing(session: Session, name: str) -> store.Credentials:
    found = store.credentials(session, name)
    if found is None:
        raise ChargebackError(f"no user {excerpt(name)!r}: see `chargeback users list`")
    return found


def disable_user(session: Session, name: str) -> int:
    """Disable a person and end every session they have open; how many were ended."""
    locks.lock_access(session)
    found = _existing(session, name)
    if found.disabled:
        raise ChargebackError(f"{name} is disabled already")
    now = audit.now()
    store.disable_user(session, found.user_id, now)
    ended = store.revoke_sessions(session, found.user_id, now)
    audit.record(session, "user.disable", name, f"{ended} session(s) ended")
    return ended


def reset_password(session: Session, name: str) -> NewPassword:
    """A new one-time password for a person; every session they have open ends."""
    password = one_time_password()
    hashed = hash_password(password)
    locks.lock_access(session)
    found = _existing(session, name)
    if found.single_sign_on:
        raise ChargebackError(f"{name} signs in by single sign-on and has no password here: the provider manages it "
                              f"(`chargeback users disable {name}` stops the person signing in)")
    store.set_password(session, found.user_id, hashed, must_change=True)
    ended = store.revoke_sessions(session, found.user_id, audit.now())
    audit.record(session, "user.reset", name, f"{ended} session(s) ended")
    return NewPassword(user=name, password=password, sessions_revoked=ended)


def list_users(session: Session) -> list[User]:
    return store.users(session, now=audit.now())


# --- signing in and out ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SignedIn:
    """A session opened: its cookie value (shown to the browser only) and who it is."""

    token: str
    principal: Principal
    expires_at: dt.datetime


WRONG = "the name or the password is wrong"


def sign_in(session: Session, name: str, password: str) -> SignedIn | LoginRefused:
    """A session opened, or the refusal (returned, not raised, so that the refused try is
    committed to the audit trail, which the next tries are counted from)."""
    locks.lock_access(session)
    now = audit.now()
    if len(name) > 200 or len(password) > 1_000:
        return LoginRefused(WRONG)
    if store.refused_logins(session, name, now - LOGIN_WINDOW) >= LOGIN_TRIES:
        return LoginRefused(f"too many refused sign-ins for this name: try again in {LOGIN_WINDOW.seconds // 60} minutes "
                            f"or ask an administrator to reset the password")
    found = store.credentials(session, name)
    if found is None or found.single_sign_on:
        _spend_as_verifying(password)  # as long as a wrong password; one who signs in by SSO has none here
    if found is None or found.single_sign_on or not _verify(found.password_hash, password) or found.disabled:
        audit.record(session, "login.refused", name, user="anonymous")
        return LoginRefused(WRONG)
    return _open_session(session, found.user_id, name, now)


def _open_session(session: Session, user_id: int, name: str, now: dt.datetime, detail: str | None = None) -> SignedIn:
    token = secrets.token_urlsafe(32)
    expires = now + dt.timedelta(hours=SESSION_HOURS)
    store.open_session(session, user_id=user_id, token_hash=digest(token), at=now, expires_at=expires)
    audit.record(session, "login", name, detail, user=name)
    return SignedIn(token=token, principal=store.principal_of(session, user_id), expires_at=expires)


SSO_REFUSED = "single sign-on"
"""The audit trail's subject of a single sign-on refused before the person is known."""


def sso_refused(session: Session, reason: str, *, name: str = SSO_REFUSED) -> LoginRefused:
    """A single sign-on refused (the provider's answer did not hold, or gave no role): kept in
    the audit trail as ``login.refused``; the refusal to show."""
    locks.lock_access(session)
    audit.record(session, "login.refused", name[:200], f"single sign-on: {reason}"[:2000], user="anonymous")
    return LoginRefused(f"single sign-on refused: {reason}")


def sso_sign_in(session: Session, *, issuer: str, subject: str, name: str, roles: frozenset[Role],
                lines: frozenset[str]) -> SignedIn | LoginRefused:
    """A session for the person the provider ``issuer`` vouched for as ``subject`` (its ID
    token already verified by the caller), or the refusal (returned, so that it is kept).

    The first sign-in adds the person as ``name`` (the provider's name claim), holding ``roles``
    (a head the business lines ``lines`` of them that exist); a later one brings their roles up
    to date with the provider's claim. Refused: no role, a name a person who signs in with a
    password holds already, a disabled person (``chargeback users disable``)."""
    locks.lock_access(session)
    if (message := too_long("the ID token's subject", subject, SSO_SUBJECT)) is not None:
        return sso_refused(session, f"{message} (OpenID Connect allows 255)")
    now = audit.now()
    found = store.sso_credentials(session, issuer, subject)
    if found is not None and found.disabled:
        return sso_refused(session, f"{found.name} is disabled", name=found.name)
    if found is None:
        try:
            check_user_name(name)
        except ChargebackError as exc:
            return sso_refused(session, f"the provider's name claim is not a user name here ({exc})")
        same = store.credentials(session, name)
        if same is not None:
            how = "by another single sign-on" if same.single_sign_on else "with a password"
            return sso_refused(session, f"a person named {name} signs in here {how}: an administrator decides who "
                               f"{name} is", name=name)
    known = set(lines) - set(store.unknown_business_lines(session, tuple(sorted(lines)))) if lines else set()
    held = set(roles) - ({Role.HEAD} if not known else set())
    if not held:
        return sso_refused(session, "the provider's claim gives no role here (or heads no business line there is)",
                           name=found.name if found else name)
    kept_roles, kept_lines = tuple(sorted(held)), tuple(sorted(known)) if Role.HEAD in held else ()
    described = "roles " + ", ".join(r.value for r in kept_roles) + (f"; lines {', '.join(kept_lines)}" if kept_lines else "")
    if found is None:
        user_id = store.add_user(session, name=name, password_hash="", roles=kept_roles, lines=kept_lines, at=now,
                                 by=SSO_REFUSED, sso=(issuer, subject))
        audit.record(session, "user.add", name, f"by single sign-on from {issuer}; {described}", user=name)
        return _open_session(session, user_id, name, now, "single sign-on")
    before = store.principal_of(session, found.user_id)
    if before.roles != frozenset(kept_roles) or before.lines != frozenset(kept_lines):
        store.set_roles(session, found.user_id, kept_roles, kept_lines)
        audit.record(session, "user.roles", found.name, f"by single sign-on: {described}", user=found.name)
    return _open_session(session, found.user_id, found.name, now, "single sign-on")


def session_principal(session: Session, token: str) -> Principal | None:
    """Who a session's cookie value belongs to, or None (unknown, ended, expired, disabled)."""
    if not token or len(token) > 100:
        return None
    user_id = store.session_user(session, digest(token), audit.now())
    return None if user_id is None else store.principal_of(session, user_id)


def signed_in(session: Session, token: str) -> tuple[Principal | None, tuple[int, ...]]:
    """:func:`session_principal` and the store's generation (billing.store.audit.generation),
    read in one query."""
    if not token or len(token) > 100:
        return None, audit.generation(session)
    return store.signed_in(session, digest(token), audit.now())


def sign_out(session: Session, token: str, *, everywhere: bool = False) -> int:
    """End this session, or with ``everywhere`` every session of its person; how many ended."""
    locks.lock_access(session)
    now = audit.now()
    user_id = store.session_user(session, digest(token), now)
    if user_id is None:
        return 0
    name = store.principal_of(session, user_id).name
    if everywhere:
        ended = store.revoke_sessions(session, user_id, now)
        audit.record(session, "logout.everywhere", name, f"{ended} session(s) ended", user=name)
        return ended
    store.revoke_session(session, digest(token), now)
    audit.record(session, "logout", name, user=name)
    return 1


def change_password(session: Session, token: str, current: str, new: str) -> None:
    """A signed-in person's own new password; their other sessions end."""
    check_password(new)
    if current == new:
        raise ChargebackError("the new password must differ from the one it replaces")
    hashed = hash_password(new)
    locks.lock_access(session)
    now = audit.now()
    user_id = store.session_user(session, digest(token), now)
    if user_id is None:
        raise LoginRefused("the session has ended: sign in again")
    name = store.principal_of(session, user_id).name
    found = _existing(session, name)
    if not _verify(found.password_hash, current):
        raise LoginRefused("the current password is wrong")
    store.set_password(session, user_id, hashed, must_change=False)
    ended = store.revoke_sessions(session, user_id, now, keep=digest(token))
    audit.record(session, "user.password", name, f"{ended} other session(s) ended", user=name)


# --- API tokens --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NewToken:
    """A token made: its secret, shown once, and how it is listed."""

    secret: str
    token: ApiToken


def check_new_token(*, name: str, source: str | None, read_only: bool) -> None:
    """A token's name and scope, checked before the store is opened."""
    if (source is None) == (not read_only):
        raise ChargebackError("a token is for one usage source or read-only: give one",
                              asks_for=(Asked(Ask.SOURCE, "NAME"), Ask.READ_ONLY), either=True)
    if (message := too_long("the token's name", name, NAME)) is not None:
        raise ChargebackError(message)
    if not name.strip():
        raise ChargebackError("give the token a name that says who uses it", asks_for=(Asked(Ask.NAME, "'ServiceNow export'"),))
    if source is not None and (message := too_long("the source", source, SOURCE_NAME)) is not None:
        raise ChargebackError(message)


def add_token(session: Session, *, name: str, source: str | None = None, read_only: bool = False) -> NewToken:
    check_new_token(name=name, source=source, read_only=read_only)
    locks.lock_access(session)
    if source is not None and not store.source_exists(session, source):
        raise ChargebackError(f"no usage source {excerpt(source)!r}: see `chargeback sources list` (a source is declared "
                              f"by its definition or by a first `usage load` as a new source)", asks_for=(Ask.NEW_SOURCE,))
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    made = store.add_token(session, token_hash=digest(secret), prefix=secret[:11], name=name.strip(),
                           scope=TokenScope.READ if read_only else TokenScope.SOURCE, source=source,
                           at=audit.now(), by=audit.current_user())
    audit.record(session, "token.add", f"token {made.id}", f"{made.scope.value}" + (f" for {source}" if source else ""))
    return NewToken(secret=secret, token=made)


def revoke_token(session: Session, token_id: int) -> ApiToken:
    locks.lock_access(session)
    found = store.token(session, token_id)
    if found is None:
        raise ChargebackError(f"no API token {token_id}: see `chargeback tokens list`")
    if found.revoked_at is not None:
        raise ChargebackError(f"API token {token_id} is revoked already")
    store.revoke_token(session, token_id, at=audit.now(), by=audit.current_user())
    audit.record(session, "token.revoke", f"token {token_id}", found.name)
    return store.token(session, token_id)  # type: ignore[return-value]


def list_tokens(session: Session) -> list[ApiToken]:
    return store.tokens(session)


def token_principal(session: Session, secret: str) -> tuple[Principal, ApiToken] | None:
    """Who an API token (``Authorization: Bearer``) is, or None (unknown or revoked)."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 100:
        return None
    found = store.live_token(session, digest(secret))
    if found is None:
        return None
    return Principal(name=f"token {found.id} ({found.name})"[:120], roles=frozenset(), source=found.source), found
