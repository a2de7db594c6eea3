"""The working folder: where the catalogue, source definitions and allocation rules are looked
for by default, and ``chargeback init``, which writes a folder to start from.

The example files ship inside the package (``billing/examples``, the repository's
``examples/``), so an installed engine has them wherever it runs.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from billing.core.problems import ChargebackError

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
"""The shipped examples: catalogue, source definitions, allocation rules, scenarios and the
sample files of a first month (``start/``)."""

FOLDERS = ("tariffs", "sources", "allocation", "scenarios")
"""The folders of the examples that ``init`` copies, and that commands look for here."""


def default_dir(kind: str) -> Path:
    """The default folder of ``kind`` (tariffs, sources, allocation): ``KIND/`` in the working
    directory when it holds YAML files (a folder ``chargeback init`` wrote), else
    ``examples/KIND`` (the repository's, when working from a checkout)."""
    here = Path(kind)
    if here.is_dir() and any(here.glob("*.yaml")):
        return here
    return Path("examples") / kind


@dataclass(frozen=True, slots=True)
class Workspace:
    folder: Path
    files: tuple[Path, ...]


def init_workspace(folder: Path) -> Workspace:
    """Write a working folder: the example catalogue, source definitions, allocation rules and
    scenarios, the sample organisation, subscriptions and usage of March 2026, and a README.
    Refuses a folder that exists and is not empty (nothing there is ever overwritten)."""
    folder = Path(folder)
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise ChargebackError(f"{folder} already exists and is not an empty folder: `chargeback init` writes into a new "
                              f"or empty folder and never overwrites")
    if not (EXAMPLES / "start").is_dir():
        raise ChargebackError(f"the shipped examples are missing from {EXAMPLES}: reinstall the engine")
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for name in FOLDERS:
        shutil.copytree(EXAMPLES / name, folder / name)
        written += sorted((folder / name).rglob("*.*"))
    for sample in sorted((EXAMPLES / "start").iterdir()):
        if sample.is_file():
            shutil.copyfile(sample, folder / sample.name)
            written.append(folder / sample.name)
    return Workspace(folder=folder, files=tuple(written))
