"""A record sent again within a file: an exact repeat is a duplicate, the same id with other
values a conflict (quarantined, with both rows and the fields that differ); a row with an
error claims no id. The counts always balance."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing.core.problems import Ask, Asked
from tests.feeds.conftest import read, source_from, write

HEADER = "record_id,usage_date,cost_center,service,quantity,unit,description"


@pytest.fixture
def internal(examples):
    return examples["internal"]


@pytest.mark.parametrize("batch_rows", [1, 2, 1000])  # the first row in the same batch, or an earlier one
def test_a_repeat_is_a_duplicate_and_other_values_a_conflict(tmp_path, ctx, internal, batch_rows):
    path = write(tmp_path, "usage.csv", f"""
        {HEADER}
        r1,2024-09-01,CC-100,STORAGE,10,GB,first
        r2,2024-09-01,CC-100,STORAGE,20,GB,second
        r1,2024-09-01,cc-100,storage,10.0,gb,first
        r2,2024-09-02,CC-100,STORAGE,25,GB,second
    """)
    result = read(path, internal, ctx, batch_rows=batch_rows)

    assert result.codes() == [(4, "duplicate", "record_id"), (5, "conflict", "record_id")]
    conflict = result.problems[1]
    assert conflict.message == ("record id 'r2' is also on row 3 with other values (usage_date '2024-09-02' here, "
                                "'2024-09-01' there; quantity '25' here, '20' there); row 3 is loaded, this row is not")
    assert "loading its corrected file as a replacement of the feed" in conflict.hint
    assert conflict.asks_for == (Asked(Ask.REPLACE),)
    t = result.tally
    assert (t.rows_read, t.good, t.duplicates, t.conflicts, t.rejected) == (4, 2, 1, 1, 0) and t.balanced
    assert result.by_id("r2")["quantity"] == Decimal(20)


def test_a_row_with_an_error_claims_no_id(tmp_path, ctx, internal):
    path = write(tmp_path, "usage.csv", f"""
        {HEADER}
        r1,2024-09-01,CC-100,STORAGE,ten,GB,a typo
        r1,2024-09-01,CC-100,STORAGE,10,GB,corrected
        r1,2024-09-01,CC-100,STORAGE,10,GB,corrected
    """)
    result = read(path, internal, ctx)

    assert result.codes() == [(2, "not-a-number", "quantity"), (4, "duplicate", "record_id")]
    assert "already appears on row 3" in result.problems[1].message
    assert result.by_id("r1")["row_no"] == 3


def test_a_focus_record_sent_again_at_another_cost_is_a_conflict(tmp_path, ctx):
    source = source_from("""
        name: focus-test
        format: focus
        services: [{default: CLOUD}]
        business_line: [{column: SubAccountId, map: {"111": FIN, "222": OPS}}]
    """)
    path = write(tmp_path, "focus.csv", """
        BilledCost,ConsumedQuantity,ChargePeriodStart,ChargeCategory,ServiceName,ServiceCategory,SubAccountId,Id
        1.5,1,2024-09-01T00:00:00Z,Usage,S3,Storage,111,a1
        1.5,1,2024-09-01T00:00:00Z,Usage,S3,Storage,111,a1
        9,1,2024-09-01T00:00:00Z,Usage,S3,Storage,222,a1
    """)
    result = read(path, source, ctx)

    assert result.codes() == [(3, "duplicate", "Id"), (4, "conflict", "Id")]
    assert "business_line 'OPS' here, 'FIN' there; cost '9' here, '1.5' there" in result.problems[1].message
    assert result.tally.cost_loaded == Decimal("1.5") and result.tally.balanced


@st.composite
def resent_files(draw):
    """Rows whose ids repeat: exact repeats, repeats with another quantity or day, and bad rows."""
    rows, truth = [], []
    for _ in range(draw(st.integers(1, 25))):
        record = draw(st.sampled_from(["a", "b", "c", "d"]))
        quantity = draw(st.sampled_from(["1", "2", "1.0", "x"]))
        day = draw(st.sampled_from(["01", "02"]))
        rows.append(f"{record},2024-09-{day},CC-100,STORAGE,{quantity},GB,d")
        truth.append((record, None if quantity == "x" else (Decimal(quantity), day)))
    return rows, truth


@settings(max_examples=80, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=resent_files(), batch_rows=st.sampled_from([1, 4, 1000]))
def test_each_row_is_good_rejected_a_duplicate_or_a_conflict(tmp_path_factory, ctx, internal, case, batch_rows):
    rows, truth = case
    path = tmp_path_factory.mktemp("resent") / "usage.csv"
    path.write_text(HEADER + "\n" + "\n".join(rows) + "\n")
    result = read(path, internal, ctx, batch_rows=batch_rows)

    first: dict[str, tuple] = {}
    expected = {}
    for line, (record, content) in enumerate(truth, start=2):
        if content is None:
            expected[line] = "not-a-number"
        elif record not in first:
            first[record] = content
            expected[line] = "good"
        else:
            expected[line] = "duplicate" if first[record] == content else "conflict"
    found = {p.source.row: p.code.value for p in result.problems}
    found.update({row: "good" for row in result.rows.get_column("row_no").to_list()})
    assert found == expected
    t = result.tally
    assert t.balanced and t.conflicts == list(expected.values()).count("conflict")
    assert t.quantity_loaded == sum(q for q, _ in first.values())
