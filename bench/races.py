"""Races between two real processes, many of each kind, on SQLite and PostgreSQL.

    .venv/bin/python bench/races.py                       # 100 of each kind, SQLite (+ PostgreSQL if a URL is given)
    .venv/bin/python bench/races.py --pg postgresql://postgres@127.0.0.1:5432/test --races 100
    .venv/bin/python bench/races.py --kinds close-close load-close --races 20

The kinds, the store they run in and what each race checks are those of the race tests
(tests/concurrency/racing.py): two `chargeback` commands in two spawned processes, released
together by a barrier. For each kind and backend it prints the races run, how many ended as
one command after the other would (exactly one winner where only one can win), the cents
charged or invoiced twice, the usage rows left in a closed month that its invoices do not
cover, and how often each side won (so both orders really happen). The PostgreSQL URL comes
from --pg, else CHARGEBACK_BENCH_PG_URL, else CHARGEBACK_TEST_PG_URL; each kind gets a schema
of its own, dropped afterwards. Results are recorded in docs/store.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.concurrency.racing import KINDS, Racers, RaceStore  # noqa: E402


def pg_store(url: str):
    import sqlalchemy as sa

    schema = f"races_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.begin() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in url else "?"

    def drop() -> None:
        with admin.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

    return f"{url}{separator}options=-csearch_path%3D{schema}", drop


def run_kind(racers: Racers, kind: str, url: str, folder: Path, races: int, shown: list[str]) -> dict:
    store = RaceStore(url, folder)
    tally = dict(races=0, serial=0, cents=0, rows=0, first=0, second=0, both=0, seconds=0.0)
    started = time.monotonic()
    for number in range(races):
        verdict = KINDS[kind](store, racers, number)
        first, second = (o.won for o in verdict.outcomes)
        tally["races"] += 1
        tally["serial"] += not verdict.problems
        tally["cents"] += verdict.cents_duplicated
        tally["rows"] += verdict.rows_uncovered
        tally["first"] += first and not second
        tally["second"] += second and not first
        tally["both"] += first and second
        if verdict.problems and len(shown) < 10:
            shown.append(verdict.report())
    tally["seconds"] = time.monotonic() - started
    return tally


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--races", type=int, default=100, help="races of each kind and backend")
    parser.add_argument("--pg", default=os.environ.get("CHARGEBACK_BENCH_PG_URL") or os.environ.get("CHARGEBACK_TEST_PG_URL"),
                        help="PostgreSQL URL (a schema per kind is made and dropped)")
    parser.add_argument("--kinds", nargs="*", default=list(KINDS), choices=list(KINDS))
    parser.add_argument("--backends", nargs="*", default=["sqlite", "postgresql"], choices=["sqlite", "postgresql"])
    args = parser.parse_args()
    backends = [b for b in args.backends if b == "sqlite" or args.pg]
    shown: list[str] = []
    print(f"{'backend':<11} {'kind':<24} {'races':>5} {'one after the other':>19} {'cents twice':>11} "
          f"{'rows uncovered':>14} {'1st won':>7} {'2nd won':>7} {'both':>5} {'s/race':>6}")
    with tempfile.TemporaryDirectory() as tmp, Racers() as racers:
        for backend in backends:
            for kind in args.kinds:
                folder = Path(tmp) / f"{backend}-{kind}"
                if backend == "sqlite":
                    url, drop = f"sqlite:///{folder}.db", (lambda: None)
                else:
                    url, drop = pg_store(args.pg)
                try:
                    t = run_kind(racers, kind, url, folder, args.races, shown)
                finally:
                    drop()
                print(f"{backend:<11} {kind:<24} {t['races']:>5} {t['serial']:>19} {t['cents']:>11} {t['rows']:>14} "
                      f"{t['first']:>7} {t['second']:>7} {t['both']:>5} {t['seconds'] / max(1, t['races']):>6.2f}",
                      flush=True)
    for report in shown:
        print("\n" + report)


if __name__ == "__main__":
    main()
