"""Running the ``chargeback`` command in tests."""

from __future__ import annotations

import textwrap
from pathlib import Path

from click.testing import CliRunner, Result

from cli import chargeback


def run(db_url: str, *args: str, ok: bool = True) -> Result:
    """Invoke ``chargeback --db URL args...``; with ``ok`` the exit code must be 0."""
    result = CliRunner().invoke(chargeback, ["--db", db_url, *map(str, args)], catch_exceptions=False)
    if ok and result.exit_code != 0:
        raise AssertionError(f"chargeback {' '.join(map(str, args))} exited {result.exit_code}\n"
                             f"stdout: {result.stdout}\nstderr: {result.stderr}")
    return result


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip())
    return path
