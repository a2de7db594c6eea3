"""Records whose field count is not the header's, and extreme files: every record is loaded or
quarantined with its line, never read with its values under the wrong columns, and no file
is held in memory whole or echoed back at length."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing.files.dialect import MAX_RECORD_BYTES
from billing.feeds import raw
from tests.feeds.conftest import TAGGED_FOCUS, read, source_from, write

HEADER = "record_id,usage_date,cost_center,service,quantity,unit,description,cost"


@pytest.fixture
def internal(examples):
    return examples["internal"]


def test_a_row_lacking_a_field_is_quarantined_not_shifted(tmp_path, ctx, internal):
    # r2 lacks its description: read by position, its cost 12.5 would land in the description
    # column and the row would load at no cost.
    path = write(tmp_path, "usage.csv", f"""
        {HEADER}
        r1,2024-09-01,CC-100,STORAGE,1,GB,first,10
        r2,2024-09-01,CC-100,STORAGE,2,GB,12.5
        r3,2024-09-01,CC-100,STORAGE,3,GB,third,
    """)
    result = read(path, internal, ctx)

    assert result.codes() == [(3, "too-few-fields", None)]  # nothing about its (shifted) values
    assert "the row has 7 fields, the header 8" in result.problems[0].message
    assert result.rows.get_column("record_id").to_list() == ["r1", "r3"]
    tally = result.tally
    assert (tally.rows_read, tally.good, tally.rejected) == (3, 2, 1) and tally.balanced
    # the values of a mis-shaped record are not read: they might be under the wrong columns
    assert tally.quantity_read == Decimal(4) and tally.cost_read == Decimal(10)


def test_an_empty_trailing_field_too_many_is_a_field_too_many(tmp_path, ctx, internal):
    path = write(tmp_path, "usage.csv", f"""
        {HEADER}
        r1,2024-09-01,CC-100,STORAGE,1,GB,first,10,
        r2,2024-09-01,CC-100,STORAGE,1,GB,second,10,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,
    """)
    result = read(path, internal, ctx)

    assert result.codes() == [(2, "too-many-fields", None), (3, "too-many-fields", None)]
    assert "the row has 9 fields, the header 8" in result.problems[0].message
    wide = path.read_text().splitlines()[2]
    assert f"the row has {len(wide.split(','))} fields, the header 8" in result.problems[1].message
    assert result.rows.height == 0


def test_field_counts_see_through_quotes_line_breaks_and_crlf(tmp_path, ctx, internal):
    text = (f"{HEADER}\r\n"
            'r1,2024-09-01,CC-100,STORAGE,1,GB,"a, b\r\nand c",1\r\n'
            'r2,2024-09-01,CC-100,STORAGE,1,GB,"""quoted"", with a comma"\r\n'
            "r3,2024-09-01,CC-100,STORAGE,1,GB,,\r\n")
    path = tmp_path / "usage.csv"
    path.write_bytes(text.encode())
    result = read(path, internal, ctx)

    assert result.codes() == [(4, "too-few-fields", None)]
    assert result.by_id("r1")["description"] == "a, b\r\nand c" and result.by_id("r1")["cost"] == Decimal(1)
    assert result.by_id("r3")["row_no"] == 5


def test_a_blank_line_is_not_a_short_record(tmp_path, ctx, internal):
    path = write(tmp_path, "usage.csv", f"""
        {HEADER}

        ,,
        r1,2024-09-01,CC-100,STORAGE,1,GB,,
    """)
    result = read(path, internal, ctx)

    assert result.problems == [] and result.tally.blank_rows == 2 and result.by_id("r1")["row_no"] == 4


def test_a_workbook_row_with_values_beyond_the_header_is_quarantined(tmp_path, ctx, internal):
    book = openpyxl.Workbook()
    book.active.append(["record_id", "usage_date", "cost_center", "service", "quantity", "unit"])
    book.active.append(["x1", "2024-09-01", "CC-100", "STORAGE", 1, "GB"])
    book.active.append(["x2", "2024-09-01", "CC-100", "STORAGE", 1, "GB", None, "stray"])
    book.save(tmp_path / "usage.xlsx")
    result = read(tmp_path / "usage.xlsx", internal, ctx)

    assert result.codes() == [(3, "too-many-fields", None)]
    assert "the row has 8 fields, the header 6" in result.problems[0].message and "stray" in result.problems[0].message
    assert result.rows.get_column("record_id").to_list() == ["x1"]


FOCUS_HEADER = "BilledCost,ConsumedQuantity,ChargePeriodStart,ChargeCategory,ServiceName,ServiceCategory,Tags,Id"


def test_a_focus_file_cut_short_quarantines_its_last_row(tmp_path, ctx):
    whole = (f"{FOCUS_HEADER}\n"
             '1.5,1,2024-09-01T00:00:00Z,Usage,S3,Storage,"{""business_unit"": ""FIN""}",id-1\n'
             '2.5,1,2024-09-02T00:00:00Z,Usage,S3,Storage,"{""business_unit"": ""FIN""}",id-2\n')
    cut = whole[:whole.rindex('"') + 1]  # the download stopped before the last row's Id
    path = tmp_path / "focus.csv"
    path.write_text(cut)
    result = read(path, source_from(TAGGED_FOCUS), ctx)

    assert result.codes() == [(3, "too-few-fields", None)]
    assert "if the file was cut short" in result.problems[0].hint
    assert result.rows.get_column("record_id").to_list() == ["id-1"]  # no content-hash id for the cut row


# --- every record is loaded or quarantined with its line, whatever the raggedness -------------

VALUES = st.sampled_from(["1", "2.5", "x", "", "a,b", 'say "hi"', "two\nlines", "CC-100"])


@st.composite
def ragged_files(draw):
    """A usage file in which some records lack fields or have more, some values are quoted (with
    commas, quotes and line breaks inside), some lines are blank, and which may be cut short."""
    lines = [HEADER]
    for n in range(draw(st.integers(1, 12))):
        fields = [f"r{n}", "2024-09-01", "CC-100", "STORAGE", str(n + 1), "GB", "d", str(n)]
        shape = draw(st.sampled_from(["ok", "ok", "ok", "fewer", "more", "blank"]))
        if shape == "fewer":
            del fields[draw(st.integers(1, 7)):]
        elif shape == "more":
            fields += draw(st.lists(VALUES, min_size=1, max_size=30))
        elif shape == "blank":
            lines.append("")
            continue
        if draw(st.booleans()):
            at = draw(st.integers(6, len(fields) - 1)) if len(fields) > 6 else None
            if at is not None:
                fields[at] = draw(VALUES)
        lines.append(",".join(_quoted(v) for v in fields))
    text = "\n".join(lines) + draw(st.sampled_from(["\n", ""]))
    if draw(st.booleans()):
        text = text[:draw(st.integers(len(HEADER) + 1, len(text)))]
    return text


def _quoted(value: str) -> str:
    return '"' + value.replace('"', '""') + '"' if any(c in value for c in ',"\n') else value


def _records(text: str) -> list[tuple[int, list[str]]]:
    """Python's csv module's reading of the records (the oracle): (first line, fields)."""
    reader = csv.reader(io.StringIO(text, newline=""))
    records, line = [], 1
    for fields in reader:
        records.append((line, fields))
        line = reader.line_num + 1
    return records[1:]


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])  # the fixtures are records
@given(text=ragged_files(), batch_rows=st.sampled_from([1, 3, 1000]))
def test_every_record_is_loaded_or_quarantined_with_its_line(tmp_path_factory, ctx, internal, text, batch_rows):
    path = tmp_path_factory.mktemp("ragged") / "usage.csv"
    path.write_text(text)
    if text.count('"') % 2:  # cut inside a quoted value: the file breaks off there, named
        result = read(path, internal, ctx, batch_rows=batch_rows)
        assert result.problems[-1].code.value == "file-unreadable" and not result.tally.complete
        return
    result = read(path, internal, ctx, batch_rows=batch_rows)
    records = [(line, f) for line, f in _records(text) if any(v.strip() for v in f)]
    shapes = {line: ("too-few-fields" if len(f) < 8 else "too-many-fields" if len(f) > 8 else None)
              for line, f in records}
    problems = {}
    for p in result.problems:
        if p.source.row is not None:  # not a warning about the file as a whole
            problems.setdefault(p.source.row, []).append(p.code.value)
    loaded = set(result.rows.get_column("row_no").to_list())
    for line, shape in shapes.items():
        if shape is not None:
            assert problems.get(line) == [shape], (line, problems)
            assert line not in loaded
        else:
            assert (line in loaded) != (line in problems), line
    assert loaded | set(problems) == set(shapes)
    tally = result.tally
    assert tally.balanced and tally.rows_read == len(records)
    assert tally.quantity_loaded == sum(Decimal(f[4]) for line, f in records if line in loaded)


# --- extreme files ----------------------------------------------------------------------------


def test_the_maximum_record_length_is_documented_and_at_least_a_block():
    assert raw._MAX_RECORD == MAX_RECORD_BYTES >= raw._BLOCK
    from pathlib import Path

    docs = (Path(__file__).resolve().parents[2] / "docs" / "feeds.md").read_text()
    assert f"{MAX_RECORD_BYTES:,} bytes" in docs


def test_a_file_without_a_line_break_is_refused_after_reading_the_maximum(tmp_path, ctx, internal):
    path = tmp_path / "usage.csv"
    path.write_bytes(b"record_id," * (MAX_RECORD_BYTES // 10 + 1000))  # over 4 MiB on one line, no break
    result = read(path, internal, ctx)

    assert result.codes() == [(1, "record-too-long", None)]
    assert "runs past 4,194,304 bytes (4 MiB) without ending" in result.problems[0].message
    assert len(result.problems[0].render()) < 400
    assert result.batches[0].refused


def test_a_huge_row_without_quotes_is_too_long_not_an_unclosed_quote(tmp_path, ctx, internal):
    path = tmp_path / "usage.csv"
    with path.open("w") as handle:
        handle.write(f"{HEADER}\nr1,2024-09-01,CC-100,STORAGE,1,GB,fine,1\n")
        handle.write("r2,2024-09-01,CC-100,STORAGE,1,GB," + "x" * (MAX_RECORD_BYTES + 10) + ",1\n")
        handle.write("r3,2024-09-01,CC-100,STORAGE,1,GB,after,1\n")
    result = read(path, internal, ctx)

    assert result.codes() == [(3, "record-too-long", None)]
    assert "never closed" not in result.problems[0].message
    assert "nothing from row 3 on was read" in result.problems[0].message
    assert result.rows.get_column("record_id").to_list() == ["r1"] and not result.tally.complete


def test_a_quote_never_closed_is_still_named_as_such(tmp_path, ctx, internal, monkeypatch):
    monkeypatch.setattr(raw, "_BLOCK", 64)
    monkeypatch.setattr(raw, "_MAX_RECORD", 256)
    path = tmp_path / "usage.csv"
    path.write_text(f'{HEADER}\nr1,2024-09-01,CC-100,STORAGE,1,GB,"opened\n' + "more text\n" * 100)
    result = read(path, internal, ctx)

    assert result.codes() == [(2, "file-unreadable", None)]
    assert "a double quote on row 2 or after it is never closed" in result.problems[0].message


@pytest.mark.parametrize("block", [64, 1 << 20])
def test_a_record_just_over_the_maximum_is_refused_wherever_the_blocks_fall(tmp_path, ctx, internal, monkeypatch, block):
    monkeypatch.setattr(raw, "_BLOCK", block)
    monkeypatch.setattr(raw, "_MAX_RECORD", max(block, 300))
    limit = max(block, 300)
    short = "r1,2024-09-01,CC-100,STORAGE,1,GB,"
    path = tmp_path / "usage.csv"
    path.write_text(f"{HEADER}\n" + short + "y" * (limit - len(short) - 3) + ",1\n"  # exactly the maximum
                    + short + "z" * (limit - len(short) - 2) + ",1\n")  # one byte more
    result = read(path, internal, ctx)

    assert result.codes() == [(3, "record-too-long", None)]
    assert result.rows.get_column("row_no").to_list() == [2]


def test_a_huge_header_is_refused_and_only_an_excerpt_is_shown(tmp_path, ctx, internal):
    path = tmp_path / "usage.csv"
    names = ",".join(f"column_{i}" for i in range(400_000))  # about 5 MB on one line
    path.write_text(names + "\n1,2\n")
    result = read(path, internal, ctx)

    assert result.codes() == [(1, "record-too-long", None)]
    assert len(result.problems[0].render()) < 400


def test_a_long_header_missing_columns_is_echoed_as_an_excerpt(tmp_path, ctx, internal):
    path = tmp_path / "usage.csv"
    path.write_text(",".join(f"column_{i}" for i in range(50_000)) + "\n" + "1," * 49_999 + "1\n")
    result = read(path, internal, ctx)

    assert result.codes() == [(1, "header-missing", None)]
    assert len(result.problems[0].render()) < 700


def test_lines_ended_by_a_carriage_return_alone_are_named(tmp_path, ctx, internal):
    path = tmp_path / "usage.csv"
    path.write_bytes(f"{HEADER}\rr1,2024-09-01,CC-100,STORAGE,1,GB,a,1\r".encode())
    result = read(path, internal, ctx)

    assert result.codes() == [(1, "file-unreadable", None)]
    assert "carriage return alone" in result.problems[0].message
