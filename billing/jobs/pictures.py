"""A closed month's statement pictures, kept once drawn (``statements`` of a closed month).

A picture is drawn from figures its close froze, so a closed month's is the same every time:
the shell draws it once (``reports.charts``) and keeps it here, in the month's snapshot
(section ``picture``), under a digest of its figures and of the code that draws it; later
statements of the month read it back instead of drawing it again. A digest not kept (other
figures, or the drawing code changed) is drawn again and kept beside the old ones: nothing
kept is replaced. An open month's pictures are drawn every time and kept nowhere.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sqlalchemy.orm import Session

from billing.store import charges as charge_store
from billing.store import snapshots
from billing.store.snapshots import MonthClose, Section

__all__ = ["kept_pictures", "keep_pictures"]


def _close(session: Session, month: str) -> MonthClose | None:
    if charge_store.period_status(session, month) != "closed":
        return None
    return snapshots.latest_close(session, month)


def kept_pictures(session: Session, month: str, keys: Iterable[str]) -> dict[str, str]:
    """The pictures kept for ``month``'s close under ``keys`` (key → picture); none for an open month."""
    close = _close(session, month)
    if close is None:
        return {}
    return {key: str(data) for key, data in snapshots.read_keys(session, close, Section.PICTURE, keys).items()}


def keep_pictures(session: Session, month: str, pictures: Mapping[str, str]) -> None:
    """Keep ``pictures`` (key → picture) with ``month``'s close; nothing for an open month."""
    close = _close(session, month)
    if close is not None and pictures:
        snapshots.write(session, close, Section.PICTURE, dict(pictures))
