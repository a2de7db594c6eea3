"""Column types that keep money exact on every database."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import Numeric, String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from billing.core.money import D


def decimal_text(value: Decimal) -> str:
    """A Decimal as fixed-point text with its own scale (``1E+3`` → ``1000``, ``470.00`` stays
    ``470.00``, as PostgreSQL's NUMERIC keeps it)."""
    if value == 0:
        value = abs(value)
    return format(value, "f")


class ExactDecimal(TypeDecorator[Decimal]):
    """An exact decimal: ``NUMERIC`` on PostgreSQL, canonical text on SQLite.

    SQLite has no decimal type (its NUMERIC goes through a float), so values are kept as text
    there and summed in Python or polars, never with SQL ``SUM``. Always returns ``Decimal``.
    """

    impl = String
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect):
        if dialect.name == "postgresql":
            return dialect.type_descriptor(Numeric(asdecimal=True))
        return dialect.type_descriptor(String(64))

    def process_bind_param(self, value, dialect: Dialect):
        if value is None:
            return None
        value = D(value)
        return value if dialect.name == "postgresql" else decimal_text(value)

    def process_result_value(self, value, dialect: Dialect):
        if value is None:
            return None
        return value if isinstance(value, Decimal) else D(str(value))
