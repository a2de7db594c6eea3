"""Shared fixtures: a fresh store on SQLite always, and on PostgreSQL when
CHARGEBACK_TEST_PG_URL is set (``.ci/run`` sets it). Without it every PostgreSQL case is
reported as skipped with the reason, never silently left out."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("default", deadline=None, max_examples=200, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("ci", deadline=None, max_examples=300, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci" if os.environ.get("CI") else "default")

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_TARIFFS = ROOT / "examples" / "tariffs"
EXAMPLE_SOURCES = ROOT / "examples" / "sources"
FOCUS_SAMPLE = ROOT / "tests" / "data" / "focus" / "focus-1.0_sample_aws-microsoft-oracle_1000rows.csv"

PG_URL = os.environ.get("CHARGEBACK_TEST_PG_URL")
PG_SKIPPED = ("PostgreSQL tests did not run: CHARGEBACK_TEST_PG_URL is not set "
              "(e.g. CHARGEBACK_TEST_PG_URL=postgresql://postgres@127.0.0.1:5432/test)")
BACKENDS = ["sqlite", pytest.param("postgresql", marks=[pytest.mark.postgres] + ([] if PG_URL else [pytest.mark.skip(reason=PG_SKIPPED)]))]


@pytest.fixture(params=BACKENDS)
def db_url(request, tmp_path):
    """A database URL with an empty store: a SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'chargeback.db'}"
        return
    import sqlalchemy as sa

    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.begin() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in PG_URL else "?"
    yield f"{PG_URL}{separator}options=-csearch_path%3D{schema}"
    with admin.begin() as connection:
        connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path):
    """A SQLite store only (for tests about the command line, not the database)."""
    return f"sqlite:///{tmp_path / 'chargeback.db'}"
