"""Statements, exports and the GL journal of a month, written after the store is read.

Each function reads what it needs in the command's transaction, builds frozen view models
or records with the pure core, and returns bytes (the CLI writes the files).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from sqlalchemy.orm import Session

from billing.composites import composite_lines
from billing.focus_bill import FOCUS_VERSION, FocusRow, Provider, focus_rows
from billing.jobs.advice import tier_advice_by_line
from billing.jobs.budgets import budget_rows
from billing.journal import build_journal
from billing.money import ZERO
from billing.periods import last_day, parse_month, previous_month
from billing.problems import ChargebackError
from billing.rating import rate_month
from billing.records import Charge, Invoice
from billing.store import audit
from billing.store import catalogue as catalogue_store
from billing.store import charges as charge_store
from billing.store import documents
from billing.store import locks
from billing.store import org as org_store
from billing.store import usage as usage_store
from reports.csv_export import month_csv
from reports.focus_export import focus_csv, focus_parquet
from reports.html import render_index, render_statement, statement_filename
from reports.journal_csv import journal_csv
from reports.views import BudgetFigure, StatementView, TierQuote, month_export_view, statement_view
from reports.xlsx import month_workbook


@dataclass(frozen=True, slots=True)
class WrittenStatements:
    month: str
    paths: tuple[Path, ...]
    index: Path
    draft: bool


def _rated(session: Session, month: str) -> list[Charge]:
    if charge_store.last_run(session, month) is None:
        raise ChargebackError(f"{month} has not been rated yet: run `chargeback month run {month}` first")
    return charge_store.month_charges(session, month)


def _notes(session: Session, month: str) -> list[Invoice]:
    """Credit and debit notes dated in ``month`` that correct earlier months (not the
    cancellations of a reopen)."""
    return [d for d in documents.documents_for_month(session, month) if d.role.is_correction]


def tier_quotes(session: Session, month: str, charges: list[Charge]) -> dict[str, list[TierQuote]]:
    """The month's usage priced at every tier of each service a business line uses, by
    business line."""
    catalogue = catalogue_store.load_catalogue(session)
    services = {s.code: s for s in catalogue.services}
    inputs = dict(
        month=month, catalogue=catalogue, subscriptions=catalogue_store.load_subscriptions(session),
        ownerships=org_store.ownerships(session), usage=usage_store.month_usage(session, month),
        sla=charge_store.sla_results(session, month),
    )
    pairs = {(c.business_line, c.service) for c in charges if c.kind == "usage"}
    tiers = sorted({t.code for s in services.values() for t in s.tiers})
    quotes: dict[tuple[str, str, str], Decimal] = defaultdict(lambda: ZERO)
    for tier in tiers:
        override = {(bl, svc): tier for bl, svc in pairs if services.get(svc) and services[svc].tier(tier)}
        if not override:
            continue
        for charge in rate_month(**inputs, tier_override=override).charges:
            if (charge.business_line, charge.service) in override:
                quotes[(charge.business_line, charge.service, tier)] += charge.amount
    by_line: dict[str, list[TierQuote]] = defaultdict(list)
    for (line, service, tier), amount in sorted(quotes.items()):
        by_line[line].append(TierQuote(service=service, tier=tier, amount=amount))
    return by_line


def _with_advice(quotes, advice) -> list[TierQuote]:
    """This month's tier quotes with the 12-month advice sentence of each tier."""
    sentences = {(a.service, a.tier): a.sentence for a in advice}
    return [TierQuote(service=q.service, tier=q.tier, amount=q.amount, advice=sentences.get((q.service, q.tier)))
            for q in quotes]


def statement_views(session: Session, month: str, *, generated_at: dt.datetime | None = None) -> list[StatementView]:
    month = parse_month(month)
    charges = _rated(session, month)
    closed = charge_store.period_status(session, month) == "closed"
    catalogue = catalogue_store.load_catalogue(session)
    services = {s.code: s for s in catalogue.services}
    lines = {b.code: b for b in org_store.business_lines(session)}
    invoices = {i.business_line: i for i in documents.live_invoices(session, month)} if closed else {}
    notes = _notes(session, month)
    before = previous_month(month)
    previous = charge_store.month_charges(session, before)
    previous_notes = _notes(session, before)
    sla = charge_store.sla_results(session, month)
    quotes = tier_quotes(session, month, charges)
    advice = tier_advice_by_line(session, month)
    components = composite_lines(charges, catalogue)
    generated_at = generated_at or audit.now()
    by_line: dict[str, list[Charge]] = defaultdict(list)
    for charge in charges:
        by_line[charge.business_line].append(charge)
    for note in notes:
        by_line.setdefault(note.business_line, [])
    views = []
    for code in sorted(by_line):
        own_previous = [c for c in previous if c.business_line == code and c.charging_mode == "chargeback"]
        previous_total = None
        if own_previous or any(n.business_line == code for n in previous_notes):
            previous_total = sum((c.amount for c in own_previous), ZERO) + sum(
                (n.total for n in previous_notes if n.business_line == code), ZERO)
        views.append(statement_view(
            business_line=lines[code], month=month, charges=by_line[code], services=services, closed=closed,
            generated_at=generated_at, invoice=invoices.get(code), notes=[n for n in notes if n.business_line == code],
            previous_total=previous_total, sla_results=sla, components=components,
            tier_quotes=_with_advice(quotes.get(code, ()), advice.get(code, ())),
            budget=[BudgetFigure(service=r.service, budget_ytd=r.budget_ytd, actual_ytd=r.actual_ytd)
                    for r in budget_rows(session, code, month)],
            currency=audit.get_setting(session, "currency") if not by_line[code] else None,
        ))
    return views


def write_statements(session: Session, month: str, out: Path) -> WrittenStatements:
    locks.lock_month(session, parse_month(month), shared=True)  # not half before and half after a close or reopen
    views = statement_views(session, month)
    if not views:
        raise ChargebackError(f"{parse_month(month)} has no charges or notes for any business line: there is no statement "
                              f"to write; nothing was written")
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for view in views:
        path = out / statement_filename(view)
        path.write_bytes(render_statement(view))
        paths.append(path)
    index = out / "index.html"
    index.write_bytes(render_index(views))
    audit.record(session, "statements", parse_month(month), f"{len(paths)} statements in {out}")
    return WrittenStatements(month=parse_month(month), paths=tuple(paths), index=index, draft=any(v.is_draft for v in views))


def export_month(session: Session, month: str, fmt: str) -> bytes:
    if fmt in FOCUS_FORMATS:
        return focus_export(session, month, fmt)
    month = parse_month(month)
    charges = _rated(session, month)
    closed = charge_store.period_status(session, month) == "closed"
    if not charges and not (closed and documents.documents_for_month(session, month)):
        raise ChargebackError(f"{month} was rated but has no charges and no documents: there is nothing to export; "
                              f"nothing was written")
    catalogue = catalogue_store.load_catalogue(session)
    services = {s.code: s for s in catalogue.services}
    view = month_export_view(
        month=month, closed=closed,
        documents=documents.documents_for_month(session, month) if closed else (),
        charges=charges, services=services, business_lines={b.code: b for b in org_store.business_lines(session)},
        gl_codes=org_store.cost_center_gl_codes(session), currency=audit.get_setting(session, "currency"),
    )
    if fmt == "xlsx":
        return month_workbook(view)
    if fmt == "csv":
        return month_csv(view)
    raise ChargebackError(f"unknown export format {fmt!r}: use xlsx, csv, focus or focus-parquet")


FOCUS_FORMATS = ("focus", "focus-parquet")


def focus_rows_of_month(session: Session, month: str) -> list[FocusRow]:
    """The closed month's documents as FOCUS rows (billing.focus_bill), read from the store."""
    month = parse_month(month)
    if charge_store.period_status(session, month) != "closed":
        raise ChargebackError(f"{month} is not closed: a FOCUS bill is made from the issued invoices of a closed month; "
                              f"review and close it first (`chargeback month close {month}`)")
    docs = documents.documents_for_month(session, month)
    originals = {line.original_invoice for d in docs for line in d.lines if line.original_invoice}
    originals |= {d.original_invoice for d in docs if d.original_invoice}
    corrected = documents.months_of(session, sorted(originals))
    charges = charge_store.issued_charges(session, sorted({d.number for d in docs} | originals))
    catalogue = catalogue_store.load_catalogue(session)
    return list(focus_rows(
        docs, month=month, charges=charges, corrected_months=corrected,
        categories={s.code: s.focus_category() for s in catalogue.services},
        provider=Provider(account_id=audit.get_setting(session, "provider_id"),
                          name=audit.get_setting(session, "provider_name")),
    ))


def focus_export(session: Session, month: str, fmt: str) -> bytes:
    """The closed month's bill as a FOCUS 1.2 CSV (``focus``) or Parquet (``focus-parquet``) file."""
    locks.lock_month(session, parse_month(month), shared=True)  # no reopen while it is made; it records its run
    rows = focus_rows_of_month(session, month)
    data = focus_parquet(rows) if fmt == "focus-parquet" else focus_csv(rows)
    audit.record(session, "export.focus", parse_month(month), f"FOCUS {FOCUS_VERSION}, {len(rows)} rows, {fmt}")
    return data


def month_journal(session: Session, month: str, *, posting_date: dt.date | None = None) -> tuple[bytes, int, Decimal]:
    """The month's GL journal as CSV bytes, with its line count and debit total."""
    month = parse_month(month)
    locks.lock_month(session, month, shared=True)  # no reopen while the journal is made
    if charge_store.period_status(session, month) != "closed":
        raise ChargebackError(f"{month} is not closed: the journal is made from issued invoices; "
                              f"review and close it first (`chargeback month close {month}`)")
    docs = documents.documents_for_month(session, month)
    lines = build_journal(
        docs, period=month, posting_date=posting_date or last_day(month),
        expense_account=audit.get_setting(session, "expense_account"),
        recovery_account=audit.get_setting(session, "recovery_account"),
        recovery_cost_center=audit.get_setting(session, "it_cost_center"),
    )
    debit = sum((line.debit for line in lines), ZERO)
    audit.record(session, "journal", month, f"{len(lines)} lines, debit {debit}")
    return journal_csv(lines), len(lines), debit
