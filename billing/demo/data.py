"""A realistic, seeded demo organisation and its usage, written as the files the engine loads.

:func:`write_demo_files` writes business lines, cost centres (and one effective-dated move),
subscriptions, one usage CSV and one service-level CSV per month into a folder; every file is
in the format its ``chargeback ... load`` command reads (docs/feeds.md, billing/organisation/org.py,
billing/organisation/subscriptions.py, billing/jobs/sla.py). :func:`write_usage_csv` writes one big usage
month for the benchmark in bounded memory.

The same seed gives the same files, byte for byte. Usage is skewed (lognormal cost centres,
a few business lines own many of them), grows about 1 % a month (pass-through cloud faster),
and is seasonal (desk tickets peak in January and September, field work in winter). Rows are
generated a chunk at a time with numpy and written with polars: no Python loop per row.

A service priced by a dimension (the example catalogue's VM by region, STORAGE by storage
class) gets a column named as the dimension, with a value on each of its rows drawn by a hash
of the row number (so the other columns are what they were without it); in the last month a
few rows of a service whose tariff quarantines unknown values carry a value no tariff lists, so
that held usage shows up in the month review.

The last month's usage file also holds a handful of bad rows (a bad date, an unknown cost
centre, a text quantity, a duplicate record id) so that the quarantine shows up; they are
listed in :attr:`DemoFiles.bad_rows` with their physical row numbers (header = row 1). A few
descriptions carry hostile text (a spreadsheet formula, a script tag) to prove that every
report escapes what it prints.
"""

from __future__ import annotations

import calendar
import datetime as dt
from decimal import Decimal
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import polars as pl

from billing.core.periods import first_day, parse_month
from billing.core.problems import ProblemCode
from tariffs.model import Catalogue, Metric, PricingModel, Service

__all__ = [
    "BadRow",
    "DemoFiles",
    "FOCUS_BUSINESS_LINES",
    "HOSTILE_DESCRIPTIONS",
    "USAGE_COLUMNS",
    "write_demo_files",
    "write_usage_csv",
]

CHUNK_ROWS = 1_000_000
"""Usage rows generated and written at a time (bounded memory for any file size)."""

USAGE_COLUMNS = (
    "record_id", "usage_date", "cost_center", "business_line", "service", "tier",
    "quantity", "unit", "description", "cost",
)
"""Columns of the demo usage files, in order (docs/feeds.md, 'Our usage format'); a column per
price dimension of the catalogue follows them."""

#: The values a dimension's rows carry, each with its share of the service's rows (per mille);
#: a dimension not here takes the values its tariffs list, in equal shares.
DIMENSION_VALUES = {
    "region": (("dc-west", 600), ("dc-east", 400)),
    "storage_class": (("capacity", 700), ("archive", 300)),
}
#: In the last month, a value no tariff lists yet, on this share (per mille) of the rows.
UNKNOWN_VALUES = {"storage_class": ("tape-vault", 10)}

HOSTILE_DESCRIPTIONS = (
    '=HYPERLINK("http://x","y")',
    "<script>alert(1)</script>",
)
"""Descriptions that must come out of every report as inert text."""

FOCUS_BUSINESS_LINES = (
    ("ENG", "Engineering & Design", "Corporate"),
    ("DATA", "Data & AI", "Corporate"),
    ("FIN", "Finance & Procurement", "Corporate"),
    ("OPS", "IT Operations & SRE", "Corporate"),
    ("RES", "Research", "Manufacturing"),
)
"""(code, name, division) of the business lines that the FOCUS example source
(examples/sources/focus-cloud.yaml, ``value_map`` and ``splits``) maps cloud bills to; the demo
organisation always has them. Its sixth target, UNALLOCATED, is made by the engine itself."""

# --- the organisation's vocabulary -------------------------------------------------------------

_DIVISIONS = (
    # (division, code, share of business lines, functions)
    ("Retail Banking", "RET", 0.20, ("Mortgages", "Cards", "Consumer Lending", "Branch Network", "Savings & Deposits",
                                      "Digital Banking", "Contact Centre", "Collections")),
    ("Corporate Banking", "CBK", 0.11, ("Trade Finance", "Cash Management", "Corporate Lending", "Treasury Sales",
                                         "Structured Finance", "Leasing")),
    ("Wealth Management", "WLM", 0.08, ("Private Banking", "Asset Management", "Pensions", "Investment Advisory",
                                         "Custody Services")),
    ("Insurance", "INS", 0.17, ("Motor Insurance", "Home Insurance", "Life & Protection", "Commercial Lines",
                                 "Claims Handling", "Reinsurance", "Underwriting")),
    ("Manufacturing", "MFG", 0.14, ("Plant Operations", "Quality Assurance", "Purchasing", "Maintenance Engineering",
                                     "Product Development", "Supply Planning")),
    ("Logistics", "LOG", 0.14, ("Warehousing", "Freight Forwarding", "Last-Mile Delivery", "Fleet Operations",
                                 "Customs Brokerage", "Distribution Centres")),
    ("Corporate", "COR", 0.16, ("Finance", "Human Resources", "Legal & Compliance", "Risk Management", "Internal Audit",
                                 "Marketing", "Communications", "Strategy", "Real Estate", "Group Treasury")),
)
_REGIONS = ("Group", "North", "South", "East", "West", "Central", "Nordics", "Benelux", "DACH", "Iberia",
            "UK & Ireland", "France", "Italy", "Poland", "Americas", "Asia Pacific", "Middle East")
_FIRST_NAMES = ("Amira", "Ben", "Carla", "Dmitri", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Kemi", "Lars",
                "Maya", "Nikhil", "Olga", "Pablo", "Quentin", "Rosa", "Sven", "Tamara", "Umar", "Vera", "Wei", "Ximena",
                "Yusuf", "Zofia", "Aoife", "Bruno", "Chiara", "Dev", "Emeka", "Freya", "Gustavo", "Hana", "Ivan",
                "Julia", "Kofi", "Leila", "Marco", "Nadia", "Oscar", "Priya", "Rafael", "Sofia", "Tomas", "Yara")
_LAST_NAMES = ("Andersen", "Bianchi", "Chen", "Dubois", "Eriksson", "Fischer", "Garcia", "Haddad", "Ivanova", "Jensen",
               "Kowalski", "Larsen", "Moreau", "Nakamura", "Okafor", "Petrov", "Quinn", "Rossi", "Schmidt", "Tanaka",
               "Usman", "Virtanen", "Walsh", "Xu", "Yilmaz", "Zimmermann", "Alvarez", "Brennan", "Costa", "Dahl",
               "Evans", "Ferreira", "Gupta", "Horvath", "Iyer", "Janssen", "Kaur", "Lindqvist", "Mensah", "Novak",
               "O'Neill", "Patel", "Ramos", "Silva", "Thompson", "Van Dijk")
_CENTER_FUNCTIONS = ("Operations", "Sales", "Back Office", "Projects", "Customer Service", "Analytics",
                     "Change & Transformation", "Regional Office", "Shared Services", "Support Desk")

# --- how each kind of service is used ----------------------------------------------------------

_FLAT = (1.0,) * 12
_DESK_SEASON = (1.40, 1.05, 0.95, 0.95, 0.90, 0.85, 0.75, 0.80, 1.35, 1.05, 1.00, 0.90)  # new year, back to work
_WINTER_SEASON = (1.35, 1.30, 1.10, 0.95, 0.85, 0.80, 0.75, 0.80, 0.90, 1.00, 1.15, 1.30)  # breakdowns, heating


@dataclass(frozen=True, slots=True)
class _Usage:
    """How a unit is consumed: quantities per row (a lognormal amount or a 1 + Poisson count),
    decimals written, share of rows, seasonality, weekend activity and descriptions."""

    share: float
    mean: float
    sigma: float = 0.0  # 0: a count (1 + Poisson(mean - 1)); else a lognormal amount
    decimals: int = 0
    step: int = 1  # in units of 10**-decimals: 25 with 2 decimals is a quarter hour
    season: tuple[float, ...] = _FLAT
    weekend: float = 1.0  # weight of a Saturday or Sunday against a weekday
    adoption: float = 0.85  # share of business lines that use it
    explicit_tier: float = 0.0  # share of rows that name their tier
    descriptions: tuple[str, ...] = ("usage",)
    reference: str = "REF-"


_BY_UNIT = {
    "vm-hour": _Usage(0.24, 200.0, 0.7, 2, adoption=0.95, explicit_tier=0.25, reference="vm-",
                      descriptions=("Linux VM, app server", "Windows VM, file server", "Linux VM, database",
                                    "Windows VM, terminal server", "Linux VM, batch worker")),
    "gb-month": _Usage(0.14, 150.0, 1.0, 3, adoption=0.95, reference="vol-",
                       descriptions=("Block storage volume", "File share", "Object bucket", "Database volume")),
    "tb-month": _Usage(0.06, 1.5, 0.9, 4, adoption=0.9, reference="bkp-",
                       descriptions=("Nightly backup set", "Weekly full backup", "Archive retention 7 years")),
    "ticket": _Usage(0.15, 2.0, season=_DESK_SEASON, weekend=0.2, adoption=1.0, reference="INC",
                     descriptions=("Password reset", "Laptop will not boot", "VPN access request",
                                   "Outlook: shared mailbox, calendar", 'New starter "onboarding" kit',
                                   "Printer jam, 3rd floor")),
    "user-month": _Usage(0.06, 4.0, adoption=1.0, reference="WS-",
                         descriptions=("Standard workplace bundle", "Power user bundle", "Frontline worker bundle")),
    "site-month": _Usage(0.005, 1.0, adoption=0.9, reference="SITE-",
                         descriptions=("Branch connection", "Office LAN and Wi-Fi", "Warehouse connection")),
    "technician-hour": _Usage(0.03, 3.0, 0.6, 2, step=25, season=_WINTER_SEASON, weekend=0.15, adoption=0.5,
                              reference="WO-", descriptions=("Boiler maintenance", "Forklift repair",
                                                             "HVAC inspection", "Emergency call-out, frozen pipe")),
    "vehicle-month": _Usage(0.005, 1.5, adoption=0.4, reference="VEH-",
                            descriptions=("Pool car", "Delivery van", "Service vehicle")),
    "desk-month": _Usage(0.01, 2.0, adoption=0.9, reference="DSK-",
                         descriptions=("Office desk", "Hot desk", "Meeting room allocation")),
    "repair": _Usage(0.01, 1.5, season=_WINTER_SEASON, weekend=0.3, adoption=0.3, reference="REP-",
                     descriptions=("Boiler repair on site", "Refrigeration unit repair", "Door and lock repair")),
    "usd": _Usage(0.10, 90.0, 1.3, 2, adoption=0.6, reference="acct-",
                  descriptions=("AWS EC2 and EBS", "Azure virtual machines", "AWS Lambda", "Azure App Service")),
}
_BY_SERVICE = {
    "CLOUD-DATA": _Usage(0.04, 140.0, 1.4, 2, adoption=0.35, reference="acct-",
                         descriptions=("Snowflake warehouse credits", "BigQuery slots", "Azure Synapse pool")),
}
_DEFAULT_USAGE = _Usage(0.05, 10.0, 0.8, 2)

_GROWTH = 0.01  # a month
_PASS_THROUGH_GROWTH = 0.03  # cloud grows faster
_REFUND_SHARE = 0.003  # pass-through rows that are provider refunds (negative)
_BUSINESS_LINE_ONLY_SHARE = 0.002  # rows known only at business line level (no cost centre)
_TIER_WEIGHTS = {3: (0.20, 0.55, 0.25), 2: (0.4, 0.6)}  # by tier rank, best first


@dataclass(frozen=True, slots=True, kw_only=True)
class BadRow:
    """A row written to be quarantined: where it is and the problem code it should get."""

    file: Path
    row: int  # physical row, header = 1
    code: str  # a ProblemCode value
    column: str


@dataclass(frozen=True, slots=True, kw_only=True)
class DemoFiles:
    """The files :func:`write_demo_files` wrote, in the order they load."""

    business_lines: Path
    cost_centers: Path
    cost_center_moves: Path
    subscriptions: Path
    usage: tuple[Path, ...]  # one per month, in month order
    sla: tuple[Path, ...]  # one per month, in month order
    months: tuple[str, ...]
    bad_rows: tuple[BadRow, ...]  # all in the last month's usage file

    @property
    def org(self) -> tuple[Path, ...]:
        """The organisation files in load order."""
        return (self.business_lines, self.cost_centers, self.cost_center_moves)


# --- the organisation --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Org:
    lines: pl.DataFrame  # business_line, name, head_name, head_email, division
    centers: pl.DataFrame  # cost_center, name, business_line, gl_cost_center
    center_line: np.ndarray  # index of each cost centre's business line
    center_weight: np.ndarray  # relative activity of each cost centre
    move: tuple[int, int]  # (cost centre, new business line) moving in the last month


def _organisation(rng: np.random.Generator, business_lines: int, cost_centers: int) -> _Org:
    if business_lines < 2:
        raise ValueError("the demo needs at least 2 business lines")
    if cost_centers < business_lines:
        raise ValueError(f"{cost_centers} cost centres cannot cover {business_lines} business lines")
    fixed = FOCUS_BUSINESS_LINES[: min(len(FOCUS_BUSINESS_LINES), business_lines // 2)]
    taken = {name for _, name, _ in fixed}
    wanted = business_lines - len(fixed)
    shares = np.array([d[2] for d in _DIVISIONS])
    counts = np.floor(shares / shares.sum() * wanted).astype(int)
    counts[np.argsort(-(shares / shares.sum() * wanted - counts))[: wanted - counts.sum()]] += 1
    codes, names, divisions = [c for c, _, _ in fixed], [n for _, n, _ in fixed], [d for _, _, d in fixed]
    for (division, short, _, functions), count in zip(_DIVISIONS, counts):
        pairs = [(f, r) for r in range(len(_REGIONS)) for f in functions]
        order = rng.permutation(len(pairs))
        chosen = sorted((pairs[i] for i in order[: count * 2]), key=lambda p: (p[1], functions.index(p[0])))
        n = 0
        for function, region in chosen:
            name = function if region == 0 else f"{function} {_REGIONS[region]}"
            if name in taken or n == count:
                continue
            taken.add(name)
            n += 1
            codes.append(f"BL-{short}-{n:03d}")
            names.append(name)
            divisions.append(division)
        if n < count:
            raise ValueError(f"too many business lines for the demo's names ({business_lines})")
    people = rng.permutation(len(_FIRST_NAMES) * len(_LAST_NAMES))[:business_lines]
    heads = [(_FIRST_NAMES[p // len(_LAST_NAMES)], _LAST_NAMES[p % len(_LAST_NAMES)]) for p in people]
    lines = pl.DataFrame({
        "business_line": codes,
        "name": names,
        "head_name": [f"{first} {last}" for first, last in heads],
        "head_email": [f"{first}.{last}@example.com".lower().replace("'", "").replace(" ", "")
                       for first, last in heads],
        "division": divisions,
    })

    # A few business lines own many cost centres (Zipf), every one owns at least one.
    zipf = 1.0 / np.arange(1, business_lines + 1) ** 1.1
    zipf = zipf[rng.permutation(business_lines)]
    sizes = 1 + rng.multinomial(cost_centers - business_lines, zipf / zipf.sum())
    center_line = np.repeat(np.arange(business_lines), sizes)
    center_codes, center_names, gl_codes = [], [], []
    division_index = {d[0]: i for i, d in enumerate(_DIVISIONS)}
    for line, size in enumerate(sizes):
        for k in range(size):
            function = _CENTER_FUNCTIONS[k % len(_CENTER_FUNCTIONS)]
            suffix = f" {k // len(_CENTER_FUNCTIONS) + 1}" if k >= len(_CENTER_FUNCTIONS) else ""
            center_names.append(f"{names[line]} - {function}{suffix}")
    for i in range(cost_centers):
        center_codes.append(f"CC-{10001 + i:05d}")
        gl_codes.append(f"4{division_index[divisions[center_line[i]]] + 1}{1001 + i:04d}")
    centers = pl.DataFrame({
        "cost_center": center_codes,
        "name": center_names,
        "business_line": [codes[i] for i in center_line],
        "gl_cost_center": gl_codes,
    })
    weight = rng.lognormal(0.0, 1.0, cost_centers)
    # The busiest cost centre of a business line that keeps at least one moves to another.
    candidates = np.flatnonzero(sizes[center_line] >= 2)
    candidates = candidates if candidates.size else np.arange(cost_centers)
    mover = int(candidates[np.argmax(weight[candidates])])
    target = int((center_line[mover] + 1 + rng.integers(0, business_lines - 1)) % business_lines)
    return _Org(lines=lines, centers=centers, center_line=center_line, center_weight=weight, move=(mover, target))


# --- services ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Profile:
    service: Service
    usage: _Usage
    pass_through: bool
    cost_is_quantity: bool  # the unit is the tariff's currency (cloud bills in USD)
    growth: float


def _profiles(catalogue: Catalogue) -> list[_Profile]:
    profiles = []
    for service in catalogue.services:
        usage = _BY_SERVICE.get(service.code) or _BY_UNIT.get(service.unit) or _DEFAULT_USAGE
        versions = [v for v in catalogue.tariffs if v.service == service.code]
        pass_through = any(p.model is PricingModel.PASS_THROUGH for v in versions for _, p in v.prices)
        currency = versions[0].currency.lower() if versions else ""
        profiles.append(_Profile(service=service, usage=usage, pass_through=pass_through,
                                 cost_is_quantity=service.unit.lower() == currency,
                                 growth=_PASS_THROUGH_GROWTH if pass_through else _GROWTH))
    if not profiles:
        raise ValueError("the catalogue has no services to generate usage for")
    return profiles


def _tier_weights(service: Service) -> np.ndarray:
    weights = np.array(_TIER_WEIGHTS.get(len(service.tiers), (1.0,) * len(service.tiers)))
    return weights / weights.sum()


# --- usage -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _MonthPlan:
    """Everything one month's rows are drawn from; :func:`_usage_chunk` reads nothing else."""

    month: str
    days: int
    pair_cdf: np.ndarray  # cumulative probability of (cost centre, service), flattened c * S + s
    pair_scale: np.ndarray  # quantity multiplier per (cost centre, service)
    day_cdf: np.ndarray  # per service, shifted by the service index: searchsorted(day_cdf, u + s)
    centers: pl.Series
    center_lines: pl.Series | None  # business line of each cost centre (None: no such column)
    profiles: tuple[_Profile, ...]
    quantity_growth: float
    id_width: int
    #: (dimension, the services that have it, the values, cumulative per mille thresholds)
    dimensions: tuple[tuple[str, tuple[str, ...], tuple[str, ...], tuple[int, ...]], ...] = ()


def _month_plan(month: str, index: int, profiles: Sequence[_Profile], centers: Sequence[str],
                center_weight: np.ndarray, mix: np.ndarray, scale: np.ndarray, *, center_lines: Sequence[str] | None,
                total_rows: int) -> _MonthPlan:
    """``mix`` and ``scale`` are per (cost centre, service): how much of a service a cost
    centre uses (0 = none) and a multiplier on its quantities."""
    start = first_day(month)
    days = calendar.monthrange(start.year, start.month)[1]
    moy = start.month - 1
    base = np.array([p.usage.share for p in profiles])
    share = base * np.array([p.usage.season[moy] * ((1 + p.growth) / (1 + _GROWTH)) ** index for p in profiles])
    pair = center_weight[:, None] * mix * share[None, :]
    cdf = np.cumsum(pair.ravel())
    cdf /= cdf[-1]
    weekend = np.array([(start + dt.timedelta(days=d)).weekday() >= 5 for d in range(days)])
    day_cdf = []
    for s, p in enumerate(profiles):
        w = np.where(weekend, p.usage.weekend, 1.0)
        day_cdf.append(np.cumsum(w) / w.sum() + s)
    return _MonthPlan(
        month=month, days=days, pair_cdf=cdf, pair_scale=scale.ravel(), day_cdf=np.concatenate(day_cdf),
        centers=pl.Series(list(centers), dtype=pl.String),
        center_lines=None if center_lines is None else pl.Series(list(center_lines), dtype=pl.String),
        # Rows are a fixed number: a service whose share swells takes rows from the others, so
        # quantities are scaled back up and each service's total follows only its own curve.
        profiles=tuple(profiles), quantity_growth=(1 + _GROWTH) ** index * share.sum() / base.sum(),
        id_width=max(7, len(str(total_rows))),
    )


def _usage_chunk(plan: _MonthPlan, rng: np.random.Generator, *, first_row: int, rows: int) -> pl.DataFrame:
    """``rows`` good usage rows, numbered from ``first_row`` (0-based) within the month; every
    column is text, as written."""
    profiles = plan.profiles
    S = len(profiles)
    pair = np.minimum(np.searchsorted(plan.pair_cdf, rng.random(rows), side="right"), plan.pair_cdf.size - 1)
    center, s = np.divmod(pair, S)
    day = np.searchsorted(plan.day_cdf, rng.random(rows) + s, side="right") - s * plan.days
    day = np.clip(day, 0, plan.days - 1)

    mean = np.array([p.usage.mean for p in profiles])[s] * plan.pair_scale[pair] * plan.quantity_growth
    sigma = np.array([p.usage.sigma for p in profiles])[s]
    decimals = np.array([p.usage.decimals for p in profiles])[s]
    step = np.array([p.usage.step for p in profiles])[s]
    counted = sigma == 0
    amount = mean * np.exp(sigma * rng.standard_normal(rows) - sigma * sigma / 2)
    count = 1 + rng.poisson(np.where(counted, np.maximum(mean - 1, 0), 0))
    power = 10 ** decimals
    scaled = np.where(counted, count, np.maximum(np.rint(amount * power / step), 1) * step).astype(np.int64)

    passing = np.array([p.pass_through for p in profiles])[s]
    refund = passing & (rng.random(rows) < _REFUND_SHARE)
    scaled = np.where(refund, -scaled, scaled)
    same = np.array([p.cost_is_quantity for p in profiles])[s]
    cost_cents = np.where(
        same, scaled * 100 // power,
        np.rint(scaled / power * 0.10 * rng.lognormal(0, 0.2, rows) * 100).astype(np.int64),
    )

    tiers = [t.code for p in profiles for t in p.service.tiers]
    tier_start = np.cumsum([0] + [len(p.service.tiers) for p in profiles])[:-1]
    tier_cdf = np.concatenate([np.cumsum(_tier_weights(p.service)) + i for i, p in enumerate(profiles)])
    explicit = rng.random(rows) < np.array([p.usage.explicit_tier for p in profiles])[s]
    tier = np.searchsorted(tier_cdf, rng.random(rows) + s, side="right")
    tier = np.minimum(tier, tier_start[s] + np.array([len(p.service.tiers) for p in profiles])[s] - 1)

    texts = [d for p in profiles for d in p.usage.descriptions]
    text_start = np.cumsum([0] + [len(p.usage.descriptions) for p in profiles])[:-1]
    text_count = np.array([len(p.usage.descriptions) for p in profiles])
    text = text_start[s] + (rng.random(rows) * text_count[s]).astype(np.int64)
    reference = rng.integers(1, 100_000, rows)
    line_only = (rng.random(rows) < _BUSINESS_LINE_ONLY_SHARE) if plan.center_lines is not None else None

    start = first_day(plan.month)
    frame = pl.DataFrame({
        "_seq": np.arange(first_row, first_row + rows, dtype=np.int64),
        "_day": day.astype(np.int32),
        "_center": center.astype(np.uint32),
        "_service": s.astype(np.uint32),
        "_tier": np.where(explicit, tier, -1).astype(np.int64),
        "_scaled": scaled,
        "_power": power.astype(np.int64),
        "_cost": np.where(passing, cost_cents, np.iinfo(np.int64).min),
        "_text": text.astype(np.uint32),
        "_ref": reference,
        "_line_only": line_only if line_only is not None else np.zeros(rows, dtype=bool),
    })
    services = pl.Series([p.service.code for p in profiles], dtype=pl.String)
    units = pl.Series([p.service.unit for p in profiles], dtype=pl.String)
    prefixes = pl.Series([p.usage.reference for p in profiles], dtype=pl.String)
    service = pl.col("_service")
    columns = {
        "record_id": pl.concat_str([
            _gather(services, service), pl.lit(f"-{plan.month.replace('-', '')}-"),
            (pl.col("_seq") + 1 + 10 ** plan.id_width).cast(pl.String).str.slice(1),
        ]),
        "usage_date": (pl.lit(start) + pl.duration(days=pl.col("_day"))).dt.strftime("%Y-%m-%d"),
        "cost_center": pl.when(~pl.col("_line_only")).then(_gather(plan.centers, pl.col("_center"))),
        "business_line": (pl.when(pl.col("_line_only")).then(_gather(plan.center_lines, pl.col("_center")))
                          if plan.center_lines is not None else None),
        "service": _gather(services, service),
        "tier": pl.when(pl.col("_tier") >= 0).then(_gather(pl.Series(tiers, dtype=pl.String), pl.col("_tier").clip(0))),
        "quantity": _decimal_text(pl.col("_scaled"), pl.col("_power")),
        "unit": _gather(units, service),
        "description": pl.concat_str([
            _gather(pl.Series(texts, dtype=pl.String), pl.col("_text")), pl.lit(" "), _gather(prefixes, service),
            (pl.col("_ref") + 100_000).cast(pl.String).str.slice(1),
        ]),
        "cost": pl.when(pl.col("_cost") != np.iinfo(np.int64).min).then(_decimal_text(pl.col("_cost"), pl.lit(100))),
    }
    # a row's dimension value from a hash of its number: no draw from ``rng``, so every other
    # column is the same with or without dimensions
    bucket = (pl.col("_seq") * 2_654_435_761 + 97) % 1_000_003 % 1000
    for name, services_of, values, thresholds in plan.dimensions:
        value: pl.Expr = pl.lit(values[-1])
        for text, limit in reversed(list(zip(values[:-1], thresholds[:-1]))):
            value = pl.when(bucket < limit).then(pl.lit(text)).otherwise(value)
        columns[name] = pl.when(_gather(services, service).is_in(list(services_of))).then(value)
    return frame.select([expr.alias(name) for name, expr in columns.items() if expr is not None])


def _dimensions(profiles: Sequence[_Profile], catalogue: Catalogue, *,
                unknown: bool) -> tuple[tuple[str, tuple[str, ...], tuple[str, ...], tuple[int, ...]], ...]:
    """What :func:`_usage_chunk` writes for each dimension the catalogue's services name."""
    found = []
    for name in sorted({p.service.dimension for p in profiles if p.service.dimension}):
        services_of = tuple(p.service.code for p in profiles if p.service.dimension == name)
        shares = list(DIMENSION_VALUES.get(name) or ())
        if not shares:
            listed = sorted({value for v in catalogue.tariffs if v.service in services_of
                             for _, price in v.prices for value, _ in price.by_value})
            shares = [(value, 1000 // len(listed)) for value in listed]
        if not shares:
            continue
        if unknown and name in UNKNOWN_VALUES:
            shares = [UNKNOWN_VALUES[name], *shares]
        thresholds = tuple(int(t) for t in np.cumsum([s for _, s in shares]))
        found.append((name, services_of, tuple(v for v, _ in shares), thresholds))
    return tuple(found)


def _gather(values: pl.Series, index: pl.Expr) -> pl.Expr:
    return pl.lit(values).gather(index)


def _decimal_text(scaled: pl.Expr, power: pl.Expr) -> pl.Expr:
    """An integer count of ``1/power`` as exact decimal text (``-1234``, 100 → ``-12.34``)."""
    magnitude = scaled.abs()
    whole = (magnitude // power).cast(pl.String)
    fraction = (magnitude % power + power).cast(pl.String).str.slice(1)
    sign = pl.when(scaled < 0).then(pl.lit("-")).otherwise(pl.lit(""))
    return pl.when(power > 1).then(pl.concat_str([sign, whole, pl.lit("."), fraction])).otherwise(
        pl.concat_str([sign, whole]))


def _month_rng(seed: int, month: str, chunk: int) -> np.random.Generator:
    return np.random.default_rng([seed, int(month.replace("-", "")), chunk])


def _write_month(path: Path, plan: _MonthPlan, *, seed: int, rows: int, bad: int = 0,
                 hostile: bool = True) -> list[BadRow]:
    """Write ``rows`` good rows (and ``bad`` bad ones spread through the file) in chunks."""
    placed: list[BadRow] = []
    points = [int((j + 1) * rows / (bad + 1)) for j in range(bad)] if rows else []
    with path.open("wb") as out:
        written = 0
        chunk = 0
        while written < rows or chunk == 0:
            size = min(CHUNK_ROWS, rows - written)
            frame = _usage_chunk(plan, _month_rng(seed, plan.month, chunk), first_row=written, rows=size)
            if hostile and chunk == 0 and size:
                frame = _with_hostile(frame, _month_rng(seed, plan.month, 1_000_000))
            inserts = [(j, p) for j, p in enumerate(points) if written <= p < written + size]
            if inserts:
                frame, rows_placed = _with_bad_rows(frame, inserts, offset=written, month=plan.month, path=path)
                placed += rows_placed
            frame.write_csv(out, include_header=chunk == 0)
            written += size
            chunk += 1
    return placed


def _with_hostile(frame: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    texts = HOSTILE_DESCRIPTIONS + ("Kiosk display, Café Zürich – Straße 5 (€)",)
    where = rng.choice(frame.height, size=min(frame.height, len(texts)), replace=False)
    description = frame.get_column("description").scatter(where, list(texts[: len(where)]))
    return frame.with_columns(description)


_BAD_KINDS = (
    # (code, column, the changed values: a function of the month)
    (ProblemCode.NOT_A_DATE, "usage_date", lambda month: {"usage_date": f"{month}-32"}),
    (ProblemCode.UNKNOWN_COST_CENTER, "cost_center", lambda month: {"cost_center": "CC-99999", "business_line": None}),
    (ProblemCode.NOT_A_NUMBER, "quantity", lambda month: {"quantity": "twelve"}),
    (ProblemCode.DUPLICATE, "record_id", lambda month: {}),
    (ProblemCode.NOT_A_DATE, "usage_date", lambda month: {"usage_date": first_day(month).strftime("%d/%m/%Y")}),
    (ProblemCode.UNKNOWN_COST_CENTER, "cost_center", lambda month: {"cost_center": "CC-00000", "business_line": None}),
    (ProblemCode.NOT_A_NUMBER, "quantity", lambda month: {"quantity": "1,5"}),
    (ProblemCode.DUPLICATE, "record_id", lambda month: {}),
)


def _with_bad_rows(frame: pl.DataFrame, inserts: list[tuple[int, int]], *, offset: int, month: str,
                   path: Path) -> tuple[pl.DataFrame, list[BadRow]]:
    """Insert bad row ``j`` before good row ``p`` (month-wide index); a duplicate copies the
    good row just before it, any other kind is a copy with a fresh record id and one broken field."""
    parts, placed, cut = [], [], 0
    for j, point in inserts:
        code, column, change = _BAD_KINDS[j % len(_BAD_KINDS)]
        local = max(point - offset, 1)
        original = frame.row(local - 1, named=True)
        row = {**original, **{k: v for k, v in change(month).items() if k in original}}
        if code is not ProblemCode.DUPLICATE:
            row["record_id"] = f"{original['record_id']}-X{j + 1}"
        parts += [frame.slice(cut, local - cut), pl.DataFrame([row], schema=frame.schema)]
        cut = local
        placed.append(BadRow(file=path, row=offset + local + j + 2, code=code.value, column=column))
    parts.append(frame.slice(cut))
    return pl.concat(parts), placed


# --- the public functions -----------------------------------------------------------------------


def write_usage_csv(path: Path, *, rows: int, month: str, seed: int, cost_centers: list[str],
                    catalogue: Catalogue, dimensions: bool = False) -> Path:
    """One month of ``rows`` usage rows over ``cost_centers`` (no business line column, no bad
    rows), generated and written a million rows at a time; with ``dimensions``, the values of
    the catalogue's price dimensions (no unknown one)."""
    month = parse_month(month)
    profiles = _profiles(catalogue)
    rng = np.random.default_rng([seed, 0])
    weight = rng.lognormal(0.0, 1.0, len(cost_centers))
    mix = np.ones((len(cost_centers), len(profiles)))
    scale = rng.lognormal(0.0, 0.5, mix.shape)
    plan = _month_plan(month, 0, profiles, cost_centers, weight, mix, scale, center_lines=None, total_rows=rows)
    if dimensions:
        plan = replace(plan, dimensions=_dimensions(profiles, catalogue, unknown=False))
    path = Path(path)
    _write_month(path, plan, seed=seed, rows=rows, hostile=False)
    return path


def write_demo_files(
    out: Path,
    *,
    seed: int = 7,
    business_lines: int = 200,
    cost_centers: int = 1300,
    months: list[str],
    rows_per_month: int,
    catalogue: Catalogue,
) -> DemoFiles:
    """Write the demo organisation, subscriptions, usage and service levels into ``out``."""
    months = sorted({parse_month(m) for m in months})
    if not months:
        raise ValueError("give at least one month")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    org = _organisation(rng, business_lines, cost_centers)
    profiles = _profiles(catalogue)
    line_codes = org.lines.get_column("business_line").to_list()
    center_codes = org.centers.get_column("cost_center").to_list()
    last = months[-1]
    change_day = first_day(last).replace(day=15)

    files = {
        "business_lines": out / "business_lines.csv",
        "cost_centers": out / "cost_centers.csv",
        "cost_center_moves": out / "cost_centers_moves.csv",
        "subscriptions": out / "subscriptions.csv",
    }
    org.lines.write_csv(files["business_lines"])
    org.centers.write_csv(files["cost_centers"])
    mover, target = org.move
    org.centers.slice(mover, 1).with_columns(
        pl.lit(line_codes[target]).alias("business_line"), pl.lit(change_day.isoformat()).alias("effective_from"),
    ).write_csv(files["cost_center_moves"])

    # Who uses what: adoption per service, a lognormal intensity per business line and service.
    n_lines, n_services = len(line_codes), len(profiles)
    adoption = np.array([p.usage.adoption for p in profiles])
    used = rng.random((n_lines, n_services)) < adoption[None, :]
    used[np.arange(n_lines), rng.integers(0, n_services, n_lines)] = True
    intensity = np.where(used, rng.lognormal(0.0, 0.7, used.shape), 0.0)
    scale = rng.lognormal(0.0, 0.5, used.shape)
    subscriptions = _write_subscriptions(files["subscriptions"], rng, profiles, line_codes, used,
                                         start=first_day(months[0]), change_day=change_day)

    mix = intensity[org.center_line]
    center_scale = scale[org.center_line]
    center_lines = [line_codes[i] for i in org.center_line]
    first_index = _month_index(months[0])
    usage_paths, sla_paths, bad_rows = [], [], []
    for month in months:
        path = out / f"usage-{month}.csv"
        plan = _month_plan(month, _month_index(month) - first_index, profiles, center_codes, org.center_weight, mix,
                           center_scale, center_lines=center_lines, total_rows=rows_per_month)
        plan = replace(plan, dimensions=_dimensions(profiles, catalogue, unknown=month == last))
        bad = len(_BAD_KINDS) if month == last else 0
        bad_rows += _write_month(path, plan, seed=seed, rows=rows_per_month, bad=bad)
        usage_paths.append(path)
        sla_path = out / f"sla-{month}.csv"
        _write_sla(sla_path, np.random.default_rng([seed, int(month.replace("-", "")), 99]), month, profiles,
                   subscriptions, last=month == last)
        sla_paths.append(sla_path)
    return DemoFiles(**files, usage=tuple(usage_paths), sla=tuple(sla_paths), months=tuple(months),
                     bad_rows=tuple(bad_rows))


def _month_index(month: str) -> int:
    year, mon = map(int, month.split("-"))
    return year * 12 + mon - 1


def _write_subscriptions(path: Path, rng: np.random.Generator, profiles: Sequence[_Profile], lines: list[str],
                         used: np.ndarray, *, start: dt.date, change_day: dt.date) -> pl.DataFrame:
    """Most business lines subscribe to what they use; about 4 % use a service without a
    subscription (priced at the default tier, flagged) and 2 % subscribe to one they do not
    use (they pay its fee). A few change tier on the 15th of the last month."""
    subscribed = np.where(used, rng.random(used.shape) >= 0.04, rng.random(used.shape) < 0.02)
    rows = []
    for line, s in zip(*np.nonzero(subscribed)):
        service = profiles[s].service
        tier = service.tiers[rng.choice(len(service.tiers), p=_tier_weights(service))].code
        rows.append((lines[line], service.code, tier, start, None))
    changes = rng.choice(len(rows), size=min(len(rows), max(2, len(rows) // 50)), replace=False)
    for i in sorted(changes):
        line, code, tier, _, _ = rows[i]
        service = next(p.service for p in profiles if p.service.code == code)
        rank = next(t.rank for t in service.tiers if t.code == tier)
        others = [t for t in service.tiers if abs(t.rank - rank) == 1]
        if others:
            rows.append((line, code, others[rng.integers(0, len(others))].code, change_day, None))
    frame = pl.DataFrame(rows, schema={"business_line": pl.String, "service": pl.String, "tier": pl.String,
                                       "effective_from": pl.Date, "effective_to": pl.Date}, orient="row")
    frame = frame.sort("business_line", "service", "effective_from")
    frame.write_csv(path)
    return frame


def _write_sla(path: Path, rng: np.random.Generator, month: str, profiles: Sequence[_Profile],
               subscriptions: pl.DataFrame, *, last: bool) -> None:
    """Measured service levels, mostly met. Misses: VM gold availability 99.80 against 99.95
    in the last month, one random miss a month, and one business line's own measurement."""
    rows = []
    for profile in profiles:
        service = profile.service
        for tier in service.tiers:
            for metric in Metric:
                target = tier.service_level.target(metric)
                if target is None:
                    continue
                rows.append([month, service.code, tier.code, metric.value, _met(rng, metric, float(target)), None])
    misses = rng.choice(len(rows), size=min(1, len(rows)), replace=False)
    for i in misses:
        rows[i][4] = _missed(rows[i][3], float(_target(profiles, rows[i][1], rows[i][2], rows[i][3])))
    for row in rows:
        if last and row[1:4] == ["VM", "gold", Metric.AVAILABILITY_PCT.value]:
            row[4] = "99.80"
    best = {p.service.code: p.service.tiers[0].code for p in profiles if p.service.tiers}
    measured = [
        (line, code, tier) for line, code, tier in subscriptions.select("business_line", "service", "tier").iter_rows()
        if best.get(code) == tier and any(_target(profiles, code, tier, m.value) is not None for m in Metric)
    ]
    if measured:
        line, code, tier = measured[int(rng.integers(0, len(measured)))]
        metric = next(m.value for m in Metric if _target(profiles, code, tier, m.value) is not None)
        rows.append([month, code, tier, metric, _missed(metric, float(_target(profiles, code, tier, metric))), line])
    pl.DataFrame(rows, schema={"month": pl.String, "service": pl.String, "tier": pl.String, "metric": pl.String,
                               "achieved": pl.String, "business_line": pl.String}, orient="row").write_csv(path)


def _target(profiles: Sequence[_Profile], service: str, tier: str, metric: str):
    found = next(p.service for p in profiles if p.service.code == service).tier(tier)
    return found.service_level.target(Metric(metric)) if found else None


def _met(rng: np.random.Generator, metric: Metric, target: float) -> str:
    if metric is Metric.AVAILABILITY_PCT:
        return _hundredths(target + (100 - target) * rng.uniform(0.2, 0.9))
    return f"{target * rng.uniform(0.4, 0.95):.1f}"


def _hundredths(percent: float) -> str:
    """A measured availability in per cent to two places (``99.95``): a share, not money, so not
    billing.core.money.amount_text; the same digits as float formatting (half-even on the float)."""
    return str(Decimal(percent).quantize(Decimal("0.01")))


def _missed(metric: str, target: float) -> str:
    if metric == Metric.AVAILABILITY_PCT.value:
        return _hundredths(target - max(0.05, (100 - target) / 2))
    return f"{target * 1.6:.1f}"
