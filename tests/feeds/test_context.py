"""The mapping context refuses reference data that cannot map a row one way only."""

from __future__ import annotations

import datetime as dt

import pytest

from billing.feeds import CostCenterOwner, MappingContext
from tests.feeds.conftest import CATALOGUE


def context(*owners: CostCenterOwner, business_lines=frozenset({"FIN", "OPS"})) -> MappingContext:
    return MappingContext(catalogue=CATALOGUE, business_lines=business_lines, cost_centers=owners,
                          earliest=dt.date(2024, 1, 1), latest=dt.date(2024, 12, 31))


def test_overlapping_owners_are_refused():
    with pytest.raises(ValueError, match="overlapping owners"):
        context(
            CostCenterOwner(cost_center="CC-1", business_line="FIN", effective_from=dt.date(2024, 1, 1)),
            CostCenterOwner(cost_center="cc-1", business_line="OPS", effective_from=dt.date(2024, 6, 1)),
        )


def test_owner_must_be_a_known_business_line():
    with pytest.raises(ValueError, match="unknown business line NOPE"):
        context(CostCenterOwner(cost_center="CC-1", business_line="NOPE", effective_from=dt.date(2024, 1, 1)))


def test_codes_differing_only_by_case_are_refused():
    with pytest.raises(ValueError, match="differ only by case"):
        context(business_lines=frozenset({"FIN", "Fin"}))


def test_ownership_period_and_range():
    with pytest.raises(ValueError, match="ends 2024-01-01 before it starts"):
        CostCenterOwner(cost_center="CC-1", business_line="FIN", effective_from=dt.date(2024, 2, 1),
                        effective_to=dt.date(2024, 1, 1))
    with pytest.raises(ValueError, match="before earliest"):
        MappingContext(catalogue=CATALOGUE, business_lines=frozenset(), cost_centers=(),
                       earliest=dt.date(2024, 2, 1), latest=dt.date(2024, 1, 1))
