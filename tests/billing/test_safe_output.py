"""What the engine prints about input is safe: terminal escape sequences and other control or
invisible characters are shown escaped, long values only as short excerpts; and the GL journal
never rewrites a GL code (a code it could not carry is refused where it is entered)."""

from __future__ import annotations

import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from billing.close.journal import gl_code_problem
from billing.core.problems import Problem, ProblemCode, SourceRef, path_excerpt, printable
from billing.store.db import make_engine
from tests.cli_helpers import load_two_business_lines, run, write
from tests.conftest import EXAMPLE_TARIFFS

ESC = "\x1b"
CLEAR_SCREEN = "\x1b[2J\x1b[H"  # what a hostile value would do to the terminal printed raw
TITLE = "\x1b]0;owned\x07"
RTL = "\u202e"  # right-to-left override: shows "CC-100" for a value written "001-CC"


def unsafe(text: str) -> bool:
    return any(c in text for c in (ESC, "\x07", "\r", RTL, "\x00", "\x9b"))


def test_printable_escapes_controls_and_invisible_format_characters_and_keeps_the_rest():
    assert printable(f"CC{CLEAR_SCREEN}x") == "CC\\x1b[2J\\x1b[Hx"
    assert printable(f"a{TITLE}b") == "a\\x1b]0;owned\\x07b"
    assert printable(f"{RTL}001-CC\r\nnext\t\x9b\u2028") == "\\u202e001-CC\\r\\nnext\\t\\x9b\\u2028"
    assert printable("Zürich 東京 café\u00a0sales") == "Zürich 東京 café\u00a0sales"  # text is text


@given(st.text())
def test_nothing_printable_returns_can_drive_a_terminal(text):
    shown = printable(text)
    assert not unsafe(shown) and "\n" not in shown
    assert printable(shown) == shown


def test_a_problem_renders_input_safely_and_briefly():
    problem = Problem(code=ProblemCode.UNKNOWN_COST_CENTER, message=f"cost centre 'CC{CLEAR_SCREEN}' is not known",
                      source=SourceRef(file=f"feed{TITLE}.csv", row=3, column="cost" + "x" * 100_000),
                      hint="known: " + "CC-1, " * 100_000)
    line = problem.render()
    assert not unsafe(line) and "\\x1b[2J" in line and "feed\\x1b]0;owned\\x07.csv:3:cost" in line
    assert len(line) < 2_500


def usage_store(db_url, tmp_path):
    load_two_business_lines(db_url, tmp_path)
    run(db_url, "tariffs", "load", EXAMPLE_TARIFFS)


def test_hostile_values_in_a_feed_are_printed_escaped_everywhere(sqlite_url, tmp_path):
    usage_store(sqlite_url, tmp_path)
    feed = write(tmp_path / "desk.csv", f"""
        record_id,usage_date,cost_center,service,quantity,unit
        T-1,2026-03-02,CC{CLEAR_SCREEN},DESK,1,ticket
        T-2,2026-03-02,CC-100,DESK{TITLE},1,ticket
        T-3,2026-03-02,{RTL}001-CC,DESK,1,ticket
        T-4,2026-03-02,CC-100,DESK,{"9" * 100_000},ticket
    """)
    loaded = run(sqlite_url, "usage", "load", feed, "--source", "servicedesk", "--new-source")
    rejects = run(sqlite_url, "usage", "rejects")
    for output in (loaded.stdout, loaded.stderr, rejects.stdout, rejects.stderr):
        assert not unsafe(output), output
        assert all(len(line) <= 2_000 for line in output.splitlines())
    assert "CC\\x1b[2J\\x1b[H" in loaded.stderr and "\\u202e001-CC" in loaded.stderr and "\\x1b]0;owned\\x07" in loaded.stderr
    assert "CC\\x1b[2J\\x1b[H" in rejects.stdout


def test_names_settings_reasons_and_paths_are_echoed_escaped(sqlite_url, tmp_path):
    refused = run(sqlite_url, "org", "load", write(tmp_path / "bl0.csv", f"""
        business_line,name,head_name,head_email,division
        FIN,Finance{CLEAR_SCREEN},Ada{TITLE},ada@example.com,Corporate
    """), ok=False)  # a control character in a name is refused, and shown escaped
    assert refused.exit_code == 1 and not unsafe(refused.stderr)
    assert "bl0.csv:2:name: value-invalid name 'Finance\\x1b[2J\\x1b[H' holds a control character" in refused.stderr
    run(sqlite_url, "org", "load", write(tmp_path / "bl.csv", f"""
        business_line,name,head_name,head_email,division
        FIN,Finance {RTL}ecnaniF,Ada,ada@example.com,Corporate
    """))
    listed = run(sqlite_url, "org", "list")
    assert not unsafe(listed.stdout) and "Finance \\u202eecnaniF" in listed.stdout
    anomaly = run(sqlite_url, "settings", "set", "anomaly_pct", f"25{CLEAR_SCREEN}", ok=False)
    assert anomaly.exit_code == 2 and not unsafe(anomaly.stderr)
    missing = run(sqlite_url, "usage", "load", tmp_path / f"no{CLEAR_SCREEN}.csv", "--source", "x", ok=False)
    assert missing.exit_code != 0 and not unsafe(missing.stderr)
    bad = write(tmp_path / f"cc{TITLE}.csv", f"""
        cost_center,name,business_line,gl_cost_center
        CC-1,Accounting,NOPE{CLEAR_SCREEN},100100
    """)
    refused = run(sqlite_url, "org", "load", bad, ok=False)
    assert refused.exit_code == 1 and not unsafe(refused.stderr) and "cc\\x1b]0;owned\\x07.csv" in refused.stderr


def test_a_huge_value_in_a_small_table_is_quoted_as_an_excerpt(sqlite_url, tmp_path):
    usage_store(sqlite_url, tmp_path)
    costs = write(tmp_path / "costs.csv", f"""
        month,scenario,cost_pool,gl_account,amount,currency,source_ref
        2026-03,actual,LABOUR,6100,{"1x" * 500_000},USD,PAY-1
    """)
    result = run(sqlite_url, "costs", "load", costs, "--strict", ok=False)
    assert result.exit_code == 1 and "Traceback" not in result.stderr
    assert "costs.csv:2:amount: not-a-number amount '1x1x" in result.stderr  # the row is read, its value quoted short
    assert max(len(line) for line in result.stderr.splitlines()) < 2_000


# --- GL codes: never rewritten ------------------------------------------------------------------------


def test_gl_codes_that_a_spreadsheet_or_erp_would_misread_are_named():
    for code in ("-4711", "+4711", "=1+1", "@SUM(A1)", "\t4711", "47\n11", "47\x1b11"):
        assert gl_code_problem(code), code
    for code in ("4711", "640100", "IT-RECOVERY", "4100-10", "", "A-1"):
        assert gl_code_problem(code) is None, code


def test_a_cost_centre_whose_gl_code_starts_with_a_formula_character_is_refused_at_load(sqlite_url, tmp_path):
    run(sqlite_url, "org", "load", write(tmp_path / "bl.csv", "business_line,name\nFIN,Finance\n"))
    result = run(sqlite_url, "org", "load", write(tmp_path / "cc.csv", """
        cost_center,name,business_line,gl_cost_center
        CC-1,Accounting,FIN,-4711
        CC-2,Plant,FIN,=HYPERLINK("x")
    """), ok=False)
    assert result.exit_code == 1 and "Traceback" not in result.stderr
    assert "cc.csv:2:gl_cost_center: value-invalid gl_cost_center '-4711' cannot go to the GL journal: it begins with '-'" in result.stderr
    assert "cc.csv:3:gl_cost_center: value-invalid" in result.stderr
    assert "CC-1" not in run(sqlite_url, "org", "list", "--cost-centers").stdout


def test_settings_refuse_gl_codes_and_prefixes_the_journal_would_have_to_rewrite(sqlite_url):
    for key, value in (("expense_account", "-6810"), ("recovery_account", "=4810"), ("it_cost_center", "@IT"),
                       ("expense_account", ""), ("invoice_prefix", "=CB"), ("invoice_prefix", "C" * 21)):
        result = run(sqlite_url, "settings", "set", "--", key, value, ok=False)
        assert result.exit_code == 2 and key in result.stderr and "Traceback" not in result.stderr, (key, value)
    run(sqlite_url, "settings", "set", "expense_account", "6810-01")
    run(sqlite_url, "settings", "set", "invoice_prefix", "IT-CB")


def test_the_journal_refuses_a_gl_code_stored_before_the_rule_instead_of_rewriting_it(db_url, tmp_path):
    load_two_business_lines(db_url, tmp_path)
    write(tmp_path / "subs.csv", """
        business_line,service,tier,effective_from
        FIN,DESK,gold,2026-01-01
    """)
    run(db_url, "tariffs", "load", EXAMPLE_TARIFFS)
    run(db_url, "subscriptions", "load", tmp_path / "subs.csv")
    run(db_url, "month", "run", "2026-03")
    run(db_url, "month", "close", "2026-03", "--confirm")
    engine = make_engine(db_url)
    from billing.store.locks import schema_transaction

    with schema_transaction(engine) as connection:  # a code from before codes were checked, frozen on the invoice
        connection.execute(sa.text("UPDATE invoice_line_cost_center SET gl_code = '-4711'"))
    engine.dispose()
    out = tmp_path / "journal.csv"
    result = run(db_url, "journal", "2026-03", "--out", out, ok=False)
    assert result.exit_code == 1 and "Traceback" not in result.stderr
    assert "GL cost centre '-4711' of cost centre CC-100 on CB-2026-000001/1" in result.stderr
    assert "reopen 2026-03" in result.stderr and not out.exists()


@given(st.lists(st.text(alphabet="abcdefghij-_ ", min_size=1, max_size=40), min_size=1, max_size=8),
       st.text(alphabet="abcdefghij", min_size=1, max_size=20), st.integers(min_value=30, max_value=120))
def test_a_long_path_in_a_message_keeps_the_files_own_name(folders, name, width):
    path = "/".join(["", *folders, f"{name}.csv"])
    shown = path_excerpt(path, width)
    assert len(shown) <= width
    assert shown == path if len(path) <= width else (shown.startswith("…") and path.endswith(shown[1:]))
    assert shown.endswith(f"{name}.csv")


def test_a_conflict_names_the_earlier_file_whole_however_deep_its_folder(sqlite_url, tmp_path):
    deep = tmp_path / ("a-folder-with-a-long-name-" * 4) / "and-another-one-below-it"
    deep.mkdir(parents=True)
    load_two_business_lines(sqlite_url, tmp_path)
    run(sqlite_url, "tariffs", "load", EXAMPLE_TARIFFS)
    header = "record_id,usage_date,cost_center,service,quantity,unit"
    run(sqlite_url, "usage", "load", write(deep / "march.csv", f"{header}\nT-1,2026-03-02,CC-100,DESK,30,ticket\n"),
        "--source", "internal")
    again = run(sqlite_url, "usage", "load", write(tmp_path / "again.csv", f"{header}\nT-1,2026-03-02,CC-100,DESK,31,ticket\n"),
                "--source", "internal")
    assert "/and-another-one-below-it/march.csv, row 2) with other values" in again.stderr
