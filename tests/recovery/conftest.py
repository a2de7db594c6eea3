"""Shared helpers for the cost-recovery tests: rules from inline YAML, the example catalogue."""

from __future__ import annotations

import textwrap
from decimal import Decimal
from pathlib import Path

import pytest

from billing.recovery.allocation import AllocationInputs, CostLine, RuleSet
from billing.recovery.allocation_rules import load_rules, validate_rules
from billing.core.problems import SourceRef, errors
from tariffs.load import load_catalogue
from tests.conftest import EXAMPLE_TARIFFS

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_RULES = ROOT / "examples" / "allocation"


@pytest.fixture(scope="session")
def catalogue():
    found, problems = load_catalogue(EXAMPLE_TARIFFS)
    assert not errors(problems), [p.render() for p in problems]
    return found


def rules_from(tmp_path: Path, text: str, catalogue=None, *, name: str = "rules.yaml") -> tuple[RuleSet, list]:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    rules, problems = load_rules(path)
    if catalogue is not None:
        problems = problems + validate_rules(rules, catalogue)
    return rules, problems


def costs(month: str, **pools: str) -> tuple[CostLine, ...]:
    return tuple(
        CostLine(month=month, scenario="actual", cost_pool=pool.replace("_", "-"), gl_account="6000", amount=Decimal(amount),
                 currency="USD", source_ref=f"ref-{pool}", source=SourceRef(file="costs.csv", row=i + 2))
        for i, (pool, amount) in enumerate(pools.items())
    )


def inputs(month: str = "2026-03", *, pools: dict[str, str], **kwargs) -> AllocationInputs:
    return AllocationInputs(month=month, currency="USD", costs=costs(month, **pools), **kwargs)
