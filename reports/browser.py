"""Headless Chromium for screenshots and PDFs of statements (an optional tool, not a library).

Chromium is the one named by ``CHARGEBACK_CHROMIUM`` when that is set, else looked for on PATH
(``chromium``, ``chromium-browser``, ``google-chrome``) and at ``/usr/bin/chromium``. Each run
gets a fresh, throw-away profile directory and no network services, so nothing is kept
between runs and nothing is fetched from outside.

:func:`screenshot` and :func:`print_pdf` start a browser for one file. :class:`Browser` starts
one for many pages and drives it over the DevTools protocol on a pipe (``--remote-debugging-pipe``:
no port is opened): each page is set as the content of a tab and printed with
``Page.printToPDF`` (A4 from the page's own ``@page`` rule, a header and footer on every page);
a few tabs print at once (none throttled as a background tab), so both cores work while a tab
waits on its layout.
"""

from __future__ import annotations

import base64
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from billing.core.problems import ChargebackError

__all__ = ["find_chromium", "screenshot", "print_pdf", "chromium_command", "Browser", "PrintJob", "NOT_INSTALLED"]

NOT_INSTALLED = "Chromium is not installed: install it (apt-get install chromium) to make screenshots or PDFs"
ENVIRONMENT = "CHARGEBACK_CHROMIUM"

_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
_FALLBACK = "/usr/bin/chromium"
_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--hide-scrollbars", "--mute-audio",
    # every tab prints, none is in the background: no tab's renderer or timers are slowed down
    "--disable-renderer-backgrounding", "--disable-background-timer-throttling",
    "--disable-backgrounding-occluded-windows",
)


def find_chromium() -> str | None:
    """The path of a Chromium (or Chrome) executable, or None when there is none."""
    named = os.environ.get(ENVIRONMENT)
    if named:
        found = shutil.which(named)
        return found if found and os.access(found, os.X_OK) else None
    for name in _NAMES:
        found = shutil.which(name)
        if found:
            return found
    return _FALLBACK if os.access(_FALLBACK, os.X_OK) else None


def chromium_command(browser: str, profile: Path, html_path: Path, *extra: str) -> list[str]:
    """The full command line: fixed flags, a fresh profile, then ``extra`` and the file URL."""
    return [browser, *_FLAGS, f"--user-data-dir={profile}", *extra, Path(html_path).resolve().as_uri()]


def _run(html_path: Path, output: Path, extra: list[str], timeout: float) -> None:
    browser = find_chromium()
    if browser is None:
        raise ChargebackError(NOT_INSTALLED)
    if not Path(html_path).is_file():
        raise ChargebackError(f"{html_path} does not exist")
    output = Path(output).resolve()
    output.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="chargeback-chromium-") as profile:
        command = chromium_command(browser, Path(profile), Path(html_path), *extra)
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            raise ChargebackError(f"Chromium did not finish within {timeout:.0f} s rendering {html_path}") from None
    if not output.is_file() or output.stat().st_size == 0:
        tail = (done.stderr or done.stdout or "").strip().splitlines()[-3:]
        raise ChargebackError(f"Chromium wrote no {output.name} (exit {done.returncode}): {' / '.join(tail)}")


def screenshot(html_path: Path, png_path: Path, *, width: int = 1240, height: int = 1754, timeout: float = 60) -> None:
    """A PNG of ``html_path`` as rendered on a ``width`` × ``height`` window (default A4 at 150 dpi)."""
    _run(html_path, png_path, [f"--screenshot={Path(png_path).resolve()}", f"--window-size={width},{height}"], timeout)


def print_pdf(html_path: Path, pdf_path: Path, *, timeout: float = 60) -> None:
    """A PDF of ``html_path`` using the page's own print CSS (A4, 15 mm margins), no header or footer."""
    _run(html_path, pdf_path, [f"--print-to-pdf={Path(pdf_path).resolve()}", "--no-pdf-header-footer",
                               "--print-to-pdf-no-header"], timeout)


@dataclass(frozen=True, slots=True)
class PrintJob:
    """A page to print: its HTML and the header and footer templates of every page (HTML,
    already escaped; Chromium fills in ``<span class="pageNumber">`` and ``totalPages``)."""

    html: str
    header: str
    footer: str


class Browser:
    """One headless Chromium for many pages (a context manager: ``with Browser() as b``)."""

    def __init__(self, *, tabs: int = 2, timeout: float = 60) -> None:
        self.tabs, self.timeout = max(1, tabs), timeout
        self._process: subprocess.Popen | None = None
        self._profile: tempfile.TemporaryDirectory | None = None
        self._buffer = b""
        self._next_id = 0
        self._replies: dict[int, dict] = {}
        self._frames: dict[str, str] = {}  # tab (session) → its main frame

    # -- life -------------------------------------------------------------------------------

    def __enter__(self) -> Browser:
        browser = find_chromium()
        if browser is None:
            raise ChargebackError(NOT_INSTALLED)
        self._profile = tempfile.TemporaryDirectory(prefix="chargeback-chromium-")
        to_browser, from_us = os.pipe()
        to_us, from_browser = os.pipe()

        def on_fds_3_and_4() -> None:  # the pipe's ends where --remote-debugging-pipe expects them
            read, write = os.dup(to_browser), os.dup(from_browser)
            os.dup2(read, 3)
            os.dup2(write, 4)
            os.set_inheritable(3, True)
            os.set_inheritable(4, True)

        command = [browser, *_FLAGS, f"--user-data-dir={self._profile.name}", "--remote-debugging-pipe", "about:blank"]
        try:
            self._process = subprocess.Popen(command, preexec_fn=on_fds_3_and_4, close_fds=False,
                                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                             stderr=subprocess.DEVNULL)
        except OSError as error:
            self._profile.cleanup()
            raise ChargebackError(f"Chromium could not be started ({browser}): {error}") from None
        finally:
            os.close(to_browser)
            os.close(from_browser)
        self._write, self._read = from_us, to_us
        try:
            self._sessions = [self._open_tab() for _ in range(self.tabs)]
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *_exc) -> None:
        self.close()

    def close(self) -> None:
        """Close the browser (killed if it does not stop within 5 s) and remove its profile."""
        process, self._process = self._process, None
        if process is not None:
            try:
                self._send("Browser.close")
            except OSError:
                pass
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            for fd in (self._write, self._read):
                try:
                    os.close(fd)
                except OSError:
                    pass
        if self._profile is not None:
            self._profile.cleanup()
            self._profile = None

    # -- printing ---------------------------------------------------------------------------

    def print_pdfs(self, jobs: Iterable[PrintJob], *, on_printed: Callable[[int], None] | None = None) -> Iterator[bytes]:
        """Each job's PDF, in the jobs' order; ``on_printed(n)`` after each (n printed so far).
        The tabs print side by side: while one is laid out, another prints."""
        waiting = deque(enumerate(jobs))
        free = deque(self._sessions)
        busy: dict[int, tuple[str, str, int]] = {}  # message id → (tab, stage, job number)
        done: dict[int, bytes] = {}
        following, printed = 0, 0
        jobs_by_number: dict[int, PrintJob] = {}
        while waiting or busy:
            while waiting and free:
                number, job = waiting.popleft()
                jobs_by_number[number] = job
                tab = free.popleft()
                frame = self._frames[tab]
                busy[self._send("Page.setDocumentContent", {"frameId": frame, "html": job.html}, tab)] = (tab, "set", number)
            message_id, reply = self._next_reply(set(busy))
            tab, stage, number = busy.pop(message_id)
            if stage == "set":
                job = jobs_by_number[number]
                busy[self._send("Page.printToPDF", {
                    "preferCSSPageSize": True, "printBackground": True, "displayHeaderFooter": True,
                    "headerTemplate": job.header, "footerTemplate": job.footer,
                }, tab)] = (tab, "print", number)
                continue
            done[number] = base64.b64decode(reply["data"])
            del jobs_by_number[number]
            free.append(tab)
            printed += 1
            if on_printed:
                on_printed(printed)
            while following in done:
                yield done.pop(following)
                following += 1

    # -- the protocol -----------------------------------------------------------------------

    def _open_tab(self) -> str:
        target = self._call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self._call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        self._call("Page.enable", session=session)
        frame = self._call("Page.getFrameTree", session=session)["frameTree"]["frame"]["id"]
        self._frames[session] = frame
        return session

    def _send(self, method: str, params: dict | None = None, session: str | None = None) -> int:
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        data = json.dumps(message).encode("utf-8") + b"\0"
        while data:
            data = data[os.write(self._write, data):]
        return self._next_id

    def _call(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        message_id = self._send(method, params, session)
        return self._next_reply({message_id})[1]

    def _next_reply(self, wanted: set[int]) -> tuple[int, dict]:
        """The next reply to one of ``wanted`` (events and other replies are set aside)."""
        deadline = time.monotonic() + self.timeout
        while True:
            for message_id in wanted:
                if message_id in self._replies:
                    reply = self._replies.pop(message_id)
                    if "error" in reply:
                        raise ChargebackError(f"Chromium refused to print: {reply['error'].get('message', reply['error'])}")
                    return message_id, reply.get("result", {})
            while b"\0" in self._buffer:
                raw, self._buffer = self._buffer.split(b"\0", 1)
                message = json.loads(raw)
                if "id" in message:
                    self._replies[message["id"]] = message
            if any(m in self._replies for m in wanted):
                continue
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._read], [], [], left)[0]:
                raise ChargebackError(f"Chromium did not answer within {self.timeout:.0f} s")
            chunk = os.read(self._read, 1 << 20)
            if not chunk:
                raise ChargebackError("Chromium stopped while printing")
            self._buffer += chunk
