"""The store: SQLAlchemy tables, Alembic migrations and repository functions.

Only this package imports SQLAlchemy. Repository functions take a ``Session`` (opened by the
CLI, one transaction per command) and return plain records from ``billing.core.records``.
"""
