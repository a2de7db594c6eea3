"""Benchmark: usage batches through the API and pages under concurrent readers, against a real
``chargeback serve`` on 127.0.0.1 (a free port; the server is stopped at the end).

    python bench/portal_load.py [--records 100000] [--batch 10000] [--users 20] [--requests 200] [--workers 1]

A store is made from the examples/start files (March 2026 rated and closed, a source token,
a finance user and a head of FIN), then:

- ``--records`` usage records for April 2026 are posted in batches of ``--batch``, one after
  the other, each under its own Idempotency-Key: records per second, end to end (JSON, the
  load's checks, the store's commit);
- ``--users`` concurrent clients fetch the month-end dashboard (finance) and FIN's statement
  (the head) ``--requests`` times in all each: p50, p95 and max latency in ms.

Bounded: everything stops when the counts are reached. Figures in docs/performance.md.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from billing import api  # noqa: E402
from tests.portal.conftest import PASSWORD, make_books  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def records(start: int, count: int) -> list[dict]:
    centres = ["CC-ENG-APP", "CC-FIN-ACC", "CC-OPS-SRE", "CC-DATA-PLAT", "CC-RES-LAB"]
    return [{"record_id": f"B-{start + i}", "usage_date": f"2026-04-{(start + i) % 28 + 1:02d}",
             "cost_center": centres[(start + i) % len(centres)], "service": "DESK", "quantity": "1", "unit": "ticket"}
            for i in range(count)]


def latencies(base: str, path: str, cookie: str, users: int, total: int) -> list[float]:
    def one(_):
        with httpx.Client(base_url=base, cookies={"cb_session": cookie}, timeout=30) as client:
            begun = time.perf_counter()
            answer = client.get(path)
            assert answer.status_code == 200, (path, answer.status_code)
            return (time.perf_counter() - begun) * 1000

    with concurrent.futures.ThreadPoolExecutor(max_workers=users) as pool:
        return list(pool.map(one, range(total)))


def report(name: str, found: list[float]) -> None:
    found = sorted(found)
    p95 = found[max(0, int(len(found) * 0.95) - 1)]
    print(f"{name}: {len(found)} requests, p50 {statistics.median(found):.0f} ms, p95 {p95:.0f} ms, max {found[-1]:.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--workers", type=int, default=1, help="chargeback serve --workers")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="portal-bench-"))
    url = f"sqlite:///{folder / 'books.db'}"
    books = make_books(url)
    with api.open_store(url) as store:
        fin = api.sign_in(store, "fin", PASSWORD).token
        head = api.sign_in(store, "head", PASSWORD).token
    port = free_port()
    server = subprocess.Popen([str(Path(sys.executable).with_name("chargeback")), "--db", url, "serve", "--port", str(port),
                               "--workers", str(args.workers)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while socket.socket().connect_ex(("127.0.0.1", port)) != 0:
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("the portal did not start")
            time.sleep(0.2)
        with httpx.Client(base_url=base, timeout=600,
                          headers={"Authorization": f"Bearer {books.source_token}"}) as client:
            begun, sent = time.perf_counter(), 0
            while sent < args.records:
                count = min(args.batch, args.records - sent)
                answer = client.post("/api/v1/sources/servicedesk/usage-batches", json={"records": records(sent, count)},
                                     headers={"Idempotency-Key": str(uuid.uuid4())})
                assert answer.status_code == 201 and answer.json()["loaded"] == count, answer.text[:500]
                sent += count
            seconds = time.perf_counter() - begun
        print(f"chargeback serve --workers {args.workers}")
        print(f"usage batches: {sent:,} records in batches of {args.batch:,} in {seconds:.1f} s: "
              f"{sent / seconds:,.0f} records/s")
        report(f"dashboard (finance, {args.users} concurrent)", latencies(base, "/months", fin, args.users, args.requests))
        report(f"statement of FIN (head, {args.users} concurrent)",
               latencies(base, "/lines/FIN/statements/2026-03", head, args.users, args.requests))
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
