"""Benchmark: a big month's end — close, HTML statements, the xlsx export and the journal.

    python bench/bench.py --rows 10000000 --no-reference --keep      # prints the store it kept
    python bench/month_end.py STORE.db [--month 2026-03] [--against CHECKOUT] [--repeat 2] [--out DIR]

On a copy of a store whose month is rated and open (``bench.py --keep`` leaves one: 200
business lines, 1,300 cost centres, one month of usage), each step as its own ``chargeback``
child process, timed with its CPU time (user + system) and peak RSS (``os.wait4``):

- ``month close MONTH --confirm`` (issue the invoices, freeze the statements' figures);
- ``statements MONTH`` (HTML, every business line);
- ``export MONTH --format xlsx``;
- ``journal MONTH``.

With ``--against CHECKOUT`` the same steps run with that checkout's engine (its ``.venv``) too,
the two alternating ``--repeat`` times, each on a fresh copy; with ``--out DIR`` every run's
files are kept in ``DIR/RUN`` so they can be compared (``--compare`` does: the statements and
journal byte for byte, the workbook by its cells, values, formats, formulas and tables).
The figures in docs/performance.md ("A 10M-row month's end") come from this script.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHARGEBACK = Path(sys.executable).with_name("chargeback")
PREPARED = re.compile(rb"Prepared \d{1,2} \w+ \d{4}, \d{2}:\d{2} UTC")


def timed(engine: Path, args: list[str]) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds and peak RSS (MB) of ``engine args``."""
    start = time.perf_counter()
    process = subprocess.Popen([str(engine), *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _pid, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{engine} {' '.join(args)} failed: {process.stderr.read().decode()}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def copy_store(source: Path, target: Path) -> None:
    with sqlite3.connect(source) as a, sqlite3.connect(target) as b:
        a.backup(b)
    a.close()
    b.close()


def run_once(engine: Path, store: Path, month: str, out: Path) -> list[tuple[str, float, float, float, float]]:
    """Each step's name, wall s, CPU s, peak MB and the 1-minute load average before it."""
    out.mkdir(parents=True, exist_ok=True)
    db = ["--db", f"sqlite:///{out / 'chargeback.db'}"]
    copy_store(store, out / "chargeback.db")
    steps = [
        ("month close", [*db, "month", "close", month, "--confirm"]),
        ("statements (HTML)", [*db, "statements", month, "--out", str(out / "statements")]),
        ("export xlsx", [*db, "export", month, "--format", "xlsx", "--out", str(out / f"{month}.xlsx")]),
        ("journal", [*db, "journal", month, "--out", str(out / f"{month}-journal.csv")]),
    ]
    figures = []
    for name, args in steps:
        load = os.getloadavg()[0]
        wall, cpu, rss = timed(engine, args)
        figures.append((name, wall, cpu, rss, load))
    (out / "chargeback.db").unlink()
    for extra in ("chargeback.db-wal", "chargeback.db-shm"):
        (out / extra).unlink(missing_ok=True)
    return figures


def workbook_content(path: Path) -> list:
    """What a workbook holds as a reader sees it, not its zip: each sheet's frozen panes, column
    widths and tables (name, range, style, columns, filter), and every cell's value, type,
    number format, font (bold, italic, size, colour), fill, wrapping and quote prefix; the
    document's title and author. Read the same however it was written: numbers as floats, an
    empty text as no value, a colour without its alpha, the default font size as 11."""
    from openpyxl import load_workbook

    def rgb(color) -> str | None:
        return color.rgb[-6:] if color is not None and isinstance(color.rgb, str) else None

    wb = load_workbook(path)
    found: list = [(wb.properties.title, wb.properties.creator)]  # not its dates: each run closes anew
    for ws in wb.worksheets:
        widths = sorted((n, d.width) for d in ws.column_dimensions.values() if d.width
                        for n in range(d.min or 0, (d.max or 0) + 1))
        tables = sorted((t.name, t.ref, t.tableStyleInfo.name, bool(t.tableStyleInfo.showRowStripes),
                         bool(t.tableStyleInfo.showColumnStripes), t.autoFilter.ref if t.autoFilter else None,
                         [c.name for c in t.tableColumns]) for t in ws.tables.values())
        found.append((ws.title, ws.freeze_panes, widths, tables))
        for row in ws.iter_rows():
            for c in row:
                value = None if c.value == "" else float(c.value) if isinstance(c.value, (int, float)) else c.value
                look = (c.number_format, bool(c.font.b), bool(c.font.i), c.font.sz or 11.0, rgb(c.font.color),
                        (c.fill.fill_type, rgb(c.fill.fgColor)) if c.fill.fill_type else None,
                        bool(c.alignment.wrap_text), c.alignment.vertical, bool(c.quotePrefix))
                if value is not None or look != ("General", False, False, 11.0, None, None, False, None, False):
                    found.append((c.coordinate, value, c.data_type if value is not None else None, look))
    return found


def digest_workbook(path: Path) -> str:
    return hashlib.sha256(repr(workbook_content(path)).encode()).hexdigest()


def digests(folder: Path) -> dict[str, str]:
    found = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            name = str(path.relative_to(folder))
            if path.suffix == ".xlsx":
                found[name] = digest_workbook(path)
            else:  # a statement says when its month was closed, which each run does anew
                found[name] = hashlib.sha256(PREPARED.sub(b"Prepared <time>", path.read_bytes())).hexdigest()
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("store", type=Path, help="a store whose month is rated and open (bench.py --keep)")
    parser.add_argument("--month", default="2026-03")
    parser.add_argument("--against", type=Path, default=None, metavar="CHECKOUT", help="also time another checkout's engine")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--out", type=Path, default=None, help="keep each run's files in OUT/RUN")
    parser.add_argument("--compare", action="store_true", help="compare every run's files with the first run's")
    options = parser.parse_args()
    engines = [("this", CHARGEBACK)]
    if options.against:
        engines.append((str(options.against), options.against.resolve() / ".venv" / "bin" / "chargeback"))
    with tempfile.TemporaryDirectory() as scratch:
        root = options.out or Path(scratch)
        print(f"{'run':<28} {'step':<20} {'wall s':>7} {'cpu s':>7} {'peak MB':>8} {'load':>5}   ({options.month})")
        runs = []
        for n in range(1, options.repeat + 1):
            for label, engine in (engines if n % 2 else engines[::-1]):
                folder = root / f"{n}-{label.replace('/', '_').strip('_.')}"
                figures = run_once(engine, options.store, options.month, folder)
                for name, wall, cpu, rss, load in figures:
                    print(f"{label + ' #' + str(n):<28} {name:<20} {wall:7.1f} {cpu:7.1f} {rss:8.0f} {load:5.1f}", flush=True)
                print(f"{label + ' #' + str(n):<28} {'all four':<20} {sum(f[1] for f in figures):7.1f} "
                      f"{sum(f[2] for f in figures):7.1f}", flush=True)
                runs.append(folder)
        if options.compare and len(runs) > 1:
            first = digests(runs[0])
            for other in runs[1:]:
                found = digests(other)
                differ = sorted(name for name in first.keys() | found.keys() if first.get(name) != found.get(name))
                print(f"{other.name} against {runs[0].name}: " + (f"{len(differ)} files differ: {differ[:10]}"
                                                                  if differ else f"all {len(first)} files the same"))


if __name__ == "__main__":
    main()
