"""Benchmark: load and rate one big usage month, and compare with two reference points.

    python bench/bench.py [--rows 1000000 10000000] [--db sqlite|postgresql|both] [--keep] [--dimensions]

For each size the usage CSV is generated once (timed apart, not counted). Then, for each
database, a fresh store (a SQLite file in a temporary folder, or a fresh schema in
PostgreSQL) gets the demo organisation, the example tariffs, subscriptions and service
levels, and these steps are timed, each in its own ``chargeback`` child process so that its
peak RSS is measured on its own (``os.wait4``):

- ``usage load`` of the big CSV (rows per second);
- ``month run`` of that month (rating usage that is already loaded);
- end to end: the two together, as a user runs them.

The reference points read the same CSV: a plain Python loop (``csv`` + ``Decimal``) and one
analytical query (DuckDB when it is installed, else polars' lazy ``scan_csv``), each summing
quantity per (cost centre, service). The figures in docs/performance.md come from this script.

With ``--dimensions`` the usage CSV carries the values of the example catalogue's price
dimensions (a region on every VM row, a storage class on every STORAGE row: docs/pricing.md,
"Price dimensions"), so rating prices them per value; a checkout that knows no dimensions
(``--against`` an older one) loads the same file and ignores the two columns.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from dataclasses import asdict, dataclass
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MONTH = "2026-03"
NEXT_MONTH = "2026-04"  # no usage: its run costs what every run costs
SEED = 7
PG_URL = os.environ.get("CHARGEBACK_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
TARGETS = {"rate_s": 5.0, "load_and_rate_s": 30.0, "peak_rss_mb": 1536.0}  # SQLite, 10M rows, 2 cores
#: Against the DuckDB query that writes the same charges (bench/duckdb_charges.py), and absolute:
#: re-rating within 1.5 times its time, load + rate within 5 times, peak RSS under 1 GB, and a
#: rating run's fixed cost (a month without usage) under 1 s.
DUCKDB_TARGETS = {"rate_x": 1.5, "load_and_rate_x": 5.0, "peak_rss_mb": 1024.0, "fixed_s": 1.0}


@dataclass(frozen=True, slots=True)
class Step:
    seconds: float
    cpu_s: float  # user + system time of the child: less sensitive than wall time to other load
    peak_rss_mb: float
    output: str
    error: str | None = None  # the last line the child printed, when it failed

    def last_line(self) -> str:
        lines = self.output.strip().splitlines()
        return lines[-1] if lines else ""


@dataclass(frozen=True, slots=True)
class Result:
    rows: int
    db: str
    checkout: str  # "this", or the folder given to --against
    generate_s: float
    csv_mb: float
    setup_s: float
    load_s: float
    load_cpu_s: float
    load_rss_mb: float
    rate_s: float
    rate_cpu_s: float
    rate_rss_mb: float
    quantity_loaded: str
    load_average: float  # of the machine, before the load started
    rate_error: str | None = None
    fixed_s: float = 0.0  # ``month run`` of the month after, which has no usage: a rating run's fixed cost
    fixed_cpu_s: float = 0.0
    load_cpu_and_rate_cpu: float = 0.0

    @property
    def load_and_rate_s(self) -> float:
        return self.load_s + self.rate_s

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.load_s


@dataclass(frozen=True, slots=True)
class Reference:
    rows: int
    engine: str
    seconds: float
    cpu_s: float
    peak_rss_mb: float
    groups: int
    quantity_total: str
    same_charges: bool | None = None  # the DuckDB charges: equal to the engine's, line by line (None: not compared)


# --- child processes ---------------------------------------------------------------------------


def run_child(args: list[str], *, label: str, check: bool = True) -> Step:
    """Run ``args``; its wall time and its own peak RSS (``os.wait4``). A failure stops the
    benchmark when ``check``, else it is recorded in the step."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        child = subprocess.Popen(args, stdout=out, stderr=err, cwd=ROOT)
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    error = None
    if child.returncode != 0:
        message = f"{label} failed ({child.returncode}): {' '.join(args)}\n{stdout}\n{stderr}"
        if check:
            raise SystemExit(message)
        print(message, file=sys.stderr, flush=True)
        error = (stderr.strip().splitlines() or [f"exit code {child.returncode}"])[-1]
    return Step(seconds=seconds, cpu_s=usage.ru_utime + usage.ru_stime, peak_rss_mb=usage.ru_maxrss / 1024,
                output=stdout + stderr, error=error)


#: The engine being measured: this checkout's, or another's with ``--against`` (its ``.venv``).
ENGINE = Path(sys.executable).with_name("chargeback")


def chargeback(db_url: str, *args: str, label: str, check: bool = True, engine: Path | None = None) -> Step:
    executable = engine or ENGINE
    command = [str(executable)] if executable.exists() else [sys.executable, "-m", "cli"]
    return run_child([*command, "--db", db_url, *map(str, args)], label=label, check=check)


def source_options(engine: Path) -> list[str]:
    """How ``usage load`` names the benchmark's source: engines with declared sources need
    ``--new-source`` for a source seen the first time; older ones know no such option."""
    shown = subprocess.run([str(engine), "usage", "load", "--help"], capture_output=True, text=True).stdout
    return ["--source", "bench", "--new-source"] if "--new-source" in shown else ["--source", "bench"]


# --- stores ------------------------------------------------------------------------------------


def fresh_store(kind: str, folder: Path) -> tuple[str, callable]:
    """A database URL with an empty store and a function that removes it."""
    if kind == "sqlite":
        path = folder / f"bench-{uuid.uuid4().hex[:8]}.db"
        return f"sqlite:///{path}", lambda: path.unlink(missing_ok=True)
    import psycopg

    schema = f"bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_URL, autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')

    def drop() -> None:
        with psycopg.connect(PG_URL, autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA "{schema}" CASCADE')

    separator = "&" if "?" in PG_URL else "?"
    return f"{PG_URL}{separator}options=-csearch_path%3D{schema}", drop


# --- the benchmark -----------------------------------------------------------------------------


def generate(folder: Path, rows: int, *, dimensions: bool = False) -> dict:
    """Write the demo organisation (no usage of its own) and one big usage CSV in a child
    process, so that this process stays small (a child's peak RSS counts its parent's at fork)."""
    step = run_child([sys.executable, __file__, "--generate", str(folder), str(rows),
                      *(["--dimensions"] if dimensions else [])], label="generate")
    return json.loads(step.last_line())


def write_inputs(folder: Path, rows: int, *, dimensions: bool = False) -> dict:
    """In the child: the files, and the seconds the usage CSV took."""
    import polars as pl

    from billing.demo.data import write_demo_files, write_usage_csv
    from tariffs.load import load_catalogue

    catalogue, _ = load_catalogue(ROOT / "examples" / "tariffs")
    files = write_demo_files(folder / "org", seed=SEED, months=[MONTH], rows_per_month=0, catalogue=catalogue)
    centers = pl.read_csv(files.cost_centers, infer_schema=False).get_column("cost_center").to_list()
    usage = folder / f"usage-{rows}.csv"
    start = time.perf_counter()
    write_usage_csv(usage, rows=rows, month=MONTH, seed=SEED, cost_centers=centers, catalogue=catalogue,
                    dimensions=dimensions)
    return {"org": [str(p) for p in files.org], "subscriptions": str(files.subscriptions), "sla": str(files.sla[0]),
            "usage": str(usage), "seconds": time.perf_counter() - start}


def bench_store(kind: str, folder: Path, files: dict, rows: int, keep: bool, engine: Path = ENGINE,
                checkout: str = "this", before_drop=None) -> Result:
    db_url, drop = fresh_store(kind, folder)
    run = lambda *args, **options: chargeback(db_url, *args, engine=engine, **options)  # noqa: E731
    try:
        setup = [
            run("tariffs", "load", engine.parent.parent.parent / "examples" / "tariffs", label="tariffs load"),
            *[run("org", "load", path, label="org load") for path in files["org"]],
            run("subscriptions", "load", files["subscriptions"], label="subscriptions load"),
            run("sla", "load", files["sla"], label="sla load"),
        ]
        usage = Path(files["usage"])
        load_average = os.getloadavg()[0]
        load = run("usage", "load", usage, *source_options(engine), label="usage load")
        rate = run("month", "run", MONTH, label="month run", check=False)
        fixed = run("month", "run", NEXT_MONTH, label="month run (no usage)", check=False)
        if before_drop is not None:
            before_drop(db_url)
        found = re.search(r"quantity (?:read [-\d,.]+, )?loaded (-?[\d,.]+\d)", load.output)
        quantity = str(Decimal(found.group(1).replace(",", "")).normalize()) if found else "?"
        print(f"  {kind}: {load.last_line()}", flush=True)
        print(f"  {kind}: {rate.error or rate.last_line()}", flush=True)
        return Result(rows=rows, db=kind, checkout=checkout, generate_s=files["seconds"], csv_mb=usage.stat().st_size / 2**20,
                      setup_s=sum(s.seconds for s in setup), load_s=load.seconds, load_cpu_s=load.cpu_s,
                      load_rss_mb=load.peak_rss_mb, rate_s=rate.seconds, rate_cpu_s=rate.cpu_s,
                      rate_rss_mb=rate.peak_rss_mb, quantity_loaded=quantity, load_average=load_average,
                      rate_error=rate.error, fixed_s=fixed.seconds, fixed_cpu_s=fixed.cpu_s,
                      load_cpu_and_rate_cpu=load.cpu_s + rate.cpu_s)
    finally:
        if not keep:
            drop()
        else:
            print(f"  kept {db_url}")


def reference(kind: str, usage: Path, rows: int) -> Reference:
    step = run_child([sys.executable, __file__, "--reference", kind, str(usage)], label=f"reference {kind}")
    found = json.loads(step.output.strip().splitlines()[-1])
    return Reference(rows=rows, engine=found["engine"], seconds=step.seconds, cpu_s=step.cpu_s,
                     peak_rss_mb=step.peak_rss_mb, groups=found["groups"], quantity_total=found["quantity_total"])


def duckdb_charges(files: dict, rows: int, db_url: str) -> Reference | None:
    """The charges from one DuckDB query (bench/duckdb_charges.py) over the same files, timed in
    a child, then compared with the engine's in ``db_url`` line by line (apart, not timed)."""
    try:
        import duckdb  # noqa: F401
    except ImportError:
        print("  DuckDB is not installed (pip install -e '.[bench]'): no DuckDB charges", flush=True)
        return None
    script = Path(__file__).with_name("duckdb_charges.py")
    out = Path(files["usage"]).with_suffix(".duckdb-charges.parquet")
    common = [sys.executable, str(script), "--org", str(Path(files["subscriptions"]).parent), "--usage", files["usage"],
              "--month", MONTH, "--out", str(out)]
    step = run_child(common, label="DuckDB charges")
    found = json.loads(step.last_line())
    compared = run_child([*common, "--compare-only", "--compare", db_url], label="DuckDB compare", check=False)
    print("  " + "\n  ".join(compared.output.strip().splitlines()[-3:]), flush=True)
    out.unlink(missing_ok=True)
    return Reference(rows=rows, engine=f"{found['engine']} charges ({found['lines']:,} lines)", seconds=step.seconds,
                     cpu_s=step.cpu_s, peak_rss_mb=step.peak_rss_mb, groups=found["lines"],
                     quantity_total=found["total"], same_charges=compared.error is None)


# --- the reference points (run in a child: ``bench.py --reference KIND CSV``) -------------------


def python_loop(path: Path) -> dict:
    """What a hand-written script does: csv.reader and Decimal, summing per key."""
    totals: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        center, service, quantity = header.index("cost_center"), header.index("service"), header.index("quantity")
        for row in reader:
            totals[(row[center], row[service])] += Decimal(row[quantity])
    return {"engine": "python csv + Decimal", "groups": len(totals), "quantity_total": str(sum(totals.values()))}


def analytical(path: Path) -> dict:
    """One analytical query over the CSV: DuckDB if installed, else polars' lazy engine."""
    try:
        import duckdb
    except ImportError:
        duckdb = None
    if duckdb is not None:
        found = duckdb.sql(
            f"SELECT cost_center, service, sum(CAST(quantity AS DECIMAL(38, 12))) AS quantity "
            f"FROM read_csv('{path}', all_varchar = true) GROUP BY ALL"
        ).fetchall()
        return {"engine": f"duckdb {duckdb.__version__}", "groups": len(found),
                "quantity_total": str(Decimal(sum(q for _, _, q in found)).normalize())}
    import polars as pl

    found = (
        pl.scan_csv(path, infer_schema=False)
        .group_by("cost_center", "service")
        .agg(pl.col("quantity").cast(pl.Decimal(38, 12)).sum())
        .collect(engine="streaming")
    )
    total = found.get_column("quantity").sum()
    return {"engine": f"polars {pl.__version__} lazy scan_csv", "groups": found.height,
            "quantity_total": str(Decimal(total).normalize())}


# --- output ------------------------------------------------------------------------------------


def print_tables(results: list[Result], references: list[Reference]) -> None:
    print()
    header = ["rows", "db", "checkout", "generate s", "CSV MB", "setup s", "load s", "load CPU s", "rows/s", "load RSS MB",
              "rate s", "rate CPU s", "rate RSS MB", "load+rate s", "no-usage run s", "its CPU s", "loadavg"]
    table = [[f"{r.rows:,}", r.db, r.checkout, f"{r.generate_s:.1f}", f"{r.csv_mb:.0f}", f"{r.setup_s:.1f}", f"{r.load_s:.1f}",
              f"{r.load_cpu_s:.1f}", f"{r.rows_per_s:,.0f}", f"{r.load_rss_mb:,.0f}",
              f"{r.rate_s:.1f}" if r.rate_error is None else "failed", f"{r.rate_cpu_s:.1f}", f"{r.rate_rss_mb:,.0f}",
              f"{r.load_and_rate_s:.1f}" if r.rate_error is None else "-", f"{r.fixed_s:.1f}", f"{r.fixed_cpu_s:.1f}",
              f"{r.load_average:.1f}"]
             for r in results]
    _print(header, table)
    if references:
        print()
        _print(["rows", "reference", "seconds", "CPU s", "rows/s", "peak RSS MB", "groups", "quantity total"],
               [[f"{r.rows:,}", r.engine, f"{r.seconds:.1f}", f"{r.cpu_s:.1f}", f"{r.rows / r.seconds:,.0f}",
                 f"{r.peak_rss_mb:,.0f}", f"{r.groups:,}", r.quantity_total] for r in references])
    for r in results:
        totals = {x.quantity_total for x in references if x.rows == r.rows and x.same_charges is None}
        if totals:
            same = totals == {r.quantity_loaded}
            print(f"{r.rows:,} rows, {r.db}: quantity loaded {r.quantity_loaded} "
                  f"{'equals' if same else 'DIFFERS FROM'} the references' total {', '.join(sorted(totals))}")
        if r.rate_error:
            print(f"month run failed ({r.rows:,} rows, {r.db}): {r.rate_error}")
    print_comparison(results)
    goal = [r for r in results if r.db == "sqlite" and r.rows >= 10_000_000 and r.checkout == "this"]
    for r in goal:
        print()
        print(f"targets, SQLite, {r.rows:,} rows:")
        for name, value, target in (("rate an already-loaded month", r.rate_s, TARGETS["rate_s"]),
                                    ("load + rate", r.load_and_rate_s, TARGETS["load_and_rate_s"]),
                                    ("peak RSS (MB)", max(r.load_rss_mb, r.rate_rss_mb), TARGETS["peak_rss_mb"])):
            met = value < target and (r.rate_error is None or "RSS" in name)
            print(f"  {name}: {value:,.1f} against < {target:,.1f}: {'met' if met else 'NOT met'}")
        duck = [x for x in references if x.rows == r.rows and x.same_charges is not None]
        if duck:
            d = duck[0]
            print(f"against the DuckDB charges ({d.seconds:.1f} s, {d.cpu_s:.1f} CPU s; "
                  f"{'the same charges' if d.same_charges else 'charges DIFFER'}):")
            for name, mine, theirs, times in (
                    ("re-rate, wall", r.rate_s, d.seconds, DUCKDB_TARGETS["rate_x"]),
                    ("re-rate, CPU", r.rate_cpu_s, d.cpu_s, DUCKDB_TARGETS["rate_x"]),
                    ("load + rate, wall", r.load_and_rate_s, d.seconds, DUCKDB_TARGETS["load_and_rate_x"]),
                    ("load + rate, CPU", r.load_cpu_and_rate_cpu, d.cpu_s, DUCKDB_TARGETS["load_and_rate_x"])):
                print(f"  {name}: {mine:,.1f} s = {mine / theirs:.2f} x against < {times} x: "
                      f"{'met' if mine / theirs < times else 'NOT met'}")
        peak = max(r.load_rss_mb, r.rate_rss_mb)
        print(f"  peak RSS: {peak:,.0f} MB against < {DUCKDB_TARGETS['peak_rss_mb']:,.0f}: "
              f"{'met' if peak < DUCKDB_TARGETS['peak_rss_mb'] else 'NOT met'}")
        print(f"  a rating run's fixed cost (month run of {NEXT_MONTH}, no usage): {r.fixed_s:.1f} s, "
              f"{r.fixed_cpu_s:.1f} CPU s against < {DUCKDB_TARGETS['fixed_s']}: "
              f"{'met' if r.fixed_cpu_s < DUCKDB_TARGETS['fixed_s'] else 'NOT met'} (CPU)")


def print_comparison(results: list[Result]) -> None:
    """With --against: the median load and rate of each checkout, and this one's change."""
    from statistics import median

    others = sorted({r.checkout for r in results} - {"this"})
    for other in others:
        for rows, db in sorted({(r.rows, r.db) for r in results}):
            mine = [r for r in results if (r.rows, r.db, r.checkout) == (rows, db, "this")]
            theirs = [r for r in results if (r.rows, r.db, r.checkout) == (rows, db, other)]
            print()
            print(f"{rows:,} rows, {db}: this checkout against {other} (median of {len(mine)} and {len(theirs)} runs)")
            for name in ("load_s", "load_cpu_s", "rate_s", "rate_cpu_s", "load_rss_mb", "fixed_cpu_s"):
                a, b = median(getattr(r, name) for r in mine), median(getattr(r, name) for r in theirs)
                print(f"  {name}: {a:,.1f} against {b:,.1f} ({(a - b) / b:+.1%})")


def _print(header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(str(c)) for c in column) for column in zip(header, *rows)]
    print("  ".join(h.rjust(w) for h, w in zip(header, widths)))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(str(c).rjust(w) for c, w in zip(row, widths)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000], help="Usage rows per run.")
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="sqlite")
    parser.add_argument("--keep", action="store_true", help="Keep the generated files and databases.")
    parser.add_argument("--no-reference", action="store_true", help="Skip the Python-loop and analytical references.")
    parser.add_argument("--json", type=Path, default=None, help="Also write the figures to this JSON file.")
    parser.add_argument("--workdir", type=Path, default=None, help="Where to write the files (default: a temp folder).")
    parser.add_argument("--against", type=Path, default=None, metavar="CHECKOUT",
                        help="Another checkout (with its .venv) to time the same way, alternating with this one.")
    parser.add_argument("--repeat", type=int, default=1, help="Runs of each store (and checkout) per size.")
    parser.add_argument("--dimensions", action="store_true",
                        help="Give every VM row a region and every STORAGE row a storage class (the example "
                             "catalogue's price dimensions).")
    parser.add_argument("--reference", nargs=2, metavar=("KIND", "CSV"), help=argparse.SUPPRESS)
    parser.add_argument("--generate", nargs=2, metavar=("FOLDER", "ROWS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.generate:
        print(json.dumps(write_inputs(Path(args.generate[0]), int(args.generate[1]), dimensions=args.dimensions)))
        return
    if args.reference:
        kind, path = args.reference
        print(json.dumps(python_loop(Path(path)) if kind == "python" else analytical(Path(path))))
        return

    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    folder = Path(tempfile.mkdtemp(prefix="chargeback-bench-", dir=args.workdir))
    results: list[Result] = []
    references: list[Reference] = []
    try:
        for rows in args.rows:
            sized = folder / f"{rows}"
            sized.mkdir()
            print(f"{rows:,} rows: generating the usage CSV ...", flush=True)
            files = generate(sized, rows, dimensions=args.dimensions)
            usage = Path(files["usage"])
            size = usage.stat().st_size / 2**20
            print(f"  generated {usage} ({size:,.0f} MB) in {files['seconds']:.1f} s", flush=True)
            engines = [(ENGINE, "this")]
            if args.against:
                engines.append((args.against.resolve() / ".venv" / "bin" / "chargeback", str(args.against)))
            for repeat in range(args.repeat):
                for kind in kinds:
                    for engine, checkout in engines:
                        compare = None
                        if not args.no_reference and repeat == 0 and kind == "sqlite" and checkout == "this":
                            compare = lambda url, f=files, n=rows: references.append(duckdb_charges(f, n, url))  # noqa: E731
                        results.append(bench_store(kind, sized, files, rows, args.keep, engine, checkout, compare))
                        print(f"  {kind} ({checkout}): load {results[-1].load_s:.1f} s, "
                              f"rate {results[-1].rate_s:.1f} s", flush=True)
            if not args.no_reference:
                for kind in ("python", "analytical"):
                    references.append(reference(kind, usage, rows))
                    print(f"  reference {references[-1].engine}: {references[-1].seconds:.1f} s", flush=True)
            if not args.keep:
                shutil.rmtree(sized)
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
        else:
            print(f"kept {folder}")
    references = [r for r in references if r is not None]
    print_tables(results, references)
    if args.json:
        figures = [asdict(r) | {"rows_per_s": r.rows_per_s, "load_and_rate_s": r.load_and_rate_s} for r in results]
        args.json.write_text(json.dumps({"results": figures, "references": [asdict(r) for r in references]}, indent=2))


if __name__ == "__main__":
    main()
