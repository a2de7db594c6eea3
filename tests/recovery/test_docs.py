"""Every cost-recovery command has help and is documented; every test the docs name exists."""

import ast
import re

import click
import pytest

from cli import chargeback
from tests.recovery.conftest import ROOT

DOCS = (ROOT / "docs" / "allocation.md").read_text(encoding="utf-8") + (ROOT / "docs" / "recovery.md").read_text(encoding="utf-8")


def commands():
    for name in ("costs", "drivers", "allocation", "recovery", "rates"):
        command = chargeback.commands[name]
        if isinstance(command, click.Group):
            for sub, leaf in command.commands.items():
                yield f"{name} {sub}", leaf
        else:
            yield name, command


@pytest.mark.parametrize("name,command", list(commands()), ids=lambda x: x if isinstance(x, str) else "")
def test_every_command_has_help_and_is_documented(name, command):
    assert command.help and len(command.help) > 20
    assert f"chargeback {name}" in DOCS


def test_every_test_named_in_the_docs_exists():
    defined = set()
    for path in (ROOT / "tests" / "recovery").glob("test_*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        defined |= {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
    named = set(re.findall(r"\b(test_\w+)\b(?!\.py)", DOCS)) - {"test_allocation", "test_recovery", "test_rates"}
    assert len(named) > 10
    assert named - defined == set()
