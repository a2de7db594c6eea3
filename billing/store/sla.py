"""Measured service levels in the store (``sla_measurement``), one per month, service, tier,
business line and metric."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.store import schema as t


def save_measurement(session: Session, *, month: str, service: str, tier: str, business_line: str, metric: str,
                     achieved: Decimal, file: str, row: int) -> None:
    """Record what ``file`` says on ``row`` was achieved, replacing what was measured before."""
    existing = session.scalar(select(t.SlaMeasurement).where(
        t.SlaMeasurement.month == month, t.SlaMeasurement.service_code == service, t.SlaMeasurement.tier_code == tier,
        t.SlaMeasurement.business_line_code == business_line, t.SlaMeasurement.metric == metric))
    if existing is None:
        session.add(t.SlaMeasurement(month=month, service_code=service, tier_code=tier, business_line_code=business_line,
                                     metric=metric, achieved=achieved, file_name=file, row_no=row))
    else:
        existing.achieved, existing.file_name, existing.row_no = achieved, file, row
