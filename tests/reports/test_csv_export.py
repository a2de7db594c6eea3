import csv
import io

from billing.core.records import RejectedRow
from reports.csv_export import DETAIL_HEADER, month_csv, write_rejects_csv
from tests.reports import samples


def _read(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")  # UTF-8 byte-order mark, for Excel
    return list(csv.reader(io.StringIO(data[3:].decode("utf-8"), newline="")))


def test_month_csv_rows_and_numbers():
    rows = _read(month_csv(samples.export()))
    assert tuple(rows[0]) == DETAIL_HEADER
    first = dict(zip(rows[0], rows[1]))
    assert (first["cost_center"], first["gl_cost_center"], first["quantity"], first["amount"], first["invoice"]) == (
        "CC-MKT-1", "4100-10", "200", "2303.03", "INV-2026-0001")
    credit = dict(zip(rows[0], rows[3]))
    assert credit["amount"] == "-230.30" and credit["kind"] == "sla_credit"  # a negative amount is not prefixed


def test_month_csv_neutralises_formulas_from_input():
    rows = _read(month_csv(samples.export(hostile=True)))
    hosting = dict(zip(rows[0], rows[5]))
    assert hosting["description"] == "'" + '=HYPERLINK("http://x","y")'
    assert rows[1][1] == "Marketing <script>alert(1)</script>"  # not a formula: left as it is


def test_rejects_csv():
    data = write_rejects_csv([
        RejectedRow(file="usage.csv", row=7, column="quantity", code="not-a-number", reason="'=1+2' is not a number",
                    month="2026-03", source="servicedesk", feed=12),
        RejectedRow(file="usage.csv", row=None, column=None, code="file-empty", reason="=cmd|' /C calc'!A0",
                    source="servicedesk", feed=13),
    ])
    rows = _read(data)
    assert rows[0] == ["file", "row", "column", "code", "reason", "month", "source", "feed"]
    assert rows[1] == ["usage.csv", "7", "quantity", "not-a-number", "'=1+2' is not a number", "2026-03", "servicedesk", "12"]
    assert rows[2] == ["usage.csv", "", "", "file-empty", "'=cmd|' /C calc'!A0", "", "servicedesk", "13"]
    assert data.endswith(b"\r\n")


def test_month_csv_names_the_dimension_value_and_neutralises_one_from_input():
    import dataclasses

    view = samples.export()
    rows = list(view.rows)
    rows[0] = dataclasses.replace(rows[0], dimension="region", dimension_value="=cmd|' /C calc'!A0")
    rows[1] = dataclasses.replace(rows[1], dimension="region", dimension_value="dc-east")
    found = _read(month_csv(dataclasses.replace(view, rows=tuple(rows))))
    first, second = (dict(zip(found[0], row)) for row in found[1:3])
    assert (first["dimension"], first["dimension_value"]) == ("region", "'=cmd|' /C calc'!A0")
    assert (second["dimension"], second["dimension_value"]) == ("region", "dc-east")
