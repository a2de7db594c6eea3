"""One business line's statement is worked out for that line alone (the portal's statement
page, ``chargeback statements --line``, ``statements send --line``): the same statement as among every line's, for a
closed month (from its snapshot) and an open one (a draft priced now), on every line."""

from __future__ import annotations

import datetime as dt

import pytest
from click.testing import CliRunner

from billing import api
from billing.jobs import documents
from cli import chargeback

CLOSED, OPEN = "2026-10", "2026-11"
AT = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.timezone.utc)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """A small demo closed through November 2026, November then reopened and run again."""
    out = tmp_path_factory.mktemp("one-line") / "demo"
    result = CliRunner().invoke(chargeback, ["demo", "--out", str(out), "--months", "3", "--rows", "1500",
                                             "--business-lines", "6", "--cost-centers", "15", "--through", OPEN],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    url = f"sqlite:///{out / 'chargeback.db'}"
    with api.open_store(url) as store:
        api.reopen_month(store, OPEN, reason="a draft to compare")
        api.run_month(store, OPEN)
    return url


@pytest.mark.parametrize("month", [CLOSED, OPEN])
def test_one_lines_statement_is_the_one_among_every_lines(demo, month):
    with api.open_store(demo) as store, store.transaction() as session:
        every = {s.business_line.code: s for s in documents.month_statements(session, month, generated_at=AT)}
        assert len(every) >= 6 and (month == CLOSED) == all(s.closed for s in every.values())
        for code, statement in every.items():
            assert documents.month_statements(session, month, generated_at=AT, line=code) == [statement], code
        assert documents.month_statements(session, month, generated_at=AT, line="NO-SUCH-LINE") == []
        # what chargeback statements --line and statements send --line read: a code in any case
        code = sorted(every)[0]
        found, any_line = documents.statements_of(session, month, f" {code.lower()} ")
        assert any_line and [s.business_line.code for s in found] == [code]
        assert [s.charges for s in found] == [every[code].charges]
        assert documents.statements_of(session, month, "NO-SUCH-LINE") == ([], True)
