"""Demo cost pools, drivers and allocation rules, written as the files `chargeback costs load`,
`chargeback drivers load` and `--rules` read (docs/recovery.md, docs/allocation.md).

:func:`write_demo_costs` writes, for the demo months:

- ``costs.csv``: actual IT cost per month in the pools of examples/allocation/rules.yaml, each
  pool split over two or three GL accounts with a source reference; plus a budget for the
  twelve months of the next calendar year (the last month's run rate, 4 % dearer);
- ``drivers.csv``: headcount and revenue per business line and month;
- with ``usage_files``: ``allocation/rules.yaml``, the example rules fitted to the demo: the
  same pools, shared services and steps, with each pool step's percentages set so that every
  service's cost comes out near what its usage is worth (about 90 to 108 %, a different
  figure per service), and the WAN's capacity 130 % of the NETWORK usage of each month, so
  the report shows over- and under-recovery and idle capacity at any demo size.

How much a service's usage is worth is priced roughly from the usage files (per service, at
the default tier of the tariff in force, the first band's rate for banded prices); a
composite's worth is added to its components' in proportion to their list prices, since its
cost rolls up from them. Without usage files, a fixed size and the example rules are used.
The same seed gives the same files, byte for byte.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Mapping, Sequence
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import numpy as np

from billing.core.money import D, ZERO, allocate, minor_units, round_minor, round_to_step
from billing.core.periods import last_day, parse_month
from billing.core.problems import ChargebackError
from tariffs.model import Catalogue, PricingModel
from tariffs.pricing import price_usage

__all__ = ["POOL_SHARES", "GL_ACCOUNTS", "COST_STRUCTURE", "write_demo_costs"]

#: Each pool's share of a month's cost when no usage files are given (they sum to 1).
POOL_SHARES = {
    "LABOUR": Decimal("0.22"), "HARDWARE": Decimal("0.14"), "SOFTWARE": Decimal("0.10"), "FACILITIES": Decimal("0.03"),
    "EXTERNAL": Decimal("0.11"), "FIELD-STAFF": Decimal("0.12"), "FLEET-OPS": Decimal("0.08"), "OFFICES": Decimal("0.20"),
}
#: GL accounts per pool with their share of it.
GL_ACCOUNTS = {
    "LABOUR": (("6100", "Salaries IT", "0.72"), ("6110", "Social charges IT", "0.18"), ("6150", "Contractors IT", "0.10")),
    "HARDWARE": (("6820", "Depreciation IT equipment", "0.65"), ("6410", "Hardware maintenance", "0.35")),
    "SOFTWARE": (("6420", "Software subscriptions", "0.70"), ("6830", "Amortisation of licences", "0.30")),
    "FACILITIES": (("6310", "Data-centre rent", "0.55"), ("6320", "Power and cooling", "0.45")),
    "EXTERNAL": (("6510", "Cloud providers", "0.62"), ("6520", "Telecoms", "0.28"), ("6530", "Outsourced services", "0.10")),
    "FIELD-STAFF": (("6120", "Salaries field technicians", "0.85"), ("6620", "Tools and training", "0.15")),
    "FLEET-OPS": (("6710", "Vehicle leases", "0.60"), ("6720", "Fuel", "0.25"), ("6730", "Vehicle insurance", "0.15")),
    "OFFICES": (("6330", "Office rent", "0.80"), ("6340", "Building services", "0.20")),
}
#: What each service's cost is made of (pool → share); HARDWARE includes the data centre
#: (FACILITIES follows the hardware step's proportions, a quarter on top of it).
COST_STRUCTURE = {
    "VM": {"HARDWARE": "0.55", "LABOUR": "0.25", "SOFTWARE": "0.20"},
    "STORAGE": {"HARDWARE": "0.65", "LABOUR": "0.35"},
    "BACKUP": {"HARDWARE": "0.50", "LABOUR": "0.30", "SOFTWARE": "0.20"},
    "NETWORK": {"HARDWARE": "0.30", "EXTERNAL": "0.40", "LABOUR": "0.30"},
    "WORKPLACE": {"SOFTWARE": "0.55", "HARDWARE": "0.25", "LABOUR": "0.20"},
    "DESK": {"LABOUR": "0.85", "SOFTWARE": "0.15"},
    "CLOUD": {"EXTERNAL": "0.90", "LABOUR": "0.10"},
    "CLOUD-DATA": {"EXTERNAL": "0.70", "LABOUR": "0.15", "SOFTWARE": "0.15"},
    "FIELD": {"FIELD-STAFF": "1"},
    "FLEET": {"FLEET-OPS": "1"},
    "FACILITY": {"OFFICES": "1"},
    "SECURITY": {"LABOUR": "0.55", "SOFTWARE": "0.45"},
    "ERP": {"SOFTWARE": "0.60", "LABOUR": "0.40"},
    "WAN": {"HARDWARE": "0.50", "EXTERNAL": "0.50"},
}
#: Shared services' cost as a share of the month's priced usage.
SHARED = {"SECURITY": Decimal("0.025"), "ERP": Decimal("0.025"), "WAN": Decimal("0.015")}
#: What a pool step leaves in overhead, and the data centre's size against the hardware.
OVERHEAD = {"HARDWARE": Decimal("0.05"), "LABOUR": Decimal("0.04")}
FACILITIES_OF_HARDWARE = Decimal("0.25")
DEFAULT_MONTHLY_COST = Decimal("4500000.00")
_ONLY_SERVICE = {"FIELD-STAFF": "FIELD", "FLEET-OPS": "FLEET", "OFFICES": "FACILITY", "HARDWARE": "WAN",
                 "SOFTWARE": "ERP", "LABOUR": "SECURITY", "EXTERNAL": "WAN"}
STEP_OF = {"HARDWARE": "hardware", "SOFTWARE": "software", "LABOUR": "labour", "EXTERNAL": "external",
           "FIELD-STAFF": "field-staff", "FLEET-OPS": "fleet-ops", "OFFICES": "offices"}


def write_demo_costs(
    out_dir: Path,
    months: Sequence[str],
    business_lines: Sequence[str],
    catalogue: Catalogue,
    seed: int,
    *,
    usage_files: Sequence[Path] = (),
    currency: str = "USD",
) -> list[Path]:
    """Write the demo cost and driver files (and, with usage files, the fitted rules); returns
    their paths in the order they load: costs, drivers, then the rules file."""
    months = sorted({parse_month(m) for m in months})
    if not months:
        raise ValueError("give at least one month")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng([seed, 424242])
    usage = _usage_by_month(usage_files)
    worth = {m: _worth(usage.get(m, {}), catalogue, m) for m in months}
    fitted = any(worth.values())
    services = sorted({s for by in worth.values() for s in by} & set(COST_STRUCTURE))
    margin = {s: D(f"{rng.uniform(0.90, 1.08):.4f}") for s in services + sorted(SHARED)}

    pools_by_month: dict[str, dict[str, Decimal]] = {}
    parts_total: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(lambda: ZERO))
    for month in months:
        if not fitted:
            noise = {p: D(f"{rng.uniform(0.94, 1.06):.4f}") for p in POOL_SHARES}
            pools_by_month[month] = {p: round_minor(DEFAULT_MONTHLY_COST * s * noise[p], currency) for p, s in POOL_SHARES.items()}
            continue
        target = {s: worth[month].get(s, ZERO) * margin[s] for s in services}
        total = sum(worth[month].values(), ZERO)
        target.update({s: total * share * margin[s] for s, share in SHARED.items()})
        parts = _pool_parts(target)  # pool → service → amount
        pools = {}
        for pool, by_service in parts.items():
            amount = sum(by_service.values(), ZERO) / (1 - OVERHEAD.get(pool, ZERO))
            if pool == "HARDWARE":
                amount /= 1 + FACILITIES_OF_HARDWARE
                pools["FACILITIES"] = round_minor(amount * (1 - OVERHEAD[pool]) * FACILITIES_OF_HARDWARE, currency)
            pools[pool] = round_minor(amount, currency)
            for service, value in by_service.items():
                parts_total[pool][service] += value
        pools_by_month[month] = pools

    paths = [out_dir / "costs.csv", out_dir / "drivers.csv"]
    rows: list[list[str]] = []
    for month in months:
        for pool, amount in sorted(pools_by_month[month].items(), key=lambda x: list(GL_ACCOUNTS).index(x[0])):
            rows += _pool_rows(month, "actual", pool, amount, currency)
    next_year = int(months[-1][:4]) + 1
    for index in range(12):
        month = f"{next_year:04d}-{index + 1:02d}"
        for pool, amount in sorted(pools_by_month[months[-1]].items(), key=lambda x: list(GL_ACCOUNTS).index(x[0])):
            rows += _pool_rows(month, "budget", pool, round_minor(amount * Decimal("1.04"), currency), currency)
    with paths[0].open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["month", "scenario", "cost_pool", "gl_account", "amount", "currency", "source_ref", "description"])
        writer.writerows(rows)

    codes = sorted(business_lines)
    headcount = rng.lognormal(4.5, 0.9, len(codes))
    revenue = rng.lognormal(16.0, 1.1, len(codes))
    with paths[1].open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["month", "driver", "business_line", "value"])
        for n, month in enumerate(months):
            for i, code in enumerate(codes):
                writer.writerow([month, "headcount", code, max(1, int(round(headcount[i] * (1 + 0.004 * n))))])
                writer.writerow([month, "revenue", code, int(revenue[i] * (1 + 0.01 * n) // 1000 * 1000)])

    if fitted:
        network = {m: usage.get(m, {}).get("NETWORK", (ZERO, ZERO))[0] for m in months}
        capacity = {m: round_to_step(q * Decimal("1.3"), Decimal(1)) for m, q in network.items() if q > 0}
        rules = out_dir / "allocation" / "rules.yaml"
        rules.parent.mkdir(exist_ok=True)
        rules.write_text(_rules_text(parts_total, capacity), encoding="utf-8")
        paths.append(rules)
    return paths


def _pool_parts(target: Mapping[str, Decimal]) -> dict[str, dict[str, Decimal]]:
    parts: dict[str, dict[str, Decimal]] = defaultdict(dict)
    for service, amount in target.items():
        for pool, share in COST_STRUCTURE[service].items():
            parts[pool][service] = amount * D(share)
    return parts


def _percentages(by_service: Mapping[str, Decimal], overhead: Decimal) -> list[tuple[str, Decimal]]:
    """Targets and percentages (two decimals, summing to exactly 100) for one pool step."""
    names = sorted(by_service) + (["overhead"] if overhead else [])
    total = sum(by_service.values(), ZERO)
    weights = [by_service[s] * (1 - overhead) / total for s in sorted(by_service)] + ([overhead] if overhead else [])
    return list(zip(names, allocate(Decimal("100.00"), weights, "USD", keys=names)))


def _rules_text(parts: Mapping[str, Mapping[str, Decimal]], capacity: Mapping[str, Decimal]) -> str:
    lines = [
        "# The example allocation rules (examples/allocation/rules.yaml) fitted to the demo organisation:",
        "# the same pools, shared services and steps; each pool step's percentages follow what the demo's",
        "# services are made of, and the WAN's capacity is 130 % of each month's NETWORK usage.",
        "currency: USD",
        "",
        "pools:",
        '  - {code: LABOUR, name: "IT staff and contractors", category: labour}',
        '  - {code: HARDWARE, name: "Servers, storage and network equipment", category: hardware}',
        '  - {code: SOFTWARE, name: "Software licences and subscriptions", category: software}',
        '  - {code: FACILITIES, name: "Data-centre space, power and cooling", category: facilities}',
        '  - {code: EXTERNAL, name: "Cloud providers, telecoms and outsourced services", category: external_services}',
        '  - {code: FIELD-STAFF, name: "Field technicians", category: non_it}',
        '  - {code: FLEET-OPS, name: "Vehicle leases, fuel and insurance", category: non_it}',
        '  - {code: OFFICES, name: "Office buildings and meeting space", category: facilities}',
        "",
        "shared_services:",
        '  - {code: SECURITY, name: "Information security"}',
        '  - {code: ERP, name: "Enterprise applications"}',
        '  - {code: WAN, name: "Wide-area network backbone"}',
        "",
        "services:",
        "  WAN:",
        "    recovery_basis: capacity",
        "    capacity: {" + ", ".join([f'default: "{max(capacity.values(), default=Decimal(1000))}"']
                                    + [f'"{m}": "{c}"' for m, c in sorted(capacity.items())]) + "}",
        "",
        "rate_setting:",
        '  price_step: "0.01"',
        "  differentials:",
        '    DESK: {gold: "1.3", silver: "1.15", bronze: "1.0"}',
        '    WORKPLACE: {gold: "2.0", silver: "1.5", bronze: "1.0"}',
        '    FIELD-REPAIR: {gold: "1.45", silver: "1.2", bronze: "1.0"}',
        "",
        "steps:",
    ]
    for pool in ("HARDWARE", "FACILITIES", "SOFTWARE", "LABOUR", "EXTERNAL", "FIELD-STAFF", "FLEET-OPS", "OFFICES"):
        if pool == "FACILITIES":
            lines += ["  - name: facilities", "    from: pool:FACILITIES", "    by: step", "    step: hardware", ""]
            continue
        by_service = parts.get(pool) or {_ONLY_SERVICE[pool]: Decimal(1)}
        targets = ", ".join(f"{'overhead' if n == 'overhead' else 'service:' + n}: {_pct(p)}"
                            for n, p in _percentages(by_service, OVERHEAD.get(pool, ZERO)))
        lines += [f"  - name: {STEP_OF[pool]}", f"    from: pool:{pool}", "    by: percent", f"    to: {{{targets}}}", ""]
    lines += [
        "  - {name: security-by-headcount, from: service:SECURITY, by: driver, driver: headcount, to: business_lines}",
        "  - {name: erp-by-revenue, from: service:ERP, by: driver, driver: revenue, to: business_lines}",
        "  - {name: wan-by-network-use, from: service:WAN, by: usage, usage_of: NETWORK, to: business_lines}",
    ]
    return "\n".join(lines) + "\n"


def _pct(value: Decimal) -> str:
    return format(value.normalize(), "f") if value else "0"


def _pool_rows(month: str, scenario: str, pool: str, amount: Decimal, currency: str) -> list[list[str]]:
    accounts = GL_ACCOUNTS[pool]
    parts = [round_minor(amount * D(share), currency) for _, _, share in accounts[:-1]]
    parts.append(amount - sum(parts, ZERO))
    tag = "AP" if scenario == "actual" else "BUD"
    return [[month, scenario, pool, account, f"{part:.{minor_units(currency)}f}", currency, f"{tag}-{month}-{pool}-{account}",
             f"{name} {month}"] for (account, name, _), part in zip(accounts, parts)]


def _usage_by_month(paths: Sequence[Path]) -> dict[str, dict[str, tuple[Decimal, Decimal]]]:
    """month → service → (quantity, cost) summed from demo usage CSV files."""
    found: dict[str, dict[str, list[Decimal]]] = defaultdict(lambda: defaultdict(lambda: [ZERO, ZERO]))
    for path in paths:
        with Path(path).open(newline="", encoding="utf-8") as handle:
            for record in csv.DictReader(handle):
                try:
                    month = parse_month(record.get("usage_date", "")[:7])
                    quantity = D(record.get("quantity") or "0")
                    cost = D(record.get("cost") or "0")
                except (ValueError, ChargebackError):  # the demo's deliberately bad rows
                    continue
                slot = found[month][(record.get("service") or "").upper()]
                slot[0] += quantity
                slot[1] += cost
    return {m: {s: (q, c) for s, (q, c) in by.items()} for m, by in found.items()}


def _worth(usage: Mapping[str, tuple[Decimal, Decimal]], catalogue: Catalogue, month: str) -> dict[str, Decimal]:
    """What each service's usage is worth at list price; a composite's worth goes to its
    components in proportion to their list prices for its equivalent quantities."""
    day = last_day(month)
    worth: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for code, (quantity, cost) in usage.items():
        service = catalogue.service(code)
        if service is None:
            continue
        value = _list_value(catalogue, code, quantity, cost, day)
        if not service.components:
            worth[code] += value
            continue
        shares = {c.service: _list_value(catalogue, c.service, quantity * c.quantity, ZERO, day) for c in service.components}
        total = sum(shares.values(), ZERO)
        for component, share in shares.items():
            if total:
                worth[component] += value * share / total
    return {code: value for code, value in worth.items() if value > 0}


def _list_value(catalogue: Catalogue, code: str, quantity: Decimal, cost: Decimal, day) -> Decimal:
    service = catalogue.service(code)
    version = catalogue.tariff_at(code, day) if service else None
    price = version.price(service.default_tier) if version else None
    if price is None:
        return ZERO
    if price.model in (PricingModel.GRADUATED, PricingModel.VOLUME) and price.bands:
        return quantity * price.bands[0].unit_price  # business lines are billed apart: the first band's rate
    return price_usage(price, quantity, cost=cost, fraction=Fraction(0)).amount
