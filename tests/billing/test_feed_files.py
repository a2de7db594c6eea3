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
    result = run(db_url, "usage", "load", feed, "--source", "servicedesk", "--new-source", ok=False)

    assert result.exit_code == 1 and "Traceback" not in result.stderr
    assert "twice.csv:1:cost: repeated-column column 'cost' is named twice" in result.stderr
    assert "8 (H) as 'cost' and 9 (I) as 'Cost'" in result.stderr
    assert "not used" not in result.stderr and "nothing was loaded" in result.stderr
    assert "twice.csv" not in run(db_url, "usage", "feeds").stdout
