"""Malformed and extreme feed files through `usage load`: refused or quarantined with file and
line, never loaded half-read, never a traceback, and nothing stored when refused."""

from __future__ import annotations

from tests.billing.test_usage_load import base_store
from tests.cli_helpers import run, write

HEADER = "record_id,usage_date,cost_center,service,quantity,unit,description,cost"


def test_a_header_naming_a_column_twice_refuses_the_file(db_url, tmp_path):
    base_store(db_url, tmp_path)
    feed = write(tmp_path / "twice.csv", f"""
        {HEADER},Cost
        T-1,2026-03-02,CC-ENG,DESK,30,ticket,laptop,,
        T-2,2026-03-05,CC-FIN,DESK,12,ticket,printer,,
    """)
    result = run(db_url, "usage", "load", feed, "--source", "internal", ok=False)

    assert result.exit_code == 1 and "Traceback" not in result.stderr
    assert "twice.csv:1:cost: repeated-column column 'cost' is named twice" in result.stderr
    assert "8 (H) as 'cost' and 9 (I) as 'Cost'" in result.stderr
    assert "not used" not in result.stderr and "nothing was loaded" in result.stderr
    assert "twice.csv" not in run(db_url, "usage", "feeds").stdout


def test_a_row_lacking_a_field_is_quarantined_and_strict_refuses_the_file(db_url, tmp_path):
    base_store(db_url, tmp_path)
    text = f"""
        {HEADER}
        T-1,2026-03-02,CC-ENG,DESK,30,ticket,laptop,
        T-2,2026-03-05,CC-FIN,DESK,12,ticket,40
    """
    result = run(db_url, "usage", "load", write(tmp_path / "short.csv", text), "--source", "internal")

    assert "short.csv:3: too-few-fields the row has 7 fields, the header 8" in result.stderr
    assert "rows read 2 = loaded 1 + quarantined 1" in result.stdout
    assert "short.csv:3: too-few-fields" in run(db_url, "usage", "rejects").stdout
    strict = run(db_url, "usage", "load", write(tmp_path / "short2.csv", text.replace("T-", "S-")),
                 "--source", "internal", "--strict", ok=False)
    assert strict.exit_code == 1 and "too-few-fields" in strict.stderr and "nothing was loaded" in strict.stderr


FOCUS_HEADER = ("BilledCost,BillingCurrency,ConsumedQuantity,ChargePeriodStart,BillingPeriodStart,ChargeCategory,"
                "ServiceName,ServiceCategory,SubAccountId,Tags,Id")


def test_a_focus_download_cut_short_and_then_complete_is_charged_once(db_url, tmp_path):
    from tests.conftest import EXAMPLE_SOURCES

    base_store(db_url, tmp_path)
    rows = [f'{cost},USD,1,2024-09-0{day}T00:00:00Z,2024-09-01T00:00:00Z,Usage,Amazon EC2,Compute,1,'
            f'"{{""business_unit"": ""Finance""}}",id-{day}' for day, cost in ((1, "10.00"), (2, "20.00"), (3, "30.00"))]
    whole = FOCUS_HEADER + "\n" + "\n".join(rows) + "\n"
    cut = tmp_path / "focus-partial.csv"
    cut.write_text(whole[:whole.rindex('"') + 1])  # the last row stops before its Id
    complete = tmp_path / "focus.csv"
    complete.write_text(whole)
    args = ("--source", "focus-cloud", "--sources", EXAMPLE_SOURCES)

    partial = run(db_url, "usage", "load", cut, *args)
    assert "focus-partial.csv:4: too-few-fields the row has 10 fields, the header 11" in partial.stderr
    assert "if the file was cut short" in partial.stderr
    assert "rows read 3 = loaded 2 + quarantined 1 + duplicates skipped 0; quantity read 2, loaded 2; cost read 30, loaded 30" in partial.stdout
    loaded = run(db_url, "usage", "load", complete, *args).stdout
    # the two rows loaded before are known by their ids; the third, now whole, is loaded once
    assert "rows read 3 = loaded 1 + quarantined 0 + duplicates skipped 2; quantity read 3, loaded 1; cost read 60, loaded 30" in loaded


def test_a_semicolon_export_from_excel_is_refused_then_loads_with_its_options(db_url, tmp_path):
    base_store(db_url, tmp_path)
    feed = write(tmp_path / "excel.csv", """
        record_id;usage_date;cost_center;service;quantity;unit;description;cost
        T-1;2026-03-02;CC-ENG;DESK;1.230,5;ticket;laptop, and more;
        T-2;2026-03-05;CC-FIN;DESK;12,25;ticket;printer;
    """)
    refused = run(db_url, "usage", "load", feed, "--source", "internal", ok=False)
    assert refused.exit_code == 1 and "Traceback" not in refused.stderr
    assert "excel.csv:1: wrong-delimiter the values are separated by semicolons (;), not by commas" in refused.stderr
    assert "load it with the delimiter ';' and the decimal mark comma" in refused.stderr
    assert "nothing was loaded: --delimiter ';' --decimal comma)" in refused.stderr
    assert "excel.csv" not in run(db_url, "usage", "feeds").stdout

    loaded = run(db_url, "usage", "load", feed, "--source", "internal", "--delimiter", ";", "--decimal", "comma")
    assert "rows read 2 = loaded 2" in loaded.stdout and "quantity read 1,242.75, loaded 1,242.75" in loaded.stdout


def test_decimal_commas_in_a_semicolon_file_refuse_it_unless_the_decimal_mark_is_said(db_url, tmp_path):
    base_store(db_url, tmp_path)
    feed = write(tmp_path / "mixed.csv", """
        record_id;usage_date;cost_center;service;quantity;unit
        T-1;2026-03-02;CC-ENG;DESK;1.000;ticket
        T-2;2026-03-05;CC-FIN;DESK;12,5;ticket
    """)
    result = run(db_url, "usage", "load", feed, "--source", "internal", "--delimiter", ";", ok=False)

    assert result.exit_code == 1
    assert "mixed.csv:2:quantity: number-format quantity '1.000' is a decimal or thousands" in result.stderr
    assert "mixed.csv:3:quantity: number-format quantity '12,5' is written with a decimal comma" in result.stderr
    assert "nothing was loaded" in result.stderr
    assert "mixed.csv" not in run(db_url, "usage", "feeds").stdout
    loaded = run(db_url, "usage", "load", feed, "--source", "internal", "--delimiter", ";", "--decimal", "comma")
    assert "quantity read 1,012.5, loaded 1,012.5" in loaded.stdout


def test_an_extreme_file_is_one_clear_line(db_url, tmp_path):
    from billing.files.dialect import MAX_RECORD_BYTES

    base_store(db_url, tmp_path)
    path = tmp_path / "one-line.csv"
    path.write_bytes(b"x" * (MAX_RECORD_BYTES + 100))
    result = run(db_url, "usage", "load", path, "--source", "internal", ok=False)

    assert result.exit_code == 1 and "Traceback" not in result.stderr
    assert "record-too-long" in result.stderr and len(result.stderr) < 1000


def test_a_record_sent_again_with_other_values_is_a_conflict_that_replace_corrects(db_url, tmp_path):
    from tests.billing.test_usage_load import month_total

    base_store(db_url, tmp_path)
    first = write(tmp_path / "march.csv", f"""
        {HEADER}
        T-1,2026-03-02,CC-ENG,DESK,30,ticket,laptop,
        T-2,2026-03-05,CC-FIN,DESK,12,ticket,printer,
    """)
    run(db_url, "usage", "load", first, "--source", "internal")
    before = month_total(db_url, "2026-03")
    again = write(tmp_path / "march-again.csv", f"""
        {HEADER}
        T-1,2026-03-02,CC-ENG,DESK,30,ticket,laptop,
        T-2,2026-03-05,CC-FIN,DESK,15,ticket,printer,
        T-3,2026-03-09,CC-FIN,DESK,1,ticket,mouse,
    """)
    result = run(db_url, "usage", "load", again, "--source", "internal")

    assert ("rows read 3 = loaded 1 + quarantined 0 + duplicates skipped 1 + conflicts quarantined 1; "
            "quantity read 46, loaded 1") in result.stdout
    assert ("march-again.csv:3:record_id: conflict record id 'T-2' was loaded by feed 1 (" in result.stderr
            and "march.csv, row 3) with other values (quantity '15' here, '12' there); this row is not loaded" in result.stderr)
    assert ("to correct feed 1, load its corrected complete file as a replacement of the feed, which takes feed 1's "
            "place: --replace)") in result.stderr
    assert "march-again.csv:3:record_id: conflict" in run(db_url, "usage", "rejects").stdout
    listed = run(db_url, "usage", "feeds").stdout.splitlines()
    assert "conflicts" in listed[0] and listed[-1].split()[5:10] == ["3", "1", "0", "1", "1"]
    strict = run(db_url, "usage", "load", write(tmp_path / "strict.csv", again.read_text().replace("T-3", "T-4")),
                 "--source", "internal", "--strict", ok=False)
    assert strict.exit_code == 1 and "conflict" in strict.stderr and "nothing was loaded" in strict.stderr

    corrected = write(tmp_path / "march-corrected.csv", again.read_text())
    replaced = run(db_url, "usage", "load", corrected, "--source", "internal", "--replace").stdout
    assert "rows read 3 = loaded 3 + quarantined 0 + duplicates skipped 0; quantity read 46, loaded 46" in replaced
    assert "replaced feed(s) 1, 2" in replaced
    assert month_total(db_url, "2026-03") > before  # 30 + 15 + 1 tickets now, against 30 + 12 before
