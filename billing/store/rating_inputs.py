"""A month's rating inputs read from the store, in one place: what ``rate_month`` prices."""

from __future__ import annotations

from sqlalchemy.orm import Session

from collections import defaultdict
from decimal import Decimal

from billing.core.money import ZERO
from billing.core.periods import first_day, fiscal_months, fiscal_year, last_day
from billing.core.records import ChargeKind
from billing.rating.agreements import YearToDate
from billing.rating.fees import FeeBilled
from billing.rating.month import HeldUsage
from billing.rating.tiers import RatingInputs
from billing.store import audit
from billing.store import catalogue as catalogue_store
from billing.store import charges as charge_store
from billing.store import org as org_store
from billing.store import usage as usage_store
from tariffs.model import Catalogue, dimension_key


def month_inputs(session: Session, month: str, *, catalogue: Catalogue | None = None) -> RatingInputs:
    """The catalogue (``catalogue`` when already read), subscriptions, cost-centre owners, the
    month's active usage and its measured service levels."""
    catalogue = catalogue if catalogue is not None else catalogue_store.load_catalogue(session)
    start = audit.settings(session).fiscal_year_start_month
    subscriptions = tuple(catalogue_store.load_subscriptions(session))
    return RatingInputs(
        month=month, catalogue=catalogue,
        subscriptions=subscriptions,
        ownerships=tuple(org_store.ownerships(session)),
        usage=usage_store.month_usage(session, month),
        sla=tuple(charge_store.sla_results(session, month)),
        fiscal_year_start=start,
        year_to_date=_year_to_date(session, month, catalogue, subscriptions, start),
        business_lines=frozenset(org_store.business_line_ids(session)) if catalogue.agreements else None,
        fees_billed=_fees_billed(session, month, catalogue, subscriptions, start),
    )


def _fees_billed(session: Session, month: str, catalogue: Catalogue, subscriptions, start: int) -> tuple[FeeBilled, ...]:
    """For each business line whose subscription to a service with an in-advance fee ends in
    ``month``, the fee lines of that service in the fiscal year's earlier months (latest runs):
    what was billed for the periods the month is in. Nothing is read otherwise."""
    advance = {v.service for v in catalogue.tariffs for _t, p in v.prices for f in p.fees if not f.spread}
    first, last = first_day(month), last_day(month)
    pairs = {(s.business_line, s.service) for s in subscriptions
             if s.service in advance and s.effective_to is not None and first <= s.effective_to <= last}
    if not pairs:
        return ()
    months = [m for m in fiscal_months(fiscal_year(month, start), start) if m < month]
    found = []
    for earlier in months:
        if charge_store.last_run(session, earlier) is None:
            continue
        for charge in charge_store.month_charges(session, earlier):
            if (charge.kind is ChargeKind.FEE and (charge.business_line, charge.service) in pairs
                    and charge.period_from is not None):
                found.append(FeeBilled(business_line=charge.business_line, service=charge.service, tier=charge.tier,
                                       label=charge.label, period_from=charge.period_from, amount=charge.amount))
    return tuple(found)


def _year_to_date(session: Session, month: str, catalogue: Catalogue, subscriptions, start: int) -> tuple[YearToDate, ...]:
    """For each commitment trued-up in ``month`` (its fiscal year's last), the business line's
    charges for the service in the year's earlier months, and those months not rated while it
    was subscribed. Nothing is read in any other month."""
    year = fiscal_year(month, start)
    months = fiscal_months(year, start)
    pairs = sorted({(a.business_line, a.service) for a in catalogue.agreements
                    if a.commitment is not None and a.fiscal_year == year})
    if month != months[-1] or not pairs:
        return ()
    amounts: dict[tuple[str, str], Decimal] = defaultdict(lambda: ZERO)
    quantities: dict[tuple[str, str], dict[str, Decimal]] = defaultdict(lambda: defaultdict(lambda: ZERO))
    unrated: dict[tuple[str, str], list[str]] = defaultdict(list)
    wanted = set(pairs)
    for earlier in months[:-1]:
        if charge_store.last_run(session, earlier) is None:
            for pair in pairs:
                if any(s.business_line == pair[0] and s.service == pair[1]
                       and s.effective_from <= last_day(earlier) and (s.effective_to is None or s.effective_to >= first_day(earlier))
                       for s in subscriptions):
                    unrated[pair].append(earlier)
            continue
        for charge in charge_store.month_charges(session, earlier):
            pair = (charge.business_line, charge.service)
            if pair in wanted:
                amounts[pair] += charge.amount
                if charge.kind is ChargeKind.USAGE:
                    quantities[pair][charge.tier] += charge.quantity
    return tuple(YearToDate(business_line=line, service=service, amount=amounts[(line, service)],
                            quantities=tuple(sorted(quantities[(line, service)].items())),
                            unrated=tuple(unrated[(line, service)])) for line, service in pairs)


def held_origins(session: Session, month: str, held: tuple[HeldUsage, ...]) -> list[str]:
    """Where each of ``held`` came from: the feeds whose daily usage of the month has its
    business line, service and value (whatever its case) on its days, each with its file, days
    and rows (``usage.csv (feed 4): 2026-03-01..2026-03-31, 120 rows``)."""
    if not held:
        return []
    import polars as pl

    wanted = pl.DataFrame({
        "_held": list(range(len(held))), "business_line": [h.business_line for h in held],
        "service": [h.service for h in held], "_key": [dimension_key(h.value) for h in held],
        "_first": [h.first_day or first_day(month) for h in held], "_last": [h.last_day or last_day(month) for h in held],
    }, schema={"_held": pl.Int64, "business_line": pl.String, "service": pl.String, "_key": pl.String,
               "_first": pl.Date, "_last": pl.Date})
    usage = usage_store.month_usage(session, month, with_feeds=True)
    usage = usage.filter(pl.col("service").is_in(sorted({h.service for h in held}))).with_columns(
        pl.col("dimension_value").fill_null("").str.strip_chars().str.to_lowercase().alias("_key"))
    files = {f.id: f.file_name for f in usage_store.feeds(session, month=month)}
    per_feed = (  # one join for every held usage, not a pass over the month for each
        usage.join(wanted, on=["business_line", "service", "_key"])
        .filter(pl.col("usage_date").is_between(pl.col("_first"), pl.col("_last")))
        .group_by("_held", "feed_id").agg(pl.col("usage_date").min().alias("first"),
                                          pl.col("usage_date").max().alias("last"), pl.col("rows").sum())
        .sort("_held", "feed_id"))
    by_held: dict[int, list[tuple]] = {}
    for index, feed, first, last, rows in per_feed.iter_rows():
        by_held.setdefault(index, []).append((feed, first, last, rows))
    found = []
    for index in range(len(held)):
        per_feed_rows = by_held.get(index, [])
        found.append("; ".join(f"{files.get(feed, '?')} (feed {feed}): {first}..{last}, {rows:,} rows"
                               for feed, first, last, rows in per_feed_rows) or "no feed of the month")
    return found
