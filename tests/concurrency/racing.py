"""Races between real processes: two `chargeback` commands released together by a barrier.

The test suite (tests/concurrency/test_races.py) and the benchmark (bench/races.py) share
this module. Each racer is its own spawned interpreter with its own database connections,
so the store sees exactly what two people (or a portal and a scheduled job) at two
terminals would do; only the start is synchronised, by a ``multiprocessing.Barrier``.

One store serves every race of a kind: race ``n`` works on its own month (every other month
from 2000-01, so a credit note's next open month is never another race's), and every month
is priced alike, so each race's figures can be compared with what one command after the
other gives:

- the organisation: FIN (cost centre CC-100) and OPS (CC-200), both subscribed to DESK gold;
- DESK gold: 100.00 a month and 10.00 a ticket (no included tickets), so a month with ``q``
  tickets rates to 200.00 + 10.00 × q.

A :class:`Verdict` says whether the race ended as one command after the other would have
(exactly one winner where only one can win), how many cents were charged or invoiced twice,
how many usage rows sit in a closed month that its invoices do not cover, and what else went
wrong (a traceback, an unclear line, a wrong exit code).
"""

from __future__ import annotations

import multiprocessing
import os
import re
import traceback
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from tests.cli_helpers import load_two_business_lines, run, write

FEE = Decimal("100.00")  # DESK gold, a month and business line
TICKET = Decimal("10.00")  # DESK gold, a ticket
LINES = 2  # FIN and OPS

TARIFF_UNITS = """
    units:
      - {code: ticket, name: Service desk tickets}
"""
TARIFF_DESK = """
    services:
      - code: DESK
        name: Service desk
        unit: ticket
        kind: it
        owner: IT Service Desk
        default_tier: gold
        description: First- and second-line support.
        tiers:
          - code: gold
            name: Gold
            funding_level: premium
            service_level: {response_minutes: 15, restore_hours: 4, support_hours: 24x7}
    tariffs:
      - service: DESK
        version: "2000.1"
        effective_from: 2000-01-01
        currency: USD
        tiers:
          gold: {model: per_unit, unit_price: "10.00", monthly_fee: "100.00"}
"""
SOURCE = """
    name: {name}
    format: usage
    description: Tickets from the {name} system
"""


# --- racers ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one racer's command did: its exit code, its output and any traceback."""

    args: tuple[str, ...]
    exit_code: int
    stdout: str
    stderr: str
    traceback: str | None

    @property
    def won(self) -> bool:
        return self.exit_code == 0

    def error_line(self) -> str:
        """The command's one error line (click prints ``Error: ...``), or ''."""
        return next((line for line in self.stderr.splitlines() if line.startswith("Error: ")), "")


def _racer(index: int, barrier, tasks, results) -> None:
    """A racer's life: take a command, wait at the barrier with the other racer, run it."""
    from click.testing import CliRunner

    from cli import chargeback

    os.environ["CHARGEBACK_USER"] = f"racer-{'ab'[index]}"
    while True:
        args = tasks.get()
        if args is None:
            return
        try:
            barrier.wait(timeout=120)
            result = CliRunner().invoke(chargeback, list(args))
            error = result.exc_info
            trace = None
            if result.exception is not None and not isinstance(result.exception, SystemExit):
                trace = "".join(traceback.format_exception(*error))
            results.put((index, Outcome(tuple(args), result.exit_code, result.stdout, result.stderr, trace)))
        except BaseException as exc:  # report it rather than leave the other side waiting
            results.put((index, Outcome(tuple(args), -1, "", "", f"racer failed: {exc!r}")))


class Racers:
    """Two racer processes, started once (each start imports the engine, about a second) and
    given one command each per race."""

    def __init__(self, count: int = 2):
        context = multiprocessing.get_context("spawn")
        self.barrier = context.Barrier(count)
        self.results = context.Queue()
        self.tasks = [context.Queue() for _ in range(count)]
        self.processes = [
            context.Process(target=_racer, args=(i, self.barrier, self.tasks[i], self.results), daemon=True)
            for i in range(count)
        ]
        for process in self.processes:
            process.start()

    def race(self, *commands: list[str]) -> list[Outcome]:
        assert len(commands) == len(self.tasks)
        for queue, args in zip(self.tasks, commands):
            queue.put([str(a) for a in args])
        outcomes: dict[int, Outcome] = {}
        for _ in commands:
            index, outcome = self.results.get(timeout=300)
            outcomes[index] = outcome
        return [outcomes[i] for i in range(len(commands))]

    def close(self) -> None:
        for queue in self.tasks:
            queue.put(None)
        for process in self.processes:
            process.join(timeout=30)
            if process.is_alive():
                process.terminate()
                process.join(timeout=10)

    def __enter__(self) -> Racers:
        return self

    def __exit__(self, *_exc) -> None:
        self.close()


# --- the store the races run in ------------------------------------------------------------------


def month_of_race(number: int) -> str:
    """Race ``number``'s month: every other month from 2000-01."""
    year, month = divmod(2 * number, 12)
    return f"{2000 + year}-{month + 1:02d}"


def next_month(month: str) -> str:
    year, number = int(month[:4]), int(month[5:])
    return f"{year + number // 12}-{number % 12 + 1:02d}"


@dataclass
class RaceStore:
    """A store set up for races, and the files its races load."""

    url: str
    folder: Path
    sources: Path = field(init=False)

    def __post_init__(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        tariffs = self.folder / "tariffs"
        write(tariffs / "units.yaml", TARIFF_UNITS)
        write(tariffs / "desk.yaml", TARIFF_DESK)
        self.sources = self.folder / "sources"
        for name in ("servicedesk", "helpdesk"):
            write(self.sources / f"{name}.yaml", SOURCE.format(name=name))
        load_two_business_lines(self.url, self.folder)
        run(self.url, "tariffs", "load", tariffs)
        run(self.url, "subscriptions", "load", write(self.folder / "subscriptions.csv", """
            business_line,service,tier,effective_from
            FIN,DESK,gold,2000-01-01
            OPS,DESK,gold,2000-01-01
        """))

    def cli(self, *args: object) -> list[str]:
        """Arguments for a racer: ``chargeback --db URL args...``."""
        return ["--db", self.url, *map(str, args)]

    def usage_file(self, name: str, month: str, records: range) -> tuple[Path, Decimal]:
        """A usage file with tickets ``records`` in ``month`` (record n: n tickets, on CC-100 when
        n is odd, CC-200 when even); returns it with its ticket count."""
        lines = ["record_id,usage_date,cost_center,service,quantity,unit,description"]
        for n in records:
            day = n % 28 + 1
            lines.append(f"T{n},{month}-{day:02d},CC-{100 if n % 2 else 200},DESK,{n},ticket,ticket {n}")
        path = self.folder / f"{name}.csv"
        path.write_text("\n".join(lines) + "\n")
        return path, Decimal(sum(records))

    def load(self, path: Path, source: str = "servicedesk") -> list[str]:
        return self.cli("usage", "load", path, "--source", source, "--sources", self.sources)

    def close(self, month: str) -> str:
        """Rate and close ``month`` one command after the other; its first invoice's number."""
        run(self.url, "month", "run", month)
        closed = run(self.url, "month", "close", month, "--confirm").stdout
        return re.search(r"\(([A-Z]+-\d{4}-\d{6}) to", closed).group(1)

    def state(self, month: str) -> MonthState:
        return month_state(self.url, month)


def rated_total(tickets: Decimal) -> Decimal:
    return FEE * LINES + TICKET * tickets


# --- what the store holds after a race -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MonthState:
    month: str
    status: str
    invoices: tuple[tuple[str, str, Decimal], ...]  # (number, kind, total) of documents dated in the month
    feeds: tuple[tuple[int, str, str, int], ...]  # (id, file name, status, rows loaded) of feeds with usage in it
    tickets: Decimal  # tickets in the month's active feeds
    run_total: Decimal | None  # the latest run's chargeback total
    runs: int
    journal_debit: Decimal | None  # closed months: the journal's debit total
    rated_now: Decimal | None  # what rating the stored usage gives now (closed months)
    rows_now: int  # usage rows rating reads now
    rows_rated: int  # usage rows of the latest run
    lines_on_latest_run: bool  # every invoice line of the month points to a charge of the latest run


def month_state(url: str, month: str) -> MonthState:
    from sqlalchemy import select

    from billing.close.journal import build_journal
    from billing.jobs.rating import rate_stored_month
    from billing.core.periods import last_day
    from billing.store import charges as charge_store
    from billing.store import documents
    from billing.store import schema as t
    from billing.store import usage as usage_store
    from billing.store.db import open_store

    factory = open_store(url)
    try:
        with factory() as session:
            status = charge_store.period_status(session, month)
            docs = documents.documents_for_month(session, month)
            feeds = tuple((f.id, Path(f.file_name).name, f.status, f.rows_loaded)
                          for f in usage_store.feeds(session, month=month))
            usage = usage_store.month_usage(session, month)
            tickets = Decimal(str(usage["quantity"].sum())) if usage.height else Decimal(0)
            run_row = charge_store.last_run(session, month)
            runs = len(list(session.scalars(select(t.RatingRun.id).where(t.RatingRun.month == month))))
            charges = charge_store.month_charges(session, month)
            run_total = sum((c.amount for c in charges if c.charging_mode == "chargeback"), Decimal(0)) if run_row else None
            latest = set(charge_store.charge_ids(session, month).values())
            cited = set(session.scalars(
                select(t.InvoiceLine.charge_id).join(t.Invoice, t.Invoice.id == t.InvoiceLine.invoice_id)
                .where(t.Invoice.month == month, t.Invoice.kind == "invoice", t.InvoiceLine.charge_id.is_not(None))))
            journal = rated_now = None
            rows_now = rows_rated = 0
            if status == "closed":
                lines = build_journal(docs, period=month, posting_date=last_day(month), expense_account="6810",
                                      recovery_account="4810", recovery_cost_center="IT")
                journal = sum((line.debit for line in lines), Decimal(0))
                now = rate_stored_month(session, month)
                rated_now = sum((c.amount for c in now.charges if c.charging_mode == "chargeback"), Decimal(0))
                rows_now, rows_rated = now.usage_rows, (run_row.usage_rows if run_row else 0)
            return MonthState(
                month=month, status=status, invoices=tuple((d.number, d.kind, d.total) for d in docs), feeds=feeds,
                tickets=tickets, run_total=run_total, runs=runs, journal_debit=journal, rated_now=rated_now,
                rows_now=rows_now, rows_rated=rows_rated, lines_on_latest_run=cited <= latest,
            )
    finally:
        factory.kw["bind"].dispose()


# --- verdicts ----------------------------------------------------------------------------------


@dataclass
class Verdict:
    kind: str
    month: str
    serial: bool = True  # ended as one command after the other would have (one winner where only one can win)
    cents_duplicated: int = 0
    rows_uncovered: int = 0
    problems: list[str] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)

    def fail(self, problem: str) -> None:
        self.serial = False
        self.problems.append(problem)

    def report(self) -> str:
        said = "\n".join(f"  {' '.join(o.args[2:])} -> exit {o.exit_code}\n    stdout: {o.stdout.strip()}\n"
                         f"    stderr: {o.stderr.strip()}" + (f"\n    {o.traceback}" if o.traceback else "")
                         for o in self.outcomes)
        return f"{self.kind} in {self.month}: {'; '.join(self.problems)}\n{said}"


def _cents(amount: Decimal) -> int:
    return int((amount * 100).to_integral_value())


def _clear_loser(verdict: Verdict, outcome: Outcome, *expected: str) -> None:
    """A losing command exits 1 with one ``Error:`` line that says what happened."""
    if outcome.traceback:
        verdict.fail(f"a traceback: {outcome.traceback.strip().splitlines()[-1]}")
        return
    line = outcome.error_line()
    if outcome.exit_code != 1 or not line:
        verdict.fail(f"the loser exited {outcome.exit_code} without an error line")
    elif not any(re.search(pattern, line) for pattern in expected):
        verdict.fail(f"the loser's line says something else: {line!r}")
    elif len([l for l in outcome.stderr.splitlines() if l.startswith("Error: ") or "Traceback" in l]) != 1:
        verdict.fail("the loser printed more than one error line")


def _one_winner(verdict: Verdict, outcomes: list[Outcome], what: str, *expected: str) -> None:
    """Exactly one command succeeds; the others lose clearly (:func:`_clear_loser`)."""
    winners = [o for o in outcomes if o.won]
    if len(winners) != 1:
        verdict.fail(f"{len(winners)} {what}")
    for loser in (o for o in outcomes if not o.won):
        _clear_loser(verdict, loser, *expected)


def _no_traceback(verdict: Verdict, outcomes: list[Outcome]) -> None:
    for outcome in outcomes:
        if outcome.traceback:
            verdict.fail(f"a traceback: {outcome.traceback.strip().splitlines()[-1]}")


def _closed_month_is_covered(verdict: Verdict, state: MonthState, expected_invoiced: Decimal) -> None:
    """A closed month: its invoices are issued once, cover every usage row it holds, and its
    journal is not doubled."""
    invoiced = sum((total for _, kind, total in state.invoices if kind == "invoice"), Decimal(0))
    invoices = sum(1 for _, kind, _ in state.invoices if kind == "invoice")
    if invoices != LINES:
        verdict.fail(f"{invoices} invoices instead of {LINES}")
    if invoiced > expected_invoiced:
        verdict.cents_duplicated += _cents(invoiced - expected_invoiced)
    if invoiced != expected_invoiced:
        verdict.fail(f"invoiced {invoiced}, one close invoices {expected_invoiced}")
    if state.journal_debit is not None and state.journal_debit != invoiced:
        verdict.cents_duplicated += max(0, _cents(state.journal_debit - invoiced))
        verdict.fail(f"journal debit {state.journal_debit} for invoices of {invoiced}")
    if state.rows_now != state.rows_rated or state.rated_now != invoiced:
        verdict.rows_uncovered += max(0, state.rows_now - state.rows_rated)
        verdict.fail(f"the closed month now rates to {state.rated_now} from {state.rows_now} usage rows; "
                     f"its invoices cover {state.rows_rated} rows for {invoiced}")
    if not state.lines_on_latest_run:
        verdict.fail("invoice lines point to charges of an earlier run")


# --- the kinds of race -------------------------------------------------------------------------


def close_close(store: RaceStore, racers: Racers, number: int) -> Verdict:
    """Two closes of one month: one issues the invoices, the other is told it is closed."""
    month = month_of_race(number)
    run(store.url, "month", "run", month)
    verdict = Verdict("close x close", month)
    close = store.cli("month", "close", month, "--confirm")
    verdict.outcomes = outcomes = racers.race(close, close)
    _no_traceback(verdict, outcomes)
    _one_winner(verdict, outcomes, "closes succeeded", rf"{month} (is already|was) closed")
    _closed_month_is_covered(verdict, store.state(month), rated_total(Decimal(0)))
    return verdict


def load_load_same_file(store: RaceStore, racers: Racers, number: int) -> Verdict:
    """The same file loaded twice at once: it is charged once."""
    month = month_of_race(number)
    path, tickets = store.usage_file(f"same-{month}", month, range(1, 41))
    verdict = Verdict("load x load, same file", month)
    verdict.outcomes = outcomes = racers.race(store.load(path), store.load(path))
    _no_traceback(verdict, outcomes)
    new_feed = [o for o in outcomes if o.won and re.search(r": feed \d+ \(", o.stdout)]
    if len(new_feed) != 1:
        verdict.fail(f"{len(new_feed)} loads stored a feed")
    for other in (o for o in outcomes if o not in new_feed):
        if other.won:  # it started after the winner had finished: the plain re-send line
            if "already loaded as feed" not in other.stdout:
                verdict.fail(f"the second load said {other.stdout.strip()!r}")
        else:
            _clear_loser(verdict, other, r"loaded as feed \d+ by another command")
    _loaded_once(verdict, store, month, tickets)
    return verdict


def load_load_two_sources(store: RaceStore, racers: Racers, number: int) -> Verdict:
    """The same file loaded at once under two sources (a mistyped --source): it is charged once,
    the other load is told where it went."""
    month = month_of_race(number)
    path, tickets = store.usage_file(f"twice-{month}", month, range(1, 41))
    verdict = Verdict("load x load, same file under two sources", month)
    verdict.outcomes = outcomes = racers.race(store.load(path, "servicedesk"), store.load(path, "helpdesk"))
    _no_traceback(verdict, outcomes)
    _one_winner(verdict, outcomes, "loads succeeded", r"nothing was loaded under source")
    _loaded_once(verdict, store, month, tickets)
    return verdict


def load_load_overlapping(store: RaceStore, racers: Racers, number: int) -> Verdict:
    """Two files of one source with records in common, loaded at once: each record once."""
    month = month_of_race(number)
    first, _ = store.usage_file(f"first-{month}", month, range(1, 31))
    second, _ = store.usage_file(f"second-{month}", month, range(21, 51))
    tickets = Decimal(sum(range(1, 51)))
    verdict = Verdict("load x load, overlapping records", month)
    verdict.outcomes = outcomes = racers.race(store.load(first), store.load(second))
    _no_traceback(verdict, outcomes)
    if not all(o.won for o in outcomes):
        verdict.fail("a load failed")
    skipped = [int(m.group(1)) for o in outcomes for m in [re.search(r"duplicates skipped (\d+)", o.stdout)] if m]
    if sorted(skipped) != [0, 10]:
        verdict.fail(f"duplicates skipped {skipped}, one load after the other skips [0, 10]")
    _same_usage(verdict, store, store.state(month), tickets)
    return verdict


def _loaded_once(verdict: Verdict, store: RaceStore, month: str, tickets: Decimal) -> None:
    state = store.state(month)
    active = [f for f in state.feeds if f[2] == "active"]
    if len(active) != 1:
        verdict.fail(f"{len(active)} active feeds: {active}")
    _same_usage(verdict, store, state, tickets)


def _same_usage(verdict: Verdict, store: RaceStore, state: MonthState, tickets: Decimal) -> None:
    if state.tickets > tickets:
        verdict.cents_duplicated += _cents(TICKET * (state.tickets - tickets))
    if state.tickets != tickets:
        verdict.fail(f"{state.tickets} tickets stored, the files hold {tickets}")
    out = run(store.url, "month", "run", state.month).stdout
    found = re.search(r"chargeback: ([\d,]+\.\d\d) USD", out)
    rated = Decimal(found.group(1).replace(",", "")) if found else Decimal(0)
    if rated != rated_total(tickets):
        verdict.fail(f"the month rates to {rated}, not {rated_total(tickets)}")


def load_close(store: RaceStore, racers: Racers, number: int) -> Verdict:
    """A load into a month racing its close: either the load is first (and the close is told
    the usage changed) or the close is (and the load is told the month is closed)."""
    month = month_of_race(number)
    run(store.url, "month", "run", month)
    path, tickets = store.usage_file(f"late-{month}", month, range(1, 41))
    verdict = Verdict("load x close", month)
    verdict.outcomes = outcomes = racers.race(store.load(path), store.cli("month", "close", month, "--confirm"))
    loaded, closed = outcomes
    _no_traceback(verdict, outcomes)
    state = store.state(month)
    if state.status == "closed":  # whoever won, a closed month's invoices cover all it holds
        _closed_month_is_covered(verdict, state, rated_total(Decimal(0)))
    if loaded.won == closed.won:
        verdict.fail("both commands succeeded" if loaded.won else "both commands failed")
    elif closed.won:
        _clear_loser(verdict, loaded, rf"closed month {month}")
    else:
        _clear_loser(verdict, closed, r"changed since it was rated")
        if state.status != "open" or state.tickets != tickets:
            verdict.fail(f"{month} is {state.status} with {state.tickets} tickets")
    return verdict


def run_close(store: RaceStore, racers: Racers, number: int) -> Verdict:
    """A month run again racing its close: the close invoices the charges that are the
    month's, and a run never changes a closed month."""
    month = month_of_race(number)
    path, tickets = store.usage_file(f"run-{month}", month, range(1, 41))
    run(store.url, *store.load(path)[2:])
    run(store.url, "month", "run", month)
    verdict = Verdict("run x close", month)
    verdict.outcomes = outcomes = racers.race(store.cli("month", "run", month), store.cli("month", "close", month, "--confirm"))
    rerun, closed = outcomes
    _no_traceback(verdict, outcomes)
    if not closed.won:
        verdict.fail("the close failed")  # a run first leaves the same inputs rated, so the close goes ahead
    if not rerun.won:
        _clear_loser(verdict, rerun, rf"{month} (is|was) closed")
    _closed_month_is_covered(verdict, store.state(month), rated_total(tickets))
    return verdict


def adjust_reopen(store: RaceStore, racers: Racers, number: int) -> Verdict:
    """A credit note against a month's invoice racing the month's reopening."""
    month = month_of_race(number)
    invoice = store.close(month)
    verdict = Verdict("adjust x reopen", month)
    verdict.outcomes = outcomes = racers.race(
        store.cli("adjust", "--invoice", invoice, "--line", "1", "--amount", "30.00", "--reason", "outage"),
        store.cli("month", "reopen", month, "--reason", "wrong tier"),
    )
    adjusted, reopened = outcomes
    _no_traceback(verdict, outcomes)
    if not reopened.won:
        verdict.fail("the reopen failed")  # a note first leaves the month closed, so the reopen goes ahead
    state, following = store.state(month), store.state(next_month(month))
    cancellations = [(n, total) for n, kind, total in state.invoices if kind == "credit_note"]
    notes = [(n, total) for n, kind, total in following.invoices if kind == "credit_note"]
    if state.status != "open" or len(cancellations) != LINES:
        verdict.fail(f"{month} is {state.status} with {len(cancellations)} cancellations")
    if adjusted.won:
        if len(notes) != 1 or notes[0][1] != Decimal("-30.00"):
            verdict.fail(f"credit notes in {following.month}: {notes}")
        elif cancellations and notes[0][0] > min(n for n, _ in cancellations):
            verdict.fail("the note against an invoice was numbered after the invoice's cancellation")
    else:
        _clear_loser(verdict, adjusted, rf"{month} is open")
        if notes:
            verdict.fail(f"a refused note was issued: {notes}")
    return verdict


def adjust_adjust(store: RaceStore, racers: Racers, number: int) -> Verdict:
    """Two credits against one invoice line that together exceed it: one is issued."""
    month = month_of_race(number)
    invoice = store.close(month)
    note = store.cli("adjust", "--invoice", invoice, "--line", "1", "--amount", "60.00", "--reason", "outage")
    verdict = Verdict("adjust x adjust", month)
    verdict.outcomes = outcomes = racers.race(note, note)
    _no_traceback(verdict, outcomes)
    _one_winner(verdict, outcomes, f"notes issued against a line of {FEE}", r"40\.00 left to credit")
    notes = [total for _, kind, total in store.state(next_month(month)).invoices if kind == "credit_note"]
    credited = -sum(notes, Decimal(0))
    if credited > FEE:
        verdict.cents_duplicated += _cents(credited - FEE)
    if credited != Decimal("60.00"):
        verdict.fail(f"credited {credited} in all")
    return verdict


KINDS = {
    "close-close": close_close,
    "load-load-same-file": load_load_same_file,
    "load-load-overlapping": load_load_overlapping,
    "load-load-two-sources": load_load_two_sources,
    "load-close": load_close,
    "run-close": run_close,
    "adjust-reopen": adjust_reopen,
    "adjust-adjust": adjust_adjust,
}
