"""Validate and load the catalogue and tariffs; load subscriptions."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from billing.core.periods import first_day, last_day
from billing.core.problems import ChargebackError, Problem, ProblemCode, ProblemsError, errors
from billing.core.records import Subscription
from billing.store import audit
from billing.store import catalogue as catalogue_store
from billing.store import locks
from billing.store import org as org_store
from billing.store.catalogue import CatalogueChanges
from billing.organisation.subscriptions import COLUMNS, OPTIONAL, merge_subscriptions, parse_subscriptions
from billing.files.tables import read_table
from tariffs.load import load_catalogue
from tariffs.model import Catalogue, Service, TariffVersion, Tier, TierPrice
from tariffs.validate import validate_catalogue, validate_subscriptions


def check_catalogue(directory: Path) -> tuple[Catalogue, list[Problem]]:
    """Read and validate a tariff directory; every problem at once."""
    if not Path(directory).is_dir():
        raise ChargebackError(f"{directory} is not a directory of tariff files")
    catalogue, problems = load_catalogue(Path(directory))
    problems = problems + validate_catalogue(catalogue)
    return catalogue, problems


def load_tariffs(session: Session, directory: Path) -> CatalogueChanges:
    catalogue, problems = check_catalogue(directory)
    if errors(problems):
        raise ProblemsError(problems, f"{directory}: {len(errors(problems))} problem(s); nothing was loaded")
    locks.lock_master_data(session)  # the closed months it checks against stay closed, and no close runs meanwhile
    changes = catalogue_store.save_catalogue(session, catalogue)
    audit.record(session, "tariffs.load", str(directory),
                 f"versions added {changes.versions_added}, updated {changes.versions_updated}")
    return changes


@dataclass(frozen=True, slots=True, kw_only=True)
class RateCardLine:
    """One tier of a service and the price of the tariff version in force on a day (``version``
    None: no tariff is in force)."""

    service: Service
    tier: Tier
    version: TariffVersion | None

    @property
    def price(self) -> TierPrice | None:
        return self.version.price(self.tier.code) if self.version else None


def rate_card(session: Session, day: dt.date) -> tuple[RateCardLine, ...]:
    """Every tier of every stored service with the tariff version in force on ``day``."""
    catalogue = catalogue_store.load_catalogue(session)
    if not catalogue.services:
        raise ChargebackError("no catalogue is loaded yet: run `chargeback tariffs load DIR` first")
    return tuple(RateCardLine(service=service, tier=tier, version=catalogue.tariff_at(service.code, day))
                 for service in catalogue.services for tier in service.tiers)


@dataclass(frozen=True, slots=True)
class SubscriptionLoadResult:
    read: int
    total: int


def load_subscription_file(session: Session, path: Path) -> SubscriptionLoadResult:
    rows, problems = read_table(path, required=COLUMNS, optional=OPTIONAL)
    incoming, more = parse_subscriptions(rows)
    problems += more
    locks.lock_master_data(session)  # no close meanwhile: the closed months checked below stay as read
    catalogue = catalogue_store.load_catalogue(session)
    if not catalogue.services:
        raise ChargebackError("no catalogue is loaded yet: run `chargeback tariffs load DIR` first")
    known_lines = set(org_store.business_line_ids(session))
    for sub in incoming:
        if sub.business_line not in known_lines:
            problems.append(Problem(code=ProblemCode.UNKNOWN_BUSINESS_LINE, message=f"business line {sub.business_line!r} does not exist", source=sub.source, hint="load it with `chargeback org load` first"))
    problems += validate_subscriptions(catalogue, [(s.source, s.business_line, s.service, s.tier) for s in incoming])
    existing = catalogue_store.load_subscriptions(session)
    merged, more = merge_subscriptions(existing, incoming)
    problems += more
    if errors(problems):
        raise ProblemsError(problems, f"{path}: {len(errors(problems))} problem(s); nothing was loaded")
    _refuse_closed_changes(catalogue_store.closed_months(session), existing, merged)
    catalogue_store.replace_subscriptions(session, merged)
    audit.record(session, "subscriptions.load", str(path), f"{len(incoming)} rows; {len(merged)} subscriptions in force")
    return SubscriptionLoadResult(read=len(incoming), total=len(merged))


def _refuse_closed_changes(closed: list[str], before: list[Subscription], after: list[Subscription]) -> None:
    for month in closed:
        if _clip(before, month) != _clip(after, month):
            raise ChargebackError(
                f"this would change subscriptions in the closed month {month}; "
                f"date the change after the last closed month, or reopen {month} first"
            )


def _clip(subs: list[Subscription], month: str) -> set[tuple]:
    start, end = first_day(month), last_day(month)
    clipped = set()
    for s in subs:
        if s.effective_from <= end and (s.effective_to is None or s.effective_to >= start):
            clipped.add((s.business_line, s.service, s.tier, max(s.effective_from, start), min(s.effective_to or end, end)))
    return clipped
