"""Reference: the benchmark month's charges from one analytical SQL query in DuckDB.

    python bench/duckdb_charges.py --org ORG_DIR --usage USAGE.csv [--month 2026-03] [--out charges.parquet]
                                   [--compare sqlite:///bench.db]

What ``bench.py`` loads and rates with the engine, written as one DuckDB query over the same
files: it reads the usage CSV, maps each row's cost centre to the business line owning it that
day, takes the tier subscribed that day (else the feed's, else the service's default) and the
tariff version in force, sums each segment (business line, service, tier, version, and the
dimension value where the tier is priced by one) per cost centre, prices it (per unit,
package, pass-through, graduated and volume bands with flat fees, block sizes and exclusive
edges, monthly fee, included quantity and minimum prorated by the days in force, 30-day months
and exclusive ends), rounds each charge once half-up to the cent, adds the service credit of a
missed service level, and splits every line over its cost centres by largest remainder, as the
engine does (docs/pricing.md). The result, one row per charge and cost centre, is written to
``--out`` (Parquet) by the same statement.

The price list comes from the catalogue as data (bands, fees, credit bands: small tables);
the rules are the SQL below. It covers what the example catalogue prices from usage in a month.
It leaves out quarterly and annual fees and agreements (negotiated discounts, commitments),
which do not depend on the usage rows: ``--compare`` compares the lines it writes, usage charges
and service credits, with the engine's latest run of the month, line by line and cost centre by
cost centre, to the cent, and prints the totals of both. Money is exact: decimals and 128-bit
integers (quantities and costs of up to 4 decimals, as the generated month has), never doubles.

It prints one JSON line: the seconds of the query, the lines and the total written.
"""

from __future__ import annotations

import argparse
import calendar
import datetime as dt
import json
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SCALE = 10**9  # amounts as 128-bit integers of 1e-9: every amount of a 4-decimal quantity and a price is exact


def price_tables(catalogue, month: str) -> dict[str, list[tuple]]:
    """The catalogue's services, tiers, tariff versions, prices, bands and credit bands as rows."""
    from tariffs.model import PricingModel

    first = dt.date.fromisoformat(f"{month}-01")
    last = first.replace(day=calendar.monthrange(first.year, first.month)[1])
    tables: dict[str, list[tuple]] = {"service": [], "tier": [], "version": [], "price": [], "band": [], "credit": []}
    for s in catalogue.services:
        tables["service"].append((s.code, s.default_tier, s.dimension))
        for t in s.tiers:
            level = t.service_level
            tables["tier"].append((s.code, t.code, t.rank, level.availability_pct, level.response_minutes,
                                   level.restore_hours))
    for v in catalogue.tariffs:
        if v.effective_from > last or (v.effective_to is not None and v.effective_to < first):
            continue
        thirty = bool(v.proration is not None and v.proration.thirty_day)
        exclusive_end = bool(v.proration is not None and v.proration.exclusive_end)
        tables["version"].append((v.service, v.version, v.effective_from, v.effective_to, thirty, exclusive_end,
                                  v.currency))
        for tier, price in v.prices:
            entries = [(None, price)] + [(value.strip().lower(), p) for value, p in price.by_value]
            for value, p in entries:
                if (p.included_quantity and p.model not in (PricingModel.PER_UNIT, PricingModel.FIXED)) or (
                        value is not None and (p.monthly_fee or p.minimum_charge or p.included_quantity)):
                    raise SystemExit(f"{v.service} {v.version} {tier}: outside what this reference prices")
                tables["price"].append((
                    v.service, v.version, tier, value, p.model.value, p.unit_price, p.block_size, p.block_price,
                    p.markup_pct, p.monthly_fee, p.included_quantity, p.minimum_charge, bool(p.exclusive_edges),
                    bool(p.fee_at_zero), bool(price.by_value), price.unknown.value if price.unknown else None))
                lower = Decimal(0)
                for i, band in enumerate(sorted(p.bands, key=lambda b: (b.up_to is None, b.up_to or 0))):
                    tables["band"].append((v.service, v.version, tier, value, i, lower, band.up_to, band.unit_price,
                                           band.flat_fee))
                    lower = band.up_to if band.up_to is not None else lower
            for metric, bands in price.service_credits:
                for i, band in enumerate(sorted(bands, key=lambda b: (b.shortfall_up_to is None, b.shortfall_up_to or 0))):
                    tables["credit"].append((v.service, v.version, tier, metric.value, i, band.shortfall_up_to,
                                             band.credit_pct))
    return tables


SCHEMAS = {
    "service": "code VARCHAR, default_tier VARCHAR, dimension VARCHAR",
    "tier": "service VARCHAR, tier VARCHAR, rank INTEGER, availability_pct DECIMAL(18,6), "
            "response_minutes DECIMAL(18,6), restore_hours DECIMAL(18,6)",
    "version": "service VARCHAR, version VARCHAR, effective_from DATE, effective_to DATE, thirty_day BOOLEAN, "
               "exclusive_end BOOLEAN, currency VARCHAR",
    "price": "service VARCHAR, version VARCHAR, tier VARCHAR, value VARCHAR, model VARCHAR, unit_price DECIMAL(18,6), "
             "block_size DECIMAL(18,4), block_price DECIMAL(18,2), markup DECIMAL(18,2), monthly_fee DECIMAL(18,2), "
             "included DECIMAL(18,4), minimum DECIMAL(18,2), exclusive_edges BOOLEAN, at_zero BOOLEAN, "
             "by_value BOOLEAN, unknown VARCHAR",
    "band": "service VARCHAR, version VARCHAR, tier VARCHAR, value VARCHAR, idx INTEGER, lower DECIMAL(18,4), "
            "up_to DECIMAL(18,4), unit_price DECIMAL(18,6), flat_fee DECIMAL(18,2)",
    "credit": "service VARCHAR, version VARCHAR, tier VARCHAR, metric VARCHAR, idx INTEGER, "
              "up_to DECIMAL(18,6), pct DECIMAL(18,2)",
}


def the_query(*, usage: Path, org: Path, month: str, dimensions: dict[str, str], usage_columns: list[str]) -> str:
    """The one query: usage CSV and organisation in, one row per charge and cost centre out."""
    first = dt.date.fromisoformat(f"{month}-01")
    days_in_month = calendar.monthrange(first.year, first.month)[1]
    last = first.replace(day=days_in_month)
    dim = " ".join(f"WHEN '{service}' THEN {column}" for service, column in dimensions.items()
                   if column in usage_columns)
    dim_expr = f"NULLIF(lower(trim(CASE service {dim} END)), '')" if dim else "CAST(NULL AS VARCHAR)"
    moves = org / "cost_centers_moves.csv"
    moved = (f"UNION ALL SELECT cost_center, business_line, CAST(effective_from AS DATE) FROM read_csv('{moves}', all_varchar = true)"
             if moves.exists() else "")
    q = "DECIMAL(38,4)"
    return f"""
WITH
usage AS (
    SELECT CAST(usage_date AS DATE) AS d, cost_center AS cc, service, NULLIF(tier, '') AS feed_tier,
           CAST(quantity AS {q}) AS q, CAST(coalesce(NULLIF(cost, ''), '0') AS {q}) AS c, {dim_expr} AS dim
    FROM read_csv('{usage}', all_varchar = true)
),
owned AS (
    SELECT cost_center AS cc, business_line AS bl, DATE '0001-01-01' AS f FROM read_csv('{org / "cost_centers.csv"}', all_varchar = true)
    {moved}
),
owner AS (SELECT cc, bl, f, lead(f) OVER (PARTITION BY cc ORDER BY f) - INTERVAL 1 DAY AS t FROM owned),
days AS (SELECT CAST(range AS DATE) AS d FROM range(DATE '{first}', DATE '{last}' + INTERVAL 1 DAY, INTERVAL 1 DAY)),
subs AS (
    SELECT business_line AS bl, service, tier, CAST(effective_from AS DATE) AS f,
           CAST(NULLIF(effective_to, '') AS DATE) AS t, row_number() OVER () AS n
    FROM read_csv('{org / "subscriptions.csv"}', all_varchar = true)
),
sub_day AS (
    SELECT s.bl, s.service, days.d, s.tier FROM subs s JOIN days ON days.d >= s.f AND (s.t IS NULL OR days.d <= s.t)
    QUALIFY row_number() OVER (PARTITION BY s.bl, s.service, days.d ORDER BY s.f DESC, s.n DESC) = 1
),
ends AS (  -- a subscription ending in the month with none of the line to the service the day after
    SELECT s.bl, s.service, s.t AS d FROM subs s
    WHERE s.t BETWEEN DATE '{first}' AND DATE '{last}' AND NOT EXISTS (
        SELECT 1 FROM subs o WHERE o.bl = s.bl AND o.service = s.service AND o.f <= s.t + 1 AND (o.t IS NULL OR o.t >= s.t + 1))
),
ver_day AS (
    SELECT v.service, v.version, days.d, v.thirty_day, v.exclusive_end FROM version v
    JOIN days ON days.d >= v.effective_from AND (v.effective_to IS NULL OR days.d <= v.effective_to)
),
daily AS (
    SELECT u.d, o.bl, u.cc, u.service, u.feed_tier, u.dim, sum(u.q) AS q, sum(u.c) AS c, count(*) AS n
    FROM usage u JOIN owner o ON o.cc = u.cc AND u.d >= o.f AND (o.t IS NULL OR u.d <= o.t)
    GROUP BY ALL
),
priced AS (
    SELECT daily.*, coalesce(sd.tier, daily.feed_tier, sv.default_tier) AS tier, sd.tier IS NOT NULL AS subscribed,
           vd.version
    FROM daily JOIN service sv ON sv.code = daily.service
    JOIN ver_day vd ON vd.service = daily.service AND vd.d = daily.d
    LEFT JOIN sub_day sd ON sd.bl = daily.bl AND sd.service = daily.service AND sd.d = daily.d
),
seg_day AS (  -- the days each segment is in force, and what each day weighs in its month
    SELECT DISTINCT sd.bl, sd.service, sd.tier, vd.version, sd.d, vd.thirty_day, vd.exclusive_end
    FROM sub_day sd JOIN ver_day vd ON vd.service = sd.service AND vd.d = sd.d
    UNION
    SELECT p.bl, p.service, p.tier, p.version, vd.d, vd.thirty_day, vd.exclusive_end
    FROM (SELECT DISTINCT bl, service, tier, version FROM priced WHERE NOT subscribed) p
    JOIN ver_day vd ON vd.service = p.service AND vd.version = p.version
    WHERE NOT EXISTS (SELECT 1 FROM sub_day x WHERE x.bl = p.bl AND x.service = p.service AND x.d = vd.d)
),
segment AS (
    SELECT bl, service, tier, version,
           CAST(sum(CASE WHEN exclusive_end AND EXISTS (SELECT 1 FROM ends e WHERE e.bl = s.bl AND e.service = s.service AND e.d = s.d)
                    THEN 0
                    WHEN NOT thirty_day THEN 1
                    WHEN day(d) = {days_in_month} THEN 30 - least(day(d) - 1, 30)
                    ELSE least(day(d), 30) - least(day(d) - 1, 30) END) AS HUGEINT) AS num,
           CAST(CASE WHEN any_value(thirty_day) THEN 30 ELSE {days_in_month} END AS HUGEINT) AS den
    FROM seg_day s GROUP BY ALL
),
line AS (  -- the lines of each segment: one (value NULL) per tier price; per value, and the terms, by dimension
    SELECT seg.*, p.by_value, p.unknown, '' AS value, 'terms' AS part FROM segment seg
    JOIN price p ON p.service = seg.service AND p.version = seg.version AND p.tier = seg.tier AND p.value IS NULL
    UNION ALL
    SELECT DISTINCT seg.*, p.by_value, p.unknown, coalesce(pr.dim, '') AS value, 'value' AS part
    FROM segment seg JOIN price p ON p.service = seg.service AND p.version = seg.version AND p.tier = seg.tier
        AND p.value IS NULL AND p.by_value
    JOIN priced pr ON pr.bl = seg.bl AND pr.service = seg.service AND pr.tier = seg.tier AND pr.version = seg.version
),
line_usage AS (  -- each line's usage per cost centre
    SELECT l.bl, l.service, l.tier, l.version, l.value, l.part, pr.cc, sum(pr.q) AS q, sum(pr.c) AS c, sum(pr.n) AS n
    FROM line l JOIN priced pr ON pr.bl = l.bl AND pr.service = l.service AND pr.tier = l.tier AND pr.version = l.version
        AND (l.part = 'value' AND coalesce(pr.dim, '') = l.value OR l.part = 'terms' AND NOT l.by_value)
    GROUP BY ALL
),
line_total AS (
    SELECT l.*, coalesce(sum(u.q), 0) AS q, coalesce(sum(u.c), 0) AS c, coalesce(sum(u.n), 0) AS n,
           -- the price that prices the line's usage: the tier's own, or the value's
           coalesce(vp.value, CASE WHEN l.part = 'terms' OR l.unknown = 'default' THEN '' END) AS price_value
    FROM line l
    LEFT JOIN line_usage u USING (bl, service, tier, version, value, part)
    LEFT JOIN price vp ON l.part = 'value' AND vp.service = l.service AND vp.version = l.version AND vp.tier = l.tier
        AND vp.value = l.value
    GROUP BY ALL
),
priced_line AS (
    SELECT t.*, p.model, p.unit_price, p.block_size, p.block_price, p.markup, p.exclusive_edges, p.at_zero,
           -- billable quantity (× den where an included quantity is prorated: per unit only)
           CASE WHEN t.part = 'terms' THEN greatest(t.q * t.den - p.included * t.num, 0) ELSE t.q END AS billable_den,
           CASE WHEN t.part = 'terms' THEN t.den ELSE 1 END AS bden
    FROM line_total t JOIN price p ON p.service = t.service AND p.version = t.version AND p.tier = t.tier
        AND coalesce(p.value, '') = t.price_value
),
band_use AS (
    SELECT pl.bl, pl.service, pl.tier, pl.version, pl.value, pl.part, b.idx,
           pl.billable_den / pl.bden AS x, b.lower, b.up_to, b.unit_price AS bp, b.flat_fee, pl.model,
           pl.exclusive_edges AS ex, pl.at_zero, pl.block_size AS bs,
           (b.up_to IS NULL OR pl.billable_den / pl.bden < b.up_to OR (pl.billable_den / pl.bden = b.up_to AND NOT pl.exclusive_edges)) AS in_band
    FROM priced_line pl JOIN band b ON b.service = pl.service AND b.version = pl.version AND b.tier = pl.tier
        AND coalesce(b.value, '') = pl.price_value
    WHERE pl.model IN ('graduated', 'volume')
),
band_use2 AS (
    SELECT *, min(CASE WHEN in_band THEN idx END) OVER (PARTITION BY bl, service, tier, version, value, part) AS chosen FROM band_use
),
blocks AS (  -- a band's part, a started block counted whole in the band the quantity ends in
    SELECT *, CASE WHEN model = 'graduated' THEN greatest(0, least(x, coalesce(up_to, x)) - lower) ELSE x END AS raw_part,
           CASE WHEN model = 'graduated' THEN (idx = 0 AND (x > 0 OR at_zero)) OR (idx > 0 AND (x > lower OR (x = lower AND ex)))
                ELSE idx = chosen AND (x > 0 OR (idx = 0 AND at_zero)) END AS entered
    FROM band_use2
),
band_amount AS (
    SELECT bl, service, tier, version, value, part,
           sum(CASE WHEN NOT entered THEN 0
                    WHEN bs IS NULL OR NOT in_band THEN raw_part * bp + flat_fee
                    ELSE CAST((CAST(raw_part * 10000 AS HUGEINT) + CAST(bs * 10000 AS HUGEINT) - 1)
                              // CAST(bs * 10000 AS HUGEINT) AS DECIMAL(38,0)) * bs * bp + flat_fee END) AS amount
    FROM blocks GROUP BY ALL
),
usage_amount AS (  -- the usage part of each line, × bden, exact
    SELECT pl.*, CASE
        WHEN pl.model = 'fixed' THEN 0
        WHEN pl.model = 'per_unit' THEN pl.billable_den * pl.unit_price
        WHEN pl.model = 'package' THEN CAST((CAST(pl.q * 10000 AS HUGEINT) + CAST(pl.block_size * 10000 AS HUGEINT) - 1)
                                            // CAST(pl.block_size * 10000 AS HUGEINT) AS DECIMAL(38,0)) * pl.block_price * pl.bden
        WHEN pl.model = 'pass_through' THEN pl.c * (100 + pl.markup) * 0.01 * pl.bden
        ELSE coalesce(ba.amount, 0) * pl.bden END AS usage_den
    FROM priced_line pl LEFT JOIN band_amount ba USING (bl, service, tier, version, value, part)
),
value_sum AS (
    SELECT bl, service, tier, version, sum(usage_den) AS values_usage FROM usage_amount WHERE part = 'value' GROUP BY ALL
),
amounts AS (  -- exact amount × den: usage, the monthly fee and the minimum prorated (tier terms once)
    SELECT a.*, p.monthly_fee * a.num AS fee_den, p.minimum * a.num AS min_den, CASE
        WHEN a.part = 'value' THEN a.usage_den * a.den
        WHEN a.by_value THEN p.monthly_fee * a.num + greatest(0, p.minimum * a.num - (coalesce(vs.values_usage, 0) * a.den + p.monthly_fee * a.num))
        WHEN a.model = 'pass_through' AND a.c < 0 THEN a.usage_den + p.monthly_fee * a.num
        ELSE greatest(a.usage_den + p.monthly_fee * a.num, p.minimum * a.num) END AS exact_den
    FROM usage_amount a
    JOIN price p ON p.service = a.service AND p.version = a.version AND p.tier = a.tier AND p.value IS NULL
    LEFT JOIN value_sum vs ON vs.bl = a.bl AND vs.service = a.service AND vs.tier = a.tier AND vs.version = a.version
),
charge AS (  -- rounded once, half-up (away from zero), to the cent; E = exact amount × den × 1e9
    SELECT *, CAST(exact_den * {SCALE} AS HUGEINT) AS e, den * {SCALE} AS ed,
           CASE WHEN exact_den >= 0 THEN (2 * CAST(exact_den * {SCALE} AS HUGEINT) * 100 + den * {SCALE}) // (2 * den * {SCALE})
                ELSE -((-2 * CAST(exact_den * {SCALE} AS HUGEINT) * 100 + den * {SCALE}) // (2 * den * {SCALE})) END AS cents
    FROM amounts WHERE n > 0 OR exact_den <> 0
),
primary_center AS (
    SELECT bl, min(cc) AS cc FROM owner WHERE f <= DATE '{last}' AND (t IS NULL OR t >= DATE '{last}') GROUP BY bl
),
weights AS (
    SELECT ch.bl, ch.service, ch.tier, ch.version, ch.value, ch.part, coalesce(u.cc, pc.cc) AS cc,
           CAST(CASE WHEN ch.model = 'pass_through' THEN coalesce(u.c, 0) ELSE coalesce(u.q, 0) END * 10000 AS HUGEINT) AS w,
           coalesce(u.q, 0) AS q
    FROM charge ch LEFT JOIN line_usage u USING (bl, service, tier, version, value, part)
    LEFT JOIN primary_center pc ON pc.bl = ch.bl
),
split AS (
    SELECT ch.bl, ch.service, ch.tier, ch.version, ch.value, ch.part, ch.cents, ch.e, ch.ed, w.cc, w.q, w.w,
           sum(w.w) OVER (PARTITION BY ch.bl, ch.service, ch.tier, ch.version, ch.value, ch.part) AS wt
    FROM charge ch JOIN weights w USING (bl, service, tier, version, value, part)
),
floored AS (  -- each cost centre's exact share cut down to the cent, and what is left of it
    SELECT *, CASE WHEN wt = 0 THEN cents ELSE fdiv(e * w * 100, ed * wt) END AS fl,
              CASE WHEN wt = 0 THEN 0 ELSE e * w * 100 - fdiv(e * w * 100, ed * wt) * ed * wt END AS rest
    FROM split
),
usage_share AS (
    SELECT *, fl + CASE WHEN row_number() OVER (PARTITION BY bl, service, tier, version, value, part ORDER BY rest DESC, cc)
                      <= cents - sum(fl) OVER (PARTITION BY bl, service, tier, version, value, part) THEN 1 ELSE 0 END AS share
    FROM floored
),
achieved AS (
    SELECT service, tier, NULLIF(business_line, '') AS bl, metric, CAST(achieved AS DECIMAL(18,6)) AS achieved
    FROM read_csv('{org / f"sla-{month}.csv"}', all_varchar = true) WHERE month = '{month}'
),
credit_pct AS (  -- the largest credit of any missed metric, per usage line
    SELECT ch.bl, ch.service, ch.tier, ch.version, ch.value, ch.part, max(least(cr.pct, 100)) AS pct
    FROM charge ch JOIN tier ti ON ti.service = ch.service AND ti.tier = ch.tier
    JOIN (SELECT DISTINCT service, version, tier, metric FROM credit) m ON m.service = ch.service AND m.version = ch.version AND m.tier = ch.tier
    JOIN LATERAL (
        SELECT coalesce(max(achieved) FILTER (WHERE a.bl = ch.bl), max(achieved) FILTER (WHERE a.bl IS NULL)) AS achieved
        FROM achieved a WHERE a.service = ch.service AND a.tier = ch.tier AND a.metric = m.metric
    ) got ON got.achieved IS NOT NULL
    JOIN LATERAL (
        SELECT CASE m.metric WHEN 'availability_pct' THEN ti.availability_pct - got.achieved
                             WHEN 'response_minutes' THEN got.achieved - ti.response_minutes
                             WHEN 'restore_hours' THEN got.achieved - ti.restore_hours END AS shortfall
    ) sh ON sh.shortfall > 0
    JOIN LATERAL (
        SELECT coalesce(min(idx) FILTER (WHERE c.up_to IS NULL OR sh.shortfall <= c.up_to), max(idx)) AS idx
        FROM credit c WHERE c.service = ch.service AND c.version = ch.version AND c.tier = ch.tier AND c.metric = m.metric
    ) band ON true
    JOIN credit cr ON cr.service = ch.service AND cr.version = ch.version AND cr.tier = ch.tier AND cr.metric = m.metric
        AND cr.idx = band.idx
    WHERE ch.cents > 0
    GROUP BY ALL
),
credit_line AS (  -- credit = -exact × pct / 100, rounded once; split by each cost centre's share of the charge
    SELECT s.*, cp.pct, CAST(cp.pct * 100 AS HUGEINT) AS p100,
           -((2 * s.e * CAST(cp.pct * 100 AS HUGEINT) + s.ed * 100) // (2 * s.ed * 100)) AS credit_cents
    FROM usage_share s JOIN credit_pct cp USING (bl, service, tier, version, value, part)
),
credit_floor AS (
    SELECT *, fdiv(-e * p100 * share, ed * 100 * cents) AS fl2,
           -e * p100 * share - fdiv(-e * p100 * share, ed * 100 * cents) * ed * 100 * cents AS rest2
    FROM credit_line
),
credit_share AS (
    SELECT *, fl2 + CASE WHEN row_number() OVER (PARTITION BY bl, service, tier, version, value, part ORDER BY rest2 DESC, cc)
                       <= credit_cents - sum(fl2) OVER (PARTITION BY bl, service, tier, version, value, part) THEN 1 ELSE 0 END AS share2
    FROM credit_floor
)
SELECT 'usage' AS kind, bl AS business_line, service, tier, version, NULLIF(value, '') AS dimension_value, cc AS cost_center,
       CAST(cents AS BIGINT) AS charge_cents, CAST(share AS BIGINT) AS share_cents, q AS quantity
FROM usage_share
UNION ALL
SELECT 'sla_credit', bl, service, tier, version, NULLIF(value, ''), cc, CAST(credit_cents AS BIGINT), CAST(share2 AS BIGINT), 0
FROM credit_share
"""


def run(org: Path, usage: Path, month: str, out: Path, tariffs: Path) -> dict:
    import duckdb

    from tariffs.load import load_catalogue

    catalogue, problems = load_catalogue(tariffs)
    con = duckdb.connect()
    for name, rows in price_tables(catalogue, month).items():
        con.execute(f"CREATE TABLE {name} ({SCHEMAS[name]})")
        if rows:
            con.executemany(f"INSERT INTO {name} VALUES ({', '.join('?' * len(rows[0]))})", rows)
    # floor division of 128-bit integers (DuckDB's // truncates toward zero)
    con.execute("CREATE MACRO fdiv(a, b) AS CASE WHEN a % b <> 0 AND ((a < 0) <> (b < 0)) THEN a // b - 1 ELSE a // b END")
    columns = [c for c, *_ in con.execute(f"DESCRIBE SELECT * FROM read_csv('{usage}', all_varchar = true)").fetchall()]
    dimensions = {s.code: s.dimension for s in catalogue.services if s.dimension}
    query = the_query(usage=usage, org=org, month=month, dimensions=dimensions, usage_columns=columns)
    start = time.perf_counter()
    con.execute(f"COPY ({query}) TO '{out}' (FORMAT parquet)")
    seconds = time.perf_counter() - start
    lines, total = con.execute(
        f"SELECT count(*), sum(c) FROM (SELECT DISTINCT kind, business_line, service, tier, version, dimension_value, "
        f"charge_cents AS c FROM '{out}')").fetchone()
    return {"engine": f"duckdb {duckdb.__version__}", "query_s": seconds, "lines": lines,
            "total": str(Decimal(int(total or 0)) / 100)}


def compare(out: Path, db_url: str, month: str) -> bool:
    """The lines written against the engine's latest run of ``month``: usage charges and service
    credits, each line's amount and every cost centre's share, to the cent."""
    import duckdb
    from sqlalchemy import create_engine, text

    engine = create_engine(db_url)
    with engine.connect() as connection:
        run_id = connection.execute(text("SELECT max(id) FROM rating_run WHERE month = :m"), {"m": month}).scalar()
        rows = connection.execute(text(
            "SELECT c.kind, b.code, c.service_code, c.tier_code, v.version, c.dimension_value, cc.code, c.amount, s.amount, "
            "c.line_no FROM charge c JOIN business_line b ON b.id = c.business_line_id "
            "JOIN tariff_version v ON v.id = c.tariff_version_id "
            "JOIN charge_cost_center s ON s.charge_id = c.id LEFT JOIN cost_center cc ON cc.id = s.cost_center_id "
            "WHERE c.run_id = :r"), {"r": run_id}).all()
    engine_lines: dict[tuple, Decimal] = {}
    engine_shares: dict[tuple, Decimal] = {}
    other = {}
    for kind, line, service, tier, version, value, center, amount, share, line_no in rows:
        key = (kind, line, service, tier, version, (value or "").strip().lower() or None)
        if kind not in ("usage", "sla_credit"):
            other[(kind, line_no)] = Decimal(str(amount))
            continue
        engine_lines[key] = Decimal(str(amount))
        engine_shares[(*key, center)] = engine_shares.get((*key, center), Decimal(0)) + Decimal(str(share))
    mine_lines: dict[tuple, Decimal] = {}
    mine_shares: dict[tuple, Decimal] = {}
    for kind, line, service, tier, version, value, center, cents, share in duckdb.sql(
            f"SELECT kind, business_line, service, tier, version, dimension_value, cost_center, charge_cents, share_cents "
            f"FROM '{out}'").fetchall():
        key = (kind, line, service, tier, version, value)
        mine_lines[key] = Decimal(cents) / 100
        mine_shares[(*key, center)] = mine_shares.get((*key, center), Decimal(0)) + Decimal(share) / 100
    differ = sorted(k for k in set(engine_lines) | set(mine_lines) if engine_lines.get(k) != mine_lines.get(k))
    shares_differ = sorted(k for k in set(engine_shares) | set(mine_shares)
                           if engine_shares.get(k, 0) != mine_shares.get(k, 0))
    for key in differ[:20]:
        print(f"  line {key}: engine {engine_lines.get(key)}, DuckDB {mine_lines.get(key)}")
    for key in shares_differ[:20]:
        print(f"  share {key}: engine {engine_shares.get(key)}, DuckDB {mine_shares.get(key)}")
    print(f"engine: {len(engine_lines):,} usage and credit lines, total {sum(engine_lines.values()):,}; "
          f"{len(other)} other lines (fees, agreements) not compared, total {sum(other.values(), Decimal(0)):,}")
    print(f"DuckDB: {len(mine_lines):,} lines, total {sum(mine_lines.values()):,}")
    same = not differ and not shares_differ
    print(f"{'the same' if same else 'DIFFERENT'}: {len(differ)} lines and {len(shares_differ)} cost-centre shares differ "
          f"({len(engine_shares):,} shares compared)")
    return same


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--org", type=Path, required=True, help="The folder bench.py writes the organisation to.")
    parser.add_argument("--usage", type=Path, required=True)
    parser.add_argument("--month", default="2026-03")
    parser.add_argument("--tariffs", type=Path, default=ROOT / "examples" / "tariffs")
    parser.add_argument("--out", type=Path, default=Path("duckdb-charges.parquet"))
    parser.add_argument("--compare", metavar="DB_URL", help="Compare the lines written with the engine's store.")
    parser.add_argument("--compare-only", action="store_true", help="Compare an --out written before; run no query.")
    args = parser.parse_args()
    if not args.compare_only:
        print(json.dumps(run(args.org, args.usage, args.month, args.out, args.tariffs)), flush=True)
    if args.compare and not compare(args.out, args.compare, args.month):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
