"""A FOCUS export of each version, loaded, rated and closed, reconciles to the provider's
bill: the invoices equal BilledCost × (1 + markup) within the rounding of the invoice
lines, per billing month and per provider invoice (InvoiceId, FOCUS 1.2 and later).

The expected amounts come from the sample file itself (BilledCost and InvoiceId per
x_ChargeId, read with the csv module) and the markups of examples/tariffs (CLOUD and
CLOUD-DATA 2024.1), never from the engine's own figures; the engine only says which rows
stand behind which invoice line (what `chargeback explain` shows a user).
"""

from __future__ import annotations

import csv
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

from billing.core.money import plain
from tests.cli_helpers import load_five_business_lines, run, write

DATA = Path(__file__).resolve().parents[1] / "data" / "focus"
MONTH = "2025-03"
CENT = Decimal("0.01")
HALF_CENT = Decimal("0.005")
MARKUP_PCT = {  # examples/tariffs/cloud.yaml and cloud-data.yaml, version 2024.1 (to 2025-12-31)
    ("CLOUD", "silver"): Decimal(8), ("CLOUD", "bronze"): Decimal(5),
    ("CLOUD-DATA", "silver"): Decimal(6), ("CLOUD-DATA", "bronze"): Decimal(3),
}
SUBSCRIBED = {("ENG", "CLOUD"): "bronze", ("DATA", "CLOUD-DATA"): "bronze"}  # the rest: the default tier, silver


def organisation(db_url: str, folder: Path) -> None:
    load_five_business_lines(db_url, folder, "CC-300,Platform,ENG,300100", "CC-310,Apps,ENG,300200",
                             "CC-400,Lake,DATA,400100")
    run(db_url, "subscriptions", "load", write(folder / "subs.csv", "business_line,service,tier,effective_from\n" + "".join(
        f"{line},{service},{tier},2025-01-01\n" for (line, service), tier in SUBSCRIBED.items())))


def provider_bill(path: Path) -> dict[str, tuple[Decimal, str | None]]:
    """x_ChargeId -> (BilledCost, InvoiceId) of every charge of the file, as the provider wrote it."""
    with path.open(newline="", encoding="utf-8") as handle:
        return {line["x_ChargeId"]: (Decimal(line["BilledCost"]), line.get("InvoiceId")) for line in csv.DictReader(handle)}


def charged(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@pytest.mark.parametrize("version", ["1.0", "1.1", "1.2", "1.3"])
def test_the_invoices_are_billed_cost_plus_markup_per_month_and_provider_invoice(version, db_url, tmp_path):
    from billing.store.db import open_store
    from billing.store.documents import live_invoices
    from billing.store.usage import usage_rows_for

    path = DATA / f"focus-{version}_nimbus.csv"
    bill = provider_bill(path)
    provider_invoices = sorted({invoice for _, invoice in bill.values() if invoice})
    assert (len(provider_invoices) == 2) is (version in ("1.2", "1.3"))
    organisation(db_url, tmp_path)

    loaded = run(db_url, "usage", "load", path, "--source", "focus-cloud").stdout
    total = plain(sum(c for c, _ in bill.values()))
    assert f"cost read {total}, loaded {total}" in loaded
    if provider_invoices:  # the load says what it took from each provider invoice, to tick off against it
        per_invoice = "; ".join(f"{i} {plain(sum(c for c, n in bill.values() if n == i))}" for i in provider_invoices)
        assert f"BilledCost per provider invoice (InvoiceId): {per_invoice}\n" in loaded
    else:
        assert "per provider invoice" not in loaded
    run(db_url, "month", "run", MONTH)
    run(db_url, "month", "close", MONTH, "--confirm")

    lines = []  # (invoice line amount, {x_ChargeId behind it}, markup)
    with open_store(db_url).begin() as session:
        invoices = live_invoices(session, MONTH)
        for invoice in invoices:
            for line in invoice.lines:
                assert line.service in ("CLOUD", "CLOUD-DATA") and line.kind.value == "usage", line
                assert line.tier == SUBSCRIBED.get((invoice.business_line, line.service), "silver")
                count, rows = usage_rows_for(session, MONTH, invoice.business_line, line.service, limit=10_000)
                ids = {record_id for _file, _row, record_id, *_rest in rows}
                assert count == len(rows) == len(ids)
                lines.append((line.amount, ids, MARKUP_PCT[(line.service, line.tier)]))
        invoiced = sum(i.total for i in invoices)

    # every charge of the provider's bill is behind exactly one invoice line: none lost, none twice
    behind = [record for _, ids, _ in lines for record in ids]
    assert sorted(behind) == sorted(bill)
    markup_of = {record: markup for _, ids, markup in lines for record in ids}

    def with_markup(records) -> Decimal:
        return sum((bill[r][0] * (1 + markup_of[r] / 100) for r in records), Decimal(0))

    # each invoice line is its rows' BilledCost × (1 + markup), rounded once to the cent
    for amount, ids, _ in lines:
        assert amount == charged(with_markup(ids))
    # the billing month: the invoices within half a cent per line of the whole bill with markup
    assert invoiced == sum(amount for amount, _, _ in lines)
    assert abs(invoiced - with_markup(bill)) <= HALF_CENT * len(lines)
    # each provider invoice: its share of every invoice line (by BilledCost) adds up to its
    # BilledCost × (1 + markup), within the rounding of the lines it is on
    shares_total = Decimal(0)
    for provider_invoice in provider_invoices:
        own = {r for r, (_, n) in bill.items() if n == provider_invoice}
        share, slack = Decimal(0), Decimal(0)
        for amount, ids, _ in lines:
            line_cost = sum(bill[r][0] for r in ids)
            part = sum((bill[r][0] for r in ids & own), Decimal(0))
            if part:
                share += amount * part / line_cost
                slack += HALF_CENT * abs(part / line_cost)
        assert abs(share - with_markup(own)) <= slack, provider_invoice
        shares_total += share
    if provider_invoices:
        assert abs(shares_total - invoiced) < Decimal("1e-20")  # the provider invoices share out the whole month
