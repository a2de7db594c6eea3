"""Statements, exports and the GL journal of a month, written after the store is read.

Each function reads what it needs in the command's transaction and returns records
(billing.close.statement: what each statement and the export are made from; FOCUS rows; the
journal's lines); a shell (billing.api, cli.py) hands them to reports/ for the bytes.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from billing.recovery.composites import composite_lines
from billing.close.focus_bill import FOCUS_VERSION, FocusRow, Provider, focus_rows
from billing.close.statement import BudgetFigure, ExportInputs, StatementInputs, TierQuote
from billing.jobs import frozen
from billing.jobs.bridge import month_bridges
from billing.jobs.budgets import budget_bridges_by_line, budget_rows_by_line
from billing.jobs.frozen import FrozenMonth, StatementFigures, frozen_month
from billing.jobs.trends import budget_burns, cost_histories
from billing.close.journal import build_journal
from billing.core.money import ZERO
from billing.core.periods import first_day, last_day, parse_month, previous_month
from billing.core.problems import ChargebackError
from billing.core.records import BusinessLine, Charge, ChargeKind, DocumentRole, Invoice, JournalLine
from billing.store import audit
from billing.store import catalogue as catalogue_store
from billing.store import charges as charge_store
from billing.store import documents
from billing.store import locks
from billing.store import org as org_store
from billing.store import snapshots
from billing.store.snapshots import MonthClose, Section
from tariffs.model import Catalogue, ChargingMode

if TYPE_CHECKING:
    from billing.rating.tiers import TierMonth
# Rating the month again (polars, the usage store) is imported where it is needed: a closed
# month's journal, export and statements are read from its documents and snapshot, and a
# command starts faster without it.


@dataclass(frozen=True, slots=True)
class MonthJournal:
    """A closed month's balanced GL journal lines and their debit total (= credit total)."""

    month: str
    lines: tuple[JournalLine, ...]
    debit: Decimal


def _rated(session: Session, month: str) -> list[Charge]:
    if charge_store.last_run(session, month) is None:
        raise ChargebackError(f"{month} has not been rated yet: run `chargeback month run {month}` first")
    return charge_store.month_charges(session, month)


def _notes(session: Session, month: str) -> list[Invoice]:
    """Credit and debit notes dated in ``month`` that correct earlier months (not the
    cancellations of a reopen)."""
    return documents.documents_for_month(session, month, roles=[r for r in DocumentRole if r.is_correction])


def price_month_at_every_tier(session: Session, month: str, charges: Sequence[Charge],
                              catalogue: Catalogue, *, line: str | None = None) -> dict[tuple[str, str], tuple[TierMonth, ...]]:
    """Every (business line, service) the month charged or that was subscribed in it, priced
    at every tier of the service (what the statement's quotes and, later, tier advice read);
    ``line``: that business line's only."""
    from billing.rating.tiers import price_at_every_tier
    from billing.store.rating_inputs import month_inputs

    inputs = month_inputs(session, month, catalogue=catalogue)
    start, end = first_day(month), last_day(month)
    subscribed = {(s.business_line, s.service) for s in inputs.subscriptions
                  if s.effective_from <= end and (s.effective_to is None or s.effective_to >= start)
                  and (line is None or s.business_line == line)}
    return price_at_every_tier(inputs, {(c.business_line, c.service) for c in charges} | subscribed)


def statement_figures(session: Session, month: str, charges: Sequence[Charge], catalogue: Catalogue,
                      tiers: Mapping[tuple[str, str], Sequence[TierMonth]], *,
                      line: str | None = None) -> dict[str, StatementFigures]:
    """The figures of each business line's statement beyond its charges and documents: the
    previous month's total on the same basis, the month priced at every tier of each service
    used (with the tier advice over the last 12 rated months), budget against actual year to
    date, the parts of composite services, and the pictures' figures (cost by service over 13
    months, the fiscal year's budget burn). ``tiers``: the month priced at every tier;
    ``line``: that business line's figures only (``charges`` its own)."""
    from billing.jobs.advice import tier_advice_by_line

    only = line  # the loops below name each business line ``line``
    notes = _notes(session, month)
    codes = sorted({c.business_line for c in charges} | {n.business_line for n in notes})
    if only is not None:
        codes = [code for code in codes if code == only]
    before = previous_month(month)
    previous = [c for c in charge_store.month_charges(session, before) if c.charging_mode is ChargingMode.CHARGEBACK]
    previous_notes = _notes(session, before)
    used = {(c.business_line, c.service) for c in charges if c.kind is ChargeKind.USAGE}
    quotes: dict[str, list[TierQuote]] = defaultdict(list)
    for line, service in sorted(used):
        for figure in sorted(tiers.get((line, service), ()), key=lambda f: f.tier):
            if figure.charged:
                quotes[line].append(TierQuote(service=service, tier=figure.tier, amount=figure.amount))
    advice = tier_advice_by_line(session, month, catalogue=catalogue, known=dict(tiers), business_line=only)
    components = composite_lines(charges, catalogue)
    budgets = budget_rows_by_line(session, month)
    budget_bridges = budget_bridges_by_line(session, month, {code: budgets[code] for code in codes if code in budgets})
    line_of = {c.line_no: c.business_line for c in charges}
    histories, burns = cost_histories(session, month, codes), budget_burns(session, month, codes)
    figures = {}
    for code in codes:
        own_previous = [c for c in previous if c.business_line == code]
        previous_total = None
        if own_previous or any(n.business_line == code for n in previous_notes):
            previous_total = sum((c.amount for c in own_previous), ZERO) + sum(
                (n.total for n in previous_notes if n.business_line == code), ZERO)
        figures[code] = StatementFigures(
            previous_total=previous_total,
            tier_quotes=tuple(_with_advice(quotes.get(code, ()), advice.get(code, ()))),
            budget=tuple(BudgetFigure(service=r.service, budget_ytd=r.budget_ytd, actual_ytd=r.actual_ytd)
                         for r in budgets.get(code, ())),
            components={n: shares for n, shares in components.items() if line_of[n] == code},
            history=histories.get(code), burn=burns.get(code), budget_bridge=budget_bridges.get(code),
        )
    return figures


def freeze_month(session: Session, month: str, *, run_id: int | None, user: str, at: dt.datetime,
                 charges: Sequence[Charge]) -> MonthClose:
    """Record the close of ``month`` and freeze what its documents are rendered from (in the
    close's transaction): settings, the business lines on its documents, the catalogue's
    services, its service levels, the month priced at every tier and each statement's figures."""
    close = snapshots.record_close(session, month, run_id=run_id, user=user, at=at)
    _freeze(session, close, charges, catalogue_store.load_catalogue(session), org_store.business_lines(session))
    return close


def _freeze(session: Session, close: MonthClose, charges: Sequence[Charge], catalogue: Catalogue,
            business_lines: Sequence[BusinessLine]) -> None:
    """Write every section of the snapshot not written yet (a section is never replaced)."""
    month = close.month
    frozen.write_settings(session, close, audit.all_settings(session))
    frozen.write_services(session, close, catalogue.services)
    codes = {c.business_line for c in charges} | {n.business_line for n in _notes(session, month)}
    frozen.write_business_lines(session, close, [b for b in business_lines if b.code in codes])
    frozen.write_sla(session, close, charge_store.sla_results(session, month))
    tiers = price_month_at_every_tier(session, month, charges, catalogue)
    frozen.write_tier_months(session, close, tiers)
    frozen.write_statements(session, close, statement_figures(session, month, charges, catalogue, tiers))
    frozen.write_bridges(session, close, month_bridges(session, month, charges, catalogue))


def _frozen_statements(session: Session, month: str, charges: Sequence[Charge]) -> FrozenMonth | None:
    """The snapshot of a closed month with every statement section. A month closed before
    snapshots had none of the statement's figures, and one closed before bridges no bridges:
    they are frozen now, once, from its snapshot's services and what the store holds today."""
    snapshot = frozen_month(session, month)
    if snapshot is None:
        return None
    if snapshot.statements is not None and snapshot.sla is not None and snapshot.tier_months is not None:
        if snapshot.bridges is None:
            frozen.write_bridges(session, snapshot.close, month_bridges(
                session, month, charges, catalogue_store.load_catalogue(session)))
            return frozen_month(session, month)
        return snapshot
    stored = catalogue_store.load_catalogue(session)
    services = {s.code: s for s in stored.services} | dict(snapshot.services)
    catalogue = replace(stored, services=tuple(services[code] for code in sorted(services)))
    lines = {b.code: b for b in org_store.business_lines(session)} | dict(snapshot.business_lines)
    _freeze(session, snapshot.close, charges, catalogue, list(lines.values()))
    return frozen_month(session, month)


def frozen_statements(session: Session, month: str, charges: Sequence[Charge]) -> FrozenMonth | None:
    """A closed month's snapshot with every statement section, bridges included (frozen now,
    once, for a month closed before them); None for an open month."""
    return _frozen_statements(session, month, charges)


def _with_advice(quotes, advice) -> list[TierQuote]:
    """This month's tier quotes with the 12-month advice sentence of each tier."""
    sentences = {(a.service, a.tier): a.sentence for a in advice}
    return [TierQuote(service=q.service, tier=q.tier, amount=q.amount, advice=sentences.get((q.service, q.tier)))
            for q in quotes]


def month_statements(session: Session, month: str, *, generated_at: dt.datetime | None = None,
                     line: str | None = None) -> list[StatementInputs]:
    """The month's statements. A closed month's are rendered from its frozen invoices, charges
    and snapshot (names, services, service levels, figures), prepared as of its close; an open
    month's are drafts from today's catalogue and organisation. ``line``: business line
    ``line``'s statement alone (its code as stored; none when it has no charges or notes that
    month), its figures worked out for it only: the same statement as among every line's."""
    month = parse_month(month)
    charges = _rated(session, month)
    snapshot = _frozen_statements(session, month, charges)
    if snapshot is not None:
        services, lines = dict(snapshot.services), dict(snapshot.business_lines)
        figures, sla, currency = snapshot.statements, snapshot.sla, snapshot.typed_settings().currency
        bridges = snapshot.bridges or {}
        invoices = {i.business_line: i for i in documents.live_invoices(session, month)}
        generated_at = snapshot.close.closed_at
    else:
        catalogue = catalogue_store.load_catalogue(session)
        services = {s.code: s for s in catalogue.services}
        lines = {b.code: b for b in org_store.business_lines(session)}
        own = charges if line is None else [c for c in charges if c.business_line == line]
        figures = statement_figures(session, month, own, catalogue,
                                    price_month_at_every_tier(session, month, own, catalogue, line=line), line=line)
        bridges = month_bridges(session, month, charges, catalogue, lines=None if line is None else list(figures))
        sla, currency = charge_store.sla_results(session, month), audit.settings(session).currency
        generated_at = generated_at or audit.now()
    closed = snapshot is not None or charge_store.period_status(session, month) == "closed"
    if snapshot is None:
        invoices = {i.business_line: i for i in documents.live_invoices(session, month)} if closed else {}
    notes = _notes(session, month)
    by_line: dict[str, list[Charge]] = defaultdict(list)
    for charge in charges:
        by_line[charge.business_line].append(charge)
    for note in notes:
        by_line.setdefault(note.business_line, [])
    if line is not None:
        by_line = defaultdict(list, {code: found for code, found in by_line.items() if code == line})
    if snapshot is not None and any(figures[code].history is None for code in by_line):
        # closed before statements had pictures: their figures are read from the store as it is
        histories, burns = cost_histories(session, month, by_line), budget_burns(session, month, by_line)
        figures = {code: replace(f, history=histories.get(code), burn=burns.get(code)) if f.history is None else f
                   for code, f in figures.items()}
    views = []
    for code in sorted(by_line):
        figure = figures[code]
        views.append(StatementInputs(
            business_line=lines[code], month=month, charges=by_line[code], services=services, closed=closed,
            generated_at=generated_at, invoice=invoices.get(code), notes=[n for n in notes if n.business_line == code],
            previous_total=figure.previous_total, sla_results=sla, components=figure.components,
            tier_quotes=figure.tier_quotes, budget=figure.budget, currency=currency if not by_line[code] else None,
            history=figure.history, burn=figure.burn, budget_bridge=figure.budget_bridge,
            bridge=bridges.get(code) if figure.previous_total is not None else None,
        ))
    return views


def statements_to_write(session: Session, month: str, out: Path, *, line: str | None = None,
                        fmt: str = "html") -> list[StatementInputs]:
    """The month's statements to write into ``out`` (recorded in the audit trail); refused when
    there is none. With ``line``, that business line's statement alone (its code, any case),
    refused when the month has none for it. The shell renders and writes them in this transaction."""
    locks.lock_month(session, parse_month(month), shared=True)  # not half before and half after a close or reopen
    found, any_line = statements_of(session, month, line)
    if not any_line:
        raise ChargebackError(f"{parse_month(month)} has no charges or notes for any business line: there is no statement "
                              f"to write; nothing was written")
    if line is not None:
        found = one_line(found, parse_month(month), line, "written")
    audit.record(session, "statements", parse_month(month),
                 f"{len(found)} statements in {out}" + (f" for {found[0].business_line.code}" if line is not None else "")
                 + (" as PDF" if fmt == "pdf" else ""))
    return found


def statements_of(session: Session, month: str, line: str | None = None) -> tuple[list[StatementInputs], bool]:
    """The month's statements, or with ``line`` (a business line's code, any case) that line's
    alone, worked out for it only; and whether the month has a statement for any line."""
    if line is None:
        found = month_statements(session, month)
        return found, bool(found)
    month = parse_month(month)
    codes = {c.business_line for c in _rated(session, month)} | {n.business_line for n in _notes(session, month)}
    wanted = line.strip().casefold()
    code = next((c for c in sorted(codes) if c.casefold() == wanted), None)
    return (month_statements(session, month, line=code) if code is not None else []), bool(codes)


def one_line(found: list[StatementInputs], month: str, line: str, done: str) -> list[StatementInputs]:
    """The statement of business line ``line`` (its code, any case) among ``found``; refused,
    saying nothing was ``done``, when the month has none for it."""
    found = [s for s in found if s.business_line.code.casefold() == line.strip().casefold()]
    if not found:
        raise ChargebackError(f"{month} has no statement for business line {line.strip()!r} (no charges or "
                              f"notes for it, or no such line: see `chargeback org list`); nothing was {done}")
    return found


def month_export(session: Session, month: str, *, line: str | None = None) -> ExportInputs:
    """What the month's export is made from: a closed month's issued documents, in its
    currency at close and dated at its close; an open month's charges as draft invoices.
    ``line``: business line ``line``'s alone (its code as stored)."""
    month = parse_month(month)
    charges = _rated(session, month)
    if line is not None:
        charges = [c for c in charges if c.business_line == line]
    closed = charge_store.period_status(session, month) == "closed"

    def documents_of_month() -> list[Invoice]:
        return [d for d in documents.documents_for_month(session, month) if line is None or d.business_line == line]

    if not charges and not (closed and documents_of_month()):
        whose = f" for business line {line}" if line is not None else ""
        raise ChargebackError(f"{month} was rated but has no charges and no documents{whose}: there is nothing to "
                              f"export; nothing was written")
    snapshot = frozen_month(session, month)
    if snapshot is not None or closed:
        docs = documents_of_month()
        currency = (snapshot.typed_settings() if snapshot else audit.settings(session)).currency
        return ExportInputs(month=month, closed=True, documents=docs, charges=charges, currency=None if docs else currency,
                            prepared_at=snapshot.close.closed_at if snapshot else None)
    catalogue = catalogue_store.load_catalogue(session)
    return ExportInputs(
        month=month, closed=False, charges=charges, services={s.code: s for s in catalogue.services},
        business_lines={b.code: b for b in org_store.business_lines(session)},
        gl_codes=org_store.cost_center_gl_codes(session),
        currency=None if charges else audit.settings(session).currency,
    )


FOCUS_FORMATS = ("focus", "focus-parquet")


def focus_rows_of_month(session: Session, month: str) -> list[FocusRow]:
    """The closed month's documents as FOCUS rows (billing.close.focus_bill), read from the store."""
    month = parse_month(month)
    if charge_store.period_status(session, month) != "closed":
        raise ChargebackError(f"{month} is not closed: a FOCUS bill is made from the issued invoices of a closed month; "
                              f"review and close it first (`chargeback month close {month}`)")
    docs = documents.documents_for_month(session, month)
    originals = {line.original_invoice for d in docs for line in d.lines if line.original_invoice}
    originals |= {d.original_invoice for d in docs if d.original_invoice}
    corrected = documents.months_of(session, sorted(originals))
    charges = charge_store.issued_charges(session, sorted({d.number for d in docs} | originals))
    snapshot = frozen_month(session, month, sections=(Section.SETTINGS, Section.SERVICE))
    if snapshot is not None:  # the services and settings as they were at close
        services, settings = list(snapshot.services.values()), snapshot.typed_settings()
    else:
        services, settings = catalogue_store.load_catalogue(session).services, audit.settings(session)
    return list(focus_rows(
        docs, month=month, charges=charges, corrected_months=corrected,
        categories={s.code: s.focus_category() for s in services},
        provider=Provider(account_id=settings.provider_id, name=settings.provider_name),
    ))


def focus_bill(session: Session, month: str, fmt: str) -> list[FocusRow]:
    """The closed month's bill as FOCUS rows, for a FOCUS 1.2 CSV (``focus``) or Parquet
    (``focus-parquet``) file; the export is recorded in the audit trail."""
    locks.lock_month(session, parse_month(month), shared=True)  # no reopen while it is made; it records its run
    rows = focus_rows_of_month(session, month)
    audit.record(session, "export.focus", parse_month(month), f"FOCUS {FOCUS_VERSION}, {len(rows)} rows, {fmt}")
    return rows


def month_journal(session: Session, month: str, *, posting_date: dt.date | None = None) -> MonthJournal:
    """The closed month's GL journal lines, with their debit total."""
    month = parse_month(month)
    locks.lock_month(session, month, shared=True)  # no reopen while the journal is made
    if charge_store.period_status(session, month) != "closed":
        raise ChargebackError(f"{month} is not closed: the journal is made from issued invoices; "
                              f"review and close it first (`chargeback month close {month}`)")
    docs = documents.documents_for_month(session, month)
    snapshot = frozen_month(session, month)
    settings = snapshot.typed_settings() if snapshot else audit.settings(session)
    lines = build_journal(
        docs, period=month, posting_date=posting_date or last_day(month),
        expense_account=settings.expense_account, recovery_account=settings.recovery_account,
        recovery_cost_center=settings.it_cost_center,
    )
    debit = sum((line.debit for line in lines), ZERO)
    audit.record(session, "journal", month, f"{len(lines)} lines, debit {debit}")
    return MonthJournal(month=month, lines=tuple(lines), debit=debit)
