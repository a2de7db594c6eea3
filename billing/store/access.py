"""People, their roles and sessions, and API tokens: rows in, records out (billing.core.access).

Secrets never reach this module: a session's or a token's value comes in hashed
(billing/jobs/access.py), a password as its argon2 hash.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass

from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.orm import Session

from billing.core.access import ApiToken, Principal, Role, TokenScope, User
from billing.store import audit
from billing.store.schema import ApiBatch, ApiTokenRow, AppUser, AppUserRole, AuditEvent, BusinessLine, UsageSource, WebSession

ACTIONS = ("user.add", "user.disable", "user.reset", "user.password", "user.roles", "login", "login.refused", "logout",
           "logout.everywhere", "token.add", "token.revoke")
"""The audit trail's actions of this module's changes (billing/store/bounds.py checks they fit)."""


@dataclass(frozen=True, slots=True)
class Credentials:
    """What signing in checks: the user's id, password hash and state."""

    user_id: int
    name: str
    password_hash: str
    disabled: bool
    must_change_password: bool
    single_sign_on: bool = False  # signs in through the provider, never with a password


def unknown_business_lines(session: Session, codes: tuple[str, ...]) -> list[str]:
    known = set(session.scalars(select(BusinessLine.code).where(BusinessLine.code.in_(codes))))
    return [code for code in codes if code not in known]


def source_exists(session: Session, name: str) -> bool:
    return session.get(UsageSource, name) is not None


def _credentials(row: AppUser | None) -> Credentials | None:
    if row is None:
        return None
    return Credentials(user_id=row.id, name=row.name, password_hash=row.password_hash, disabled=row.disabled_at is not None,
                       must_change_password=row.must_change_password, single_sign_on=row.sso_subject is not None)


def credentials(session: Session, name: str) -> Credentials | None:
    return _credentials(session.scalar(select(AppUser).where(AppUser.name == name)))


def sso_credentials(session: Session, issuer: str, subject: str) -> Credentials | None:
    """The person the provider ``issuer``'s subject ``subject`` signed in as before, if any."""
    return _credentials(session.scalar(select(AppUser).where(AppUser.sso_issuer == issuer,
                                                             AppUser.sso_subject == subject)))


def add_user(session: Session, *, name: str, password_hash: str, roles: tuple[Role, ...], lines: tuple[str, ...],
             at: dt.datetime, by: str, sso: tuple[str, str] | None = None) -> int:
    """A person added (``sso``: the provider's issuer and subject, signing in through it; no
    password then); their id."""
    row = AppUser(name=name, password_hash=password_hash, must_change_password=sso is None, created_at=at, created_by=by,
                  sso_issuer=None if sso is None else sso[0], sso_subject=None if sso is None else sso[1])
    session.add(row)
    session.flush()
    _add_roles(session, row.id, roles, lines)
    return row.id


def _add_roles(session: Session, user_id: int, roles: tuple[Role, ...], lines: tuple[str, ...]) -> None:
    for role in sorted(set(roles)):
        for line in (sorted(set(lines)) if role is Role.HEAD else [""]):
            session.add(AppUserRole(user_id=user_id, role=role.value, business_line_code=line))


def set_roles(session: Session, user_id: int, roles: tuple[Role, ...], lines: tuple[str, ...]) -> None:
    """Replace a person's roles (and a head's business lines) with these."""
    session.execute(delete(AppUserRole).where(AppUserRole.user_id == user_id))
    _add_roles(session, user_id, roles, lines)
    session.flush()


def set_password(session: Session, user_id: int, password_hash: str, *, must_change: bool) -> None:
    session.execute(update(AppUser).where(AppUser.id == user_id)
                    .values(password_hash=password_hash, must_change_password=must_change))


def disable_user(session: Session, user_id: int, at: dt.datetime) -> None:
    session.execute(update(AppUser).where(AppUser.id == user_id).values(disabled_at=at))


def _roles(session: Session, user_ids: list[int]) -> dict[int, list[tuple[Role, str]]]:
    found: dict[int, list[tuple[Role, str]]] = {i: [] for i in user_ids}
    for row in session.scalars(select(AppUserRole).where(AppUserRole.user_id.in_(user_ids))
                               .order_by(AppUserRole.role, AppUserRole.business_line_code)):
        found[row.user_id].append((Role(row.role), row.business_line_code))
    return found


def users(session: Session, *, now: dt.datetime) -> list[User]:
    rows = list(session.scalars(select(AppUser).order_by(AppUser.name)))
    roles = _roles(session, [r.id for r in rows])
    open_sessions: dict[int, int] = {user_id: count for user_id, count in session.execute(
        select(WebSession.user_id, func.count()).where(WebSession.revoked_at.is_(None), WebSession.expires_at > now)
        .group_by(WebSession.user_id))}
    return [User(name=r.name, roles=tuple(dict.fromkeys(role for role, _ in roles[r.id])),
                 lines=tuple(line for role, line in roles[r.id] if role is Role.HEAD),
                 disabled=r.disabled_at is not None, must_change_password=r.must_change_password,
                 created_at=r.created_at, created_by=r.created_by, sessions=open_sessions.get(r.id, 0),
                 single_sign_on=r.sso_subject is not None) for r in rows]


def principal_of(session: Session, user_id: int) -> Principal:
    row = session.get(AppUser, user_id)
    assert row is not None
    held = _roles(session, [user_id])[user_id]
    return Principal(name=row.name, roles=frozenset(role for role, _ in held),
                     lines=frozenset(line for role, line in held if role is Role.HEAD),
                     must_change_password=row.must_change_password)


def open_session(session: Session, *, user_id: int, token_hash: str, at: dt.datetime, expires_at: dt.datetime) -> None:
    session.add(WebSession(user_id=user_id, token_hash=token_hash, created_at=at, expires_at=expires_at))


def session_user(session: Session, token_hash: str, now: dt.datetime) -> int | None:
    """The id of the person a live session belongs to (not revoked, not expired, not disabled)."""
    return session.scalar(select(WebSession.user_id).join(AppUser, AppUser.id == WebSession.user_id)
                          .where(WebSession.token_hash == token_hash, WebSession.revoked_at.is_(None),
                                 WebSession.expires_at > now, AppUser.disabled_at.is_(None)))


@functools.cache
def _signed_in_query():
    session_, user, role = WebSession.__table__, AppUser.__table__, AppUserRole.__table__
    return (select(user.c.name, user.c.must_change_password, role.c.role, role.c.business_line_code,
                   *audit.generation_columns())
            .select_from(session_.join(user, user.c.id == session_.c.user_id)
                         .outerjoin(role, role.c.user_id == user.c.id))
            .where(session_.c.token_hash == bindparam("token_hash"), session_.c.revoked_at.is_(None),
                   session_.c.expires_at > bindparam("now", type_=session_.c.expires_at.type),
                   user.c.disabled_at.is_(None)))


def signed_in(session: Session, token_hash: str, now: dt.datetime) -> tuple[Principal | None, tuple[int, ...]]:
    """Who a live session belongs to (as :func:`session_user` and :func:`principal_of` find
    it), or None, and the store's generation (billing.store.audit.generation), in one query
    built once: what the portal reads at the start of every page."""
    rows = session.execute(_signed_in_query(), {"token_hash": token_hash, "now": now}).all()
    if not rows:
        return None, audit.generation(session)
    held = [(Role(r.role), r.business_line_code) for r in rows if r.role is not None]
    return (Principal(name=rows[0].name, roles=frozenset(role for role, _ in held),
                      lines=frozenset(line for role, line in held if role is Role.HEAD),
                      must_change_password=bool(rows[0].must_change_password)),
            tuple(int(n) for n in tuple(rows[0])[4:]))


def revoke_session(session: Session, token_hash: str, at: dt.datetime) -> None:
    session.execute(update(WebSession).where(WebSession.token_hash == token_hash, WebSession.revoked_at.is_(None))
                    .values(revoked_at=at))


def revoke_sessions(session: Session, user_id: int, at: dt.datetime, *, keep: str | None = None) -> int:
    """Revoke every open session of a person (but the one hashed ``keep``); how many there were."""
    result = session.execute(update(WebSession).where(WebSession.user_id == user_id, WebSession.revoked_at.is_(None),
                                                      WebSession.token_hash != (keep or ""))
                             .values(revoked_at=at))
    return result.rowcount or 0


def refused_logins(session: Session, name: str, since: dt.datetime) -> int:
    """How many sign-ins as ``name`` were refused since ``since`` (from the audit trail)."""
    return session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "login.refused", AuditEvent.subject == name, AuditEvent.at >= since)) or 0


# --- API tokens --------------------------------------------------------------------------------


def _token(row: ApiTokenRow) -> ApiToken:
    return ApiToken(id=row.id, prefix=row.prefix, name=row.name, scope=TokenScope(row.scope), source=row.source,
                    created_at=row.created_at, created_by=row.created_by, revoked_at=row.revoked_at,
                    last_used_at=row.last_used_at)


def add_token(session: Session, *, token_hash: str, prefix: str, name: str, scope: TokenScope, source: str | None,
              at: dt.datetime, by: str) -> ApiToken:
    row = ApiTokenRow(token_hash=token_hash, prefix=prefix, name=name, scope=scope.value, source=source,
                      created_at=at, created_by=by)
    session.add(row)
    session.flush()
    return _token(row)


def tokens(session: Session) -> list[ApiToken]:
    return [_token(r) for r in session.scalars(select(ApiTokenRow).order_by(ApiTokenRow.id))]


def token(session: Session, token_id: int) -> ApiToken | None:
    row = session.get(ApiTokenRow, token_id)
    return _token(row) if row else None


def revoke_token(session: Session, token_id: int, *, at: dt.datetime, by: str) -> None:
    session.execute(update(ApiTokenRow).where(ApiTokenRow.id == token_id).values(revoked_at=at, revoked_by=by))


def live_token(session: Session, token_hash: str) -> ApiToken | None:
    """The token with this hash, when it is not revoked."""
    row = session.scalar(select(ApiTokenRow).where(ApiTokenRow.token_hash == token_hash, ApiTokenRow.revoked_at.is_(None)))
    return _token(row) if row else None


# --- API usage batches -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StoredBatch:
    body_hash: str
    status: int
    answer: str
    feed_id: int | None


def batch(session: Session, source: str, key: str) -> StoredBatch | None:
    row = session.scalar(select(ApiBatch).where(ApiBatch.source == source, ApiBatch.idempotency_key == key))
    return None if row is None else StoredBatch(body_hash=row.body_hash, status=row.status, answer=row.answer,
                                                feed_id=row.feed_id)


def add_batch(session: Session, *, source: str, key: str, digest: str, status: int, answer: str, feed_id: int | None,
              token_id: int, at: dt.datetime) -> None:
    session.add(ApiBatch(source=source, idempotency_key=key, body_hash=digest, status=status, answer=answer,
                         feed_id=feed_id, token_id=token_id, received_at=at))
    session.execute(update(ApiTokenRow).where(ApiTokenRow.id == token_id).values(last_used_at=at))
