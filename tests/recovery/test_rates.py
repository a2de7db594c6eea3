"""Rate setting: the proposed draft, loaded as next year's version and run over the same
volumes, recovers the budgeted cost within the rounding of the price step."""

import dataclasses
import datetime as dt
from decimal import Decimal

import polars as pl

from billing.recovery.allocation import RateSetting
from billing.core.money import ZERO
from billing.recovery.rates import draft_tariff_yaml, propose_rates
from billing.rating.month import USAGE_SCHEMA, rate_month
from billing.core.records import Ownership, Subscription
from tariffs.load import load_catalogue
from tariffs.model import Catalogue, PricingModel
from tariffs.validate import validate_catalogue
from tests.cli_helpers import run, write
from tests.records import vm_by_region
from tests.recovery.test_recovery import setup_month

SUBSCRIPTIONS = [
    ("FIN", "DESK", "gold"), ("OPS", "DESK", "bronze"), ("FIN", "VM", "silver"), ("OPS", "VM", "gold"),
    ("FIN", "CLOUD", "gold"), ("OPS", "CLOUD", "bronze"), ("FIN", "FLEET", "silver"), ("OPS", "FLEET", "bronze"),
]
# (business line, service, quantity, cost) per month
USAGE = [
    ("FIN", "DESK", "140", None), ("OPS", "DESK", "260", None), ("FIN", "VM", "4300.5", None),
    ("OPS", "VM", "12000", None), ("FIN", "CLOUD", "8123.45", "8123.45"), ("OPS", "CLOUD", "2000", "2000"),
    ("FIN", "FLEET", "12", None), ("OPS", "FLEET", "30", None),
]
BUDGET = {"DESK": Decimal("19000.00"), "VM": Decimal("4100.00"), "CLOUD": Decimal("25000.00"),
          "FLEET": Decimal("60000.00")}
SETTING = RateSetting(price_step=Decimal("0.01"),
                      differentials=(("DESK", (("gold", Decimal("1.3")), ("silver", Decimal("1.1")), ("bronze", Decimal(1)))),))


def usage_frame(months):
    rows = []
    for month in months:
        for line, service, quantity, cost in USAGE:
            rows.append((dt.date.fromisoformat(f"{month}-10"), line, f"CC-{line}", service, None, Decimal(quantity),
                         Decimal(cost) if cost else Decimal(0), 1))
    return pl.DataFrame(rows, schema=list(USAGE_SCHEMA), orient="row").cast(USAGE_SCHEMA)


def rate(catalogue, months, start):
    subs = [Subscription(business_line=l, service=s, tier=t, effective_from=start) for l, s, t in SUBSCRIPTIONS]
    owners = [Ownership(cost_center=f"CC-{l}", business_line=l, effective_from=dt.date(2020, 1, 1), effective_to=None)
              for l in ("FIN", "OPS")]
    charges = []
    for month in months:
        rated = rate_month(month=month, catalogue=catalogue, subscriptions=subs, ownerships=owners, usage=usage_frame([month]))
        assert not rated.problems
        charges += rated.charges
    return charges


def test_the_draft_recovers_the_budget_within_the_price_step(catalogue, tmp_path):
    history = rate(catalogue, ["2025-04", "2025-05"], dt.date(2025, 1, 1))
    base = {s: catalogue.tariff_at(s, dt.date(2025, 12, 31)) for s in BUDGET}
    proposal = propose_rates(fiscal_year=2026, version="2026.1-draft", effective_from=dt.date(2026, 1, 1),
                             catalogue=catalogue, base_versions=base, budget=BUDGET, history=history, setting=SETTING)
    assert not proposal.problems
    by_service = {p.service: p for p in proposal.services}
    desk = {tier: price.unit_price for tier, price in by_service["DESK"].version.prices}
    # differentials honoured to the price step: gold = 1.3 × bronze, silver = 1.1 × bronze
    assert abs(desk["gold"] - desk["bronze"] * Decimal("1.3")) <= Decimal("0.01")
    assert abs(desk["silver"] - desk["bronze"] * Decimal("1.1")) <= Decimal("0.01")
    assert by_service["DESK"].method.startswith("base rate ")
    assert by_service["CLOUD"].method.startswith("markups +")
    gold_vm = dict(by_service["VM"].version.prices)["gold"]
    assert gold_vm.model is PricingModel.GRADUATED and gold_vm.monthly_fee == Decimal("150.00")  # fees kept (2024.1)

    # next year's catalogue: this year's versions end on 2025-12-31, the draft follows
    draft_versions = tuple(p.version for p in proposal.services)
    next_year = Catalogue(units=catalogue.units, services=catalogue.services,
                          tariffs=tuple(tv for tv in catalogue.tariffs if tv.effective_from < dt.date(2026, 1, 1)) + draft_versions)
    assert validate_catalogue(next_year) == []
    charges = rate(next_year, ["2026-04", "2026-05"], dt.date(2026, 1, 1))
    for service, budget in BUDGET.items():
        mine = [c for c in charges if c.service == service and c.kind == "usage"]
        recovered = sum((c.amount for c in mine), ZERO)
        assert recovered == by_service[service].expected  # the report's expectation is what rating gives
        price = dict(by_service[service].version.prices)
        # each unit price is at most half a step off; each line is rounded once (half a cent)
        bound = sum((c.billable * Decimal("0.005") + Decimal("0.005") + len(price[c.tier].bands) * Decimal("0.005")
                     if c.model != "pass_through" else c.cost * Decimal("0.00005") + Decimal("0.005") for c in mine), ZERO)
        assert abs(recovered - budget) <= bound, (service, recovered, budget, bound)

    # the draft as YAML reads back to the same versions
    path = tmp_path / "tariffs"
    path.mkdir()
    (path / "draft.yaml").write_text(draft_tariff_yaml(proposal, header="draft"), encoding="utf-8")
    read, problems = load_catalogue(path)
    assert problems == []
    assert [dataclasses.replace(tv, source=None) for tv in read.tariffs] == list(draft_versions)


def test_no_budget_or_no_volume_keeps_the_prices_with_a_note(catalogue):
    history = rate(catalogue, ["2025-04"], dt.date(2025, 1, 1))
    base = {s: catalogue.tariff_at(s, dt.date(2025, 12, 31)) for s in ("DESK", "NETWORK")}
    proposal = propose_rates(fiscal_year=2026, version="2026.1-draft", effective_from=dt.date(2026, 1, 1),
                             catalogue=catalogue, base_versions=base, budget={"NETWORK": Decimal("100.00")},
                             history=history, setting=SETTING)
    notes = {p.service: p.note for p in proposal.services}
    assert notes == {"DESK": "no budgeted cost reaches this service: its prices are kept",
                     "NETWORK": "no volume last year to price by: its prices are kept"}
    assert all(p.version.prices == base[p.service].prices for p in proposal.services)


def test_rates_propose_writes_a_draft_the_catalogue_accepts_and_that_recovers_the_budget(db_url, tmp_path):
    # FY2026 volumes: NETWORK silver 10 + 20 = 30 site-months (one rated month, 2026-03).
    # Budget 2027-03: EXTERNAL 27,000.00 reaches NETWORK; 27,000.00 / 30 = 900.00 a site-month.
    rules = setup_month(db_url, tmp_path)
    budget = write(tmp_path / "budget.csv", """
        month,scenario,cost_pool,gl_account,amount,source_ref
        2027-03,budget,LABOUR,6100,2200.00,B-1
        2027-03,budget,HARDWARE,6820,900.00,B-2
        2027-03,budget,EXTERNAL,6520,27000.00,B-3
    """)
    run(db_url, "costs", "load", budget)
    run(db_url, "drivers", "load", write(tmp_path / "d27.csv", "month,driver,business_line,value\n"
                                         "2027-03,headcount,FIN,1\n2027-03,headcount,OPS,1\n"))
    out = tmp_path / "draft"
    result = run(db_url, "rates", "propose", "--fy", "2027", "--out", out, "--rules", rules)
    network = next(line for line in result.stdout.splitlines() if line.startswith("NETWORK"))
    assert network.split()[1:4] == ["27,000.00", "27,000.00", "0.00"]
    assert "rates FY2027:DESK: inconsistent nothing to scale: its prices are kept" in result.stderr  # fees only
    assert "the rates are set on 1 month(s) 2027-03..2027-03" in result.stderr
    draft = (out / "draft-2027.yaml").read_text(encoding="utf-8")
    assert 'version: "2027.1-draft"' in draft and "effective_from: 2027-01-01" in draft
    assert 'silver:\n        model: per_unit\n        unit_price: "900.00"' in draft
    report = (out / "expected-recovery-2027.csv").read_text(encoding="utf-8")
    assert "2027,NETWORK,Network and connectivity,\"per_unit, fixed\",27000.00,30,26550.00,26550.00,27000.00,0,0.00,100," in report
    checked = run(db_url, "tariffs", "validate", out / "tariffs")
    assert "OK - 12 services" in checked.stdout

    # the draft, as next year's version, prices the same volumes in 2027 (usage that far ahead
    # cannot be loaded yet, so the month is rated by the pure core)
    next_year, problems = load_catalogue(out / "tariffs")
    assert problems == []
    subs = [Subscription(business_line=l, service="NETWORK", tier="silver", effective_from=dt.date(2026, 1, 1))
            for l in ("FIN", "OPS")]
    usage = pl.DataFrame([(dt.date(2027, 3, 1), "FIN", None, "NETWORK", None, Decimal(10), Decimal(0), 1),
                          (dt.date(2027, 3, 1), "OPS", None, "NETWORK", None, Decimal(20), Decimal(0), 1)],
                         schema=list(USAGE_SCHEMA), orient="row").cast(USAGE_SCHEMA)
    rated = rate_month(month="2027-03", catalogue=next_year, subscriptions=subs, ownerships=[], usage=usage)
    assert sum(c.amount for c in rated.charges) == Decimal("27000.00")
    assert {c.tariff_version for c in rated.charges} == {"2027.1-draft"}


def test_a_draft_from_prices_with_band_options_keeps_them_and_expects_what_rating_gives(catalogue, tmp_path):
    # 2026.1: STORAGE silver in blocks of 100 GB, STORAGE gold and FLEET with exclusive edges,
    # VM gold with band 1's flat fee charged at zero usage (docs/pricing.md, "Band options")
    subs = [Subscription(business_line=l, service=s, tier=t, effective_from=dt.date(2026, 1, 1)) for l, s, t in
            [("FIN", "STORAGE", "silver"), ("OPS", "STORAGE", "gold"), ("FIN", "FLEET", "gold"), ("OPS", "VM", "gold")]]
    owners = [Ownership(cost_center=f"CC-{l}", business_line=l, effective_from=dt.date(2020, 1, 1), effective_to=None)
              for l in ("FIN", "OPS")]
    rows = [(dt.date(2026, m, 10), line, f"CC-{line}", service, None, Decimal(q), Decimal(0), 1)
            for m in (4, 5) for line, service, q in [("FIN", "STORAGE", "1250"), ("OPS", "STORAGE", "1000"),
                                                     ("FIN", "FLEET", "10")] + ([("OPS", "VM", "300")] if m == 4 else [])]
    usage = pl.DataFrame(rows, schema=list(USAGE_SCHEMA), orient="row").cast(USAGE_SCHEMA)

    def rated(cat):
        charges = []
        for month in ("2026-04", "2026-05"):
            month_rated = rate_month(month=month, catalogue=cat, subscriptions=subs, ownerships=owners, usage=usage)
            assert not month_rated.problems
            charges += month_rated.charges
        return charges

    budget = {"STORAGE": Decimal("2000.00"), "FLEET": Decimal("20000.00"), "VM": Decimal("900.00")}
    base = {s: catalogue.tariff_at(s, dt.date(2026, 6, 1)) for s in budget}
    proposal = propose_rates(fiscal_year=2027, version="2027.1-draft", effective_from=dt.date(2027, 1, 1),
                             catalogue=catalogue, base_versions=base, budget=budget, history=rated(catalogue),
                             setting=RateSetting(price_step=Decimal("0.0001")))
    drafts = {p.service: p.version for p in proposal.services}
    for service, draft in drafts.items():
        for (tier, before), (_, after) in zip(base[service].prices, draft.prices):
            assert (after.block_size, after.band_edges, after.flat_fee_at_zero) == (
                before.block_size, before.band_edges, before.flat_fee_at_zero), (service, tier)
    # the expected recovery is what rating the same months under the draft gives
    moved = {s: dataclasses.replace(d, effective_from=dt.date(2026, 1, 1)) for s, d in drafts.items()}
    again = Catalogue(units=catalogue.units, services=catalogue.services,
                      tariffs=tuple(tv for tv in catalogue.tariffs if tv.service not in moved or tv.effective_from < dt.date(2026, 1, 1))
                      + tuple(moved.values()))
    charges = rated(again)
    for item in proposal.services:
        assert sum((c.amount for c in charges if c.service == item.service and c.kind == "usage"), ZERO) == item.expected
    # and the draft as YAML reads back with its options
    (tmp_path / "draft.yaml").write_text(draft_tariff_yaml(proposal), encoding="utf-8")
    read, problems = load_catalogue(tmp_path)
    assert problems == []
    assert [dataclasses.replace(tv, source=None) for tv in read.tariffs] == list(drafts.values())


def test_rate_setting_prorates_each_segment_by_the_days_it_kept(tmp_path):
    # FIN took silver on 1-5 and 26-30 April (10 days; its segment spans 1..30) and used 2
    # tickets, all included. Under a draft with a 30.00 silver minimum, that segment costs
    # 30.00 × 10/30 = 10.00. Re-pricing the charge to find its days cannot tell: 0.00 comes out
    # for any 6 days or more, so the segment's span (30 days) was taken, and 30.00 expected.
    from billing.recovery.rates import expected_revenue, history_volumes
    from tests.billing.test_rating_tiers import DESK, OWNERS, _split_april, feed

    charges = rate_month(month="2026-04", catalogue=DESK, subscriptions=_split_april(), ownerships=OWNERS,
                         usage=feed((2, None, "2"))).charges
    assert [(c.tier, c.amount, c.days_in_force) for c in charges] == [
        ("silver", Decimal("0.00"), 10), ("gold", Decimal("193.33"), 20)]  # gold's fee: 290.00 × 20/30
    version = DESK.tariffs[0]
    with_minimum = dataclasses.replace(version, prices=tuple(
        (tier, dataclasses.replace(price, minimum_charge=Decimal(30)) if tier == "silver" else price)
        for tier, price in version.prices))
    assert expected_revenue(with_minimum, history_volumes(charges, DESK)) == Decimal("10.00") + Decimal("193.33")
    stored_before = [dataclasses.replace(c, days_in_force=None) for c in charges]  # rated before charges kept it
    assert expected_revenue(with_minimum, history_volumes(stored_before, DESK)) == Decimal("30.00") + Decimal("193.33")


def test_a_draft_keeps_the_proration_convention_and_expects_what_rating_gives(catalogue, tmp_path):
    # DESK 2026.1 prorates by a 30-day month, the end day not charged (docs/pricing.md,
    # "Proration conventions"): gold from 16 March is 15/30 of its fee, silver to 10 April 9/30
    subs = [Subscription(business_line="FIN", service="DESK", tier="gold", effective_from=dt.date(2026, 3, 16)),
            Subscription(business_line="OPS", service="DESK", tier="silver", effective_from=dt.date(2026, 3, 1),
                         effective_to=dt.date(2026, 4, 10))]
    owners = [Ownership(cost_center=f"CC-{l}", business_line=l, effective_from=dt.date(2020, 1, 1), effective_to=None)
              for l in ("FIN", "OPS")]
    usage = pl.DataFrame([(dt.date(2026, m, 20), "FIN", "CC-FIN", "DESK", None, Decimal("40"), Decimal(0), 1) for m in (3, 4)],
                         schema=list(USAGE_SCHEMA), orient="row").cast(USAGE_SCHEMA)

    def rated(cat):
        return [c for month in ("2026-03", "2026-04")
                for c in rate_month(month=month, catalogue=cat, subscriptions=subs, ownerships=owners, usage=usage).charges]

    base = {"DESK": catalogue.tariff_at("DESK", dt.date(2026, 6, 1))}
    assert base["DESK"].proration.thirty_day and base["DESK"].proration.exclusive_end
    proposal = propose_rates(fiscal_year=2027, version="2027.1-draft", effective_from=dt.date(2027, 1, 1),
                             catalogue=catalogue, base_versions=base, budget={"DESK": Decimal("3000.00")},
                             history=rated(catalogue), setting=RateSetting(price_step=Decimal("0.0001")))
    [item] = proposal.services
    assert item.version.proration == base["DESK"].proration
    moved = dataclasses.replace(item.version, effective_from=dt.date(2026, 1, 1))
    again = Catalogue(units=catalogue.units, services=catalogue.services,
                      tariffs=tuple(tv for tv in catalogue.tariffs if tv.service != "DESK" or tv.effective_from < moved.effective_from)
                      + (moved,))
    assert sum((c.amount for c in rated(again) if c.kind == "usage"), ZERO) == item.expected
    (tmp_path / "draft.yaml").write_text(draft_tariff_yaml(proposal), encoding="utf-8")
    read, problems = load_catalogue(tmp_path)
    assert problems == [] and read.tariffs[0].proration == base["DESK"].proration


DIMENSION_AND_FEES = vm_by_region(
    us_east='{model: per_unit, unit_price: "0.10"}',
    fees='- {name: "Hypervisor licence: \\"core\\" pack", amount: "600.00", every: quarterly, billing: spread}')


def test_a_draft_prices_each_dimension_value_by_its_own_price_and_counts_the_fees_kept(tmp_path):
    # rates propose on a price by region with a quarterly fee: each region's prices scale by the
    # tier's one factor (the regions keep their ratios), the fee is kept and counted as revenue
    # the usage prices need not recover, and the expected recovery is what rating the same
    # months under the draft gives, fee lines included (docs/recovery.md, "Rate setting")
    from billing.rating.month import DAILY_SCHEMA
    source = tmp_path / "catalogue"
    source.mkdir()
    (source / "vm.yaml").write_text(DIMENSION_AND_FEES, encoding="utf-8")
    catalogue, problems = load_catalogue(source)
    assert problems == [] and validate_catalogue(catalogue) == []
    subs = [Subscription(business_line="FIN", service="VM", tier="std", effective_from=dt.date(2026, 4, 16))]
    owners = [Ownership(cost_center="CC1", business_line="FIN", effective_from=dt.date(2020, 1, 1), effective_to=None)]
    rows = [(dt.date(2026, m, 20), "FIN", "CC1", "VM", None, Decimal(q), Decimal(0), 1, value)
            for m in (4, 5, 6) for value, q in (("eu-west", "150"), ("us-east", "80"), ("ap-south", "30"))]
    usage = pl.DataFrame(rows, schema=list(DAILY_SCHEMA), orient="row").cast(DAILY_SCHEMA)

    def rated(cat):
        return [c for month in ("2026-04", "2026-05", "2026-06")
                for c in rate_month(month=month, catalogue=cat, subscriptions=subs, ownerships=owners, usage=usage).charges]

    history = rated(catalogue)
    fees = [c for c in history if c.kind == "fee"]
    # 600.00 a quarter from 16 April: 15/30 + 1 + 1 of 3 months = 500.00, spread 1 : 2 : 2
    assert [c.amount for c in fees] == [Decimal("100.00"), Decimal("200.00"), Decimal("200.00")]
    budget = Decimal("800.00")
    proposal = propose_rates(fiscal_year=2027, version="2027.1-draft", effective_from=dt.date(2027, 1, 1),
                             catalogue=catalogue, base_versions={"VM": catalogue.tariffs[0]}, budget={"VM": budget},
                             history=history, setting=RateSetting(price_step=Decimal("0.0001")))
    [item] = proposal.services
    draft = item.version.price("std")
    base = catalogue.tariffs[0].price("std")
    assert draft.fees == base.fees and item.fees == Decimal("500.00")
    factor = draft.bands[0].unit_price / base.bands[0].unit_price
    assert factor > 1
    for (value, before), (_, after) in zip(base.by_value, draft.by_value):
        headline = before.unit_price if before.unit_price is not None else before.bands[0].unit_price
        scaled = after.unit_price if after.unit_price is not None else after.bands[0].unit_price
        assert abs(scaled - headline * factor) <= Decimal("0.00005"), value
    # usage prices recover the budget less the fees: within the price step's rounding
    assert abs(item.expected - budget) < Decimal("0.50")
    assert item.last_year == sum((c.amount for c in history), ZERO)
    moved = dataclasses.replace(item.version, effective_from=dt.date(2026, 1, 1))
    again = Catalogue(units=catalogue.units, services=catalogue.services, tariffs=(moved,))
    assert sum((c.amount for c in rated(again)), ZERO) == item.expected
    (tmp_path / "draft").mkdir()
    (tmp_path / "draft" / "vm.yaml").write_text(
        DIMENSION_AND_FEES[:DIMENSION_AND_FEES.index("tariffs:")] + draft_tariff_yaml(proposal), encoding="utf-8")
    read, problems = load_catalogue(tmp_path / "draft")
    assert problems == [] and validate_catalogue(read) == []
    assert [dataclasses.replace(tv, source=None) for tv in read.tariffs] == [item.version]
