"""The FinOps Foundation's FOCUS validator (``focus-validator`` on PyPI), run on a file.

The one place the suite calls the validator: ``validate(path, version)`` runs its command
line on a CSV file and returns a :class:`Validation` (the rules that passed, failed, erred
or were skipped). Tests assert on it::

    result = validate(path, "1.2", applicability=("TAGGING_SUPPORTED", "SUB_ACCOUNT_SUPPORTED"))
    assert result.passed, result.report()

``applicability`` names the features the data generator supports (the rule set's
ApplicabilityCriteria, e.g. REGION_SUPPORTED): the rules that apply only to them run too;
without it the validator skips every such rule.

A rule that is one alternative of an OR rule (InvoiceId "MUST be null when ..." OR "MUST
NOT be null when ...") is reported failed by the validator whenever the other alternative
holds; such a rule counts as failed only when the OR rule itself fails.

The validator pins NumPy 1, pandas 2 and polars 1 and needs Python 3.12 or newer, while the
engine runs on NumPy 2, pandas 3 and polars 2, so it lives in a virtual environment of its
own, ``.venv-focus`` at the repository root (``make focus-validator`` creates it; ``.ci/run``
does so when it is missing). ``FOCUS_VALIDATOR_VENV`` names another one. Without it the
calling test is skipped with the reason, so a user without the validator still passes the
suite.

Rule sets. The validator (2.2.1) ships the rules of FOCUS 1.2 (``model-1.2.0.1.json``) and
downloads those of other versions from the FOCUS specification's releases on GitHub. The
suite never downloads: a version whose rule set is neither shipped nor in the folder that
``FOCUS_VALIDATOR_RULES`` names (files ``model-<version>*.json``) is validated as follows:

- an older version (1.0, 1.1) against the 1.2 rules, where the rules about the columns that
  came after it (``LATER_COLUMNS``: their presence, their own rules and the rules that fail
  only because of them) are reported apart as ``exempt`` instead of failed. Every other 1.2
  rule must pass, so such a file is checked on everything its version shares with 1.2;
- a newer version (1.3) against the 1.2 rules too: every column it shares with 1.2 is checked,
  and the columns 1.2 does not know (``NEWER_COLUMNS``) are left unchecked, listed in
  ``unchecked``. A file that drops the columns 1.3 deprecates (ProviderName, PublisherName)
  fails their 1.2 presence rules: the samples keep them, as 1.3 allows.
A version the helper knows nothing of is skipped with the reason.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
VENV = Path(os.environ.get("FOCUS_VALIDATOR_VENV") or ROOT / ".venv-focus")
RULES = os.environ.get("FOCUS_VALIDATOR_RULES")
SHIPPED_VERSION = "1.2"

LATER_COLUMNS: dict[str, tuple[str, ...]] = {
    "1.0": ("ServiceSubcategory", "SkuMeter", "SkuPriceDetails", "CommitmentDiscountQuantity",
            "CommitmentDiscountUnit", "CapacityReservationId", "CapacityReservationStatus",
            "InvoiceId", "BillingAccountType", "SubAccountType", "PricingCurrency",
            "PricingCurrencyContractedUnitPrice", "PricingCurrencyEffectiveCost", "PricingCurrencyListUnitPrice"),
    "1.1": ("InvoiceId", "BillingAccountType", "SubAccountType", "PricingCurrency",
            "PricingCurrencyContractedUnitPrice", "PricingCurrencyEffectiveCost", "PricingCurrencyListUnitPrice"),
}
"""For each version older than the shipped rules, the FOCUS columns introduced after it
(FOCUS_Spec, each column's "Introduced (version)"; docs/feeds.md, "FOCUS versions")."""

NEWER_COLUMNS: dict[str, tuple[str, ...]] = {
    "1.3": ("AllocatedMethodDetails", "AllocatedMethodId", "AllocatedResourceId", "AllocatedResourceName",
            "AllocatedTags", "ContractApplied", "HostProviderName", "ServiceProviderName"),
}
"""For each version newer than the shipped rules, the columns it introduced, which those
rules do not check."""

# Run the validator from the folder that holds its package: it opens its currency code list by
# a path relative to the working directory.
_RUN = (
    "import os, sys, focus_validator; "
    "os.chdir(os.path.dirname(os.path.dirname(focus_validator.__file__))); "
    "sys.argv[0] = 'focus-validator'; "
    "from focus_validator.main import main; main()"
)


@dataclass(frozen=True, slots=True)
class Rule:
    id: str  # e.g. "BilledCost-C-005-C"
    check: str  # e.g. "Validation"
    message: str


@dataclass(frozen=True, slots=True)
class Validation:
    """One run of the validator on one file."""

    file: Path
    version: str  # the version the file was validated as
    rules_version: str  # the rule set used
    tests: int
    passed_rules: int
    failed: tuple[Rule, ...]  # failures and errors not exempt
    exempt: tuple[Rule, ...] = ()  # failures due only to columns introduced after ``version``
    unchecked: tuple[str, ...] = ()  # columns of ``version`` the rules do not know
    skipped: int = 0
    output: str = field(default="", repr=False)

    @property
    def passed(self) -> bool:
        return not self.failed and self.passed_rules > 0

    def report(self) -> str:
        lines = [f"{self.file.name}: FOCUS {self.version} with the {self.rules_version} rules: "
                 f"{self.passed_rules} passed, {len(self.failed)} failed, {len(self.exempt)} exempt, "
                 f"{self.skipped} not applicable"
                 + (f"; not checked: {', '.join(self.unchecked)}" if self.unchecked else "")]
        lines += [f"  FAILED {r.id} ({r.check}): {r.message}" for r in self.failed]
        return "\n".join(lines)


def available() -> str | None:
    """Why the validator cannot run here, or ``None`` when it can."""
    python = VENV / "bin" / "python"
    if not python.exists():
        return (f"focus-validator is not installed ({VENV} is missing): `make focus-validator` installs it "
                f"in its own virtual environment (it needs Python 3.12 or newer)")
    found = subprocess.run([str(python), "-c", "import focus_validator"], capture_output=True, text=True)
    if found.returncode != 0:
        return f"focus-validator does not import in {VENV}: {found.stderr.strip().splitlines()[-1:]}"
    return None


def validate(path: Path | str, version: str, *, applicability: tuple[str, ...] = ()) -> Validation:
    """Run focus-validator on ``path`` as a FOCUS ``version`` dataset; skip the calling test
    when it cannot run here (see the module's notes)."""
    reason = available()
    if reason:
        pytest.skip(reason)
    path = Path(path).resolve()
    rule_folder, rules_version = _rule_set(version)
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "result.xml"
        command = [str(VENV / "bin" / "python"), "-c", _RUN, "--data-file", str(path), "--validate-version",
                   rules_version, "--block-download", "--output-type", "unittest", "--output-destination", str(out)]
        if rule_folder:
            command += ["--rule-set-path", rule_folder]
        if applicability:
            command += ["--applicability-criteria", ",".join(applicability)]
        done = subprocess.run(command, capture_output=True, text=True, timeout=600)
        output = done.stdout + done.stderr
        if done.returncode != 0 or not out.exists():
            raise AssertionError(f"focus-validator did not run on {path} (exit {done.returncode}):\n{output[-3000:]}")
        root = ET.parse(out).getroot()
    return _result(root, path, version, rules_version, output, _composites(rule_folder, rules_version))


def _rule_set(version: str) -> tuple[str | None, str]:
    """(folder to pass as --rule-set-path or None for the shipped one, version of the rules)."""
    if RULES and any(Path(RULES).glob(f"model-{version}*.json")):
        return RULES, version
    if version == SHIPPED_VERSION:
        return None, version
    if version in LATER_COLUMNS or version in NEWER_COLUMNS:
        return None, SHIPPED_VERSION
    pytest.skip(f"focus-validator ships the FOCUS {SHIPPED_VERSION} rules only and downloads the FOCUS {version} "
                f"rules from GitHub, which the suite never does: put model-{version}*.json in a folder named by "
                f"FOCUS_VALIDATOR_RULES to validate FOCUS {version} files")


def _composites(rule_folder: str | None, rules_version: str) -> dict[str, tuple[str, set[str]]]:
    """Each AND/OR rule of the rule set: its id -> (AND or OR, the ids of the rules it combines)."""
    folders = [Path(rule_folder)] if rule_folder else list(VENV.glob("lib/python3*/site-packages/focus_validator/rules"))
    models = sorted((m for f in folders for m in f.glob(f"model-{rules_version}*.json")), key=lambda m: m.name)
    if not models:
        return {}
    rules = json.loads(models[-1].read_text(encoding="utf-8")).get("ModelRules", {})
    found: dict[str, tuple[str, set[str]]] = {}
    for rule_id, rule in rules.items():
        requirement = (rule.get("ValidationCriteria") or {}).get("Requirement") or {}
        if requirement.get("CheckFunction") in ("AND", "OR"):
            found[rule_id] = (requirement["CheckFunction"], {
                item["ModelRuleId"] for item in requirement.get("Items") or []
                if item.get("CheckFunction") == "CheckModelRule"})
    return found


def _result(root: ET.Element, path: Path, version: str, rules_version: str, output: str,
            composites: dict[str, tuple[str, set[str]]]) -> Validation:
    tests = passed = skipped = 0
    broken: list[Rule] = []
    for case in root.iter("testcase"):
        tests += 1
        name = case.get("name") or ""
        rule_id, _, check = (part.strip() for part in name.partition("::"))
        outcome = case.find("failure")
        if outcome is None:
            outcome = case.find("error")
        if outcome is not None:
            broken.append(Rule(rule_id, check, outcome.get("message") or ""))
        elif case.find("skipped") is not None:
            skipped += 1
        else:
            passed += 1
    failed_ids = {r.id for r in broken}
    or_rules = {parent: ids for parent, (kind, ids) in composites.items() if kind == "OR"}
    broken = [r for r in broken if not (parents := {p for p, ids in or_rules.items() if r.id in ids})
              or parents <= failed_ids]
    later = set(LATER_COLUMNS.get(version, ())) if rules_version != version else set()
    exempt = _exempt(broken, later, composites)
    return Validation(file=path, version=version, rules_version=rules_version, tests=tests, passed_rules=passed,
                      failed=tuple(r for r in broken if r.id not in exempt),
                      exempt=tuple(r for r in broken if r.id in exempt),
                      unchecked=NEWER_COLUMNS.get(version, ()) if rules_version != version else (),
                      skipped=skipped, output=output)


def _exempt(broken: list[Rule], later: set[str], composites: dict[str, tuple[str, set[str]]]) -> set[str]:
    """The ids of the broken rules that concern only the ``later`` columns: a rule of such a
    column or about it ("Presence check for InvoiceId"), a rule whose failed upstream
    dependencies are all exempt, and an AND/OR rule whose failed parts are all exempt."""
    if not later:
        return set()
    failed = {r.id for r in broken}
    exempt = {r.id for r in broken if r.id.split("-", 1)[0] in later or r.message.rsplit(" ", 1)[-1] in later}
    changed = True
    while changed:
        changed = False
        for rule in broken:
            if rule.id in exempt:
                continue
            upstream = re.search(r"Upstream dependency failed: ([^\]]*)", rule.message)
            names = {n.split(" ", 1)[0] for n in re.split(r",\s*", upstream.group(1))} if upstream else set()
            parts = composites.get(rule.id, ("", set()))[1] & failed
            if (names and all(n in exempt or n.split("-", 1)[0] in later for n in names)) or (parts and parts <= exempt):
                exempt.add(rule.id)
                changed = True
    return exempt
