"""Fast inserts of many rows: ``COPY`` on PostgreSQL, one prepared ``executemany`` on SQLite.

Values must already be in the store's text form for SQLite (decimals as canonical text,
dates as ISO text); see :func:`frame_for_store`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import polars as pl
from sqlalchemy.orm import Session


def bulk_insert(session: Session, table: str, columns: Sequence[str], rows: Iterable[Sequence[object]]) -> int:
    connection = session.connection()
    raw = connection.connection.dbapi_connection
    names = ", ".join(f'"{c}"' for c in columns)
    count = 0
    if connection.dialect.name == "postgresql":
        with raw.cursor() as cursor:
            with cursor.copy(f'COPY "{table}" ({names}) FROM STDIN') as copy:
                for row in rows:
                    copy.write_row(row)
                    count += 1
        return count
    marks = ", ".join("?" for _ in columns)
    cursor = raw.cursor()
    try:
        batch: list[Sequence[object]] = []
        for row in rows:
            batch.append(row)
            if len(batch) >= 100_000:
                cursor.executemany(f'INSERT INTO "{table}" ({names}) VALUES ({marks})', batch)
                count += len(batch)
                batch = []
        if batch:
            cursor.executemany(f'INSERT INTO "{table}" ({names}) VALUES ({marks})', batch)
            count += len(batch)
    finally:
        cursor.close()
    return count


def decimal_text_expr(column: str) -> pl.Expr:
    """A Decimal column as canonical text (``1.500000`` → ``1.5``, ``2.000`` → ``2``)."""
    text = pl.col(column).cast(pl.String)
    trimmed = pl.when(text.str.contains(".", literal=True)).then(text.str.strip_chars_end("0").str.strip_chars_end(".")).otherwise(text)
    return pl.when(trimmed.is_in(["-0", ""])).then(pl.lit("0")).otherwise(trimmed).alias(column)


def frame_for_store(frame: pl.DataFrame, decimals: Sequence[str], dates: Sequence[str]) -> pl.DataFrame:
    """Decimals as canonical text and dates as ISO text, as the store keeps them on SQLite
    (PostgreSQL's COPY reads the same text into NUMERIC and DATE)."""
    return frame.with_columns(
        *[decimal_text_expr(c) for c in decimals],
        *[pl.col(c).cast(pl.String) for c in dates],
    )
