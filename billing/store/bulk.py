"""Fast inserts of many rows: ``COPY`` on PostgreSQL, one prepared ``executemany`` on SQLite.

Values must already be in the store's form: on SQLite decimals as text
(billing.store.types.decimal_text) and dates as ISO text.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

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
