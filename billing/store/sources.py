"""Declared usage sources in the store (``usage_source``)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.store import schema as t


@dataclass(frozen=True, slots=True, kw_only=True)
class DeclaredSource:
    name: str
    format: str
    origin: str  # definition | registered | existing
    declared_at: dt.datetime
    declared_by: str


def declared_sources(session: Session) -> dict[str, DeclaredSource]:
    rows = session.scalars(select(t.UsageSource).order_by(t.UsageSource.name))
    return {r.name: DeclaredSource(name=r.name, format=r.format, origin=r.origin, declared_at=r.declared_at,
                                   declared_by=r.declared_by) for r in rows}


def declare_source(session: Session, *, name: str, format: str, origin: str, user: str, at: dt.datetime) -> None:
    session.add(t.UsageSource(name=name, format=format, origin=origin, declared_at=at, declared_by=user))
    session.flush()
