"""The general-ledger journal of issued documents (pure). Rules in docs/journal.md.

For every line of every document (invoice, credit note, debit note):

- each cost-centre part is booked on the chargeback expense account, on the part's GL cost
  centre; a line without a cost-centre split is booked on cost centre "" (the ERP's default
  for the business line, or a suspense cost centre: the file shows the gap, never guesses);
- the line's total is booked on IT's recovery account, on IT's cost centre, on the other side;
- a positive amount is a debit of the expense and a credit of the recovery; a negative amount
  (service credit, credit note) swaps the sides. No amount is ever written as a negative.

GL codes (the two accounts, IT's cost centre and every part's GL cost centre) go to the ERP
exactly as entered, never rewritten: :func:`billing.core.codes.gl_code_problem` says which codes cannot (a
leading formula character such as ``-4711``, a control character), and the journal refuses
to be made while a document or a setting holds one.

Every journal line carries the text ``<service name> <tier name> <month>`` (a line pricing a
dimension value: ``<service name> <tier name> <dimension> <value> <month>``; a quarterly or
annual fee: its invoice line's description, which names the fee and its period, and the month) and the reference
``<document number>/<line no>``. Lines are numbered 1, 2, ... within each document. Debits
equal credits per document and per currency, and each document's net on the expense account
is its total; anything else raises (never an ``assert``).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal

from billing.core.codes import FORMULA_TRIGGERS, gl_code_problem
from billing.core.money import ZERO, quantum
from billing.core.problems import ChargebackError, excerpt
from billing.core.records import Invoice, JournalLine, LineKind

__all__ = ["FORMULA_TRIGGERS", "gl_code_problem", "build_journal", "journal_totals"]

_OWN_TEXT = frozenset({LineKind.FEE, LineKind.DISCOUNT, LineKind.TRUE_UP})

def build_journal(
    documents: Sequence[Invoice],
    *,
    period: str,
    posting_date: dt.date,
    expense_account: str,
    recovery_account: str,
    recovery_cost_center: str,
) -> tuple[JournalLine, ...]:
    """The journal lines for ``documents``, in document and line order."""
    if not expense_account or not recovery_account:
        raise ValueError("the journal needs an expense account and a recovery account")
    if expense_account == recovery_account:
        raise ValueError(f"the expense and recovery accounts must differ (both {expense_account})")
    _refuse_unusable_codes(documents, expense_account=expense_account, recovery_account=recovery_account,
                           recovery_cost_center=recovery_cost_center)
    journal: list[JournalLine] = []
    for document in documents:
        if not document.number:
            raise ValueError(f"a draft document of {document.business_line} has no number; only issued documents are journaled")
        unit = quantum(document.currency)
        made: list[JournalLine] = []

        def book(account: str, cost_center: str, signed: Decimal, text: str, reference: str) -> None:
            if signed == 0:
                return
            made.append(JournalLine(
                posting_date=posting_date, period=period, document_number=document.number, line=len(made) + 1,
                account=account, cost_center=cost_center, debit=signed if signed > 0 else ZERO,
                credit=-signed if signed < 0 else ZERO, currency=document.currency, text=text, reference=reference,
            ))

        for line in document.lines:
            if line.amount % unit != 0:
                raise ValueError(f"{document.number} line {line.line_no}: {line.amount} is not rounded to {document.currency}'s minor unit")
            text = f"{line.service_name} {line.tier_name}{' ' + line.dimension_text if line.dimension_text else ''} {document.month}"
            if line.kind in _OWN_TEXT:  # a fee, a true-up or a discount says which, and its period
                text = f"{line.description} {document.month}"
            reference = f"{document.number}/{line.line_no}"
            parts = [(part.gl_code, part.amount) for part in line.cost_centers] or [("", line.amount)]
            if sum((amount for _code, amount in parts), ZERO) != line.amount:
                raise ArithmeticError(f"{reference}: cost-centre parts do not sum to the line amount {line.amount}")
            for gl_code, amount in parts:
                book(expense_account, gl_code, amount, text, reference)
            book(recovery_account, recovery_cost_center, -line.amount, text, reference)
        debit, credit = _sums(made)
        if debit != credit:
            raise ArithmeticError(f"journal of {document.number} does not balance: debit {debit}, credit {credit}")
        net_expense = sum((j.debit - j.credit for j in made if j.account == expense_account), ZERO)
        if net_expense != document.total:
            raise ArithmeticError(f"journal of {document.number} books {net_expense} as expense, not its total {document.total}")
        journal.extend(made)
    for currency, (debit, credit) in journal_totals(journal).items():
        if debit != credit:
            raise ArithmeticError(f"the journal does not balance in {currency}: debit {debit}, credit {credit}")
    return tuple(journal)


def _refuse_unusable_codes(documents: Sequence[Invoice], *, expense_account: str, recovery_account: str,
                           recovery_cost_center: str) -> None:
    for setting, code in (("expense_account", expense_account), ("recovery_account", recovery_account),
                          ("it_cost_center", recovery_cost_center)):
        reason = gl_code_problem(code)
        if reason:
            raise ChargebackError(f"the journal cannot carry the GL code {excerpt(code)!r} of setting {setting}: {reason}. "
                                  f"Set it with `chargeback settings set {setting} CODE`; nothing was written")
    for document in documents:
        for line in document.lines:
            for part in line.cost_centers:
                reason = gl_code_problem(part.gl_code)
                if reason:
                    raise ChargebackError(
                        f"the journal cannot carry the GL cost centre {excerpt(part.gl_code)!r} of cost centre "
                        f"{excerpt(part.cost_center)} on {document.number}/{line.line_no}: {reason}. Correct its "
                        f"gl_cost_center (`chargeback org load`), then reopen {document.month} and close it again; "
                        "nothing was written")


def journal_totals(lines: Sequence[JournalLine]) -> dict[str, tuple[Decimal, Decimal]]:
    """Total debit and credit per currency."""
    totals: dict[str, list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    for line in lines:
        totals[line.currency][0] += line.debit
        totals[line.currency][1] += line.credit
    return {currency: (debit, credit) for currency, (debit, credit) in sorted(totals.items())}


def _sums(lines: Sequence[JournalLine]) -> tuple[Decimal, Decimal]:
    return sum((j.debit for j in lines), ZERO), sum((j.credit for j in lines), ZERO)
