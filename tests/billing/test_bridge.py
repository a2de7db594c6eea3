"""The variance bridge (docs/statements.md, "Why the bill changed"): a business line's month
against the month before, by service, split into price, tier, volume, new and ended services,
service credits, fees, discounts, true-ups, corrections and funding; the pieces add up to the
change to the cent, over rated months of every kind (a hypothesis property)."""

import datetime as dt
from decimal import Decimal

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing.close.bridge import STEPS, Step, company_bridge, month_bridge
from billing.core.money import exact_sum, quantum
from billing.core.records import DocumentKind, Invoice, InvoiceLine, LineKind, Ownership, SlaResult, Subscription
from billing.rating.month import USAGE_SCHEMA, rate_month
from tariffs.model import (
    Band, Catalogue, ChargingMode, CreditBand, FeeBilling, FeeEvery, Metric, PeriodicFee, PricingModel, Service,
    ServiceKind, ServiceLevel, TariffVersion, Tier, TierPrice, Unit,
)

OWNERS = [Ownership(cost_center=f"CC-{line}", business_line=line, effective_from=dt.date(2000, 1, 1), effective_to=None)
          for line in ("FIN", "HR")]
D = Decimal


def _service(code: str, mode: ChargingMode = ChargingMode.CHARGEBACK, dimension: str | None = None) -> Service:
    return Service(code=code, name=code.title(), unit="unit", kind=ServiceKind.IT, owner="IT", default_tier="silver",
                   charging_mode=mode, dimension=dimension, tiers=(
                       Tier(code="gold", name="Gold", funding_level="premium", rank=0,
                            service_level=ServiceLevel(availability_pct=D("99.9"))),
                       Tier(code="silver", name="Silver", funding_level="standard", rank=1, service_level=ServiceLevel())))


def _version(service: str, version: str, start: dt.date, end: dt.date | None, gold: TierPrice, silver: TierPrice) -> TariffVersion:
    return TariffVersion(service=service, version=version, effective_from=start, effective_to=end, currency="USD",
                         prices=(("gold", gold), ("silver", silver)))


def _usage(rows) -> pl.DataFrame:
    return pl.DataFrame([(day, line, f"CC-{line}", service, None, D(q), D(0), 1) for day, line, service, q in rows],
                        schema=list(USAGE_SCHEMA), orient="row").cast(USAGE_SCHEMA)


def _rate(catalogue, month, subscriptions, usage, sla=()):
    rated = rate_month(month=month, catalogue=catalogue, subscriptions=subscriptions, ownerships=OWNERS, usage=usage,
                       sla=sla)
    assert rated.problems == ()
    return rated.charges


# --- the worked example of docs/statements.md ------------------------------------------------------

# STORAGE: silver 0.10 a GB with a 50.00 monthly fee; gold 0.15 a GB with a 120.00 monthly fee.
# From 1 March (tariff 2026.2) silver costs 0.12 a GB and gold 0.18.
def _storage(v1_silver="0.10", v2_silver="0.12", v1_gold="0.15", v2_gold="0.18") -> Catalogue:
    def price(unit, fee):
        return TierPrice(model=PricingModel.PER_UNIT, unit_price=D(unit), monthly_fee=D(fee))
    return Catalogue(units=(Unit(code="unit", name="Units"),), services=(_service("STORAGE"),), tariffs=(
        _version("STORAGE", "2026.1", dt.date(2026, 1, 1), dt.date(2026, 2, 28), price(v1_gold, "120"), price(v1_silver, "50")),
        _version("STORAGE", "2026.2", dt.date(2026, 3, 1), None, price(v2_gold, "120"), price(v2_silver, "50"))))


def test_the_worked_example_price_then_tier_then_volume():
    # FIN: silver in February, 1,000 GB; gold from 11 March (silver 1–10 March), 600 GB on 5 March and 900 GB on 20 March.
    catalogue = _storage()
    subs = [Subscription(business_line="FIN", service="STORAGE", tier="silver", effective_from=dt.date(2026, 1, 1),
                         effective_to=dt.date(2026, 3, 10)),
            Subscription(business_line="FIN", service="STORAGE", tier="gold", effective_from=dt.date(2026, 3, 11))]
    february = _rate(catalogue, "2026-02", subs, _usage([(dt.date(2026, 2, 10), "FIN", "STORAGE", "1000")]))
    march = _rate(catalogue, "2026-03", subs, _usage([(dt.date(2026, 3, 5), "FIN", "STORAGE", "600"),
                                                      (dt.date(2026, 3, 20), "FIN", "STORAGE", "900")]))
    # February: 1,000 × 0.10 + 50.00 = 150.00
    assert [c.amount for c in february] == [D("150.00")]
    # March: silver 10/31: 600 × 0.12 + 50 × 10/31 = 72.00 + 16.129… = 88.13; gold 21/31: 900 × 0.18 + 120 × 21/31 = 162.00 + 81.290… = 243.29
    assert [c.amount for c in march] == [D("88.13"), D("243.29")]
    bridge = month_bridge(business_line="FIN", month="2026-03", charges=march, previous_charges=february,
                          tariffs=catalogue.tariffs, currency="USD")
    assert (bridge.previous, bridge.current, bridge.change) == (D("150.00"), D("331.42"), D("181.42"))
    pieces = dict(bridge.pieces)
    # price: February's 1,000 GB at silver under 2026.2: 1,000 × 0.12 + 50.00 = 170.00, less 150.00
    assert pieces[Step.PRICE] == D("20.00")
    # tier: the 1,000 GB spread by March's days, 10/31 at silver and 21/31 at gold, in force all month as in February:
    # silver 322.58… × 0.12 + 50 × 10/31 = 38.709… + 16.129… = 54.84; gold 677.41… × 0.18 + 120 × 21/31 = 121.935… + 81.290… = 203.23
    # 258.07 − 170.00
    assert pieces[Step.TIER] == D("88.07")
    # volume: March as charged (331.42) less 258.07: 1,500 GB instead of 1,000
    assert pieces[Step.VOLUME] == D("73.35")
    assert all(pieces[s] == 0 for s in STEPS if s not in (Step.PRICE, Step.TIER, Step.VOLUME))
    (storage,) = bridge.services
    assert storage.previous_tiers == ("silver",) and storage.current_tiers == ("silver", "gold")
    assert (storage.previous_versions, storage.current_versions) == (("2026.1",), ("2026.2",))
    assert (storage.previous_quantity, storage.current_quantity) == (D("1000"), D("1500"))


def test_the_same_tariff_and_tier_leave_only_volume():
    catalogue = _storage(v2_silver="0.10", v2_gold="0.15")
    subs = [Subscription(business_line="FIN", service="STORAGE", tier="silver", effective_from=dt.date(2026, 3, 1))]
    before = _rate(catalogue, "2026-03", subs, _usage([(dt.date(2026, 3, 2), "FIN", "STORAGE", "300")]))
    now = _rate(catalogue, "2026-04", subs, _usage([(dt.date(2026, 4, 2), "FIN", "STORAGE", "350")]))
    pieces = dict(month_bridge(business_line="FIN", month="2026-04", charges=now, previous_charges=before,
                               tariffs=catalogue.tariffs, currency="USD").pieces)
    assert (pieces[Step.PRICE], pieces[Step.TIER], pieces[Step.VOLUME]) == (D(0), D(0), D("5.00"))


def test_new_and_ended_services_corrections_and_a_move_to_showback():
    catalogue = _storage()
    subs = [Subscription(business_line="FIN", service="STORAGE", tier="silver", effective_from=dt.date(2026, 3, 1))]
    march = _rate(catalogue, "2026-03", subs, _usage([(dt.date(2026, 3, 2), "FIN", "STORAGE", "100")]))  # 62.00
    note = Invoice(number="CN-1", kind=DocumentKind.CREDIT_NOTE, month="2026-03", issue_date=dt.date(2026, 3, 20),
                   business_line="FIN", buyer_name="Finance", buyer_head=None, currency="USD", total=D("-7.50"),
                   original_invoice="INV-1", lines=(InvoiceLine(line_no=1, kind=LineKind.ADJUSTMENT, service="VM",
                                                                service_name="Vm", tier="gold", tier_name="Gold",
                                                                description="refund", quantity=D(0), unit="h", detail="",
                                                                amount=D("-7.50")),))
    new = month_bridge(business_line="FIN", month="2026-03", charges=march, previous_charges=(), notes=[note],
                       tariffs=catalogue.tariffs, currency="USD")
    assert dict(new.pieces)[Step.NEW] == D("62.00") and dict(new.pieces)[Step.CORRECTIONS] == D("-7.50")
    assert new.change == D("54.50")
    ended = month_bridge(business_line="FIN", month="2026-04", charges=(), previous_charges=march,
                         previous_notes=[note], tariffs=catalogue.tariffs, currency="USD")
    assert dict(ended.pieces)[Step.ENDED] == D("-62.00") and dict(ended.pieces)[Step.CORRECTIONS] == D("7.50")
    showback = Catalogue(units=catalogue.units, services=(_service("STORAGE", ChargingMode.SHOWBACK),),
                         tariffs=catalogue.tariffs)
    april = _rate(showback, "2026-04", subs, _usage([(dt.date(2026, 4, 2), "FIN", "STORAGE", "100")]))
    moved = month_bridge(business_line="FIN", month="2026-04", charges=april, previous_charges=march,
                         tariffs=catalogue.tariffs, currency="USD")
    assert dict(moved.pieces)[Step.FUNDING] == D("-62.00") and moved.current == 0
    assert moved.showback_current == D("62.00")


# --- the property: every piece in minor units, and the pieces sum to the change ------------------

MONTHS = ("2026-02", "2026-03")
FEB, MAR = dt.date(2026, 2, 1), dt.date(2026, 3, 1)


@st.composite
def prices(draw):
    model = draw(st.sampled_from([PricingModel.PER_UNIT, PricingModel.GRADUATED, PricingModel.VOLUME]))
    money = st.integers(min_value=0, max_value=50_000).map(lambda c: D(c) / 100)
    rate = st.integers(min_value=1, max_value=5_000).map(lambda c: D(c) / 1000)
    terms = dict(monthly_fee=draw(money), included_quantity=D(draw(st.integers(0, 50))), minimum_charge=draw(money),
                 service_credits=((Metric.AVAILABILITY_PCT, (CreditBand(shortfall_up_to=None, credit_pct=D(draw(st.integers(1, 30)))),)),),
                 fees=tuple(draw(st.lists(st.builds(
                     lambda every, amount, spread: PeriodicFee(name=f"{every.value} fee", amount=amount, every=every,
                                                               billing=FeeBilling.SPREAD if spread else None),
                     st.sampled_from(list(FeeEvery)), st.integers(100, 100_000).map(lambda c: D(c) / 100), st.booleans()),
                     max_size=1))))
    if model is PricingModel.PER_UNIT:
        return TierPrice(model=model, unit_price=draw(rate), **terms)
    edge = D(draw(st.integers(10, 400)))
    return TierPrice(model=model, bands=(Band(up_to=edge, unit_price=draw(rate)), Band(up_to=None, unit_price=draw(rate))),
                     **terms)


@st.composite
def months(draw):
    """A catalogue of two services with one to three tariff versions each (changing on any day of
    the two months; VM charged or shown each month), FIN's and HR's subscriptions (tier changes, starts and ends on any day), their
    daily usage, measured availability, and credit and debit notes."""
    tariffs = []
    for code in ("STORAGE", "VM"):
        starts = sorted(draw(st.sets(st.integers(1, 58), max_size=2)))
        edges = [dt.date(2020, 1, 1), *(FEB + dt.timedelta(days=d) for d in starts)]
        for i, start in enumerate(edges):
            end = edges[i + 1] - dt.timedelta(days=1) if i + 1 < len(edges) else None
            tariffs.append(_version(code, f"v{i + 1}", start, end, draw(prices()), draw(prices())))
    # VM may be charged or shown (showback) in either month: a catalogue each month
    catalogues = tuple(Catalogue(units=(Unit(code="unit", name="Units"),), tariffs=tuple(tariffs), services=(
        _service("STORAGE"), _service("VM", draw(st.sampled_from(list(ChargingMode)))))) for _month in MONTHS)
    subscriptions = []
    for line in ("FIN", "HR"):
        for code in ("STORAGE", "VM"):
            day = FEB - dt.timedelta(days=draw(st.sampled_from([0, 0, 10])))
            for _ in range(draw(st.integers(0, 3))):
                length = draw(st.integers(1, 60))
                end = day + dt.timedelta(days=length - 1)
                subscriptions.append(Subscription(business_line=line, service=code, tier=draw(st.sampled_from(["gold", "silver"])),
                                                  effective_from=day, effective_to=end if draw(st.booleans()) else None))
                if subscriptions[-1].effective_to is None:
                    break
                day = end + dt.timedelta(days=draw(st.sampled_from([1, 1, 5])))
    rows = draw(st.lists(st.tuples(st.integers(0, 58), st.sampled_from(["FIN", "HR"]), st.sampled_from(["STORAGE", "VM"]),
                                   st.integers(0, 5000).map(lambda q: str(D(q) / 10))), max_size=12))
    usage = _usage([(FEB + dt.timedelta(days=d), line, code, q) for d, line, code, q in rows])
    sla = [SlaResult(service=code, tier="gold", metric="availability_pct", achieved=D(draw(st.integers(9950, 10000))) / 100)
           for code in ("STORAGE", "VM") if draw(st.booleans())]
    notes = {m: [_note(m, line, draw(st.sampled_from(["STORAGE", "VM"])), draw(st.integers(-20_000, 20_000)), n)
                 for n, line in enumerate(draw(st.lists(st.sampled_from(["FIN", "HR"]), max_size=2)))] for m in MONTHS}
    return catalogues, subscriptions, usage, sla, notes


def _note(month, line, service, cents, n):
    amount = D(cents) / 100
    kind = DocumentKind.DEBIT_NOTE if amount > 0 else DocumentKind.CREDIT_NOTE
    return Invoice(number=f"N-{month}-{n}", kind=kind, month=month, issue_date=dt.date(int(month[:4]), int(month[5:]), 15),
                   business_line=line, buyer_name=line, buyer_head=None, currency="USD", total=amount,
                   original_invoice="INV-0", lines=(InvoiceLine(
                       line_no=1, kind=LineKind.ADJUSTMENT, service=service, service_name=service, tier="gold",
                       tier_name="Gold", description="correction", quantity=D(0), unit="unit", detail="", amount=amount),))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(months())
def test_property_the_pieces_sum_to_the_change_to_the_cent(month_data):
    (catalogue_before, catalogue), subscriptions, usage, sla, notes = month_data
    before = _rate(catalogue_before, MONTHS[0], subscriptions, usage, sla)
    now = _rate(catalogue, MONTHS[1], subscriptions, usage, sla)
    cent = quantum("USD")
    bridges = []
    for line in ("FIN", "HR"):
        bridge = month_bridge(business_line=line, month=MONTHS[1], charges=now, previous_charges=before,
                              notes=notes[MONTHS[1]], previous_notes=notes[MONTHS[0]], tariffs=catalogue.tariffs,
                              currency="USD")
        bridges.append(bridge)
        # the totals are the statement's: chargeback charges and the month's notes
        def total(charges, month, line=line):
            return (exact_sum(c.amount for c in charges if c.business_line == line and c.charging_mode is ChargingMode.CHARGEBACK)
                    + exact_sum(n.total for n in notes[month] if n.business_line == line))
        assert (bridge.previous, bridge.current) == (total(before, MONTHS[0]), total(now, MONTHS[1]))
        assert exact_sum(amount for _, amount in bridge.pieces) == bridge.change
        for service in bridge.services:
            assert exact_sum(amount for _, amount in service.pieces) == service.change
            assert all(amount % cent == 0 for _, amount in service.pieces)
            # no new tariff version, no price piece; one unchanged tier, no tier piece
            if len(set(service.previous_versions) | set(service.current_versions)) == 1:
                assert service.piece(Step.PRICE) == 0
            if len(set(service.previous_tiers) | set(service.current_tiers)) == 1:
                assert service.piece(Step.TIER) == 0
    # the whole company's (the month pack's): every line's pieces added up by step, adding up to
    # the company's change, each step's services and business lines adding up to the step
    company = company_bridge(bridges, month=MONTHS[1], currency="USD")
    assert company.change == exact_sum(b.change for b in bridges)
    assert (company.previous, company.current) == (exact_sum(b.previous for b in bridges), exact_sum(b.current for b in bridges))
    assert exact_sum(amount for _, amount in company.pieces) == company.change
    for step, piece in company.pieces:
        assert exact_sum(a for _, a in company.by_service(step)) == piece
        assert exact_sum(a for _, a in company.by_business_line(step)) == piece
        assert all(a for _, a in company.by_service(step))
