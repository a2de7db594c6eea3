"""Price dimensions from the usage file to every document (docs/feeds.md and docs/pricing.md,
"Price dimensions"): the usage format's column named as the dimension, a source definition's
column, a value held under ``unknown: quarantine`` (kept with its feed and days, warned about in
the review, the close and ``month status``, priced once the tariff lists it and the month runs
again), and the value on the invoice, explain, the statement, the export, the journal and the
FOCUS bill; on SQLite and PostgreSQL."""

import csv
import json
import re
from pathlib import Path

from tests.cli_helpers import load_two_business_lines, run, write
from tests.records import vm_by_region


USAGE = """\
record_id,usage_date,cost_center,service,quantity,unit,region
r1,2026-04-02,CC-100,VM,100,vm-hour,eu-west
r2,2026-04-03,CC-100,VM,50,vm-hour,EU-West
r3,2026-04-04,CC-100,VM,80,vm-hour,us-east
r4,2026-04-05,CC-100,VM,30,vm-hour,ap-south
"""


def _tariffs(folder: Path, *, rule: str, extra: str = "") -> Path:
    write(folder / "vm.yaml", vm_by_region(unknown=rule, more_values=extra))
    return folder


def _setup(url: str, tmp_path: Path, *, rule: str) -> None:
    load_two_business_lines(url, tmp_path)
    run(url, "tariffs", "load", _tariffs(tmp_path / "tariffs", rule=rule))
    run(url, "subscriptions", "load", write(tmp_path / "subs.csv", """
        business_line,service,tier,effective_from,effective_to
        FIN,VM,std,2026-01-01,
    """))


def test_a_region_column_prices_each_region_and_every_document_names_it(db_url, tmp_path):
    url = db_url
    _setup(url, tmp_path, rule="default")
    run(url, "usage", "load", write(tmp_path / "usage.csv", USAGE), "--source", "internal")
    out = run(url, "month", "run", "2026-04").stdout
    # docs/pricing.md's worked example: 50.00 + ap-south 6.00 + eu-west 17.00 + us-east 8.00
    assert "81.00" in out, out
    run(url, "month", "close", "2026-04", "--confirm")
    [number] = re.findall(r"CB-2026-\d{6}", run(url, "invoices", "list", "--month", "2026-04").stdout)
    shown = run(url, "invoices", "show", number).stdout
    for text in ("region eu-west", "region us-east", "region ap-south"):
        assert text in shown, shown
    explained = run(url, "explain", f"{number}/3").stdout
    assert "region eu-west" in explained and "usage.csv:3 record r2" in explained, explained
    assert "record r3" not in explained, explained  # us-east's row is on line 4
    journal = tmp_path / "journal.csv"
    run(url, "journal", "2026-04", "--out", journal)
    texts = {r["text"] for r in csv.DictReader(journal.open(encoding="utf-8"))}
    assert any("region eu-west" in t for t in texts), texts
    export = tmp_path / "export.csv"
    run(url, "export", "2026-04", "--format", "csv", "--out", export)
    rows = list(csv.DictReader(export.open(encoding="utf-8-sig")))
    assert {(r["dimension"], r["dimension_value"]) for r in rows if r["service"] == "VM"} == {
        ("", ""), ("region", "eu-west"), ("region", "us-east"), ("region", "ap-south")}, rows
    workbook = tmp_path / "export.xlsx"
    run(url, "export", "2026-04", "--out", workbook)
    import openpyxl
    sheet = openpyxl.load_workbook(workbook, read_only=True)["Detail"]
    cells = [list(r) for r in sheet.iter_rows(values_only=True)]
    at = cells[0].index("Dimension value")
    assert {r[at] for r in cells[1:] if len(r) > at} >= {"eu-west", "us-east", "ap-south"}, cells
    bill = tmp_path / "focus.csv"
    run(url, "export", "2026-04", "--format", "focus", "--out", bill)
    focus = list(csv.DictReader(bill.open(encoding="utf-8-sig")))
    tags = [json.loads(r["Tags"]) for r in focus if r["Tags"]]
    assert {"region": "eu-west"} in [{k: v for k, v in t.items() if k == "region"} for t in tags], tags
    run(url, "statements", "2026-04", "--out", tmp_path / "statements")
    page = next((tmp_path / "statements").glob("*FIN*.html")).read_text(encoding="utf-8")
    assert "eu-west" in page and "us-east" in page


def test_a_quarantined_region_is_held_warned_and_priced_when_the_tariff_lists_it(db_url, tmp_path):
    url = db_url
    _setup(url, tmp_path, rule="quarantine")
    run(url, "usage", "load", write(tmp_path / "usage.csv", USAGE), "--source", "internal")
    out = run(url, "month", "run", "2026-04")
    assert "75.00" in out.stdout, out.stdout
    assert "held" in out.stderr and "ap-south" in out.stderr and "usage.csv" in out.stderr, out.stderr
    review = run(url, "month", "review", "2026-04").stdout
    assert "ap-south" in review and "held" in review, review
    status = run(url, "month", "status").stdout
    assert "held rows" in status and " 1 " in status.splitlines()[-1] + " ", status
    closing = run(url, "month", "close", "2026-04", ok=False)
    assert closing.exit_code != 0 and "ap-south" in closing.stderr, closing.stderr
    run(url, "month", "pack", "2026-04", "--out", tmp_path / "pack.html")
    held = (tmp_path / "pack.html").read_text()
    held = held[held.index("Usage rows held, not priced"):held.index('id="service-levels"')]
    assert "<strong>1</strong>" in held and "region ap-south" in held and "usage.csv" in held, held
    # version 1 ends with March; version 2 lists ap-south from April
    first = vm_by_region(unknown="quarantine").replace(
        "effective_from: 2026-01-01\n", "effective_from: 2026-01-01\n    effective_to: 2026-03-31\n")
    second = vm_by_region(unknown="quarantine", more_values='ap-south: {model: per_unit, unit_price: "0.11"}').replace(
        'version: "1"\n    effective_from: 2026-01-01', 'version: "2"\n    effective_from: 2026-04-01')
    tariffs = tmp_path / "tariffs"
    write(tariffs / "vm.yaml", first + second[second.index("  - service: VM"):])
    run(url, "tariffs", "load", tariffs)
    out = run(url, "month", "run", "2026-04")
    assert "78.30" in out.stdout and "held" not in out.stderr, out  # 75.00 + 30 x 0.11
    assert "held rows" in run(url, "month", "status").stdout


def test_a_source_definition_names_the_column_and_a_service_without_a_dimension_ignores_it(sqlite_url, tmp_path):
    url = sqlite_url
    _setup(url, tmp_path, rule="default")
    sources = tmp_path / "sources"
    write(sources / "dc.yaml", """
        name: dc
        format: usage
        dimensions: {region: {column: Location}}
    """)
    run(url, "usage", "load", write(tmp_path / "usage.csv", USAGE.replace(",region\n", ",Location\n")),
        "--source", "dc", "--sources", sources)
    out = run(url, "month", "run", "2026-04").stdout
    assert "81.00" in out, out
