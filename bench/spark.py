"""Benchmark: the usage load through the local engine and through Spark, on the same files.

    python bench/spark.py [--rows 1000 1000000] [--focus-rows 100000] [--master local[2]]

For each size bench.py's generator writes the demo organisation and one usage CSV (the same
month, seed and rows as bench.py). Two fresh SQLite stores get the organisation, the example
tariffs, subscriptions and service levels; then one loads the CSV with ``usage load`` and the
other with ``usage load --engine spark``, each in its own ``chargeback`` child process (wall
time; CPU and peak RSS of the Python process; and the CPU of the whole process tree, the
JVM that pyspark starts included, sampled from /proc every half second), and both months are
rated with ``month run``. The stores are then compared: feeds, quarantine, daily
sums and the month's charges must be the same to the cent, or the benchmark fails.

``--focus-rows`` does the same with FOCUS exports made of the real FOCUS sample's rows
(tests/data/focus/) repeated, each copy's Id its own, loaded with the example source
``focus-cloud`` into stores with its five business lines, both months rated.

Throughput per core: the local engine's rows per second of CPU; Spark's rows per second of
wall time per core of its master (``local[2]``: 2), the cores it holds for the whole load.
The figures in docs/scale-out.md and docs/performance.md come from this script.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench as base  # noqa: E402  (bench/bench.py)
import polars as pl  # noqa: E402
import sqlalchemy as sa  # noqa: E402


def store_content(db_url: str) -> dict[str, object]:
    """Feeds, quarantine, daily sums and charges: what both engines must land alike."""
    engine = sa.create_engine(db_url)
    with engine.connect() as c:
        feeds = [tuple(r) for r in c.execute(sa.text(
            "select months, rows_read, rows_loaded, rows_rejected, rows_duplicate, rows_conflict, quantity_total, "
            "cost_total from usage_feed order by id"))]
        rejects = sorted(tuple(r) for r in c.execute(sa.text(
            'select row_no, "column", code, message from usage_reject')))
        daily = [pl.read_parquet(d) for (d,) in c.execute(sa.text("select data from usage_part where kind = 'daily'"))]
        charges = sorted(tuple(str(v) for v in r) for r in c.execute(sa.text(
            "select month, line_no, kind, business_line_id, service_code, tier_code, charging_mode, segment_from, "
            "segment_to, quantity, billable, cost, exact_amount, amount, currency, detail, usage_rows from charge")))
    engine.dispose()
    frame = pl.concat(daily) if daily else pl.DataFrame()
    keys = [k for k in frame.columns if k not in ("quantity", "cost", "rows")]
    return {"feeds": feeds, "rejects": rejects, "daily": frame.sort(keys, nulls_last=True).rows(),
            "charges": sorted(charges)}


class TreeCpu:
    """The CPU time (user + system, seconds) of every process below this one, the JVM that
    pyspark starts included: each process's /proc counters, sampled every ``every`` seconds
    while it lives (the last sample of a process counts; the fraction of a second between a
    process's last sample and its end is missed)."""

    def __init__(self, every: float = 0.5):
        self.every = every
        self.seen: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._tick = os.sysconf("SC_CLK_TCK")

    def __enter__(self) -> TreeCpu:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def seconds(self) -> float:
        return sum(self.seen.values())

    def _run(self) -> None:
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(self.every)

    def _sample(self) -> None:
        parents: dict[int, int] = {}
        times: dict[int, float] = {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parents[int(entry)] = int(fields[1])
            times[int(entry)] = (int(fields[11]) + int(fields[12])) / self._tick
        me = os.getpid()
        for pid in times:
            at, hops = pid, 0
            while at not in (0, 1, me) and hops < 64:
                at, hops = parents.get(at, 0), hops + 1
            if at == me and pid != me:
                self.seen[pid] = max(self.seen.get(pid, 0.0), times[pid])


def cores_of(master: str) -> int:
    found = re.fullmatch(r"local\[(\d+|\*)\]", master)
    if found:
        return os.cpu_count() or 1 if found.group(1) == "*" else int(found.group(1))
    return 1 if master == "local" else 0


FOCUS_SAMPLE = base.ROOT / "tests" / "data" / "focus" / "focus-1.0_sample_aws-microsoft-oracle_1000rows.csv"
FOCUS_LINES = "business_line,name\nENG,Engineering\nDATA,Data & AI\nFIN,Finance\nOPS,IT Operations\nRES,Research\n"
FOCUS_MONTHS = ("2024-09", "2024-10")


def write_focus(folder: Path, rows: int) -> Path:
    """A FOCUS export of ``rows`` rows: the real sample's rows (tests/data/focus/) over and
    over, each copy's ``Id`` made its own (``…#2``), everything else as the sample has it
    (written again by Python's csv module: values quoted only where they must be)."""
    import csv

    with FOCUS_SAMPLE.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        lines = list(reader)
    at = header.index("Id")
    path = folder / f"focus-{rows}.csv"
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(header)
        for i in range(rows):
            line = list(lines[i % len(lines)])
            copy = i // len(lines)
            if copy:
                line[at] = f"{line[at]}#{copy}"
            writer.writerow(line)
    return path


def measure(folder: Path, kind: str, rows: int, master: str) -> tuple[tuple, tuple, int, int, int]:
    """Load one generated file of ``kind`` (usage or focus) through both engines into fresh
    stores, rate its months, compare the stores; the two loads' steps and CPU, and what they
    landed."""
    if kind == "usage":
        files = base.generate(folder, rows)
        path, months = Path(files["usage"]), [base.MONTH]
        source = ["--source", "bench", "--new-source"]
    else:
        files, path, months = {}, write_focus(folder, rows), list(FOCUS_MONTHS)
        source = ["--source", "focus-cloud", "--sources", str(base.ROOT / "examples" / "sources")]
    print(f"{rows:,} rows of {kind}: {path.stat().st_size / 2**20:,.0f} MB CSV", flush=True)
    stores, steps = {}, {}
    for engine in ("local", "spark"):
        db_url, _ = base.fresh_store("sqlite", folder)
        run = lambda *a, db_url=db_url, **k: base.chargeback(db_url, *a, **k)  # noqa: E731
        run("tariffs", "load", base.ROOT / "examples" / "tariffs", label="tariffs load")
        if kind == "usage":
            for org in files["org"]:
                run("org", "load", org, label="org load")
            run("subscriptions", "load", files["subscriptions"], label="subscriptions load")
            run("sla", "load", files["sla"], label="sla load")
        else:
            lines = folder / "business_lines.csv"
            lines.write_text(FOCUS_LINES)
            run("org", "load", lines, label="org load")
        extra = ["--engine", "spark", "--spark-master", master] if engine == "spark" else []
        load_average = os.getloadavg()[0]
        with TreeCpu() as tree:
            step = run("usage", "load", path, *source, *extra, label=f"{engine} load")
        after = os.getloadavg()[0]
        rates = [run("month", "run", month, label="month run") for month in months]
        print(f"  {engine}: {step.seconds:.1f} s wall, {step.cpu_s:.1f} s CPU (Python), "
              f"{tree.seconds:.1f} s CPU (every process, the JVM included), "
              f"{step.peak_rss_mb:,.0f} MB peak RSS (Python), load average {load_average:.1f} before, "
              f"{after:.1f} after: {step.last_line()}", flush=True)
        for rate in rates:
            print(f"  {engine}: {rate.last_line()}", flush=True)
        stores[engine], steps[engine] = store_content(db_url), (step, tree.seconds)
    same = {what: stores["local"][what] == stores["spark"][what] for what in stores["local"]}
    if not all(same.values()):
        raise SystemExit(f"the engines differ at {rows:,} rows of {kind}: {same}")
    local = stores["local"]
    print(f"  the same feeds, quarantine ({len(local['rejects']):,} rows), daily sums ({len(local['daily']):,}) and "
          f"charges ({len(local['charges']):,})", flush=True)
    return steps["local"], steps["spark"], len(local["rejects"]), len(local["daily"]), len(local["charges"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, nargs="*", default=[1_000, 1_000_000],
                        help="sizes of bench.py's usage month (none: --focus-rows only)")
    parser.add_argument("--focus-rows", type=int, nargs="*", default=[],
                        help="sizes of a FOCUS export made of the real sample's rows, loaded with source focus-cloud")
    parser.add_argument("--master", default="local[2]")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}", flush=True)
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-spark-") as tmp:
        for kind, sizes in (("usage", args.rows), ("focus", args.focus_rows)):
            for rows in sizes:
                sized = Path(tmp) / f"{kind}-{rows}"
                sized.mkdir()
                results.append((kind, rows, *measure(sized, kind, rows, args.master)))
    cores = cores_of(args.master)
    print("\nfile | rows | local wall s | local CPU s | local rows/s per core (CPU) | spark wall s | spark CPU s (all) | "
          f"spark rows/s per core (wall x {cores}) | spark rows/s per CPU second | spark / local wall")
    for kind, rows, (local, _), (spark, spark_cpu), *_ in results:
        per_core = f"{rows / (spark.seconds * cores):,.0f}" if cores else "?"
        per_cpu = f"{rows / spark_cpu:,.0f}" if spark_cpu else "?"
        print(f"{kind} | {rows:,} | {local.seconds:.1f} | {local.cpu_s:.1f} | {rows / local.cpu_s:,.0f} | "
              f"{spark.seconds:.1f} | {spark_cpu:.1f} | {per_core} | {per_cpu} | {spark.seconds / local.seconds:.1f}x")


if __name__ == "__main__":
    main()
