"""A newcomer reads the layers from the tree: every folder of the engine has a README.md that
names each of its modules, and docs/architecture.md names every folder."""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ARCHITECTURE = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")

FOLDERS = sorted(
    path.relative_to(ROOT).as_posix()
    for path in (ROOT / "billing").iterdir()
    if path.is_dir() and not path.is_symlink() and (path / "__init__.py").exists()
) + ["tariffs", "portal"]


def test_the_folders_are_found():
    assert {"billing/core", "billing/close", "billing/recovery", "billing/planning", "billing/demo", "billing/store",
            "billing/jobs", "tariffs"} <= set(FOLDERS)


@pytest.mark.parametrize("folder", FOLDERS)
def test_every_folder_is_in_the_architecture_and_has_a_readme(folder):
    assert f"`{folder}/`" in ARCHITECTURE, f"docs/architecture.md does not name {folder}/"
    readme = ROOT / folder / "README.md"
    assert readme.exists(), f"{folder} has no README.md"
    text = readme.read_text(encoding="utf-8")
    for section in ("**May import:**", "**Imported by:**"):
        assert section in text, f"{folder}/README.md does not say {section.strip('*:').lower()}"
    modules = sorted(p.name for p in (ROOT / folder).glob("*.py") if p.name != "__init__.py")
    missing = [m for m in modules if f"`{m}`" not in text]
    assert not missing, f"{folder}/README.md does not describe {', '.join(missing)}"


def test_the_architecture_shows_the_layer_order():
    layers = ARCHITECTURE.split("## The layers", 1)[1].split("##", 1)[0]
    order = ["cli.py", "billing/jobs", "billing/store", "billing/feeds", "tariffs/", "billing/core"]
    places = [layers.index(name) for name in order]
    assert places == sorted(places), "docs/architecture.md lists the layers out of order"
