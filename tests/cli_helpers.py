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


def load_two_business_lines(db_url: str, folder: Path) -> None:
    """The small organisation many tests start from: FIN (cost centre CC-100) and OPS (CC-200)."""
    run(db_url, "org", "load", write(folder / "bl.csv", """
        business_line,name,head_name,head_email,division
        FIN,Finance,Ada Lovelace,ada@example.com,Corporate
        OPS,Operations,Grace Hopper,grace@example.com,Operations
    """))
    run(db_url, "org", "load", write(folder / "cc.csv", """
        cost_center,name,business_line,gl_cost_center
        CC-100,Accounting,FIN,100100
        CC-200,Plant,OPS,200100
    """))


def load_five_business_lines(db_url: str, folder: Path, *more_cost_centers: str) -> None:
    """FIN, OPS, ENG, DATA and RES (every business line the shipped FOCUS definition maps to),
    cost centres CC-100 (FIN), CC-200 (OPS) and ``more_cost_centers`` (CSV rows), the catalogue."""
    run(db_url, "org", "load", write(folder / "bl.csv", """
        business_line,name,head_name,head_email,division
        FIN,Finance,Ada Lovelace,ada@example.com,Corporate
        OPS,Operations,Grace Hopper,grace@example.com,Operations
        ENG,Engineering,Alan Turing,alan@example.com,Technology
        DATA,Data,Edgar Codd,edgar@example.com,Technology
        RES,Research,Marie Curie,marie@example.com,Research
    """))
    run(db_url, "org", "load", write(folder / "cc.csv", "\n".join((
        "cost_center,name,business_line,gl_cost_center", "CC-100,Accounting,FIN,100100", "CC-200,Plant,OPS,200100",
        *more_cost_centers)) + "\n"))
    run(db_url, "tariffs", "load", Path(__file__).resolve().parents[1] / "examples" / "tariffs")
