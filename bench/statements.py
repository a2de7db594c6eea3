"""Benchmark: a month's close and its statements, on a store made by ``chargeback demo``.

    chargeback demo --out /tmp/demo --through 2026-11
    python bench/statements.py /tmp/demo/chargeback.db [--month 2026-11]

On a copy of the store (SQLite's backup, so the original is untouched), each step in its own
``chargeback`` child process, timed with its CPU time and peak RSS (``os.wait4``):

- ``statements`` of the closed month (what a business-line head receives), as HTML and as
  PDF (``--format pdf``: one headless Chromium prints every statement);
- ``month reopen`` and ``month run`` of that month again, then its draft ``statements`` while
  it is open (the month priced at every tier then and there, the advice read from the earlier
  months' snapshots);
- ``month close``: the close is where the statement's figures (tier quotes, advice, budget) are
  frozen;
- ``statements`` of the month closed again (the first after the close: every picture drawn
  and kept with the close), and once more (the pictures read back, none drawn).

The figures in docs/performance.md ("Statements of a closed month") come from this script.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHARGEBACK = Path(sys.executable).with_name("chargeback")


def timed(args: list[str]) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds and peak RSS (MB) of ``chargeback args``."""
    start = time.perf_counter()
    process = subprocess.Popen([str(CHARGEBACK), *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _pid, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"chargeback {' '.join(args)} failed: {process.stderr.read().decode()}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("store", type=Path, help="a demo's chargeback.db")
    parser.add_argument("--month", default=None, help="the closed month (default: the newest closed one)")
    parser.add_argument("--no-pdf", action="store_true", help="leave out the PDF statements (no Chromium needed)")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        copy = Path(folder) / "chargeback.db"
        with sqlite3.connect(options.store) as source, sqlite3.connect(copy) as target:
            source.backup(target)
            month = options.month or target.execute(
                "SELECT max(month) FROM period WHERE status = 'closed'").fetchone()[0]
        source.close()
        target.close()
        db = ["--db", f"sqlite:///{copy}"]
        steps = [
            ("statements (closed month)", [*db, "statements", month, "--out", f"{folder}/st1"]),
            *([] if options.no_pdf else [
                ("statements PDF (closed)", [*db, "statements", month, "--out", f"{folder}/pdf", "--format", "pdf"])]),
            ("month reopen", [*db, "month", "reopen", month, "--reason", "benchmark"]),
            ("month run", [*db, "month", "run", month]),
            ("statements (open month)", [*db, "statements", month, "--out", f"{folder}/draft"]),
            ("month close", [*db, "month", "close", month, "--confirm"]),
            ("statements (closed again)", [*db, "statements", month, "--out", f"{folder}/st2"]),
            ("statements (pictures kept)", [*db, "statements", month, "--out", f"{folder}/st3"]),
        ]
        print(f"{'step':<28} {'wall s':>8} {'cpu s':>8} {'peak MB':>8}   ({month}, {options.store})")
        for name, args in steps:
            wall, cpu, rss = timed(args)
            print(f"{name:<28} {wall:8.1f} {cpu:8.1f} {rss:8.0f}", flush=True)


if __name__ == "__main__":
    main()
