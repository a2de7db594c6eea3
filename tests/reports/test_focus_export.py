"""The FOCUS file as bytes: CSV and Parquet of the worked month (tests/reports/samples.py)."""

import csv
import io
import json
from decimal import Decimal

from hypothesis import given

from billing.close.focus_bill import FOCUS_VERSION, focus_rows
from reports.focus_export import HEADER, focus_csv, focus_parquet
from tests.billing.test_focus_bill import PROVIDER, billed_months, credit_note, months, sample_rows
from tests.reports import samples


def read(data: bytes) -> list[dict[str, str]]:
    assert not data.startswith(b"\xef\xbb\xbf")  # no byte-order mark before BilledCost
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"), newline="")))


def test_csv_writes_focus_formats():
    assert FOCUS_VERSION == "1.2"
    data = focus_csv(sample_rows())
    assert data.splitlines()[0].decode() == ",".join(HEADER)
    first, _, credit, _, _ = read(data)
    assert (first["BilledCost"], first["EffectiveCost"], first["ListCost"], first["PricingQuantity"]) == (
        "2303.03", "2303.03", "2303.03", "200.0")
    assert (first["ChargePeriodStart"], first["ChargePeriodEnd"]) == ("2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z")
    assert (first["BillingPeriodStart"], first["BillingPeriodEnd"]) == ("2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z")
    assert json.loads(first["Tags"]) == {"cost_center": "CC-MKT-1", "tier": "silver", "tariff_version": "2026.1"}
    assert (first["x_IssueDate"], first["x_InvoiceLineNumber"]) == ("2026-04-02", "1")
    # Null is an empty field; a negative amount keeps its sign.
    assert (credit["BilledCost"], credit["PricingQuantity"], credit["PricingUnit"], credit["ChargeClass"]) == (
        "-230.30", "", "", "")


def test_input_text_is_written_as_issued_and_quoted_not_prefixed():
    hostile = samples.invoice(hostile=True)
    by_line_no = {c.line_no: c for c in samples.charges(hostile=True)}
    rows = focus_rows((hostile,), month="2026-03", provider=PROVIDER, corrected_months={}, categories={},
                      charges={(hostile.number, l.line_no): by_line_no[l.charge_line_no] for l in hostile.lines})
    written = read(focus_csv(rows))
    assert written[-1]["ChargeDescription"] == '=HYPERLINK("http://x","y")'
    assert written[0]["SubAccountName"] == "Marketing <script>alert(1)</script>"


def test_a_correction_in_the_next_month():
    rows = sample_rows(credit_note(), month="2026-04", corrected={"INV-2026-0001": "2026-03"})
    written = read(focus_csv(rows))
    assert [(r["ChargeCategory"], r["ChargeClass"], r["BilledCost"], r["ChargePeriodStart"]) for r in written] == [
        ("Adjustment", "Correction", "-60.61", "2026-03-01T00:00:00Z"),
        ("Adjustment", "Correction", "-39.39", "2026-03-01T00:00:00Z"),
    ]


@given(months())
def test_the_csv_sums_to_the_documents_to_the_cent(month):
    for _, own, rows in billed_months(*month):
        written = read(focus_csv(rows))
        assert len(written) == len(rows)
        assert sum((Decimal(r["BilledCost"]) for r in written), Decimal(0)) == sum((d.total for d in own), Decimal(0))


def test_parquet_holds_the_same_rows_typed():
    import polars as pl

    frame = pl.read_parquet(io.BytesIO(focus_parquet(sample_rows())))
    assert frame.columns == list(HEADER)
    assert frame.schema["BilledCost"] == pl.Decimal(38, 2)
    assert frame.schema["ChargePeriodStart"] == pl.Datetime("us", "UTC")
    assert frame["BilledCost"].sum() == Decimal("4770.00")
    assert frame["PricingQuantity"].null_count() == 2  # the two credit rows
