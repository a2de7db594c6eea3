"""The FOCUS samples the feed tests load are conformant: the FinOps Foundation's validator
says so (tests/focus_validator.py), not our reading of the specification."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import focus_validator
from tests.focus_validator import validate

DATA = Path(__file__).resolve().parents[1] / "data" / "focus"
VERSIONS = ("1.0", "1.1", "1.2", "1.3")
SAMPLE_FEATURES = (
    "ACCOUNT_NAMING_SUPPORTED", "AVAILABILITY_ZONE_SUPPORTED", "BILLING_BASED_ON_PROVISIONED_RESOURCES_SUPPORTED",
    "NEGOTIATED_PRICING_SUPPORTED", "PUBLIC_PRICE_LIST_SUPPORTED", "REGION_SUPPORTED", "RESOURCE_TYPE_ASSIGNMENT_SUPPORTED",
    "SUB_ACCOUNT_SUPPORTED", "TAGGING_SUPPORTED", "UNIT_PRICING_SUPPORTED", "USAGE_MEASUREMENT_SUPPORTED",
)
"""What the samples' made-up provider supports (the rule set's applicability criteria), so
the rules about those features run too."""


@pytest.mark.parametrize("version", VERSIONS)
def test_each_version_sample_passes_the_focus_validator(version):
    result = validate(DATA / f"focus-{version}_nimbus.csv", version, applicability=SAMPLE_FEATURES)
    assert result.passed, result.report()
    assert result.passed_rules > 100  # the rules ran, not only their skips


@pytest.mark.parametrize("version", ("1.0", "1.1"))
def test_older_versions_are_exempt_only_from_the_rules_of_later_columns(version):
    result = validate(DATA / f"focus-{version}_nimbus.csv", version, applicability=SAMPLE_FEATURES)
    later = set(focus_validator.LATER_COLUMNS[version])
    assert result.exempt, "a file without the later columns fails their presence rules"
    # each exempt rule names a later column, directly or through the rule it failed on
    assert all(r.id.split("-", 1)[0] in later or r.message.rsplit(" ", 1)[-1] in later
               or "Upstream dependency failed" in r.message or r.check == "Composite" for r in result.exempt)


def test_the_validator_fails_a_broken_file(tmp_path):
    # BilledCost is mandatory and never null: blank it on one row of the conformant 1.2 sample
    lines = (DATA / "focus-1.2_nimbus.csv").read_text().splitlines()
    header = lines[0].split(",")
    cells = lines[1].split(",")
    cells[header.index("BilledCost")] = "NULL"
    broken = tmp_path / "broken.csv"
    broken.write_text("\n".join([lines[0], ",".join(cells), *lines[2:]]) + "\n")
    result = validate(broken, "1.2", applicability=SAMPLE_FEATURES)
    assert not result.passed
    assert any(r.id.startswith("BilledCost-") for r in result.failed), result.report()


def test_without_the_validator_the_test_is_skipped_with_the_reason(tmp_path, monkeypatch):
    monkeypatch.setattr(focus_validator, "VENV", tmp_path / "no-venv")
    with pytest.raises(pytest.skip.Exception, match="make focus-validator"):
        validate(DATA / "focus-1.2_nimbus.csv", "1.2")
