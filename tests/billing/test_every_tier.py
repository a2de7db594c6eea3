"""A month priced at every tier (billing.rating.tiers): one function for statement quotes, tier
options and tier advice."""

import datetime as dt
from decimal import Decimal

import polars as pl

from billing.core.records import Ownership, SlaResult, Subscription
from billing.rating.month import USAGE_SCHEMA, rate_month
from billing.rating.tiers import RatingInputs, price_at_every_tier
from tests.billing.test_rating_tiers import DESK

LINES = ("FIN", "OPS")
SUBSCRIPTIONS = (Subscription(business_line="FIN", service="DESK", tier="silver", effective_from=dt.date(2026, 1, 1)),
                 Subscription(business_line="OPS", service="DESK", tier="gold", effective_from=dt.date(2026, 4, 16)))
OWNERS = tuple(Ownership(cost_center=f"CC-{line}", business_line=line, effective_from=dt.date(2000, 1, 1), effective_to=None)
               for line in LINES)
USAGE = pl.DataFrame([(dt.date(2026, 4, 10), line, f"CC-{line}", "DESK", None, Decimal(q), Decimal(0), 1)
                      for line, q in (("FIN", "25"), ("OPS", "7"))], schema=list(USAGE_SCHEMA), orient="row").cast(USAGE_SCHEMA)
SLA = (SlaResult(service="DESK", tier="gold", metric="availability_pct", achieved=Decimal("99.0")),)
INPUTS = RatingInputs(month="2026-04", catalogue=DESK, subscriptions=SUBSCRIPTIONS, ownerships=OWNERS, usage=USAGE, sla=SLA)


def _at(inputs: RatingInputs, line: str, tier: str) -> Decimal:
    """The line's month with its subscription changed to ``tier`` for the whole month."""
    subs = [Subscription(business_line=line, service="DESK", tier=tier, effective_from=dt.date(2026, 1, 1))]
    rated = rate_month(month=inputs.month, catalogue=inputs.catalogue, subscriptions=subs, ownerships=inputs.ownerships,
                       usage=inputs.usage.filter(pl.col("business_line") == line), sla=inputs.sla)
    return sum((c.amount for c in rated.charges), Decimal(0))


def test_each_tier_is_the_month_as_if_subscribed_to_it_all_month():
    figures = price_at_every_tier(INPUTS, [(line, "DESK") for line in LINES])
    for line in LINES:
        assert [f.tier for f in figures[(line, "DESK")]] == ["gold", "silver"]  # best first
        assert {f.tier: f.amount for f in figures[(line, "DESK")]} == {t: _at(INPUTS, line, t) for t in ("gold", "silver")}
    gold = figures[("FIN", "DESK")][0]
    # gold: 25 × 10.00 + 290.00, less its 25 % service credit for 99.0 against 99.9
    assert (gold.amount, gold.credit) == (Decimal("405.00"), Decimal("-135.00"))
    assert dict(gold.achieved) == {"availability_pct": Decimal("99.0")}


def test_a_business_line_priced_alone_or_with_every_other_gets_the_same_figures():
    together = price_at_every_tier(INPUTS, [(line, "DESK") for line in LINES])
    for line in LINES:
        alone = price_at_every_tier(INPUTS.of_business_line(line), [(line, "DESK")])
        assert alone == {(line, "DESK"): together[(line, "DESK")]}
