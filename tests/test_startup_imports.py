"""A month run starts without the libraries it does not use: the fixed cost of every rating run
(docs/performance.md, "Where a rating run's time goes") is mostly start-up and imports."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

UNUSED_BY_A_RUN = ("pandas", "jinja2", "openpyxl", "xlsxwriter", "pygal", "alembic", "portal", "starlette", "statsmodels")


def _python(code: str, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``code`` run by a new Python in ``cwd`` (``args`` its argv), with this checkout's engine."""
    return subprocess.run([sys.executable, "-c", code, *args], cwd=cwd, capture_output=True, text=True,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return _python("import sys; from cli import chargeback; chargeback.main(sys.argv[1:])", cwd, *args)


def test_month_run_imports_no_presentation_pandas_or_migrations(tmp_path: Path) -> None:
    assert _run(["init", "m"], tmp_path).returncode == 0
    work = tmp_path / "m"
    for args in (["tariffs", "load"], ["org", "load", "business_lines.csv"], ["org", "load", "cost_centers.csv"],
                 ["subscriptions", "load", "subscriptions.csv"], ["db", "upgrade"]):
        done = _run(args, work)
        assert done.returncode == 0, done.stderr
    probe = ("import sys; from cli import chargeback\n"
             "try:\n    chargeback.main(['month', 'run', '2026-05'])\n"
             "except SystemExit as exc:\n    assert not exc.code, exc.code\n"
             f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({UNUSED_BY_A_RUN!r})))")
    done = _python(probe, work)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"
