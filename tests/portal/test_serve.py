"""`chargeback serve` runs the portal with uvicorn: started as a user starts it, on 127.0.0.1
and a free port, answered over real HTTP, stopped by the test (and killed if it hangs)."""

from __future__ import annotations

import contextlib
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from billing import api

CHARGEBACK = Path(sys.executable).with_name("chargeback")
ANSWER_WITHIN = 60
"""Seconds a request may take: a sign-in checks an argon2 hash, and the machine running the suite
may be busy (httpx's own default, 5 s, is too short for that)."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serving(url: str, *options: str, within: int = 30) -> Iterator[tuple[int, httpx.Response]]:
    """`chargeback serve` on a free port of 127.0.0.1: its port and its first answer (the sign-in
    page) once it answers; stopped when the block ends, killed if it hangs."""
    port = free_port()
    server = subprocess.Popen([str(CHARGEBACK), "--db", url, "serve", "--port", str(port), *options],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + within
        while True:
            try:
                page = httpx.get(f"http://127.0.0.1:{port}/login", timeout=httpx.Timeout(ANSWER_WITHIN, connect=2))
                break
            except httpx.TransportError:
                assert server.poll() is None, server.stderr.read()
                assert time.monotonic() < deadline, f"the portal did not start within {within} s"
                time.sleep(0.2)
        yield port, page
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    assert server.returncode is not None


def test_serve_answers_on_localhost_and_stops(tmp_path):
    url = f"sqlite:///{tmp_path / 'books.db'}"
    made = api.add_user(api.open_store(url, create=True), "ada", roles=["finance"])
    with serving(url) as (port, page):
        assert page.status_code == 200 and "Sign in" in page.text
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
        assert "server" not in page.headers
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=ANSWER_WITHIN) as client:  # httpx keeps no Secure cookie over http: set by hand, as a browser on 127.0.0.1 keeps it
            page = client.get("/login")
            csrf = re.search(r'name="csrf" value="([0-9a-f]{64})"', page.text).group(1)
            client.cookies.set("cb_presession", page.cookies["cb_presession"])
            answer = client.post("/login", data={"csrf": csrf, "name": "ada", "password": made.password})
            assert answer.status_code == 303 and answer.headers["location"] == "/password"


def test_serve_refuses_a_store_that_is_not_there(tmp_path):
    result = subprocess.run([str(CHARGEBACK), "--db", f"sqlite:///{tmp_path / 'none.db'}", "serve", "--port",
                             str(free_port())], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and "no chargeback store" in result.stderr and "Traceback" not in result.stderr


def test_serve_with_several_workers_accepts_a_form_made_by_any_of_them(tmp_path):
    url = f"sqlite:///{tmp_path / 'books.db'}"
    made = api.add_user(api.open_store(url, create=True), "ada", roles=["finance"])
    with serving(url, "--workers", "2", within=60) as (port, _):
        for _ in range(6):  # each form from a new connection: the sign-in lands on either process
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=ANSWER_WITHIN) as client:
                page = client.get("/login")
                csrf = re.search(r'name="csrf" value="([0-9a-f]{64})"', page.text).group(1)
                client.cookies.set("cb_presession", page.cookies["cb_presession"])
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=ANSWER_WITHIN) as client:
                client.cookies.set("cb_presession", page.cookies["cb_presession"])
                answer = client.post("/login", data={"csrf": csrf, "name": "ada", "password": made.password})
                assert answer.status_code == 303 and answer.headers["location"] == "/password"
