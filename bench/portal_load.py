"""Benchmark: usage batches through the API and pages under concurrent readers, against a real
``chargeback serve`` on 127.0.0.1 (a free port; the server is stopped at the end).

    python bench/portal_load.py [--records 100000] [--batch 10000] [--users 20] [--requests 200]
                                [--workers 1] [--client asyncio|threads]

A store is made from the examples/start files (March 2026 rated and closed, a source token,
a finance user and a head of FIN), then:

- ``--records`` usage records for April 2026 are posted in batches of ``--batch``, one after
  the other, each under its own Idempotency-Key: records per second, end to end (JSON, the
  load's checks, the store's commit);
- ``--users`` concurrent users fetch the month-end dashboard (finance) and FIN's statement
  (the head) ``--requests`` times in all each, after ``--warm`` requests of each page by one
  user; then one user fetches the dashboard alone. For each: p50, p95 and max latency in ms,
  requests per second, the CPU time (user + system) the server and this script spent
  meanwhile, and the machine's 1-minute load average before and after.

How the users are modelled (``--client``):

- ``asyncio`` (the default): each user is one HTTP/1.1 connection kept alive, as a browser
  keeps one, sending its next request as soon as the last answer is read: a closed loop with
  no think time, so 20 users always have 20 requests in the server. The users are a few lines
  of asyncio on one thread, so the script's own CPU time stays small beside the server's; a
  latency runs from the request written to the answer's last byte read.
- ``threads``: ``--users`` Python threads, each request on a new connection of a new httpx
  client (how the figures before 2026-12-03's afternoon were taken): the clients' own work,
  on the same cores as the server, weighs in every latency.

Bounded: everything stops when the counts are reached. Figures in docs/performance.md.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
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


def threads_latencies(base: str, path: str, cookie: str, users: int, total: int) -> list[float]:
    """``users`` threads, each request on a new connection of a new httpx client."""
    def one(_):
        with httpx.Client(base_url=base, cookies={"cb_session": cookie}, timeout=30) as client:
            begun = time.perf_counter()
            answer = client.get(path)
            assert answer.status_code == 200, (path, answer.status_code)
            return (time.perf_counter() - begun) * 1000

    with concurrent.futures.ThreadPoolExecutor(max_workers=users) as pool:
        return list(pool.map(one, range(total)))


async def _user(port: int, path: str, cookie: str, left: list[int], found: list[float]) -> None:
    """One user: one kept-alive HTTP/1.1 connection, the next request sent when the last
    answer is read, until the users have taken ``left[0]`` requests in all."""
    request = (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nCookie: cb_session={cookie}\r\n"
               "Accept: text/html\r\nAccept-Encoding: identity\r\n\r\n").encode()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while left[0] > 0:
            left[0] -= 1
            begun = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status, *lines = head.decode("latin-1").split("\r\n")
            fields = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines if line)}
            assert status.split()[1] == "200", (path, status)
            if "content-length" in fields:
                await reader.readexactly(int(fields["content-length"]))
            else:
                assert fields.get("transfer-encoding") == "chunked", fields
                while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
                    await reader.readexactly(size + 2)
                await reader.readuntil(b"\r\n")
            found.append((time.perf_counter() - begun) * 1000)
            if fields.get("connection", "").lower() == "close":
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
    finally:
        writer.close()


def asyncio_latencies(port: int, path: str, cookie: str, users: int, total: int) -> list[float]:
    """``users`` users on one asyncio thread, each with its own kept-alive connection."""
    async def run() -> list[float]:
        left: list[int] = [total]
        found: list[float] = []
        await asyncio.gather(*(_user(port, path, cookie, left, found) for _ in range(users)))
        return found

    return asyncio.run(run())


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) of process ``pid`` and of its children still running (the
    workers of ``--workers N``)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(entry.name) == pid or int(fields[1]) == pid:  # fields[1]: the parent's pid
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def own_cpu() -> float:
    times = os.times()
    return times.user + times.system


def measured(name: str, server: int, run: Callable[[], list[float]]) -> None:
    load_before = os.getloadavg()[0]
    server_before, own_before, begun = process_cpu(server), own_cpu(), time.perf_counter()
    found = sorted(run())
    seconds = time.perf_counter() - begun
    server_cpu, own = process_cpu(server) - server_before, own_cpu() - own_before
    p95 = found[max(0, int(len(found) * 0.95) - 1)]
    print(f"{name}: {len(found)} requests, p50 {statistics.median(found):.0f} ms, p95 {p95:.0f} ms, "
          f"max {found[-1]:.0f} ms; {len(found) / seconds:.0f} requests/s in {seconds:.1f} s; "
          f"CPU: server {server_cpu:.2f} s ({server_cpu * 1000 / len(found):.1f} ms a request), "
          f"this script {own:.2f} s ({own * 1000 / len(found):.1f} ms a request); "
          f"load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--workers", type=int, default=1, help="chargeback serve --workers")
    parser.add_argument("--client", choices=["asyncio", "threads"], default="asyncio",
                        help="asyncio: one kept-alive connection per user, all on one thread; "
                             "threads: a thread per user and a new connection per request")
    parser.add_argument("--warm", type=int, default=20, help="requests of each page by one user before the measured ones")
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
                server.kill()
                raise SystemExit("the portal did not start: " + server.communicate()[1].decode(errors="replace")[-2000:])
            time.sleep(0.2)
        print(f"chargeback serve --workers {args.workers}")
        if args.records:
            with httpx.Client(base_url=base, timeout=600,
                              headers={"Authorization": f"Bearer {books.source_token}"}) as client:
                begun, sent = time.perf_counter(), 0
                while sent < args.records:
                    count = min(args.batch, args.records - sent)
                    answer = client.post("/api/v1/sources/servicedesk/usage-batches",
                                         json={"records": records(sent, count)},
                                         headers={"Idempotency-Key": str(uuid.uuid4())})
                    assert answer.status_code == 201 and answer.json()["loaded"] == count, answer.text[:500]
                    sent += count
                seconds = time.perf_counter() - begun
            print(f"usage batches: {sent:,} records in batches of {args.batch:,} in {seconds:.1f} s: "
                  f"{sent / seconds:,.0f} records/s")

        def pages(path: str, cookie: str) -> Callable[[], list[float]]:
            if args.client == "threads":
                return lambda: threads_latencies(base, path, cookie, args.users, args.requests)
            return lambda: asyncio_latencies(port, path, cookie, args.users, args.requests)

        for path, cookie in (("/months", fin), ("/lines/FIN/statements/2026-03", head)):
            asyncio_latencies(port, path, cookie, 1, args.warm)  # the first answers work out and keep the page
        print(f"pages: {args.users} concurrent users, --client {args.client}")
        measured("dashboard (finance)", server.pid, pages("/months", fin))
        measured("statement of FIN (head)", server.pid, pages("/lines/FIN/statements/2026-03", head))
        measured("dashboard (finance), 1 user", server.pid,
                 lambda: asyncio_latencies(port, "/months", fin, 1, min(args.requests, 100)))
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
