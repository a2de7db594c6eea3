"""The engine as a library: open a store, load each kind of input, run, review, close, adjust,
explain, export and forecast from plain Python.

    from billing import api

    store = api.open_store("sqlite:///books.db", create=True)
    api.load_tariffs(store, "tariffs")
    api.load_org(store, "business_lines.csv")
    api.load_org(store, "cost_centers.csv")
    api.load_subscriptions(store, "subscriptions.csv")
    api.load_usage(store, "usage.csv", source="internal", sources="sources")
    run = api.run_month(store, "2026-03")           # RunResult: charges, totals, close warnings
    review = api.review_month(store, "2026-03")     # MonthReview: totals, movers, anomalies, ...
    closed = api.close_month(store, "2026-03", confirm=bool(review.warnings))
    workbook = api.export_month(store, "2026-03", "xlsx")   # bytes
    store.close()

Every function that touches the store is one transaction, the rule the ``chargeback`` command
follows: it commits when the function returns and leaves the store as it was when it raises.
A function returns records (frozen dataclasses of ``billing.core.records`` and of the domain
folders) and, where an input can be partly wrong, the problems found (``billing.core.problems.
Problem``: code, message, file:row:column, hint) in the result; it never prints. A refusal
raises ``ChargebackError`` (one line saying what to do); ``ProblemsError`` carries every
problem of an input refused as a whole (``.problems``); ``NeedsConfirmation`` lists the
``.reasons`` an action must be confirmed over (``confirm=True``).

Where a result is a document (an export, the journal, statements, the plan workbook) the
function returns its bytes, rendered by ``reports/``: this module sits above ``billing.jobs``
and ``reports`` and hands what a job returns to the writer, as the command does. A job never
renders (import-linter: billing.jobs does not import reports). docs/architecture.md lists every
function with what it takes and returns.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from typing import TYPE_CHECKING

from billing.core.access import SESSION_HOURS, LoginRefused
from billing.core.problems import ChargebackError, NeedsConfirmation, Problem, ProblemsError

if TYPE_CHECKING:  # the modules behind each call are imported by the call (the command starts fast)
    from sqlalchemy.orm import Session, sessionmaker

    from billing.close.explain import LineExplanation
    from billing.close.review import MonthReview, MonthStatus
    from billing.core.records import Invoice, JournalLine
    from billing.files.dialect import Dialect
    from billing.jobs.plan import PlanResult
    from tariffs.model import Catalogue

__all__ = [
    "Store", "open_store", "ChargebackError", "ProblemsError", "NeedsConfirmation", "Problem",
    # inputs
    "check_tariffs", "load_tariffs", "load_org", "load_subscriptions", "load_service_levels", "load_usage",
    "load_costs", "load_drivers", "read_budget_plan", "load_budget", "settings", "change_setting",
    # month-end
    "run_month", "review_month", "month_statuses", "close_month", "reopen_month", "adjust", "explain",
    "explain_change", "documents", "document", "line_documents",
    # outputs
    "export_month", "line_export", "statement_pdf", "journal", "Journal", "statements", "Statements", "write_statements", "WrittenStatements",
    "month_pack",
    # planning and recovery
    "forecast", "backtest", "compare_scenarios", "advise", "recovery", "plan", "Plan", "budget_to_date",
    "line_forecast", "LineForecast",
    # people, sessions and API tokens
    "add_user", "disable_user", "reset_password", "users", "add_token", "revoke_token", "tokens",
    "LoginRefused", "SESSION_HOURS", "sign_in", "read_sso", "sso_sign_in", "sso_refused", "store_generation", "session_principal", "signed_in", "sign_out", "change_password", "token_principal", "acting_as",
    # what the portal reads
    "business_lines", "statement", "Statement", "month_statement_views", "charges", "load_usage_batch",
    # disputes
    "disputes", "dispute", "raise_dispute", "accept_dispute", "reject_dispute",
]

OnWait = Callable[[str, float], None]


class Store:
    """The store at a database URL (``sqlite:///file.db``, ``postgresql://host/db``; None: the
    ``CHARGEBACK_DB`` environment variable, else ``chargeback.db`` here), opened on first use.

    ``on_wait(what, seconds)`` is told when a transaction waits for another writer's lock.
    Close it (or use it as a context manager) to release its connections.
    """

    def __init__(self, url: str | None = None, *, on_wait: OnWait | None = None):
        self.url = url
        self.on_wait = on_wait
        self._factory: sessionmaker[Session] | None = None

    def open(self, *, create: bool = False) -> Store:
        """Open the store now: upgrade its schema; with ``create`` make it when it does not exist."""
        from billing.store.db import open_store as open_factory

        if self._factory is None:
            self._factory = open_factory(self.url, create=create)
        return self

    @contextlib.contextmanager
    def transaction(self, *, create: bool = False) -> Iterator[Session]:
        """One transaction: commits when the body succeeds, rolls back when it raises. Only a
        transaction that loads input (``create=True``) may create a store not there yet."""
        from billing.store.db import transaction

        self.open(create=create)
        with transaction(self._factory, on_wait=self.on_wait) as session:
            yield session

    def close(self) -> None:
        """Release the store's connections (a database server is shared)."""
        if self._factory is not None:
            self._factory.kw["bind"].dispose()
            self._factory = None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *_exc) -> None:
        self.close()


def open_store(url: str | None = None, *, create: bool = False, on_wait: OnWait | None = None) -> Store:
    """The store at ``url``, its schema upgraded; ``create`` makes it when it does not exist
    (else a store not there is refused, so a mistyped URL creates nothing)."""
    return Store(url, on_wait=on_wait).open(create=create)


def _run(store: Store, job: Callable, *args, create: bool = False, **kwargs):
    with store.transaction(create=create) as session:
        return job(session, *args, **kwargs)


# --- inputs ------------------------------------------------------------------------------------


def check_tariffs(directory: str | Path) -> tuple[Catalogue, list[Problem]]:
    """Read and validate a tariff directory without a store: the catalogue and every problem."""
    from billing.jobs.catalogue import check_catalogue

    return check_catalogue(Path(directory))


def load_tariffs(store: Store, directory: str | Path):
    """Validate a tariff directory and store its services and tariff versions
    (``billing.store.catalogue.CatalogueChanges``: services and versions added, updated)."""
    from billing.jobs.catalogue import load_tariffs as job

    return _run(store, job, Path(directory), create=True)


def load_org(store: Store, path: str | Path):
    """Load business lines or cost centres (CSV or .xlsx; again = update in place)
    (``billing.jobs.org.OrgLoadResult``: the changes to each)."""
    from billing.jobs.org import load_org as job

    return _run(store, job, Path(path), create=True)


def load_subscriptions(store: Store, path: str | Path):
    """Load subscriptions (``billing.jobs.catalogue.SubscriptionLoadResult``: rows read, subscriptions stored)."""
    from billing.jobs.catalogue import load_subscription_file

    return _run(store, load_subscription_file, Path(path), create=True)


def load_service_levels(store: Store, path: str | Path):
    """Load measured service levels per month (``billing.jobs.sla.SlaLoadResult``)."""
    from billing.jobs.sla import load_sla_file

    return _run(store, load_sla_file, Path(path), create=True)


def load_usage(store: Store, path: str | Path, *, source: str, new_source: bool = False, format: str | None = None,
               sources: str | Path | None = None, strict: bool = False, replace: bool = False,
               allow_other_source: bool = False, dialect: Dialect | None = None,
               on_progress: Callable[[int], None] | None = None):
    """Validate, map and store a usage file from the declared ``source`` (its definition in the
    ``sources`` folder, or registered now with ``new_source``). Returns
    ``billing.jobs.usage.LoadResult``: the reconciliation counts, the first problems of the rows
    quarantined (``problems``, ``problem_count`` in all), months already rated, feeds replaced;
    ``already_loaded_as`` when the file was loaded before (nothing is charged twice)."""
    from billing.files.dialect import Dialect
    from billing.jobs.usage import load_usage_file, resolve_source

    def job(session: Session):
        found = resolve_source(session, source, format, Path(sources) if sources else None, new_source=new_source)
        return load_usage_file(session, Path(path), found, strict=strict, replace=replace,
                               allow_other_source=allow_other_source, on_progress=on_progress,
                               dialect=dialect or Dialect())

    return _run(store, job, create=True)


def load_costs(store: Store, path: str | Path, *, strict: bool = False, replace: bool = False):
    """Load IT's actual or budgeted costs (``billing.jobs.costs.CostLoadResult``, with its problems)."""
    from billing.jobs.costs import load_cost_file

    return _run(store, load_cost_file, Path(path), strict=strict, replace=replace, create=True)


def load_drivers(store: Store, path: str | Path):
    """Load allocation driver values (``billing.jobs.costs.DriverLoadResult``)."""
    from billing.jobs.costs import load_driver_file

    return _run(store, load_driver_file, Path(path), create=True)


def read_budget_plan(path: str | Path):
    """An edited planning workbook read back (``billing.planning.budgets.PlanReading``: its drivers
    and every problem, by ``sheet!cell``), or None when ``path`` is not one (a budget table, or a
    file the table reader will report as unreadable, too large or too long a name)."""
    from billing.core.limits import path_problem
    from billing.files.tables import MAX_TABLE_BYTES
    from billing.planning.budgets import PlanReading
    from reports.plan_xlsx import is_plan_workbook, read_plan_workbook

    path = Path(path)
    if path_problem(path) is not None:
        return None
    try:
        raw = path.read_bytes() if path.stat().st_size <= MAX_TABLE_BYTES else b""
    except OSError:
        return None
    if not raw or not is_plan_workbook(raw):
        return None
    plan, problems = read_plan_workbook(raw, str(path))
    return PlanReading(file=str(path), plan=plan, problems=tuple(problems))


def load_budget(store: Store, path: str | Path):
    """Load a budget table or an edited plan workbook (``billing.jobs.budgets.BudgetLoadResult``, with warnings)."""
    from billing.jobs.budgets import load_budget_file

    return _run(store, load_budget_file, Path(path), plan=read_budget_plan(path), create=True)


def settings(store: Store) -> dict[str, str]:
    """Every setting and its value."""
    from billing.store.audit import all_settings

    return _run(store, all_settings)


def change_setting(store: Store, key: str, value: str) -> str:
    """Check and store one setting; returns the value stored."""
    from billing.jobs.settings import change_setting as job, check_setting

    checked = check_setting(key, value)
    _run(store, job, key, checked, create=True)
    return checked


# --- month-end ---------------------------------------------------------------------------------


def run_month(store: Store, month: str):
    """Price the month's usage (again, while it is open). ``billing.jobs.rating.RunResult``: the
    run, its charges (``rated``), totals per charging mode and currency, how many are flagged,
    and the ``warnings`` a close would have to confirm."""
    from billing.jobs.rating import run_month as job

    return _run(store, job, month)


def review_month(store: Store, month: str, *, rules: str | Path | None = None, show_all: bool = False) -> MonthReview:
    """The month before closing (``billing.close.review.MonthReview``); ``rules``: the allocation
    rules its recovery line uses (default: allocation/ here, else the examples')."""
    from billing.jobs.review import review_stored_month

    return _run(store, review_stored_month, month, rules_path=Path(rules) if rules else None, show_all=show_all)


def month_statuses(store: Store) -> tuple[MonthStatus, ...]:
    """Every month with usage, charges or a period: open or closed, last run, who closed it."""
    from billing.jobs.review import month_statuses as job

    return _run(store, job)


def close_month(store: Store, month: str, *, issue_date: dt.date | None = None, confirm: bool = False):
    """Lock the month and issue one numbered invoice per business line
    (``billing.jobs.close.CloseResult``: invoices, total, showback, what was confirmed).
    Raises ``NeedsConfirmation`` when the review warns and ``confirm`` is false."""
    from billing.jobs.close import close_month as job

    return _run(store, job, month, issue_date=issue_date, confirm=confirm)


def reopen_month(store: Store, month: str, *, reason: str) -> tuple[Invoice, ...]:
    """Reopen a closed month; returns the credit notes that cancel its invoices."""
    from billing.jobs.close import reopen_month as job

    return _run(store, job, month, reason=reason)


def adjust(store: Store, invoice: str, *, reason: str, line: int | None = None, amount: Decimal | None = None,
           quantity: Decimal | None = None, debit: bool = False) -> Invoice:
    """Issue a credit (or, with ``debit``, a debit) note against a closed month's invoice, or one
    line of it, dated in the next open month; returns the note."""
    from billing.jobs.adjust import adjust_invoice

    return _run(store, adjust_invoice, invoice, reason=reason, line_no=line, amount=amount, quantity=quantity,
                debit=debit)


def explain(store: Store, reference: str, *, rows: int = 20, offset: int = 0) -> LineExplanation:
    """An invoice line (``NUMBER/LINE``) traced to its charge, tariff version and ``rows`` usage
    rows from the ``offset``-th on (the first ``rows`` by default)."""
    from billing.jobs.explain import explain_line

    return _run(store, explain_line, reference, limit=rows, offset=offset)


def explain_change(store: Store, business_line: str, month: str) -> list[str]:
    """Why ``business_line``'s bill changed in ``month`` against the month before, as printed
    lines (``chargeback explain --change``): the variance bridge, step by step and by service."""
    return _run(store, change_lines_in, business_line, month)


def change_lines_in(session: Session, business_line: str, month: str) -> list[str]:
    """:func:`explain_change` in a transaction already open."""
    from billing.jobs.bridge import line_bridge
    from reports.bridge import bridge_lines, bridge_view

    found = line_bridge(session, business_line, month)
    return bridge_lines(bridge_view(found.bridge, found.services), found.business_line)


def documents(store: Store, month: str) -> list[Invoice]:
    """The invoices, credit notes and debit notes dated in ``month``."""
    from billing.jobs.listing import month_documents

    return _run(store, month_documents, month)


# --- what the list commands read (billing/jobs/listing.py) ------------------------------------


def audit_trail(store: Store, *, limit: int = 50):
    """The newest ``limit`` events of the audit trail and how many older ones there are (``AuditTrail``)."""
    from billing.jobs.listing import audit_trail as job

    return _run(store, job, limit=limit)


def subscriptions(store: Store, *, on: dt.date | None = None) -> list:
    """The subscriptions (``Subscription``), those in force ``on`` a day when given."""
    from billing.jobs.listing import subscriptions_in_force

    return _run(store, subscriptions_in_force, on=on)


def usage_feeds(store: Store, *, month: str | None = None, source: str | None = None) -> list:
    """The usage feeds loaded, with their reconciliation counts (``FeedInfo``)."""
    from billing.jobs.listing import usage_feeds as job

    return _run(store, job, month=month, source=source)


def usage_rejects(store: Store, *, month: str | None = None, source: str | None = None, feed: int | None = None) -> list:
    """The usage rows active feeds refused (``RejectedRow``: file, row, column, code, reason)."""
    from billing.jobs.listing import usage_rejects as job

    return _run(store, job, month=month, source=source, feed=feed)


def cost_rejects(store: Store) -> list:
    """The cost rows active cost feeds refused (``RejectedRow``)."""
    from billing.jobs.listing import cost_rejects as job

    return _run(store, job)


def line_documents(store: Store, business_line: str) -> list[Invoice]:
    """Every invoice, credit note and debit note issued to ``business_line``, newest first."""
    from billing.store.documents import documents_of_line

    return _run(store, documents_of_line, business_line)


def document(store: Store, number: str) -> Invoice | None:
    """The document numbered ``number``; None when there is none."""
    from billing.store.documents import by_number

    return _run(store, by_number, number)


# --- outputs -----------------------------------------------------------------------------------


def export_month(store: Store, month: str, format: str = "xlsx") -> bytes:
    """The month's export as bytes: ``xlsx`` (workbook), ``csv``, or the closed month's bill as
    FOCUS 1.2 (``focus`` CSV, ``focus-parquet``)."""
    return _run(store, export_in, month, format)


def line_export(store: Store, month: str, line: str) -> bytes:
    """Business line ``line``'s part of the month's export as an ``.xlsx`` workbook: its charges
    (an open month) or its documents (a closed one), as ``export_month`` writes them."""
    from billing.jobs.documents import month_export
    from reports.views import export_view
    from reports.xlsx import month_workbook

    return month_workbook(export_view(_run(store, month_export, month, line=line)))


def export_in(session: Session, month: str, fmt: str) -> bytes:
    """:func:`export_month` in a transaction already open."""
    from billing.jobs import documents as job

    if fmt in job.FOCUS_FORMATS:
        from reports.focus_export import focus_csv, focus_parquet

        rows = job.focus_bill(session, month, fmt)
        return focus_parquet(rows) if fmt == "focus-parquet" else focus_csv(rows)
    from reports.views import export_view

    view = export_view(job.month_export(session, month))
    if fmt == "xlsx":
        from reports.xlsx import month_workbook

        return month_workbook(view)
    if fmt == "csv":
        from reports.csv_export import month_csv

        return month_csv(view)
    raise ChargebackError(f"unknown export format {fmt!r}: use xlsx, csv, focus or focus-parquet")


@dataclass(frozen=True, slots=True)
class Journal:
    """A closed month's balanced GL journal: its lines, their debit total (= credit total) and the CSV."""

    month: str
    lines: tuple[JournalLine, ...]
    debit: Decimal
    csv: bytes


def journal(store: Store, month: str, *, posting_date: dt.date | None = None) -> Journal:
    """The closed month's GL journal (docs/journal.md), posted on ``posting_date`` (default the month's last day)."""
    return _run(store, journal_in, month, posting_date=posting_date)


def journal_in(session: Session, month: str, *, posting_date: dt.date | None = None) -> Journal:
    """:func:`journal` in a transaction already open."""
    from billing.jobs.documents import month_journal
    from reports.journal_csv import journal_csv

    found = month_journal(session, month, posting_date=posting_date)
    return Journal(month=found.month, lines=found.lines, debit=found.debit, csv=journal_csv(list(found.lines)))


@dataclass(frozen=True, slots=True)
class Statements:
    """A month's statements: one HTML page per business line by file name, and the index page.
    ``draft``: the month is open, so they are drafts from today's catalogue and organisation."""

    month: str
    pages: Mapping[str, bytes]
    index: bytes
    draft: bool


def statements(store: Store, month: str) -> Statements:
    """The month's statements as HTML (printable on A4), without writing a file."""
    from billing.core.periods import parse_month
    from billing.jobs.documents import month_statements
    from reports.html import render_index, render_statement, statement_filename
    from reports.views import statement_views

    views = statement_views(_run(store, month_statements, month))
    return Statements(month=parse_month(month), pages={statement_filename(v): render_statement(v) for v in views},
                      index=render_index(views), draft=any(v.is_draft for v in views))


@dataclass(frozen=True, slots=True)
class Statement:
    """One business line's statement of a month: its view model (``reports.views.StatementView``),
    the HTML page and its file name."""

    view: object
    html: bytes
    filename: str


def statement(store: Store, month: str, line: str) -> Statement | None:
    """Business line ``line``'s statement of ``month`` (a draft while the month is open), or
    None when the line has no charges or notes that month, or there is no such line."""
    from billing.jobs.documents import month_statements
    from reports.html import render_statement, statement_filename
    from reports.views import statement_views

    found = [s for s in _run(store, month_statements, month, line=line) if s.business_line.code == line]
    if not found:
        return None
    (view,) = statement_views(found)
    return Statement(view=view, html=render_statement(view), filename=statement_filename(view))


def month_statement_views(store: Store, month: str, *, lines: Collection[str] | None = None) -> list:
    """The month's statements as view models (``reports.views.StatementView``), by business
    line: every line's, or with ``lines`` only those lines' (each worked out for it alone, as
    :func:`statement` does; a line with no charges or notes that month, or no such line, has none)."""
    from billing.jobs.documents import month_statements
    from reports.views import statement_views

    if lines is None:
        return statement_views(_run(store, month_statements, month))
    return statement_views([s for code in sorted(set(lines))
                            for s in _run(store, month_statements, month, line=code) if s.business_line.code == code])


def statement_pdf(store: Store, month: str, line: str) -> bytes | None:
    """Business line ``line``'s statement of ``month`` as the A4 PDF ``chargeback statements
    --format pdf`` writes (printed by headless Chromium; refused saying what to install
    without it), or None when there is no such statement."""
    from reports.browser import NOT_INSTALLED, find_chromium
    from reports.pdf import statement_pdfs

    if find_chromium() is None:
        raise ChargebackError(NOT_INSTALLED.replace("make screenshots or PDFs", "print PDF statements"))
    found = statement(store, month, line)
    if found is None:
        return None
    return next(iter(statement_pdfs([(found.view, found.html)])))


def charges(store: Store, month: str):
    """The month's charges as rated by its latest run (``billing.core.records.Charge``), in line order."""
    from billing.core.periods import parse_month
    from billing.store.charges import month_charges

    return _run(store, month_charges, parse_month(month))


def load_usage_batch(store: Store, *, source: str, key: str | None, body: bytes, records, token_id: int,
                     sources: str | Path | None = None):
    """Load a batch of usage records from the API for ``source`` under an Idempotency-Key
    (``billing.jobs.usage_batches.BatchAnswer``: status and body; the same key and body again
    give the first answer, the same key with another body 409). Validated, mapped, quarantined
    and reconciled as a file of the source's is."""
    from billing.jobs.usage_batches import body_hash, check_key, load_usage_batch as job

    checked = check_key(key)
    return _run(store, job, source=source, key=checked, digest=body_hash(body), records=records, token_id=token_id,
                sources_dir=Path(sources) if sources else None)


def business_lines(store: Store):
    """Every business line (``billing.core.records.BusinessLine``), by code."""
    from billing.jobs.listing import business_lines as job

    return sorted(_run(store, job), key=lambda b: b.code)


@dataclass(frozen=True, slots=True)
class WrittenStatements:
    """The statements written: one file per business line and the index page."""

    month: str
    paths: tuple[Path, ...]
    index: Path
    draft: bool


STATEMENT_FORMATS = ("html", "pdf")


def write_statements(store: Store, month: str, out: str | Path, *, line: str | None = None, fmt: str = "html",
                     on_progress: Callable[[int, int], None] | None = None) -> WrittenStatements:
    """Write the month's statements and their index.html into ``out`` (recorded in the audit trail);
    with ``line``, that business line's statement alone (and an index of it). ``fmt`` ``pdf``
    writes one A4 PDF per business line (printed by headless Chromium) instead of the HTML
    pages; ``on_progress(done, total)`` after each statement written."""
    return _run(store, write_statements_in, month, Path(out), line=line, fmt=fmt, on_progress=on_progress)


def write_statements_in(session: Session, month: str, out: Path, *, line: str | None = None, fmt: str = "html",
                        on_progress: Callable[[int, int], None] | None = None) -> WrittenStatements:
    """:func:`write_statements` in a transaction already open (a failed write undoes its record)."""
    from billing.core.periods import parse_month
    from billing.jobs.documents import statements_to_write
    from reports.browser import NOT_INSTALLED, find_chromium
    from billing.jobs.pictures import keep_pictures, kept_pictures
    from reports.charts import picture_keys, pictures_of
    from reports.html import render_index, render_statement, statement_filename
    from reports.views import statement_views

    if fmt not in STATEMENT_FORMATS:
        raise ChargebackError(f"statements are written as {' or '.join(STATEMENT_FORMATS)}, not {fmt!r}")
    if fmt == "pdf" and find_chromium() is None:  # before anything is read or recorded
        raise ChargebackError(NOT_INSTALLED.replace("make screenshots or PDFs", "write PDF statements")
                              + "; nothing was written")
    views = statement_views(statements_to_write(session, month, out, line=line, fmt=fmt))
    out.mkdir(parents=True, exist_ok=True)
    total = len(views)

    def progress(done: int) -> None:
        if on_progress:
            on_progress(done, total)

    paths = []
    # a closed month's pictures are drawn once and kept with its close; both cores draw the others
    keys = {key for view in views for key in picture_keys(view).values() if key is not None}
    known = kept_pictures(session, parse_month(month), keys) if views and not views[0].is_draft else {}
    drawn = pictures_of(views, known=known)
    if views and not views[0].is_draft:
        keep_pictures(session, parse_month(month), {key: str(pictures[kind]) for view, pictures in zip(views, drawn)
                                       for kind, key in picture_keys(view).items()
                                       if key is not None and key not in known and pictures[kind] is not None})
    if fmt == "html":
        for done, (view, pictures) in enumerate(zip(views, drawn), 1):
            path = out / statement_filename(view)
            path.write_bytes(render_statement(view, pictures=pictures))
            paths.append(path)
            progress(done)
    else:
        from reports.pdf import pdf_filename, statement_pdfs

        pages = ((view, render_statement(view, pictures=pictures)) for view, pictures in zip(views, drawn))
        for view, pdf in zip(views, statement_pdfs(pages, on_printed=progress)):
            path = out / pdf_filename(statement_filename(view))
            path.write_bytes(pdf)
            paths.append(path)
    index = out / "index.html"
    index.write_bytes(render_index(views, extension=fmt))
    return WrittenStatements(month=parse_month(month), paths=tuple(paths), index=index, draft=any(v.is_draft for v in views))


def month_pack(store: Store, month: str, *, rules: str | Path | None = None, format: str = "html") -> bytes:
    """Finance's month pack of a rated month as HTML (printable on A4) or, ``format="pdf"``, an
    A4 PDF: total and change, why it changed, by service, largest movers, recovery and overhead,
    UNALLOCATED, quarantined rows, service levels missed and credits, budget position; a draft
    while the month is open."""
    return _run(store, month_pack_in, month, rules=rules, fmt=format)


def month_pack_in(session: Session, month: str, *, rules: str | Path | None = None, fmt: str = "html") -> bytes:
    """:func:`month_pack` in a transaction already open."""
    from billing.jobs.pack import month_pack as job
    from reports.html import render_month_pack
    from reports.pack import month_pack_view

    if fmt not in ("html", "pdf"):
        raise ChargebackError(f"unknown month pack format {fmt!r}: use html or pdf")
    view = month_pack_view(job(session, month, rules_path=Path(rules) if rules else None))
    html = render_month_pack(view)
    if fmt == "html":
        return html
    from reports.pdf import month_pack_pdf

    return month_pack_pdf(view, html)


# --- planning and recovery ---------------------------------------------------------------------


def forecast(store: Store, *, first_month: str | None = None, months: int = 12,
             on_progress: Callable[[int, int], None] | None = None):
    """Each business line's volumes per service forecast and priced, with an 80 % interval
    (``billing.jobs.forecast.ForecastResult``: the priced lines, methods, problems)."""
    from billing.jobs.forecast import run_forecast

    return _run(store, run_forecast, first_month=first_month, months=months, on_progress=on_progress)


@dataclass(frozen=True, slots=True)
class LineForecast:
    """One business line's forecast added up per service, tier and method, as ``chargeback
    forecast --business-line`` prints it: the forecast months, the rated months it was fitted
    on, the currency, the series by method, the problems, the rows
    (``billing.planning.totals.ForecastTotal``) and their total."""

    business_line: str
    months: tuple[str, ...]
    history_months: tuple[str, ...]
    currency: str
    methods: Mapping[str, int]
    problems: tuple[Problem, ...]
    totals: tuple
    total: Decimal


def line_forecast(store: Store, business_line: str, *, first_month: str | None = None, months: int = 12) -> LineForecast:
    """:func:`forecast` for one business line, added up per service, tier and method; refused
    (``ChargebackError``) when the line has no forecast."""
    from billing.core.money import ZERO
    from billing.planning.totals import forecast_totals

    found = forecast(store, first_month=first_month, months=months)
    totals = forecast_totals(found.lines, business_line=business_line)
    return LineForecast(business_line=business_line, months=found.months, history_months=found.history_months,
                        currency=found.currency, methods=dict(found.methods), problems=found.problems, totals=totals,
                        total=sum((t.amount for t in totals), ZERO))


def budget_to_date(store: Store, month: str, *, business_line: str | None = None):
    """Budget against actual from the start of ``month``'s fiscal year up to it, per business
    line or, for ``business_line``, per service (``billing.jobs.budgets.BudgetToDate``; no rows
    when that year has no budget), as ``chargeback budget show`` prints it."""
    from billing.core.periods import parse_month
    from billing.jobs.budgets import budget_to_date as job

    return _run(store, job, parse_month(month), business_line=business_line)


def backtest(store: Store, *, holdout: int = 6, on_progress: Callable[[int, int], None] | None = None):
    """The forecast's error (WAPE) on the last ``holdout`` rated months (``billing.jobs.forecast.BacktestResult``)."""
    from billing.jobs.forecast import run_backtest

    return _run(store, run_backtest, holdout=holdout, on_progress=on_progress)


def compare_scenarios(store: Store, path: str | Path, *, first_month: str | None = None, months: int = 12,
                      on_progress: Callable[[int, int], None] | None = None):
    """The forecast under each scenario of a YAML file against the baseline, per business line
    (``billing.jobs.forecast.ScenarioComparison``)."""
    from billing.jobs.forecast import compare_scenarios as job

    return _run(store, job, Path(path), first_month=first_month, months=months, on_progress=on_progress)


def advise(store: Store, business_line: str, month: str | None = None):
    """Each service's last 12 months priced at every tier (``billing.jobs.advice.AdviceResult``)."""
    from billing.jobs.advice import advise as job

    return _run(store, job, business_line, month)


def recovery(store: Store, *, month: str | None = None, fiscal_year: int | None = None,
             rules: str | Path | None = None):
    """Over/under recovery per service for a month or a fiscal year
    (``billing.recovery.over_under.RecoveryReport``)."""
    from billing.jobs.recovery import recovery_for

    return _run(store, recovery_for, month=month, fy=fiscal_year, rules_path=Path(rules) if rules else None)


@dataclass(frozen=True, slots=True)
class Plan:
    """The planning workbook of a fiscal year: what it shows (``result``, ``billing.jobs.plan.
    PlanResult``: months, totals, problems, the view) and the .xlsx itself."""

    result: PlanResult
    workbook: bytes


def plan(store: Store, fiscal_year: int, *, on_progress: Callable[[int, int], None] | None = None) -> Plan:
    """The planning workbook of a fiscal year, with what it holds."""
    return _run(store, plan_in, fiscal_year, on_progress=on_progress)


def plan_in(session: Session, fiscal_year: int, *, on_progress: Callable[[int, int], None] | None = None) -> Plan:
    """:func:`plan` in a transaction already open."""
    from billing.jobs.plan import build_plan
    from reports.plan_xlsx import plan_workbook

    result = build_plan(session, fiscal_year, on_progress=on_progress)
    return Plan(result=result, workbook=plan_workbook(result.view))


# --- people, sessions and API tokens -----------------------------------------------------------


def acting_as(user: str):
    """A context manager: within it the portal's signed-in ``user`` is who acts, in the audit
    trail and on what the calls issue (who closed the month, issued the note)."""
    from billing.store.audit import acting_as as job

    return job(user)


def add_user(store: Store, name: str, *, roles, lines=(), password: str | None = None):
    """Add a person who signs in to the portal, with roles (``billing.core.access.Role``) and,
    for a head, the business lines they head. ``billing.jobs.access.NewPassword``: the one-time
    password (made when none is given), to be changed at the first sign-in."""
    from billing.core.access import Role, check_password, check_roles, check_user_name
    from billing.jobs.access import add_user as job

    check_user_name(name)
    check_roles(tuple(Role(r) for r in roles), tuple(lines))
    if password is not None:
        check_password(password)
    return _run(store, job, name, roles=tuple(Role(r) for r in roles), lines=tuple(lines), password=password)


def disable_user(store: Store, name: str) -> int:
    """Disable a person; every session they have open ends (how many)."""
    from billing.jobs.access import disable_user as job

    return _run(store, job, name)


def reset_password(store: Store, name: str):
    """A new one-time password for a person (``NewPassword``); their sessions end."""
    from billing.jobs.access import reset_password as job

    return _run(store, job, name)


def users(store: Store):
    """Every person, with roles, lines, state and open sessions (``billing.core.access.User``)."""
    from billing.jobs.access import list_users

    return _run(store, list_users)


def add_token(store: Store, *, name: str, source: str | None = None, read_only: bool = False):
    """An API token for one usage source or read-only (``billing.jobs.access.NewToken``: the
    secret, shown once, kept hashed)."""
    from billing.jobs.access import add_token as job, check_new_token

    check_new_token(name=name, source=source, read_only=read_only)
    return _run(store, job, name=name, source=source, read_only=read_only)


def revoke_token(store: Store, token_id: int):
    """Revoke an API token at once (``billing.core.access.ApiToken``)."""
    from billing.jobs.access import revoke_token as job

    return _run(store, job, token_id)


def tokens(store: Store):
    """Every API token, never its secret."""
    from billing.jobs.access import list_tokens

    return _run(store, list_tokens)


def sign_in(store: Store, name: str, password: str):
    """Open a session (``billing.jobs.access.SignedIn``); raises ``LoginRefused`` once the
    refused try is kept (sign-ins are limited by the tries refused)."""
    from billing.jobs.access import sign_in as job

    result = _run(store, job, name, password)
    if isinstance(result, LoginRefused):
        raise result
    return result


def read_sso(path: str | Path, environ: Mapping[str, str] | None = None):
    """The single sign-on settings in the YAML file ``path`` (``billing.core.sso.SsoSettings``),
    the client secret from ``environ`` (default the process's environment); ``ProblemsError``
    with every problem of the file at once."""
    import os

    from billing.core.problems import Problem, ProblemCode, SourceRef
    from billing.core.sso import read_sso_settings
    from billing.core.yamldoc import read_yaml_file

    text, problem = read_yaml_file(Path(path))
    if text is None:
        raise ProblemsError([problem or Problem(code=ProblemCode.FILE_UNREADABLE, message="cannot read the file",
                                                source=SourceRef(file=str(path)))], f"{path}: not read")
    return read_sso_settings(text, os.environ if environ is None else environ, file=str(path))


def sso_sign_in(store: Store, *, issuer: str, subject: str, name: str, roles, lines):
    """Open a session for a person an OpenID Connect provider vouched for (its ID token
    verified by the caller): added at the first sign-in, their roles (``billing.core.access.Role``)
    and a head's business lines brought up to date with the provider's claim at each; raises
    ``LoginRefused`` once the refusal is kept (no role, a name held by a person who signs in
    with a password, a disabled person)."""
    from billing.jobs.access import sso_sign_in as job

    result = _run(store, job, issuer=issuer, subject=subject, name=name, roles=frozenset(roles), lines=frozenset(lines))
    if isinstance(result, LoginRefused):
        raise result
    return result


def sso_refused(store: Store, reason: str) -> LoginRefused:
    """Keep a single sign-on refused before the person is known (the provider's answer did not
    hold: state, nonce, signature, issuer, audience, expiry) in the audit trail; the refusal."""
    from billing.jobs.access import sso_refused as job

    return _run(store, job, reason)


def store_generation(store: Store) -> tuple[int, ...]:
    """A mark that changes whenever anything the portal shows may have changed (the newest audit
    event, rating run, close, document and usage feed): what a page computed is reused only
    under the same mark."""
    from billing.store.audit import generation

    return _run(store, generation)


def session_principal(store: Store, token: str):
    """Who a session belongs to (``billing.core.access.Principal``), or None."""
    from billing.jobs.access import session_principal as job

    return _run(store, job, token)


def signed_in(store: Store, token: str):
    """Who a session belongs to (a ``Principal``, or None) and :func:`store_generation`, read
    together in one query of one transaction: what the portal reads at the start of a page."""
    from billing.jobs.access import signed_in as job

    return _run(store, job, token)


def sign_out(store: Store, token: str, *, everywhere: bool = False) -> int:
    """End a session, or every session of its person; how many ended."""
    from billing.jobs.access import sign_out as job

    return _run(store, job, token, everywhere=everywhere)


def change_password(store: Store, token: str, current: str, new: str) -> None:
    """A signed-in person's new password; their other sessions end."""
    from billing.jobs.access import change_password as job

    _run(store, job, token, current, new)


def token_principal(store: Store, secret: str):
    """Who an API token is (a ``Principal`` and the ``ApiToken``), or None."""
    from billing.jobs.access import token_principal as job

    return _run(store, job, secret)


# --- disputes ----------------------------------------------------------------------------------


def disputes(store: Store, *, lines=None, state: str | None = None, invoice: str | None = None,
             line_no: int | None = None):
    """The disputes (``billing.core.disputes.Dispute``) of business lines ``lines`` (None:
    every line), newest first; ``state``: open, accepted or rejected only; ``invoice`` and
    ``line_no``: those of that invoice's line."""
    from billing.core.disputes import DisputeState
    from billing.jobs.disputes import list_disputes

    if state is not None and state not in set(DisputeState):
        raise ChargebackError(f"a dispute is open, accepted or rejected, not {state!r}")
    return _run(store, list_disputes, lines=lines, state=DisputeState(state) if state else None, invoice=invoice,
                line_no=line_no)


def dispute(store: Store, dispute_id: int, *, lines=None):
    """Dispute ``dispute_id``; None when there is none or it is of a line not in ``lines``."""
    from billing.jobs.disputes import get_dispute

    return _run(store, get_dispute, dispute_id, lines=lines)


def raise_dispute(store: Store, invoice: str, line: int, *, reason: str, amount: Decimal | None = None,
                  quantity: Decimal | None = None, debit: bool = False, lines=None):
    """Dispute a line of an issued invoice (of a business line in ``lines``): charged too much
    (or, ``debit``, too little) by ``amount`` or ``quantity``, for ``reason``; returns the dispute."""
    from billing.jobs.disputes import raise_dispute as job

    return _run(store, job, invoice, line, reason=reason, amount=amount, quantity=quantity, debit=debit, lines=lines)


def accept_dispute(store: Store, dispute_id: int, *, remark: str | None = None, amount: Decimal | None = None):
    """Accept a dispute: its credit or debit note is issued in the next open month, citing it;
    ``amount``: accept that much only, less than the claim came to, with a remark saying why."""
    from billing.jobs.disputes import accept_dispute as job

    return _run(store, job, dispute_id, remark=remark, amount=amount)


def reject_dispute(store: Store, dispute_id: int, *, reason: str):
    """Reject a dispute with a reason; nothing is issued."""
    from billing.jobs.disputes import reject_dispute as job

    return _run(store, job, dispute_id, reason=reason)
