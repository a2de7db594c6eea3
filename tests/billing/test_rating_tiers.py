"""Which tier prices a usage: docs/pricing.md, "Which tier prices a usage".

DESK as in test_rating: gold 10.00 a ticket + 290.00 a month; silver 8.00 a ticket, 10
included. April has 30 days.
"""

import datetime as dt
from decimal import Decimal
from fractions import Fraction

import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from billing.core.money import round_minor
from billing.rating.month import NO_SUBSCRIPTION_NAMED, OTHER_TIER_NAMED, USAGE_SCHEMA, rate_month
from billing.core.records import ChargeKind, Ownership, Subscription
from tests.billing.test_rating import CATALOGUE
from tariffs.load import load_catalogue

OWNERS = [Ownership(cost_center="CC1", business_line="FIN", effective_from=dt.date(2000, 1, 1), effective_to=None)]
APRIL = [dt.date(2026, 4, d) for d in range(1, 31)]


def _catalogue(tmp_path_factory=None):
    import tempfile
    import textwrap
    from pathlib import Path

    folder = Path(tempfile.mkdtemp())
    (folder / "desk.yaml").write_text(textwrap.dedent(CATALOGUE))
    found, problems = load_catalogue(folder)
    assert not problems
    return found


DESK = _catalogue()


def feed(*rows):
    """rows: (day of April, tier the feed names or None, quantity)."""
    return pl.DataFrame(
        [(dt.date(2026, 4, d), "FIN", "CC1", "DESK", tier, Decimal(q), Decimal(0), 1) for d, tier, q in rows],
        schema=list(USAGE_SCHEMA), orient="row",
    ).cast(USAGE_SCHEMA)


def silver(first: int = 1, last: int | None = 30) -> list[Subscription]:
    return [Subscription(business_line="FIN", service="DESK", tier="silver", effective_from=dt.date(2026, 4, first),
                         effective_to=dt.date(2026, 4, last) if last else None)]


def usage_charges(rated):
    assert not rated.problems
    return [c for c in rated.charges if c.kind is ChargeKind.USAGE]


def test_usage_naming_another_tier_is_priced_at_the_subscribed_tier_and_flagged():
    # FIN takes silver all April; the feed names gold for 15 tickets on the 5th and no tier for
    # 5 on the 20th. All 20 are silver: (20 - 10 included) × 8.00 = 80.00, flagged.
    # (It was 15 × 10.00 = 150.00 at gold with gold's fee prorated by 0 days, unflagged.)
    charges = usage_charges(rate_month(month="2026-04", catalogue=DESK, subscriptions=silver(), ownerships=OWNERS,
                                       usage=feed((5, "gold", "15"), (20, None, "5"))))
    assert [(c.tier, c.quantity, c.amount) for c in charges] == [("silver", Decimal(20), Decimal("80.00"))]
    assert charges[0].flags == (OTHER_TIER_NAMED,)


def test_naming_the_subscribed_tier_is_not_flagged():
    charges = usage_charges(rate_month(month="2026-04", catalogue=DESK, subscriptions=silver(), ownerships=OWNERS,
                                       usage=feed((5, "silver", "15"))))
    assert charges[0].flags == () and charges[0].amount == Decimal("40.00")  # (15 - 10) × 8.00


def test_usage_on_a_day_without_subscription_pays_the_named_tiers_terms_over_those_days():
    # FIN takes silver 1-10 April only; 5 tickets named gold on the 20th, a day without a
    # subscription. Gold for the 20 days without one: 5 × 10.00 + 290.00 × 20/30 = 243.33,
    # flagged. (It was 50.00: gold's fee prorated by 0 days.) Silver (no usage, no fee) is 0.
    charges = usage_charges(rate_month(month="2026-04", catalogue=DESK, subscriptions=silver(1, 10), ownerships=OWNERS,
                                       usage=feed((20, "gold", "5"))))
    assert [(c.tier, c.amount, c.segment_from, c.segment_to) for c in charges] == [
        ("gold", Decimal("243.33"), dt.date(2026, 4, 11), dt.date(2026, 4, 30))]
    assert charges[0].flags == (NO_SUBSCRIPTION_NAMED,)


def _expected(first: int | None, last: int | None, rows) -> dict[str, Decimal]:
    """The rule written out again, by hand: subscribed days (``first``..``last``, silver) price
    every usage at silver; other days at the named tier, else silver (the default); each
    tier's terms over the days it is in force (silver: included 10 × days/30; gold: 10.00 a
    ticket + 290.00 × days/30)."""
    subscribed = set(range(first, last + 1)) if first else set()
    other = set(range(1, 31)) - subscribed
    quantity = {"silver": Fraction(0), "gold": Fraction(0)}
    days = {"silver": set(subscribed), "gold": set()}
    used = set()
    for day, tier, q in rows:
        priced = "silver" if day in subscribed else (tier or "silver")
        quantity[priced] += Fraction(q)
        used.add(priced)
        if day not in subscribed:
            days[priced] |= other
    amounts = {}
    if "silver" in used or subscribed:
        share = Fraction(len(days["silver"]), 30)
        amounts["silver"] = max(Fraction(0), quantity["silver"] - 10 * share) * 8
    if "gold" in used:
        amounts["gold"] = quantity["gold"] * 10 + 290 * Fraction(len(days["gold"]), 30)
    return {tier: round_minor(Decimal(a.numerator) / Decimal(a.denominator), "USD") for tier, a in amounts.items()
            if a or tier in used}


subscriptions = st.one_of(st.none(), st.tuples(st.integers(1, 30), st.integers(1, 30)).map(sorted))
usage_rows = st.lists(st.tuples(st.integers(1, 30), st.sampled_from([None, "gold", "silver"]), st.integers(0, 40)),
                      min_size=1, max_size=8)


@given(subscribed=subscriptions, rows=usage_rows)
def test_property_every_usage_pays_its_tiers_terms_over_the_days_in_force(subscribed, rows):
    first, last = subscribed if subscribed else (None, None)
    subs = silver(first, last) if subscribed else []
    rated = rate_month(month="2026-04", catalogue=DESK, subscriptions=subs, ownerships=OWNERS, usage=feed(*rows))
    charges = usage_charges(rated)
    assert {c.tier: c.amount for c in charges} == _expected(first, last, rows)
    in_force = set(range(first, last + 1)) if subscribed else set()
    for charge in charges:
        named_other = any(d in in_force and tier not in (None, charge.tier) for d, tier, _q in rows)
        assert (OTHER_TIER_NAMED in charge.flags) == (named_other and charge.tier == "silver")


@given(rows=usage_rows)
def test_property_on_subscribed_days_the_tier_a_feed_names_changes_nothing_but_flags(rows):
    named = rate_month(month="2026-04", catalogue=DESK, subscriptions=silver(), ownerships=OWNERS, usage=feed(*rows))
    unnamed = rate_month(month="2026-04", catalogue=DESK, subscriptions=silver(), ownerships=OWNERS,
                         usage=feed(*[(d, None, q) for d, _tier, q in rows]))
    assert [(c.tier, c.quantity, c.amount) for c in named.charges] == [(c.tier, c.quantity, c.amount) for c in unnamed.charges]
    assert all((OTHER_TIER_NAMED in c.flags) == any(t == "gold" for _d, t, _q in rows) for c in named.charges)


def test_month_review_and_the_statement_flag_usage_naming_another_tier(db_url, tmp_path):
    from tests.cli_helpers import load_two_business_lines, run, write
    from tests.conftest import EXAMPLE_TARIFFS

    load_two_business_lines(db_url, tmp_path)
    run(db_url, "tariffs", "load", EXAMPLE_TARIFFS)
    run(db_url, "subscriptions", "load", write(tmp_path / "subs.csv", """
        business_line,service,tier,effective_from
        FIN,DESK,silver,2026-01-01
    """))
    run(db_url, "usage", "load", write(tmp_path / "usage.csv", """
        record_id,usage_date,business_line,service,tier,quantity,unit
        T-1,2026-03-05,FIN,DESK,gold,3,ticket
        T-2,2026-03-06,FIN,DESK,,2,ticket
    """), "--source", "desk", "--new-source")
    run(db_url, "month", "run", "2026-03")
    review = run(db_url, "month", "review", "2026-03").stdout
    assert "Flagged charges: 1" in review and f"FIN DESK silver: {OTHER_TIER_NAMED}" in review
    run(db_url, "statements", "2026-03", "--out", tmp_path / "st")
    html = next((tmp_path / "st").glob("*FIN*.html")).read_text()
    assert f"Note: {OTHER_TIER_NAMED}" in html


def _split_april() -> list[Subscription]:
    """FIN takes silver on 1-5 and 26-30 April, gold on 6-25."""
    return [Subscription(business_line="FIN", service="DESK", tier=tier, effective_from=dt.date(2026, 4, a),
                         effective_to=dt.date(2026, 4, b)) for tier, a, b in (("silver", 1, 5), ("gold", 6, 25), ("silver", 26, 30))]


def test_a_charge_keeps_the_days_its_tier_and_version_were_in_force():
    # silver's segment spans 1..30 but is in force 10 days; gold's 20: each charge keeps its
    # days and the fraction its fee and included quantity were prorated by
    charges = usage_charges(rate_month(month="2026-04", catalogue=DESK, subscriptions=_split_april(), ownerships=OWNERS,
                                       usage=feed((2, None, "2"), (10, None, "5"))))
    found = {c.tier: (c.segment_from, c.segment_to, c.days_in_force, c.fraction, c.amount) for c in charges}
    assert found == {
        "silver": (dt.date(2026, 4, 1), dt.date(2026, 4, 30), 10, Fraction(1, 3), Decimal("0.00")),  # 2 of 3.33 included
        "gold": (dt.date(2026, 4, 6), dt.date(2026, 4, 25), 20, Fraction(2, 3), Decimal("243.33")),  # 5 × 10 + 290 × 20/30
    }


def test_a_service_credit_keeps_the_days_of_the_charge_it_credits():
    from billing.core.records import SlaResult

    rated = rate_month(month="2026-04", catalogue=DESK, subscriptions=_split_april(), ownerships=OWNERS,
                       usage=feed((10, None, "5")), sla=[SlaResult(service="DESK", tier="gold", metric="availability_pct",
                                                                  achieved=Decimal("99.0"))])
    credit = next(c for c in rated.charges if c.kind is ChargeKind.SLA_CREDIT)
    assert credit.amount == Decimal("-60.83") and credit.days_in_force == 20  # 25 % of 243.33


def test_days_in_force_beyond_the_month_are_refused():
    import dataclasses

    import pytest

    charge = usage_charges(rate_month(month="2026-04", catalogue=DESK, subscriptions=silver(), ownerships=OWNERS,
                                      usage=feed((5, None, "15"))))[0]
    with pytest.raises(ValueError, match="31 days in force"):
        dataclasses.replace(charge, days_in_force=31)


def test_the_store_keeps_each_charges_days_in_force_and_its_vocabulary(db_url, tmp_path):
    from billing.store import charges as charge_store
    from billing.store.db import open_store
    from tariffs.model import ChargingMode, PricingModel
    from tests.cli_helpers import load_two_business_lines, run, write
    from tests.conftest import EXAMPLE_TARIFFS

    load_two_business_lines(db_url, tmp_path)
    run(db_url, "tariffs", "load", EXAMPLE_TARIFFS)
    run(db_url, "subscriptions", "load", write(tmp_path / "subs.csv", """
        business_line,service,tier,effective_from,effective_to
        FIN,DESK,silver,2026-01-01,2026-03-10
        FIN,DESK,gold,2026-03-11,
    """))
    run(db_url, "usage", "load", write(tmp_path / "usage.csv", """
        record_id,usage_date,business_line,service,tier,quantity,unit
        T-1,2026-03-05,FIN,DESK,,3,ticket
        T-2,2026-03-20,FIN,DESK,,2,ticket
    """), "--source", "desk", "--new-source")
    run(db_url, "month", "run", "2026-03")
    with open_store(db_url).begin() as session:
        charges = charge_store.month_charges(session, "2026-03")
    assert [(c.tier, c.days_in_force) for c in charges] == [("silver", 10), ("gold", 21)]
    assert all(c.kind is ChargeKind.USAGE and c.charging_mode is ChargingMode.CHARGEBACK
               and isinstance(c.model, PricingModel) for c in charges)


def test_a_rating_run_leaves_the_store_as_a_frozen_record(db_url, tmp_path):
    import dataclasses

    import pytest

    from billing.core.records import RatingRun
    from billing.store import charges as charge_store
    from billing.store.db import open_store
    from tests.cli_helpers import load_two_business_lines, run, write
    from tests.conftest import EXAMPLE_TARIFFS

    load_two_business_lines(db_url, tmp_path)
    run(db_url, "tariffs", "load", EXAMPLE_TARIFFS)
    run(db_url, "usage", "load", write(tmp_path / "usage.csv", """
        record_id,usage_date,business_line,service,tier,quantity,unit
        T-1,2026-03-05,FIN,DESK,silver,3,ticket
    """), "--source", "desk", "--new-source")
    run(db_url, "month", "run", "2026-03")
    with open_store(db_url).begin() as session:
        found = charge_store.last_run(session, "2026-03")
        assert charge_store.last_run(session, "2026-04") is None
        months = charge_store.period_months(session)
    assert isinstance(found, RatingRun) and found.month == "2026-03" and found.usage_rows == 1 and found.id >= 1
    assert months == []  # rated, never closed
    with pytest.raises(dataclasses.FrozenInstanceError):
        found.total = found.total + 1  # type: ignore[misc]


# --- one rule for the tier in force: rating and forecasting ------------------------------------

def test_forecasting_takes_the_tier_rating_charges_the_month_at():
    # FIN is on silver until 1 April and on gold from the 2nd; then, from 15 May, a first
    # subscription of OPS starts at gold. Rating charges April's usage at gold for 29 of its 30
    # days; the forecast used to price April at silver (the tier on the 1st) and OPS's May at the
    # default tier (no subscription on the 1st). Both now follow subscription_at.
    from billing.jobs.forecast import tier_in
    from billing.organisation.subscriptions import subscription_at, tier_of_month

    subs = [Subscription(business_line="FIN", service="DESK", tier="silver", effective_from=dt.date(2026, 1, 1),
                         effective_to=dt.date(2026, 4, 1)),
            Subscription(business_line="FIN", service="DESK", tier="gold", effective_from=dt.date(2026, 4, 2)),
            Subscription(business_line="OPS", service="DESK", tier="gold", effective_from=dt.date(2026, 5, 15))]
    rated = usage_charges(rate_month(month="2026-04", catalogue=DESK, subscriptions=subs, ownerships=OWNERS,
                                     usage=feed(*[(d, None, "1") for d in range(1, 31)])))
    days = {c.tier: c.days_in_force for c in rated}
    assert days == {"silver": 1, "gold": 29}
    by_pair = {("FIN", "DESK"): subs[:2], ("OPS", "DESK"): subs[2:]}
    assert tier_in("2026-04", ("FIN", "DESK"), by_pair, {}, DESK) == "gold"
    assert tier_in("2026-05", ("OPS", "DESK"), by_pair, {}, DESK) == "gold"
    assert tier_in("2026-04", ("OPS", "DESK"), by_pair, {}, DESK) == DESK.service("DESK").default_tier
    assert subscription_at(subs, "FIN", "DESK", dt.date(2026, 4, 1)).tier == "silver"
    assert tier_of_month(subs, "FIN", "DESK", [dt.date(2026, 4, 1), dt.date(2026, 4, 2)]) == "gold"  # a tie: the later


def test_of_two_overlapping_subscriptions_the_later_start_holds_for_both():
    from billing.organisation.subscriptions import subscription_at, tiers_by_day

    subs = [Subscription(business_line="FIN", service="DESK", tier="gold", effective_from=dt.date(2026, 4, 10)),
            Subscription(business_line="FIN", service="DESK", tier="silver", effective_from=dt.date(2026, 1, 1))]
    assert subscription_at(subs, "FIN", "DESK", dt.date(2026, 4, 20)).tier == "gold"
    assert tiers_by_day(subs, APRIL)[("FIN", "DESK", dt.date(2026, 4, 20))] == "gold"
    assert tiers_by_day(subs, APRIL)[("FIN", "DESK", dt.date(2026, 4, 9))] == "silver"
