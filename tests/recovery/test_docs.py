"""Every test docs/allocation.md and docs/recovery.md name exists (that every command is
documented: tests/test_cli_docs.py)."""

import ast
import re

from tests.recovery.conftest import ROOT

DOCS = (ROOT / "docs" / "allocation.md").read_text(encoding="utf-8") + (ROOT / "docs" / "recovery.md").read_text(encoding="utf-8")


def test_every_test_named_in_the_docs_exists():
    defined = set()
    for path in (ROOT / "tests" / "recovery").glob("test_*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        defined |= {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
    named = set(re.findall(r"\b(test_\w+)\b(?!\.py)", DOCS)) - {"test_allocation", "test_recovery", "test_rates"}
    assert len(named) > 10
    assert named - defined == set()
