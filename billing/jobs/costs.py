"""Load IT cost files and allocation driver files.

A cost load is one transaction and behaves like a usage load: a file already loaded (same
content) loads nothing; rows with problems are quarantined with their row numbers (or, with
``strict``, nothing is loaded); costs already loaded from another file are skipped as
duplicates; ``replace`` marks earlier feeds of the same months and scenarios as replaced.
A driver load is all or nothing and updates values in place.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from sqlalchemy.orm import Session

from billing.recovery.costs import COST_COLUMNS, COST_OPTIONAL, DRIVER_COLUMNS, cost_changes, cost_identity, parse_costs, parse_drivers
from billing.feeds.read import file_digest
from billing.core.limits import COST_FEED_MONTHS, months_that_fit
from billing.core.money import ZERO
from billing.core.problems import Ask, Asked, ChargebackError, Problem, ProblemCode, ProblemsError, errors
from billing.store import audit
from billing.store import catalogue as catalogue_store
from billing.store import costs as cost_store
from billing.store import locks
from billing.store import org as org_store
from billing.files.tables import read_table


@dataclass(slots=True)
class CostLoadResult:
    feed_id: int | None
    file_name: str
    already_loaded_as: int | None = None
    rows_read: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    rows_duplicate: int = 0
    rows_conflict: int = 0  # cost lines of an identity loaded before (in the file or a feed) with other values
    amount_loaded: Decimal = ZERO
    currency: str = ""
    months: list[str] = field(default_factory=list)
    replaced_feeds: list[int] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def reconciliation(self) -> str:
        conflicts = f" + conflicts quarantined {self.rows_conflict:,}" if self.rows_conflict else ""
        return (f"rows read {self.rows_read:,} = loaded {self.rows_loaded:,} + quarantined {self.rows_rejected:,} "
                f"+ duplicates skipped {self.rows_duplicate:,}{conflicts}; amount loaded {self.amount_loaded:,} {self.currency}")


@dataclass(frozen=True, slots=True)
class DriverLoadResult:
    rows: int
    added: int
    updated: int
    months: tuple[str, ...]
    drivers: tuple[str, ...]


def cost_currency(session: Session) -> str:
    """The catalogue's currency (every cost is in it); the ``currency`` setting when no
    catalogue is loaded."""
    catalogue = catalogue_store.load_catalogue(session)
    currencies = {tv.currency for tv in catalogue.tariffs}
    if len(currencies) == 1:
        return currencies.pop()
    return audit.settings(session).currency


@dataclass(frozen=True, slots=True)
class CostFeeds:
    """The loaded cost files with their reconciliation counts, and the currency their amounts are in."""

    currency: str
    feeds: tuple[cost_store.CostFeedInfo, ...]


def cost_feeds(session: Session) -> CostFeeds:
    """Every cost file loaded, oldest first (`costs feeds`)."""
    return CostFeeds(currency=cost_currency(session), feeds=tuple(cost_store.feeds(session)))


def load_cost_file(session: Session, path: Path, *, strict: bool = False, replace: bool = False) -> CostLoadResult:
    path = Path(path)
    if not path.is_file():
        raise ChargebackError(f"{path}: no such file")
    result = CostLoadResult(feed_id=None, file_name=str(path))
    digest = file_digest(path)
    locks.lock_costs(session)  # the hash and identities below hold until the commit
    earlier = cost_store.feed_with_hash(session, digest)
    if earlier is not None and not replace:
        result.already_loaded_as = earlier.id
        return result
    rows, problems = read_table(path, required=COST_COLUMNS, optional=COST_OPTIONAL, numbers=("amount",))
    if errors(problems):
        raise ProblemsError(problems, f"{path}: nothing could be read; nothing was loaded")
    result.currency = cost_currency(session)
    lines, problems = parse_costs(rows, currency=result.currency)
    result.rows_read = len(rows)
    result.problems = problems
    if strict and errors(problems):
        raise ProblemsError(problems, f"{path}: {len(errors(problems))} problem(s) and strict loading: nothing was loaded",
                            asks_for=(Ask.STRICT,))
    user, now = audit.current_user(), audit.now()
    feed_id = cost_store.create_feed(session, file_name=str(path), digest=digest, user=user, at=now)
    result.feed_id = feed_id
    keys = {(line.scenario, line.month) for line in lines}
    replaced = cost_store.feeds_covering(session, keys, exclude=feed_id) if replace else []
    if earlier is not None and earlier.id not in replaced:
        replaced.append(earlier.id)
    stored = cost_store.identities(session, {line.month for line in lines}, exclude_feeds=set(replaced) | {feed_id})
    fresh, repeated = [], 0
    for line in lines:  # a cost line of an identity loaded before: a duplicate, or a conflict when it differs
        loaded = stored.get(cost_identity(line))
        if loaded is None:
            fresh.append(line)
            continue
        differ = cost_changes(line, loaded.amount)
        if not differ:
            repeated += 1
            continue
        problems.append(Problem(
            code=ProblemCode.CONFLICT, source=line.source,
            message=f"this cost ({line.scenario} {line.month} {line.cost_pool} {line.gl_account} {line.source_ref}) "
                    f"was loaded by cost feed {loaded.feed_id} ({Path(loaded.file_name).name}, row {loaded.row_no}) "
                    f"with other values ({differ}); this row is not loaded",
            hint=f"to correct cost feed {loaded.feed_id}, load its corrected complete file as a replacement of the feed",
            asks_for=(Asked(Ask.REPLACE),)))
    if strict and errors(problems):
        raise ProblemsError(problems, f"{path}: {len(errors(problems))} problem(s) and strict loading: nothing was loaded",
                            asks_for=(Ask.STRICT,))
    result.problems = problems
    result.rows_conflict = sum(1 for p in problems if p.code is ProblemCode.CONFLICT)
    result.rows_duplicate = repeated + sum(1 for p in problems if p.code is ProblemCode.DUPLICATE)
    result.rows_rejected = len({p.source.row for p in errors(problems)
                                if p.code not in (ProblemCode.DUPLICATE, ProblemCode.CONFLICT)})
    months = sorted({line.month for line in fresh})
    if len(months) > months_that_fit(COST_FEED_MONTHS):
        raise ChargebackError(f"{path}: the file has costs in {len(months)} months ({months[0]} to {months[-1]}); a cost "
                              f"file may cover at most {months_that_fit(COST_FEED_MONTHS)} months: split it, e.g. by "
                              f"year; nothing was loaded")
    cost_store.insert_entries(session, feed_id, fresh)
    cost_store.insert_rejects(session, feed_id, errors(problems))
    cost_store.mark_replaced(session, replaced, feed_id)
    result.rows_loaded = len(fresh)
    result.amount_loaded = sum((line.amount for line in fresh), ZERO)
    result.months = sorted({f"{line.scenario} {line.month}" for line in fresh})
    result.replaced_feeds = replaced
    cost_store.finish_feed(session, feed_id, months=months, rows_read=result.rows_read,
                           rows_loaded=result.rows_loaded, rows_rejected=result.rows_rejected,
                           rows_duplicate=result.rows_duplicate, rows_conflict=result.rows_conflict,
                           amount_total=result.amount_loaded)
    audit.record(session, "costs.load", f"cost feed {feed_id} {path.name}", result.reconciliation())
    return result


def load_driver_file(session: Session, path: Path) -> DriverLoadResult:
    path = Path(path)
    if not path.is_file():
        raise ChargebackError(f"{path}: no such file")
    rows, problems = read_table(path, required=DRIVER_COLUMNS, numbers=("value",))
    locks.lock_costs(session)
    records, more = parse_drivers(rows, business_lines=org_store.business_line_ids(session))
    problems += more
    if errors(problems):
        raise ProblemsError(problems, f"{path}: {len(errors(problems))} problem(s); nothing was loaded")
    added, updated = cost_store.save_drivers(session, records)
    months = tuple(sorted({r.month for r in records}))
    drivers = tuple(sorted({r.driver for r in records}))
    audit.record(session, "drivers.load", str(path), f"{len(records)} values ({', '.join(drivers)}) for {', '.join(months)}")
    return DriverLoadResult(rows=len(records), added=added, updated=updated, months=months, drivers=drivers)
