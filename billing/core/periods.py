"""Months and fiscal years. A month is written ``YYYY-MM``."""

from __future__ import annotations

import calendar
import datetime as dt

from billing.core.problems import ChargebackError


class NotAMonth(ChargebackError, ValueError):
    """A text that is not a month (a ``ValueError`` too, for the parsers that collect problems)."""


def parse_month(text: str) -> str:
    """The month a text names, as ``YYYY-MM``; :class:`NotAMonth` otherwise.

    The one rule, for the command line and every file: ``YYYY-MM`` (a four-digit year, the
    month with or without its leading zero, blanks around ignored), or an ISO date in that
    month, with or without a time (``2026-03-15``, ``2026-03-01 00:00:00``: a spreadsheet date
    cell read as text)."""
    value = str(text).strip()
    head, _, rest = value.partition("-")
    month_text, _, day_text = rest.partition("-")
    try:
        if len(head) != 4 or not head.isdigit() or not month_text.isdigit() or len(month_text) > 2:
            raise ValueError(value)
        if day_text:
            day = dt.date.fromisoformat(value[:10]) if len(month_text) == 2 else None
            if day is None or (len(value) > 10 and value[10] not in " T"):
                raise ValueError(value)
            dt.datetime.fromisoformat(value)  # the time, when there is one, is a time
        else:
            day = dt.date(int(head), int(month_text), 1)
    except ValueError:
        raise NotAMonth(f"{text!r} is not a month: write it as YYYY-MM, e.g. 2026-03") from None
    return f"{day.year:04d}-{day.month:02d}"


def month_of(day: dt.date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def first_day(month: str) -> dt.date:
    year, mon = (int(p) for p in month.split("-"))
    return dt.date(year, mon, 1)


def last_day(month: str) -> dt.date:
    start = first_day(month)
    return start.replace(day=calendar.monthrange(start.year, start.month)[1])


def days_in_month(month: str) -> int:
    start = first_day(month)
    return calendar.monthrange(start.year, start.month)[1]


def month_days(month: str) -> list[dt.date]:
    """Every day of ``month``, first to last."""
    start = first_day(month)
    return [start + dt.timedelta(days=i) for i in range(days_in_month(month))]


def add_months(month: str, count: int) -> str:
    start = first_day(month)
    index = start.year * 12 + start.month - 1 + count
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def previous_month(month: str) -> str:
    return add_months(month, -1)


def month_range(first: str, last: str) -> list[str]:
    months = []
    current = first
    while current <= last:
        months.append(current)
        current = add_months(current, 1)
    return months


def fiscal_year(month: str, start_month: int = 1) -> int:
    """The fiscal year a month falls in, named by the calendar year it ends in.

    With a fiscal year starting in April (start_month=4), 2026-03 is in FY2026 and 2026-04 in
    FY2027; with January, the fiscal year is the calendar year.
    """
    start = first_day(month)
    if start_month == 1:
        return start.year
    return start.year + 1 if start.month >= start_month else start.year


def fiscal_months(year: int, start_month: int = 1) -> list[str]:
    """The twelve months of fiscal year ``year`` in order."""
    first = f"{year:04d}-{start_month:02d}" if start_month == 1 else f"{year - 1:04d}-{start_month:02d}"
    return [add_months(first, i) for i in range(12)]
