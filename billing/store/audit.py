"""The audit trail and settings kept in the store."""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import functools
import getpass
import os
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from billing.core.limits import SUBJECT, USER
from billing.core.problems import ChargebackError, excerpt
from billing.core.settings import DEFAULT_TEXTS, Settings
from billing.store.schema import AuditEvent, Setting

#: Settings and their defaults as stored text (docs/month-end.md, "Settings"; the rules:
#: billing.core.settings).
DEFAULTS = DEFAULT_TEXTS

#: The environment variable the SMTP password is read from (never stored, never printed).
SMTP_PASSWORD_VARIABLE = "CHARGEBACK_SMTP_PASSWORD"


_ACTING: contextvars.ContextVar[str | None] = contextvars.ContextVar("chargeback_acting_user", default=None)


@contextlib.contextmanager
def acting_as(user: str) -> Iterator[None]:
    """Within the block, the person signed in to the portal is who acts (the audit trail's
    user, who closed a month, issued a note); a name the store has checked."""
    token = _ACTING.set(user)
    try:
        yield
    finally:
        _ACTING.reset(token)


def current_user() -> str:
    """Who runs the command: the portal's signed-in person (:func:`acting_as`), else
    ``CHARGEBACK_USER``, else the login name."""
    user = _ACTING.get() or os.environ.get("CHARGEBACK_USER")
    if not user:
        try:
            user = getpass.getuser()
        except Exception:
            user = "unknown"
    if len(user) > USER:
        raise ChargebackError(f"the user name {excerpt(user)!r} (CHARGEBACK_USER, else the login name) is {len(user):,} "
                              f"characters long; the store keeps at most {USER}: set CHARGEBACK_USER to a shorter name")
    return user


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def record(session: Session, action: str, subject: str, detail: str | None = None, *, user: str | None = None) -> None:
    session.add(AuditEvent(at=now(), user=user or current_user(), action=action, subject=excerpt(subject, SUBJECT - 1),
                           detail=detail))


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditEntry:
    at: dt.datetime
    user: str
    action: str
    subject: str
    detail: str | None


def generation(session: Session) -> tuple[int, ...]:
    """A cheap mark of the store's state for caches: the newest audit event, rating run, month
    close, document and usage feed ids, in one query. Every change of what the portal shows is
    audited or adds one of these rows, so an equal mark means nothing it shows has changed."""
    return tuple(int(n) for n in session.execute(select(*generation_columns())).one())


@functools.cache
def generation_columns() -> tuple:
    """:func:`generation`'s values as scalar subqueries, built once (another query may carry
    them beside its own columns, as the portal's session read does: one query a page)."""
    from billing.store.schema import Invoice, MonthClose, RatingRun, UsageFeed

    return tuple(select(func.coalesce(func.max(table.__table__.c.id), 0)).scalar_subquery()
                 for table in (AuditEvent, RatingRun, MonthClose, Invoice, UsageFeed))


def events(session: Session, *, limit: int = 200) -> list[AuditEntry]:
    """The newest ``limit`` audit events, newest first."""
    rows = session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit))
    return [AuditEntry(at=e.at, user=e.user, action=e.action, subject=e.subject, detail=e.detail) for e in rows]


def events_of(session: Session, action: str, subject_prefix: str) -> list[AuditEntry]:
    """Every ``action`` event whose subject starts with ``subject_prefix``, oldest first."""
    rows = session.scalars(select(AuditEvent).where(AuditEvent.action == action,
                                                    AuditEvent.subject.startswith(subject_prefix, autoescape=True))
                           .order_by(AuditEvent.id))
    return [AuditEntry(at=e.at, user=e.user, action=e.action, subject=e.subject, detail=e.detail) for e in rows]


def event_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(AuditEvent)) or 0


def settings(session: Session) -> Settings:
    """Every setting, typed (billing.core.settings.Settings): the one way the engine reads them."""
    return Settings.from_text(_stored(session))


def _stored(session: Session) -> dict[str, str]:
    return {row.key: row.value for row in session.scalars(select(Setting)) if row.key in DEFAULTS}


def set_setting(session: Session, key: str, value: str) -> None:
    row = session.get(Setting, key)
    if row:
        row.value = value
    else:
        session.add(Setting(key=key, value=value))


def all_settings(session: Session) -> dict[str, str]:
    """Every setting as its stored text (a default where none is stored), for `settings list` and a close's snapshot."""
    stored = _stored(session)
    return {key: stored.get(key, default) for key, default in DEFAULTS.items()}
