"""Disputes end to end on SQLite and PostgreSQL: a head disputes a line of its own invoice in
the portal, finance accepts it (the credit note is issued in the next open month, citing the
dispute, the closed month untouched) or rejects it with a reason, the head reads the outcome;
every action is in the audit trail with the person; refusals keep nothing; the same rules
from the command line."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing import api
from billing.core.money import round_minor
from billing.store import audit
from tests.cli_helpers import run
from tests.portal.conftest import MONTH, signed_in

NEXT = "2026-04"


def form(app, token: str, **values) -> dict:
    return {"csrf": app.state.portal.csrf.token(token), **values}


def trail(store, action: str, subject: str):
    with store.transaction() as session:
        return [e for e in audit.events(session, limit=5000) if e.action == action and e.subject == subject]


def march(store):
    """What the closed month holds: its documents, as issued, and its state."""
    documents = api.documents(store, MONTH)
    status = {s.month: s.status for s in api.month_statuses(store)}[MONTH]
    return [(d.number, d.total, tuple((l.line_no, l.amount) for l in d.lines)) for d in documents], status


def test_a_head_disputes_a_line_finance_accepts_and_the_credit_note_is_in_the_next_open_month(app, books):
    store = app.state.portal.store
    head, head_token = signed_in(app, books, "head")
    page = head.get(f"/invoices/{books.fin_invoice}/lines/1")
    assert page.status_code == 200 and "Dispute this line" in page.text
    before = march(store)
    raised = head.post(f"/invoices/{books.fin_invoice}/lines/1/disputes",
                       data=form(app, head_token, direction="credit", amount="10.00", quantity="",
                                 reason="two tickets <b>were</b> raised twice"))
    assert raised.status_code == 303, raised.text[:500]
    dispute_id = int(raised.headers["location"].rsplit("/", 1)[1])
    on_the_line = head.get(f"/invoices/{books.fin_invoice}/lines/1").text
    assert f"/disputes/{dispute_id}" in on_the_line and f"/disputes/{books.fin_dispute}" not in on_the_line  # line 3's
    shown = head.get(f"/disputes/{dispute_id}").text
    assert "open" in shown and "two tickets &lt;b&gt;were&lt;/b&gt; raised twice" in shown
    assert "Accept" not in shown  # a head does not decide
    found = api.dispute(store, dispute_id)
    assert (found.state, found.raised_by, found.amount, found.business_line) == ("open", "head", Decimal("-10.00"), "FIN")
    assert [e.user for e in trail(store, "dispute.raise", f"dispute {dispute_id}")] == ["head"]

    finance, fin_token = signed_in(app, books, "fin")
    queue = finance.get("/disputes?state=open").text
    assert f"/disputes/{dispute_id}" in queue
    assert head.post(f"/disputes/{dispute_id}/accept", data=form(app, head_token)).status_code == 403
    accepted = finance.post(f"/disputes/{dispute_id}/accept", data=form(app, fin_token, remark="confirmed"))
    assert accepted.status_code == 303, accepted.text[:500]

    done = api.dispute(store, dispute_id)
    assert (done.state, done.decided_by, done.decision) == ("accepted", "fin", "confirmed")
    assert done.decided_at is not None and done.decided_at >= done.raised_at
    note = api.document(store, done.note)
    assert note.kind.value == "credit_note" and note.month == NEXT and note.original_invoice == books.fin_invoice
    assert note.total == Decimal("-10.00") and note.reason.startswith(f"dispute {dispute_id}: ")
    assert [(l.original_invoice, l.original_line_no, l.amount) for l in note.lines] == [
        (books.fin_invoice, 1, Decimal("-10.00"))]
    assert note.number in [d.number for d in api.documents(store, NEXT)]
    assert march(store) == before  # the closed month is untouched
    assert [e.user for e in trail(store, "dispute.accept", f"dispute {dispute_id}")] == ["fin"]
    assert [e.user for e in trail(store, "adjust.credit_note", note.number)] == ["fin"]

    outcome = head.get(f"/disputes/{dispute_id}").text
    assert "accepted" in outcome and note.number in outcome and "confirmed" in outcome
    again = finance.post(f"/disputes/{dispute_id}/accept", data=form(app, fin_token))
    assert again.status_code == 409 and "decided once" in again.text
    assert [d.number for d in api.documents(store, NEXT)].count(note.number) == 1
    assert len([d for d in api.documents(store, NEXT) if d.reason and d.reason.startswith(f"dispute {dispute_id}:")]) == 1


def test_finance_rejects_a_dispute_with_a_reason_and_nothing_is_issued(app, books):
    store = app.state.portal.store
    head, head_token = signed_in(app, books, "head")
    raised = head.post(f"/invoices/{books.fin_invoice}/lines/2/disputes",
                       data=form(app, head_token, direction="credit", quantity="2", reason="two users left in February"))
    assert raised.status_code == 303, raised.text[:500]
    dispute_id = int(raised.headers["location"].rsplit("/", 1)[1])
    notes_before = api.documents(store, NEXT)
    finance, fin_token = signed_in(app, books, "fin")
    blank = finance.post(f"/disputes/{dispute_id}/reject", data=form(app, fin_token, reason="  "))
    assert blank.status_code == 422 and "give a reason" in blank.text
    assert api.dispute(store, dispute_id).state == "open"
    rejected = finance.post(f"/disputes/{dispute_id}/reject",
                            data=form(app, fin_token, reason="they left on 28 February, after the month's start"))
    assert rejected.status_code == 303
    done = api.dispute(store, dispute_id)
    assert (done.state, done.decided_by, done.note) == ("rejected", "fin", None)
    assert done.decision == "they left on 28 February, after the month's start"
    assert api.documents(store, NEXT) == notes_before
    assert [e.user for e in trail(store, "dispute.reject", f"dispute {dispute_id}")] == ["fin"]
    assert "after the month&#39;s start" in head.get(f"/disputes/{dispute_id}").text
    assert finance.post(f"/disputes/{dispute_id}/accept", data=form(app, fin_token)).status_code == 409
    assert api.documents(store, NEXT) == notes_before


@pytest.mark.parametrize("values,says", [
    ({"amount": "5.00", "reason": ""}, "give a reason"),
    ({"amount": "", "quantity": "", "reason": "wrong"}, "the amount or the quantity"),
    ({"amount": "5", "quantity": "1", "reason": "wrong"}, "the amount or the quantity"),
    ({"amount": "-5", "reason": "wrong"}, "above zero"),
    ({"amount": "five", "reason": "wrong"}, "is not a number"),
    ({"amount": "1e30", "reason": "wrong"}, "out of range"),
    ({"amount": "100000.00", "reason": "wrong"}, "left to credit"),
    ({"amount": "1.001", "reason": "wrong"}, "more decimals than USD allows"),
    ({"amount": "1.00", "reason": "x" * 2001}, "at most 2,000"),
    ({"amount": "1.00", "reason": "ok\x1b[2J"}, "control character"),
])
def test_a_dispute_refused_says_why_and_keeps_nothing(app, books, values, says):
    store = app.state.portal.store
    head, head_token = signed_in(app, books, "head")
    before = api.disputes(store)
    answer = head.post(f"/invoices/{books.fin_invoice}/lines/1/disputes", data=form(app, head_token, **values))
    assert answer.status_code == 422 and says in answer.text, answer.text[:2000]
    assert api.disputes(store) == before


def test_a_line_already_in_an_open_dispute_and_a_notes_line_are_refused(app, books):
    store = app.state.portal.store
    head, head_token = signed_in(app, books, "head")
    before = api.disputes(store)
    twice = head.post(f"/invoices/{books.fin_invoice}/lines/3/disputes",
                      data=form(app, head_token, amount="1.00", reason="again"))
    assert twice.status_code == 422 and f"already in dispute {books.fin_dispute}" in twice.text
    with pytest.raises(api.ChargebackError, match="no invoice numbered"):  # a head of FIN only
        api.raise_dispute(store, books.ops_invoice, 1, reason="x", amount=Decimal("1"), lines={"FIN"})
    notes = [d for d in api.documents(store, NEXT) if d.business_line == "FIN" and d.kind.value == "credit_note"]
    if notes:
        with pytest.raises(api.ChargebackError, match="dispute the invoice it corrects"):
            api.raise_dispute(store, notes[0].number, 1, reason="x", amount=Decimal("1"), lines={"FIN"})
    assert api.disputes(store) == before


def test_the_disputes_commands_list_accept_and_reject(app, books):
    store = app.state.portal.store
    with api.acting_as("head"):
        first = api.raise_dispute(store, books.fin_invoice, 2, reason="one user counted twice", quantity=Decimal("1"),
                                  lines={"FIN"})
    listed = run(books.url, "disputes", "list", "--state", "open").stdout
    assert re.search(rf"^\s*{first.id}\s+FIN\s+{books.fin_invoice}/2 ", listed, re.M), listed
    refused = run(books.url, "disputes", "reject", str(first.id), "--reason", " ", ok=False)
    assert refused.exit_code == 1 and "give a reason" in refused.stderr and "Traceback" not in refused.output
    accepted = run(books.url, "disputes", "accept", str(first.id)).stdout
    note = api.dispute(store, first.id).note
    assert note and f"credit note {note} for FIN in {NEXT}" in accepted
    line = api.document(store, books.fin_invoice).lines[1]
    assert api.document(store, note).total == -round_minor(line.amount / line.quantity, "USD")  # one unit's price
    unknown = run(books.url, "disputes", "accept", "999999", ok=False)
    assert unknown.exit_code == 1 and "no dispute 999999" in unknown.stderr
    assert f" {first.id} " in run(books.url, "disputes", "list", "--line", "FIN", "--state", "accepted").stdout


def test_two_decisions_at_once_issue_one_note(app, books):
    """Two people accepting the same dispute at the same moment: one note, the other refused."""
    import threading

    store = app.state.portal.store
    with api.acting_as("head"):
        raised = api.raise_dispute(store, books.fin_invoice, 1, reason="one ticket twice", amount=Decimal("1.00"),
                                   lines={"FIN"})
    start, results = threading.Barrier(2), []

    def decide(accept: bool) -> None:
        start.wait()
        try:
            with api.acting_as("fin"):
                if accept:
                    results.append(api.accept_dispute(store, raised.id).state)
                else:
                    results.append(api.reject_dispute(store, raised.id, reason="not a duplicate").state)
        except api.ChargebackError as exc:
            results.append(str(exc))

    threads = [threading.Thread(target=decide, args=(accept,)) for accept in (True, False)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    decided = [r for r in results if r in ("accepted", "rejected")]
    assert len(results) == 2 and len(decided) == 1, results
    assert "decided once" in next(r for r in results if r not in decided)
    found = api.dispute(store, raised.id)
    assert found.state == decided[0]
    citing = [d for d in api.documents(store, NEXT) if d.reason and d.reason.startswith(f"dispute {raised.id}:")]
    assert len(citing) == (1 if found.state == "accepted" else 0) and (found.note is None) == (found.state == "rejected")


def test_an_invoice_line_drills_down_to_its_charge_tariff_version_and_daily_usage_paged(app, books, monkeypatch):
    store = app.state.portal.store
    head, _ = signed_in(app, books, "head")
    reference = f"{books.ops_invoice}/2"  # OPS's DESK line: three tickets on their days
    whole = api.explain(store, reference, rows=1000)
    assert whole.usage_count >= 2 and whole.charge is not None and whole.tariff is not None
    assert sum(d.rows for d in whole.usage_days) == whole.usage_count
    assert sum((d.quantity for d in whole.usage_days), Decimal(0)) == sum((r.quantity for r in whole.usage_rows), Decimal(0))
    assert [r.record_id for r in api.explain(store, reference, rows=1, offset=1).usage_rows] == [
        whole.usage_rows[1].record_id]
    finance, _ = signed_in(app, books, "fin")
    monkeypatch.setattr("portal.pages.PAGE_ROWS", 1)
    first = finance.get(f"/invoices/{books.ops_invoice}/lines/2")
    assert first.status_code == 200
    assert whole.tariff.version in first.text and f"of {whole.usage_count}" in first.text
    assert whole.usage_rows[0].record_id in first.text and whole.usage_rows[1].record_id not in first.text
    assert all(str(d.day) in first.text for d in whole.usage_days)
    second = finance.get(f"/invoices/{books.ops_invoice}/lines/2?page=2")
    assert whole.usage_rows[1].record_id in second.text and whole.usage_rows[0].record_id not in second.text
    for page in (f"?page={whole.usage_count + 1}", "?page=0", "?page=x"):
        assert finance.get(f"/invoices/{books.ops_invoice}/lines/2{page}").status_code == 404
    assert finance.get(f"/invoices/{books.ops_invoice}/lines/99").status_code == 404
    assert head.get(f"/invoices/{books.ops_invoice}/lines/2").status_code == 404


def test_finance_accepts_a_dispute_in_part_and_the_note_is_for_that_amount(app, books):
    """Finance accepts less than the head disputed: the note is issued for the amount accepted,
    the dispute keeps what was asked and what was accepted, the head reads both; more than was
    asked, none, or a part without a remark saying why is refused and changes nothing."""
    store = app.state.portal.store
    head, head_token = signed_in(app, books, "head")
    raised = head.post(f"/invoices/{books.fin_invoice}/lines/1/disputes",
                       data=form(app, head_token, direction="credit", amount="12.00", reason="four tickets twice"))
    assert raised.status_code == 303, raised.text[:500]
    dispute_id = int(raised.headers["location"].rsplit("/", 1)[1])
    finance, fin_token = signed_in(app, books, "fin")
    assert 'name="amount"' in finance.get(f"/disputes/{dispute_id}").text
    notes_before = api.documents(store, NEXT)
    for values, status, says in [({"amount": "12.01", "remark": "x"}, 422, "accept at most that"),
                                 ({"amount": "0", "remark": "x"}, 422, "above zero"),
                                 ({"amount": "four", "remark": "x"}, 422, "is not a number"),
                                 ({"amount": "4.005", "remark": "x"}, 422, "more decimals than USD allows"),
                                 ({"amount": "4.00", "remark": " "}, 422, "give a remark")]:
        answer = finance.post(f"/disputes/{dispute_id}/accept", data=form(app, fin_token, **values))
        assert answer.status_code == status and says in answer.text, (values, answer.text[:2000])
        assert api.dispute(store, dispute_id).state == "open" and api.documents(store, NEXT) == notes_before
    accepted = finance.post(f"/disputes/{dispute_id}/accept",
                            data=form(app, fin_token, amount="4.00", remark="one of the four was raised twice"))
    assert accepted.status_code == 303, accepted.text[:500]
    done = api.dispute(store, dispute_id)
    assert (done.state, done.amount, done.asked_amount, done.accepted_amount, done.in_part) == (
        "accepted", Decimal("-12.00"), Decimal("-12.00"), Decimal("-4.00"), True)
    note = api.document(store, done.note)
    assert note.total == Decimal("-4.00") and note.month == NEXT and note.original_invoice == books.fin_invoice
    assert note.reason == f"dispute {dispute_id}: four tickets twice (accepted 4.00 of 12.00 USD)"
    assert [e.detail for e in trail(store, "dispute.accept", f"dispute {dispute_id}")] == [
        f"{books.fin_invoice}/1: credit note {note.number} dated {NEXT}, -4.00 USD of -12.00 asked; "
        f"one of the four was raised twice"]
    outcome = head.get(f"/disputes/{dispute_id}").text  # the head reads what was asked and what was accepted
    assert "in part: 4.00 USD of the 12.00 USD asked" in outcome.replace("&nbsp;", " ")
    assert note.number in outcome and "one of the four was raised twice" in outcome
    assert "in part" in head.get("/disputes?state=accepted").text


def test_the_disputes_command_accepts_in_part(app, books):
    store = app.state.portal.store
    with api.acting_as("head"):
        raised = api.raise_dispute(store, books.fin_invoice, 2, reason="two users counted twice",
                                   quantity=Decimal("2"), lines={"FIN"})
    line = api.document(store, books.fin_invoice).lines[1]
    asked = round_minor(line.amount * 2 / line.quantity, "USD")  # the quantity at the line's average price
    more = run(books.url, "disputes", "accept", str(raised.id), "--amount", str(asked + Decimal("0.01")),
               "--remark", "x", ok=False)
    assert more.exit_code == 1 and "accept at most that" in more.stderr and "Traceback" not in more.output
    assert api.dispute(store, raised.id).state == "open"
    part = round_minor(asked / 3, "USD")
    assert 0 < part < asked
    done = run(books.url, "disputes", "accept", str(raised.id), "--amount", str(part),
               "--remark", "one of them left mid-month").stdout
    found = api.dispute(store, raised.id)
    assert (found.asked_amount, found.accepted_amount, found.in_part) == (-asked, -part, True)
    assert api.document(store, found.note).total == -part
    assert f"dispute {raised.id} accepted ({part} USD of {asked} USD asked)" in done
    listed = run(books.url, "disputes", "list", "--line", "FIN", "--state", "accepted").stdout
    assert re.search(rf"^\s*{raised.id}\s.*accepted in part\s+-{part} USD", listed, re.M), listed


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(asked_cents=st.integers(min_value=1, max_value=10_000_000), share=st.fractions(min_value=0, max_value=1))
def test_a_dispute_accepted_in_part_issues_a_note_of_exactly_the_amount_accepted(app, books, asked_cents, share):
    """Money: whatever is asked and whatever part of it finance accepts (in whole cents, above
    zero), the note is for exactly that amount, the dispute keeps both to the cent, and it is
    "in part" exactly when less than asked was accepted. Debits, so that no earlier credit
    limits what is left of the line."""
    store = app.state.portal.store
    asked = Decimal(asked_cents) / 100
    accepted = max(Decimal(1), Decimal(int(asked_cents * share))) / 100
    with api.acting_as("head"):
        raised = api.raise_dispute(store, books.fin_invoice, 1, reason="charged too little", amount=asked, debit=True,
                                   lines={"FIN"})
    with api.acting_as("fin"):
        done = api.accept_dispute(store, raised.id, amount=accepted, remark="part of it")
    note = api.document(store, done.note)
    assert note.kind.value == "debit_note" and note.total == accepted == sum(l.amount for l in note.lines)
    assert (done.asked_amount, done.accepted_amount, done.in_part) == (asked, accepted, accepted != asked)
    assert note.month == NEXT and note.original_invoice == books.fin_invoice
