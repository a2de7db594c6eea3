"""A small catalogue and organisation built from records, and helpers to read a feed."""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path

import polars as pl
import pytest

from billing.feeds import (
    UNALLOCATED,
    CostCenterOwner,
    MappingContext,
    SourceDefinition,
    UsageBatch,
    load_sources,
    parse_source,
    read_usage,
    reconcile,
)
from billing.feeds.reconcile import Reconciliation
from billing.core.problems import Problem
from tariffs.model import Catalogue, Service, ServiceKind, ServiceLevel, Tier, Unit

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_SOURCES = ROOT / "examples" / "sources"
FOCUS_SAMPLE = ROOT / "tests" / "data" / "focus" / "focus-1.0_sample_aws-microsoft-oracle_1000rows.csv"


def service(code: str, unit: str, tiers: tuple[str, ...]) -> Service:
    return Service(
        code=code, name=code.title(), unit=unit, kind=ServiceKind.IT, owner="IT",
        tiers=tuple(Tier(code=t, name=t.title(), funding_level="standard", service_level=ServiceLevel(), rank=i)
                    for i, t in enumerate(tiers)),
        default_tier=tiers[-1],
    )


CATALOGUE = Catalogue(
    units=(Unit(code="GB", name="Gigabyte"), Unit(code="HOUR", name="Hour"), Unit(code="USD", name="US dollar")),
    services=(
        service("STORAGE", "GB", ("GOLD", "SILVER", "BRONZE")),
        service("COMPUTE", "HOUR", ("GOLD", "SILVER")),
        service("CLOUD", "USD", ("STANDARD",)),
        service("CLOUD-DATA", "USD", ("STANDARD", "ARCHIVE")),
    ),
    tariffs=(),
)

# CC-200 moves from OPS to ENG on 16 September 2024; CC-300 has no owner after June.
COST_CENTERS = (
    CostCenterOwner(cost_center="CC-100", business_line="FIN", effective_from=dt.date(2024, 1, 1)),
    CostCenterOwner(cost_center="CC-200", business_line="OPS", effective_from=dt.date(2024, 1, 1),
                    effective_to=dt.date(2024, 9, 15)),
    CostCenterOwner(cost_center="CC-200", business_line="ENG", effective_from=dt.date(2024, 9, 16)),
    CostCenterOwner(cost_center="CC-300", business_line="DATA", effective_from=dt.date(2024, 1, 1),
                    effective_to=dt.date(2024, 6, 30)),
)


@pytest.fixture
def ctx() -> MappingContext:
    return MappingContext(
        catalogue=CATALOGUE,
        business_lines=frozenset({"FIN", "OPS", "ENG", "DATA", "RES", UNALLOCATED}),
        cost_centers=COST_CENTERS,
        earliest=dt.date(2024, 1, 1),
        latest=dt.date(2024, 12, 31),
    )


@pytest.fixture
def examples() -> dict[str, SourceDefinition]:
    sources, problems = load_sources(EXAMPLE_SOURCES)
    assert problems == []
    return sources


TAGGED_FOCUS = """
    name: focus-test
    format: focus
    services: [{default: CLOUD}]
    business_line: [{tag: business_unit}]
    unallocated: business_line
"""
"""A FOCUS source mapping every row to CLOUD and its business unit tag (else UNALLOCATED)."""


def source_from(yaml_text: str, tmp_path: Path | None = None) -> SourceDefinition:
    source, problems = parse_source(textwrap.dedent(yaml_text), file="test.yaml", base=tmp_path)
    assert source is not None, [p.render() for p in problems]
    return source


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


class Result:
    """Everything read_usage yielded for one file, put together."""

    def __init__(self, batches: list[UsageBatch]):
        self.batches = batches
        self.rows = pl.concat([b.rows for b in batches])
        self.problems: list[Problem] = [p for b in batches for p in b.problems]
        self.tally: Reconciliation = reconcile(batches)

    def codes(self) -> list[tuple[int | None, str, str | None]]:
        return [(p.source.row, p.code.value, p.source.column) for p in self.problems]

    def by_id(self, record_id: str) -> dict:
        found = self.rows.filter(pl.col("record_id") == record_id)
        assert found.height == 1, record_id
        return found.row(0, named=True)


def read(path: Path, source: SourceDefinition, ctx: MappingContext, **options) -> Result:
    return Result(list(read_usage(path, source, ctx, **options)))
