"""Composite business services: components beneath the statement line, nested composites."""

import dataclasses
import datetime as dt
from decimal import Decimal

from billing.recovery.composites import composite_lines, composites_of, expand_components
from billing.core.records import Charge
from tariffs.model import Catalogue, Component


def charge(service, tier, quantity, amount, line_no=1, kind="usage"):
    return Charge(line_no=line_no, kind=kind, business_line="OPS", service=service, tier=tier, tariff_version="2026.1",
                  charging_mode="chargeback", segment_from=dt.date(2026, 3, 1), segment_to=dt.date(2026, 3, 31),
                  model="per_unit", quantity=Decimal(quantity), included=Decimal(0), billable=Decimal(quantity),
                  cost=Decimal(0), exact_amount=Decimal(amount), amount=Decimal(amount), currency="USD", detail="")


def test_the_example_catalogue_has_a_non_it_composite(catalogue):
    repair = catalogue.service("FIELD-REPAIR")
    assert repair.kind.value == "non-it" and [t.code for t in repair.tiers] == ["gold", "silver", "bronze"]
    assert composites_of(catalogue) == {"FIELD-REPAIR": (("FIELD", Decimal("2.5")), ("FLEET", Decimal("0.05")),
                                                         ("WORKPLACE", Decimal("0.05")))}


def test_components_beneath_a_composite_line(catalogue):
    # 40 silver repairs at 245.00 = 9,800.00. Beneath it: 100 technician hours (FIELD silver
    # 81.00 = 8,100.00 at list price), 2 vehicle-months (FLEET silver, band up to 10 at 710.00 =
    # 1,420.00), 2 user-months (WORKPLACE silver 37.50 = 75.00): weights 9,595.00. Shares of
    # 9,800.00 in cents: 827,305.89, 145,033.87, 7,660.24; floors 827,305 + 145,033 + 7,660 =
    # 979,998, the two cents left go to the largest remainders (FIELD .89, FLEET .87).
    lines = composite_lines([charge("FIELD-REPAIR", "silver", 40, "9800.00", 3), charge("FIELD", "silver", 5, "405.00")],
                            catalogue)
    assert list(lines) == [3]
    shares = lines[3]
    assert [(s.service, s.quantity, s.unit, s.amount) for s in shares] == [
        ("FIELD", Decimal("100.0"), "technician-hour", Decimal("8273.06")),
        ("FLEET", Decimal("2.00"), "vehicle-month", Decimal("1450.34")),
        ("WORKPLACE", Decimal("2.00"), "user-month", Decimal("76.60")),
    ]
    assert sum(s.amount for s in shares) == Decimal("9800.00")
    assert [s.list_value for s in shares] == [Decimal("8100.000"), Decimal("1420.0000"), Decimal("75.0000")]


def test_nested_composites_multiply_out(catalogue):
    # a "field day" = 4 repairs + 1 extra technician hour: 4 × 2.5 + 1 = 11 hours, 0.2 van-months
    day = dataclasses.replace(catalogue.service("FIELD-REPAIR"), code="FIELD-DAY", components=(
        Component(service="FIELD-REPAIR", quantity=Decimal(4)), Component(service="FIELD", quantity=Decimal(1))))
    nested = Catalogue(units=catalogue.units, services=catalogue.services + (day,), tariffs=catalogue.tariffs)
    assert dict(expand_components("FIELD-DAY", nested)) == {"FIELD": Decimal("11.0"), "FLEET": Decimal("0.20"),
                                                             "WORKPLACE": Decimal("0.20")}
    assert expand_components("VM", nested) == (("VM", Decimal(1)),)
