"""The pure-core contract in pyproject.toml covers every module of the core and domain folders.

Each module under ``FOLDERS`` is either in the contract (import-linter checks in ``make test``
that it imports nothing the contract forbids) or named in ``IO_MODULES`` with the reason it
does I/O. A new module in neither fails here, so it cannot slip past the contract; a module
named as I/O that no longer reaches anything forbidden fails too, so that it joins the
contract instead of staying unguarded.
"""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[1]

FOLDERS = (
    "billing.core", "billing.files", "billing.feeds", "billing.organisation", "billing.rating",
    "billing.close", "billing.recovery", "billing.planning", "tariffs",
)
# Not here: billing.store and billing.jobs (the layers above, the layers contract keeps them in
# order) and billing.demo (writes the demo's input files).

IO_MODULES = {
    "billing.files.tables": "opens CSV and .xlsx table files (openpyxl, zipfile)",
    "billing.feeds": "the package's entry points include the usage readers (billing.feeds.read)",
    "billing.feeds.raw": "opens usage files and reads them block by block (CSV, .xlsx through openpyxl)",
    "billing.feeds.read": "reads usage files in batches (billing.feeds.raw)",
    "billing.feeds.inspect": "opens a usage file to show what it holds (billing.feeds.raw and read)",
    "billing.feeds.focus": "checks and maps the tables billing.feeds.raw reads, with raw's Table and checks",
    "billing.feeds.focus_spark": "runs billing.feeds.focus's checks and mapping in Spark's workers, over the mapping it prepares from billing.feeds.raw's header",
    "billing.feeds.rules_spark": "the usage format's parsers and rules as Spark columns, over the mapping billing.feeds.usage_format prepares from billing.feeds.raw's header",
    "billing.feeds.usage_format": "checks and maps the tables billing.feeds.raw reads, with raw's Table and checks",
    "billing.feeds.sources": "reads the map file a source definition names (billing.files.tables)",
    "billing.organisation.read": "reads the organisation file, a CSV or a workbook's sheets (billing.files.tables)",
}

PURE_CONTRACT = "The pure core does no I/O and knows no presentation"


def _contract(name: str) -> dict:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    (found,) = [c for c in config["tool"]["importlinter"]["contracts"] if c["name"] == name]
    return found


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph("billing", "tariffs", "reports", include_external_packages=True)


@pytest.fixture(scope="module")
def pure() -> set[str]:
    return set(_contract(PURE_CONTRACT)["source_modules"])


def _modules(graph: grimp.ImportGraph) -> set[str]:
    """The modules under FOLDERS, but for a package's ``__init__`` that imports nothing."""
    found = set()
    for folder in FOLDERS:
        for module in graph.find_descendants(folder) | {folder}:
            if graph.find_children(module) and not graph.find_modules_directly_imported_by(module):
                continue  # an empty package __init__
            found.add(module)
    return found


def _forbidden_reached(graph: grimp.ImportGraph, module: str) -> list[str]:
    forbidden = _contract(PURE_CONTRACT)["forbidden_modules"]
    reached = graph.find_upstream_modules(module)
    return sorted(f for f in forbidden if any(m == f or m.startswith(f + ".") for m in reached))


def test_every_module_of_the_core_folders_is_pure_or_named_as_io(graph, pure):
    unguarded = sorted(_modules(graph) - pure - set(IO_MODULES))
    assert not unguarded, (f"{', '.join(unguarded)}: add each to the pure-core contract in pyproject.toml, or, "
                           f"if it must do I/O, to IO_MODULES here with the reason")


def test_a_module_is_pure_or_io_not_both(pure):
    assert not pure & set(IO_MODULES)


def test_every_module_named_exists(graph, pure):
    missing = sorted(m for m in pure | set(IO_MODULES) if m not in graph.modules)
    assert not missing, f"{', '.join(missing)}: no such module (moved or removed?)"


@pytest.mark.parametrize("module", sorted(IO_MODULES))
def test_a_module_named_as_io_does_io(graph, module):
    assert _forbidden_reached(graph, module), (f"{module} reaches nothing the pure-core contract forbids: "
                                               f"move it from IO_MODULES into the contract")


def test_the_pure_modules_reach_nothing_forbidden(graph, pure):
    """What lint-imports checks, here so that pytest alone names the module and what it reaches."""
    impure = {m: _forbidden_reached(graph, m) for m in sorted(pure) if m in graph.modules}
    assert not {m: f for m, f in impure.items() if f}



# --- one money formatter -------------------------------------------------------------------

MONEY_FORMATTER = ROOT / "billing" / "core" / "money.py"
"""The one place an amount is formatted: billing.core.money.amount_text."""

_SHELLS = ("billing", "tariffs", "reports", "portal")
_HAND_ROLLED = re.compile(
    r"""(?x)
    :[+\-\ ]?,?\.2f\b           # f"{x:,.2f}", f"{x:+,.2f}", f"{x:.2f}": two decimals whatever the currency
    | :[+\-\ ]?,\.\{[^{}]*\}f   # f"{x:,.{places}f}": a money format of its own
    | ["']%[+\-\ ]?,?\.2f       # "%.2f" % x
    | ["'][+\-\ ]?,?\.2f["']    # format(x, ",.2f")
    | ROUND\([^()]*,\s*2\)      # a spreadsheet formula rounding to two decimals, not the minor units
    """)


def _python_files() -> list[Path]:
    files = [ROOT / "cli.py"]
    for folder in _SHELLS:
        files += sorted((ROOT / folder).rglob("*.py"))
    return [f for f in files if f != MONEY_FORMATTER]


def test_money_is_formatted_in_one_place():
    found = [f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
             for path in _python_files()
             for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
             if _HAND_ROLLED.search(line)]
    assert not found, ("amounts are written by billing.core.money.amount_text (the currency's minor units), "
                       "not formatted by hand:\n" + "\n".join(found))


@pytest.mark.parametrize("text", ['f"{x:,.2f}"', 'f"{a.expected:+,.2f}"', 'f"{x:.2f} USD"', 'f"{v:,.{places}f}"',
                                  '"%.2f" % x', 'format(x, ",.2f")', '"=ROUND(B2*C2, 2)"'])
def test_a_hand_rolled_money_format_is_caught(text):
    assert _HAND_ROLLED.search(text)


@pytest.mark.parametrize("text", ['f"{share:.1f} %"', 'f"{n:,}"', 'f"{value:,f}"', '"=ROUND(B2*C2,MinorUnits)"'])
def test_other_formats_pass(text):
    assert not _HAND_ROLLED.search(text)


# --- the engine's messages name no option of a shell ---------------------------------------

_OPTION = re.compile(r"(?<![\w-])--[a-z][a-z-]+")
_SPEAKS_OF_ITS_SHELL = {
    "billing/api/demo.py": "the demo's own printed lines, for the command that runs it",
    "billing/jobs/rates.py": "the proposed tariff file's first comment names the command that wrote it",
    "billing/feeds/inspect.py": "the draft source definition's first comment names the command that wrote it",
}


def _strings_said(tree: ast.AST) -> list[tuple[int, str]]:
    """String constants of a module that are not docstrings (a docstring may name an option)."""
    documented = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                  and node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in documented]


def test_the_engine_asks_for_options_in_its_own_words():
    found = []
    for folder in ("billing", "tariffs"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            name = path.relative_to(ROOT).as_posix()
            if name in _SPEAKS_OF_ITS_SHELL:
                continue
            found += [f"{name}:{line}: {text!r}" for line, text in _strings_said(ast.parse(path.read_text(encoding="utf-8")))
                      if _OPTION.search(text)]
    assert not found, ("a refusal or a problem says what it asks for with asks_for (billing.core.problems.Ask); "
                       "the command line names the option (cli.OPTION):\n" + "\n".join(found))


def test_every_ask_has_its_option_on_the_command_line():
    from billing.core.problems import Ask
    from cli import OPTION

    assert set(OPTION) == set(Ask)


# --- the command line is a shell over job functions ---------------------------------------

_SHELL_MAY_OPEN = {"billing.store.db": "`chargeback db upgrade` upgrades the store itself"}


def test_the_command_line_reads_the_store_only_through_jobs():
    tree = ast.parse((ROOT / "cli.py").read_text(encoding="utf-8"))
    reached = sorted({f"{node.lineno}: {node.module}" for node in ast.walk(tree)
                      if isinstance(node, ast.ImportFrom) and node.module
                      and node.module.startswith("billing.store") and node.module not in _SHELL_MAY_OPEN})
    assert not reached, "cli.py calls a job (billing/jobs, billing/api), never the store:\n" + "\n".join(reached)


@pytest.mark.parametrize("name", sorted(_SPEAKS_OF_ITS_SHELL))
def test_a_module_excused_for_naming_options_still_names_one(name):
    # an excuse that no longer applies is struck, so the list stays the list of what is left
    strings = _strings_said(ast.parse((ROOT / name).read_text(encoding="utf-8")))
    assert any(_OPTION.search(text) for _, text in strings), f"{name} names no option any more: strike it"
