"""Benchmark: the usage load through the local engine and through Spark, on the same files.

    python bench/spark.py [--rows 1000 1000000] [--master local[2]] [--keep]

For each size bench.py's generator writes the demo organisation and one usage CSV (the same
month, seed and rows as bench.py). Two fresh SQLite stores get the organisation, the example
tariffs, subscriptions and service levels; then one loads the CSV with ``usage load`` and the
other with ``usage load --engine spark``, each in its own ``chargeback`` child process (wall
time; CPU and peak RSS of the Python process; and the CPU of the whole process tree, the
JVM that pyspark starts included, sampled from /proc every half second), and both months are
rated with ``month run``. The stores are then compared: feeds, quarantine, daily
sums and the month's charges must be the same to the cent, or the benchmark fails.

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000, 1_000_000])
    parser.add_argument("--master", default="local[2]")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}", flush=True)
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-spark-") as tmp:
        folder = Path(tmp)
        for rows in args.rows:
            sized = folder / str(rows)
            sized.mkdir()
            files = base.generate(sized, rows)
            usage = Path(files["usage"])
            print(f"{rows:,} rows: {usage.stat().st_size / 2**20:,.0f} MB CSV", flush=True)
            stores, steps = {}, {}
            for engine in ("local", "spark"):
                db_url, _ = base.fresh_store("sqlite", sized)
                run = lambda *a, db_url=db_url, **k: base.chargeback(db_url, *a, **k)  # noqa: E731
                run("tariffs", "load", base.ROOT / "examples" / "tariffs", label="tariffs load")
                for path in files["org"]:
                    run("org", "load", path, label="org load")
                run("subscriptions", "load", files["subscriptions"], label="subscriptions load")
                run("sla", "load", files["sla"], label="sla load")
                extra = ["--engine", "spark", "--spark-master", args.master] if engine == "spark" else []
                load_average = os.getloadavg()[0]
                with TreeCpu() as tree:
                    step = run("usage", "load", usage, "--source", "bench", "--new-source", *extra,
                               label=f"{engine} load")
                after = os.getloadavg()[0]
                rate = run("month", "run", base.MONTH, label="month run")
                print(f"  {engine}: {step.seconds:.1f} s wall, {step.cpu_s:.1f} s CPU (Python), "
                      f"{tree.seconds:.1f} s CPU (every process, the JVM included), "
                      f"{step.peak_rss_mb:,.0f} MB peak RSS (Python), load average {load_average:.1f} before, "
                      f"{after:.1f} after: {step.last_line()}", flush=True)
                print(f"  {engine}: {rate.last_line()}", flush=True)
                stores[engine], steps[engine] = store_content(db_url), (step, tree.seconds)
            same = {what: stores["local"][what] == stores["spark"][what] for what in stores["local"]}
            if not all(same.values()):
                raise SystemExit(f"the engines differ at {rows:,} rows: {same}")
            results.append((rows, steps["local"], steps["spark"], len(stores["local"]["charges"])))
            print(f"  the same feeds, quarantine ({len(stores['local']['rejects']):,} rows), daily sums "
                  f"({len(stores['local']['daily']):,}) and charges ({len(stores['local']['charges']):,})", flush=True)
    cores = cores_of(args.master)
    print("\nrows | local wall s | local CPU s | local rows/s per core (CPU) | spark wall s | spark CPU s (all) | "
          f"spark rows/s per core (wall x {cores}) | spark rows/s per CPU second | spark / local wall")
    for rows, (local, _), (spark, spark_cpu), _ in results:
        per_core = f"{rows / (spark.seconds * cores):,.0f}" if cores else "?"
        per_cpu = f"{rows / spark_cpu:,.0f}" if spark_cpu else "?"
        print(f"{rows:,} | {local.seconds:.1f} | {local.cpu_s:.1f} | {rows / local.cpu_s:,.0f} | {spark.seconds:.1f} | "
              f"{spark_cpu:.1f} | {per_core} | {per_cpu} | {spark.seconds / local.seconds:.1f}x")


if __name__ == "__main__":
    main()
