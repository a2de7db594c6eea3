"""Every pointer to the documentation leads somewhere: a doc named in code, tests, examples or
docs exists, a section quoted beside it (`docs/pricing.md, "Rounding"`) is a heading of that
file (or begins one, up to a colon or a bracket: "Tariff files" for "Tariff files (YAML
reference)"), and a Markdown link (`[store.md](store.md#limits)`) reaches its file and
heading."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SEARCHED = ("billing", "tariffs", "reports", "tests", "docs", "examples", "bench", "cli.py", "README.md", "pyproject.toml")
SUFFIXES = {".py", ".md", ".yaml", ".yml", ".toml", ".html", ".txt", ".j2"}

# a doc, optionally followed by a quoted section: `docs/store.md, "Limits"` or `docs/store.md ("Limits"`
REFERENCE = re.compile(r'docs/([\w.-]+\.md)(?:(?:,\s*|\s*\(\s*)\\?["“]([^"”\\]+)\\?["”])?')
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def text_files() -> list[Path]:
    found: dict[Path, Path] = {}
    for name in SEARCHED:
        top = ROOT / name
        paths = [top] if top.is_file() else top.rglob("*")
        for path in paths:
            if path.is_file() and path.suffix in SUFFIXES and ".venv" not in path.parts:
                found.setdefault(path.resolve(), path)  # billing/examples links to examples/: read once
    return sorted(found.values())


def headings(doc: Path) -> list[str]:
    lines, fenced = [], False
    for line in doc.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif line.startswith("#") and not fenced:
            lines.append(line.lstrip("#").strip())
    return lines


def anchor(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")


def names_a_heading(section: str, found: list[str]) -> bool:
    return any(h == section or (h.startswith(section) and h[len(section):][:2] in (": ", " (")) for h in found)


def section_name(quoted: str) -> str:
    """A quoted section as written across lines (``#`` of a YAML comment and indents dropped)."""
    return " ".join(re.sub(r"^\s*#?\s*", "", part) for part in quoted.splitlines()).strip()


FILES = text_files()
DOCS = {doc.name: headings(doc) for doc in (ROOT / "docs").glob("*.md")}


def references() -> list[tuple[str, str, str | None]]:
    found = []
    for path in FILES:
        text = path.read_text(encoding="utf-8", errors="replace")
        for match in REFERENCE.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            found.append((f"{path.relative_to(ROOT)}:{line}", match.group(1), match.group(2)))
    return found


REFERENCES = references()


def test_the_references_are_found():
    assert len(REFERENCES) > 100
    assert sum(1 for _, _, section in REFERENCES if section) > 30


@pytest.mark.parametrize("where,name,section", REFERENCES, ids=[w for w, _, _ in REFERENCES])
def test_every_named_doc_and_section_exists(where, name, section):
    if name not in DOCS:
        pytest.fail(f"{where} points to docs/{name}, which does not exist")
    if section:
        if not names_a_heading(section_name(section), DOCS[name]):
            pytest.fail(f"{where}: docs/{name} has no section \"{section_name(section)}\"")


def links() -> list[tuple[str, Path, str]]:
    found = []
    for path in FILES:
        if path.suffix != ".md":
            continue
        text = path.read_text(encoding="utf-8")
        for match in LINK.finditer(text):
            target = match.group(1)
            if re.match(r"[a-z]+:", target):
                continue  # http:, https:, mailto:
            line = text.count("\n", 0, match.start()) + 1
            found.append((f"{path.relative_to(ROOT)}:{line}", path, target))
    return found


LINKS = links()


def test_the_links_are_found():
    assert len(LINKS) > 30


@pytest.mark.parametrize("where,path,target", LINKS, ids=[w for w, _, _ in LINKS])
def test_every_link_reaches_its_file_and_heading(where, path, target):
    file, _, heading = target.partition("#")
    reached = (path.parent / file) if file else path
    assert reached.exists(), f"{where} links to {target}, which does not exist"
    if heading and reached.suffix == ".md":
        assert heading in {anchor(h) for h in headings(reached)}, f"{where} links to {target}: no such heading"
