"""A newcomer's first hour (issue 12): `chargeback init` in an empty folder, then the README's
"Using it" commands exactly as the README lists them, succeed; every input file's columns are
in docs/inputs.md and in its command's --help."""

from __future__ import annotations

import fnmatch
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from billing import feeds
from billing.organisation import org
from billing.organisation import subscriptions
from billing.planning import budgets
from billing.recovery import costs
from billing.jobs import sla
from billing.jobs.workspace import EXAMPLES
from cli import chargeback
from tests.conftest import ROOT

README = (ROOT / "README.md").read_text()
INPUTS = (ROOT / "docs" / "inputs.md").read_text()
CHARGEBACK = Path(sys.executable).with_name("chargeback")


def shell_block(text: str, heading: str) -> list[str]:
    """The command lines of the first ```sh block after ``heading``, comments dropped."""
    section = text.split(heading, 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.S).group(1)
    return [line.split(" # ")[0].rstrip() for line in block.splitlines() if line.strip()]


USING_IT = shell_block(README, "## Using it")


def test_the_using_it_block_is_only_commands_a_test_can_run():
    assert USING_IT[0].startswith("chargeback init ") and USING_IT[1].startswith("cd ")
    assert all(line.startswith(("chargeback ", "cd ")) for line in USING_IT), USING_IT
    assert any("month close" in line for line in USING_IT)


@pytest.mark.skipif(not CHARGEBACK.exists(), reason=f"the chargeback command is not installed next to {sys.executable}")
def test_init_then_the_readme_commands_as_written_succeed(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHARGEBACK_")}
    env["PATH"] = f"{CHARGEBACK.parent}{os.pathsep}{env.get('PATH', '')}"
    script = "set -euo pipefail\n" + "\n".join(USING_IT) + "\n"
    done = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    assert "Traceback" not in done.stdout + done.stderr
    folder = tmp_path / USING_IT[1].split()[1]
    assert "2026-03 closed: 6 invoices" in done.stdout
    assert "quarantined 0" in done.stdout and "DOES NOT BALANCE" not in done.stdout
    for written in ("chargeback.db", "statements/index.html", "2026-03.xlsx", "2026-03-journal.csv"):
        assert (folder / written).is_file(), written


def test_the_folder_readme_lists_the_same_commands():
    folder_commands = shell_block((EXAMPLES / "start" / "README.md").read_text(), "## Run a month-end")
    assert folder_commands == USING_IT[2:]


def test_init_writes_the_examples_and_refuses_a_folder_in_use(tmp_path):
    target = tmp_path / "start"
    result = CliRunner().invoke(chargeback, ["init", str(target)])
    assert result.exit_code == 0, result.output
    for name in ("README.md", "business_lines.csv", "cost_centers.csv", "subscriptions.csv", "usage.csv", "tickets.csv",
                 "focus-cloud.csv", "tariffs/desk.yaml", "sources/focus-cloud.yaml", "allocation/rules.yaml"):
        assert (target / name).is_file(), name
    assert not (target / "chargeback.db").exists()
    before = sorted(p.relative_to(target) for p in target.rglob("*"))
    again = CliRunner().invoke(chargeback, ["init", str(target)])
    assert again.exit_code == 1 and "not an empty folder" in again.stderr
    assert sorted(p.relative_to(target) for p in target.rglob("*")) == before
    a_file = tmp_path / "notes.txt"
    a_file.write_text("mine")
    assert CliRunner().invoke(chargeback, ["init", str(a_file)]).exit_code != 0 and a_file.read_text() == "mine"


def test_the_examples_ship_with_the_package():
    """An installed engine has the examples: they are package data of ``billing``."""
    assert EXAMPLES.resolve() == (ROOT / "examples").resolve()
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    patterns = config["package-data"]["*"]
    assert any(fnmatch.fnmatch("billing.examples", p) for p in config["packages"]["find"]["include"])
    shipped = [p for p in (ROOT / "examples").rglob("*") if p.is_file()]
    assert shipped and all(any(fnmatch.fnmatch(p.name, pattern) for pattern in patterns) for p in shipped), \
        [p.name for p in shipped if not any(fnmatch.fnmatch(p.name, pattern) for pattern in patterns)]


# --- every input file's columns are in docs/inputs.md and in its command's --help ------------

LOADERS = {
    ("org", "load"): [*org.BUSINESS_LINE_COLUMNS, *org.BUSINESS_LINE_OPTIONAL, *org.COST_CENTER_COLUMNS,
                      *org.COST_CENTER_OPTIONAL],
    ("subscriptions", "load"): [*subscriptions.COLUMNS, *subscriptions.OPTIONAL],
    ("usage", "load"): list(feeds.sources.USAGE_FIELDS),
    ("sla", "load"): [*sla.COLUMNS, *sla.OPTIONAL],
    ("costs", "load"): [*costs.COST_COLUMNS, *costs.COST_OPTIONAL],
    ("drivers", "load"): list(costs.DRIVER_COLUMNS),
    ("budget", "load"): [*budgets.COLUMNS, *budgets.OPTIONAL],
}


def test_every_load_command_is_listed_here():
    loads = set()
    for name, group in chargeback.commands.items():
        if isinstance(group, click.Group) and "load" in group.commands and name != "tariffs":
            loads.add((name, "load"))
    assert loads == set(LOADERS)


@pytest.mark.parametrize("path", LOADERS, ids=" ".join)
def test_every_column_is_in_the_help_and_in_docs_inputs(path):
    helped = " ".join(CliRunner().invoke(chargeback, [*path, "--help"]).stdout.split())
    section = INPUTS.split(f"`chargeback {' '.join(path)} FILE", 1)
    assert len(section) == 2, f"docs/inputs.md has no section for chargeback {' '.join(path)}"
    documented = section[1].split("\n## ", 1)[0] if path != ("org", "load") else INPUTS.split("## Subscriptions")[0]
    for column in LOADERS[path]:
        assert re.search(rf"\b{column}\b", helped), f"`chargeback {' '.join(path)} --help` does not name {column}"
        assert f"| `{column}` |" in documented, f"docs/inputs.md does not describe {column} for {' '.join(path)}"
