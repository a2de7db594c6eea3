"""`chargeback sources inspect`: a FOCUS 1.2 export from another cloud whose tags the shipped
definition does not map lands on UNALLOCATED; inspect names the tag that carries the cost
centre, and the draft it writes takes UNALLOCATED down to the truly untagged cost."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli_helpers import load_five_business_lines, run, write

ROOT = Path(__file__).resolve().parents[2]
HEADER = ("ChargePeriodStart,ChargePeriodEnd,BillingPeriodStart,ChargeCategory,ServiceName,ServiceCategory,BilledCost,"
          "BillingCurrency,PricingQuantity,SubAccountId,SubAccountName,InvoiceId,Tags,x_ChargeId")


def export(path: Path) -> Path:
    # 6 rows: 4 tagged with the cost centre as "kostenstelle" (as a German subsidiary's cloud
    # does), 2 untagged (1.50 + 0.50 = 2.00 of 20.00)
    rows = [
        ("CC-100", "10.00"), ("CC-100", "2.00"), ("CC-200", "4.00"), ("CC-200", "2.00"), (None, "1.50"), (None, "0.50"),
    ]
    lines = [HEADER]
    for n, (center, cost) in enumerate(rows, start=1):
        tags = json.dumps({"kostenstelle": center, "owner": f"user{n}", "environment": "prod"}) if center else "NULL"
        tags = '"' + tags.replace('"', '""') + '"' if center else tags
        lines.append(f"2025-03-0{n}T00:00:00Z,2025-03-0{n + 1}T00:00:00Z,2025-03-01T00:00:00Z,Usage,Other VMs,Compute,"
                     f"{cost},USD,1,sub-{n % 2},Project {n % 2},INV-9,{tags},r{n}")
    return write(path, "\n".join(lines) + "\n")


def test_inspect_names_the_cost_centre_tag_and_the_draft_maps_all_but_the_untagged(tmp_path, sqlite_url):
    load_five_business_lines(sqlite_url, tmp_path)
    path = export(tmp_path / "othercloud.csv")

    before = run(sqlite_url, "sources", "inspect", path, "--source", "focus-cloud",
                 "--sources", ROOT / "examples" / "sources").stdout
    assert "FOCUS 1.2" in before
    assert "falls to UNALLOCATED" in before and "(100.0%) falls to UNALLOCATED" in before
    assert "kostenstelle: 90.0% of the cost" in before  # 18.00 of 20.00
    assert "the 'kostenstelle' tag carries the business line or cost centre" in before
    assert "sub-1 Project 1" in before and "Other VMs / Compute" in before

    draft = tmp_path / "drafts" / "othercloud.yaml"
    draft.parent.mkdir()
    after = run(sqlite_url, "sources", "inspect", path, "--source", "focus-cloud",
                "--sources", ROOT / "examples" / "sources", "--write-draft", draft).stdout
    assert "10.0% of the cost is UNALLOCATED" in after  # exactly the untagged 2.00
    text = draft.read_text()
    assert "tag: kostenstelle" in text and "CC-100: FIN" in text and "CC-200: OPS" in text

    loaded = run(sqlite_url, "usage", "load", path, "--source", "othercloud", "--sources", draft.parent).stdout
    assert "rows read 6 = loaded 6" in loaded and "FOCUS 1.2" in loaded


def test_the_shipped_definition_reads_the_common_cost_centre_and_business_unit_spellings(tmp_path):
    from billing.feeds import load_sources
    from tests.feeds.conftest import read as read_feed
    import datetime as dt
    from billing.feeds import MappingContext
    from tests.feeds.conftest import CATALOGUE, COST_CENTERS

    ctx = MappingContext(catalogue=CATALOGUE, business_lines=frozenset({"FIN", "OPS", "ENG", "DATA", "RES", "UNALLOCATED"}),
                         cost_centers=COST_CENTERS, earliest=dt.date(2024, 1, 1), latest=dt.date(2025, 12, 31))
    sources, _ = load_sources(ROOT / "examples" / "sources")
    keys = ["BusinessUnit", "business-unit", "CostCenter", "cost-center", "cost_center", "costcentre"]
    lines = [HEADER]
    for n, key in enumerate(keys, start=1):
        tags = '"' + json.dumps({key: "Finance"}).replace('"', '""') + '"'
        lines.append(f"2025-03-01T00:00:00Z,2025-03-02T00:00:00Z,2025-03-01T00:00:00Z,Usage,VMs,Compute,1.00,USD,1,"
                     f"sub,Sub,INV-1,{tags},k{n}")
    result = read_feed(write(tmp_path / "spellings.csv", "\n".join(lines) + "\n"), sources["focus-cloud"], ctx)
    assert result.problems == []
    assert result.rows.get_column("business_line").cast(str).to_list() == ["FIN"] * len(keys)


def test_inspect_reads_a_definition_without_declaring_it_and_refuses_an_unknown_one(tmp_path, sqlite_url):
    load_five_business_lines(sqlite_url, tmp_path)
    path = export(tmp_path / "othercloud.csv")
    sources = ROOT / "examples" / "sources"

    typo = run(sqlite_url, "sources", "inspect", path, "--source", "focus-clod", "--sources", sources, ok=False)
    assert typo.exit_code == 1 and "Traceback" not in typo.output
    assert "no source definition 'focus-clod'" in typo.stderr and "did you mean focus-cloud" in typo.stderr

    run(sqlite_url, "sources", "inspect", path, "--source", "focus-cloud", "--sources", sources)
    assert "source.declare" not in run(sqlite_url, "audit").stdout  # inspecting is no first load
    unknown = run(sqlite_url, "usage", "feeds", "--source", "focus-cloud", ok=False)
    assert unknown.exit_code == 1 and "unknown source 'focus-cloud'" in unknown.stderr
