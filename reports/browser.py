"""Headless Chromium for screenshots and PDFs of statements (an optional tool, not a library).

Chromium is looked for on PATH (``chromium``, ``chromium-browser``, ``google-chrome``) and at
``/usr/bin/chromium``. Each run gets a fresh, throw-away profile directory and no network
services, so nothing is kept between runs and nothing is fetched from outside.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from billing.core.problems import ChargebackError

__all__ = ["find_chromium", "screenshot", "print_pdf", "chromium_command"]

_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
_FALLBACK = "/usr/bin/chromium"
_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--hide-scrollbars", "--mute-audio",
)


def find_chromium() -> str | None:
    """The path of a Chromium (or Chrome) executable, or None when there is none."""
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
        raise ChargebackError("Chromium is not installed: install it (apt-get install chromium) to make screenshots or PDFs")
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
