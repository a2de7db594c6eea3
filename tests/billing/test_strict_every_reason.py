"""`--strict` refuses a feed with any quarantined row, whatever the reason; without it the row
is quarantined with its file, line and reason code and the rest of the file loads.

One file per reason a usage row can be quarantined for, in our usage format and in FOCUS,
each beside a good row: the reasons a user meets in real files, every class the loader knows."""

from __future__ import annotations

import pytest

from tests.billing.test_usage_load import base_store
from tests.cli_helpers import run
from tests.conftest import EXAMPLE_SOURCES

HEADER = "record_id,usage_date,cost_center,service,quantity,unit,description,cost"

#: (reason code, the bad row) in our usage format; {n} makes each file's record ids its own.
USAGE_ROWS = [
    ("too-few-fields", "{n}-2,2026-03-05,CC-FIN,DESK,12,ticket,40"),
    ("too-many-fields", "{n}-2,2026-03-05,CC-FIN,DESK,12,ticket,printer,,7"),
    ("value-missing", "{n}-2,2026-03-05,,DESK,12,ticket,printer,"),
    ("not-a-number", "{n}-2,2026-03-05,CC-FIN,DESK,twelve,ticket,printer,"),
    ("not-a-date", "{n}-2,2026-02-30,CC-FIN,DESK,12,ticket,printer,"),
    ("date-out-of-range", "{n}-2,1899-03-05,CC-FIN,DESK,12,ticket,printer,"),
    ("out-of-range", "{n}-2,2026-03-05,CC-FIN,DESK,1e25,ticket,printer,"),
    ("too-long", "{n}-2,2026-03-05,CC-FIN,DESK,12,ticket,printer,," .replace("printer", "p" * 5000)),
    ("unknown-cost-center", "{n}-2,2026-03-05,CC-NOPE,DESK,12,ticket,printer,"),
    ("unknown-service", "{n}-2,2026-03-05,CC-FIN,NOPE,12,ticket,printer,"),
    ("unknown-unit", "{n}-2,2026-03-05,CC-FIN,DESK,12,parsec,printer,"),
    ("conflict", "{n}-1,2026-03-02,CC-ENG,DESK,31,ticket,laptop,"),
]

FOCUS_HEADER = ("BilledCost,BillingCurrency,ConsumedQuantity,ChargePeriodStart,ChargePeriodEnd,BillingPeriodStart,"
                "ChargeCategory,ServiceName,ServiceCategory,SubAccountId,Tags,Id")
FOCUS_GOOD = ('10.00,USD,1,2024-09-01T00:00:00Z,2024-09-02T00:00:00Z,2024-09-01T00:00:00Z,Usage,Amazon EC2,Compute,1,'
              '"{{""business_unit"": ""Finance""}}",{n}-1')
FOCUS_ROWS = [
    ("too-few-fields", '20.00,USD,1,2024-09-02T00:00:00Z,2024-09-03T00:00:00Z,2024-09-01T00:00:00Z,Usage,Amazon EC2,'
                       'Compute,1,"{{""business_unit"": ""Finance""}}"'),
    ("date-out-of-range", '20.00,USD,1,1899-09-02T00:00:00Z,1899-09-03T00:00:00Z,2024-09-01T00:00:00Z,Usage,'
                          'Amazon EC2,Compute,1,"{{""business_unit"": ""Finance""}}",{n}-2'),
    ("value-invalid", '20.00,USD,1,2024-09-03T00:00:00Z,2024-09-02T00:00:00Z,2024-09-01T00:00:00Z,Usage,Amazon EC2,'
                      'Compute,1,"{{""business_unit"": ""Finance""}}",{n}-2'),
    ("not-a-number", 'twenty,USD,1,2024-09-02T00:00:00Z,2024-09-03T00:00:00Z,2024-09-01T00:00:00Z,Usage,Amazon EC2,'
                     'Compute,1,"{{""business_unit"": ""Finance""}}",{n}-2'),
]


def load(db_url, path, *args, ok=True):
    return run(db_url, "usage", "load", path, *args, ok=ok)


@pytest.mark.parametrize("fmt", ["usage", "focus"])
def test_strict_refuses_a_file_with_a_row_quarantined_for_any_reason(fmt, db_url, tmp_path):
    base_store(db_url, tmp_path)
    if fmt == "usage":
        cases, header, good = USAGE_ROWS, HEADER, "{n}-1,2026-03-02,CC-ENG,DESK,30,ticket,laptop,"
        args = ("--source", "internal")
    else:
        cases, header, good = FOCUS_ROWS, FOCUS_HEADER, FOCUS_GOOD
        args = ("--source", "focus-cloud", "--sources", EXAMPLE_SOURCES)
    for number, (code, bad) in enumerate(cases):
        path = tmp_path / f"{fmt}-{code}.csv"
        path.write_text("\n".join([header, good.format(n=f"S{number}"), bad.format(n=f"S{number}")]) + "\n")
        refused = load(db_url, path, *args, "--strict", ok=False)
        assert refused.exit_code == 1 and "Traceback" not in refused.stderr, (code, refused.stderr)
        assert f"{path.name}:3" in refused.stderr and code in refused.stderr, (code, refused.stderr)
        assert "nothing was loaded" in refused.stderr, (code, refused.stderr)
        assert path.name not in run(db_url, "usage", "feeds").stdout, code

        relaxed = tmp_path / f"{fmt}-{code}-loose.csv"
        relaxed.write_text("\n".join([header, good.format(n=f"L{number}"), bad.format(n=f"L{number}")]) + "\n")
        loaded = load(db_url, relaxed, *args)
        assert f"{relaxed.name}:3" in loaded.stderr and code in loaded.stderr, (code, loaded.stderr)
        assert "rows read 2 = loaded 1 + quarantined " in loaded.stdout or "conflicts quarantined 1" in loaded.stdout, (
            code, loaded.stdout)
