"""docs/pricing.md names the test behind each rule: every name it gives must exist."""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_test_named_in_pricing_doc_exists():
    defined = set()
    for path in [*(ROOT / "tests" / "tariffs").glob("test_*.py"), *(ROOT / "tests" / "billing").glob("test_rating*.py")]:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        defined |= {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
    named = set(re.findall(r"\b(test_\w+)\b(?!\.py)", (ROOT / "docs" / "pricing.md").read_text(encoding="utf-8")))
    named = {n for n in named if not n.endswith("_py")}
    assert len(named) > 50
    assert named - defined == set()
