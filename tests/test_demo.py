"""The demo runs the whole loop and leaves every month-end document on disk."""

import csv
import re
from decimal import Decimal

from click.testing import CliRunner

from cli import chargeback
from tests.cli_helpers import run


def test_demo_ends_with_a_closed_month_and_its_documents(tmp_path):
    out = tmp_path / "demo"
    result = CliRunner().invoke(chargeback, ["demo", "--out", str(out), "--months", "3", "--rows", "3000",
                                             "--business-lines", "12", "--cost-centers", "40", "--through", "2026-03"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "2026-03 closed:" in result.stdout
    for name in ("Statements:", "Workbook:", "Journal:", "Month pack:"):
        assert name in result.stdout
    pack = (out / "2026-03-pack.html").read_text(encoding="utf-8")
    assert "Month pack" in pack and "Cost recovery and overhead" in pack and "DRAFT" not in pack
    assert (out / "statements" / "index.html").exists()
    assert f"chargeback --db sqlite:///{out / 'chargeback.db'} serve" in result.stdout
    passwords = dict(re.findall(r"as (\w+)(?: \(of [^)]+\))?, one-time password ([^\s;]+)", result.stdout))
    assert set(passwords) == {"finance", "head"}, result.stdout
    from billing import api

    with api.open_store(f"sqlite:///{out / 'chargeback.db'}") as store:
        assert api.sign_in(store, "finance", passwords["finance"]).principal.has("finance")
        head = api.sign_in(store, "head", passwords["head"]).principal
        assert len(head.lines) == 1 and head.has("head")
    assert (out / "2026-03.xlsx").stat().st_size > 5000
    with (out / "2026-03-journal.csv").open(newline="") as handle:
        lines = list(csv.DictReader(handle))
    debit = sum(Decimal(l["debit"] or "0") for l in lines)
    credit = sum(Decimal(l["credit"] or "0") for l in lines)
    assert lines and debit == credit
    db = f"sqlite:///{out / 'chargeback.db'}"
    status = run(db, "month", "status").stdout
    assert [line.split()[1] for line in status.splitlines()[2:]] == ["closed"] * 3
    # Running it again starts afresh rather than failing on closed months.
    again = CliRunner().invoke(chargeback, ["demo", "--out", str(out), "--months", "1", "--rows", "500",
                                            "--business-lines", "12", "--cost-centers", "40", "--through", "2026-03"],
                               catch_exceptions=False)
    assert again.exit_code == 0, again.output
