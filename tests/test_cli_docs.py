"""Every command is documented (in the spirit of sqlite-utils' test_docs): it has help, a row
of docs/commands.md shows it with every option, and the topic doc its section of
docs/commands.md links to (month-end.md, allocation.md and recovery.md, planning.md) names it.
The command tree is walked, so a new command is held to the same."""

import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from cli import chargeback

DOCS = Path(__file__).resolve().parent.parent / "docs"
COMMANDS = (DOCS / "commands.md").read_text(encoding="utf-8")


def commands(group: click.Group, prefix: tuple[str, ...] = ()):
    for name, command in sorted(group.commands.items()):
        path = prefix + (name,)
        yield path, command
        if isinstance(command, click.Group):
            yield from commands(command, path)


ALL = list(commands(chargeback))
LEAVES = [(p, c) for p, c in ALL if not isinstance(c, click.Group)]


def named(path: tuple[str, ...]) -> str:
    return f"chargeback {' '.join(path)}"


def documented_row(path: tuple[str, ...]) -> tuple[str, str]:
    """The row of docs/commands.md that documents ``chargeback PATH`` (its first column), and the
    heading of the section it is in."""
    start = "| `" + named(path)
    section, found = "", []
    for line in COMMANDS.splitlines():
        if line.startswith("## "):
            section = line
        elif line.startswith(start) and line[len(start)] in " `":
            found.append((line.split(" | ")[0], section))
    assert len(found) == 1, f"docs/commands.md should have one row for `{named(path)}`, has {len(found)}"
    return found[0]


def topic_docs(section: str) -> list[str]:
    """The docs a section of docs/commands.md links in its heading: `## Planning ([planning.md](planning.md))`."""
    return re.findall(r"\]\(([\w-]+\.md)\)", section)


@pytest.mark.parametrize("path", [p for p, _ in ALL], ids=[" ".join(p) for p, _ in ALL])
def test_every_command_has_help(path):
    result = CliRunner().invoke(chargeback, [*path, "--help"])
    assert result.exit_code == 0 and result.stdout.startswith("Usage: ")
    help_text = (dict(ALL)[path].help or "").strip()
    assert len(help_text) > 20, f"{named(path)} has no help text worth the name: {help_text!r}"


@pytest.mark.parametrize("path", [p for p, _ in ALL], ids=[" ".join(p) for p, _ in ALL])
def test_every_command_is_in_docs_commands(path):
    assert named(path) in COMMANDS, f"docs/commands.md does not mention `{named(path)}`"


@pytest.mark.parametrize("path", [p for p, _ in LEAVES], ids=[" ".join(p) for p, _ in LEAVES])
def test_every_option_is_shown_in_the_commands_row(path):
    usage, _ = documented_row(path)
    words = usage.replace("\\|", "|").split("`")[1].replace("[", " ").replace("]", " ").replace("|", " ").split()
    for param in dict(ALL)[path].params:
        if isinstance(param, click.Option) and param.name != "help":
            assert any(opt in words for opt in param.opts), f"docs/commands.md: `{named(path)}` does not show {param.opts[0]}"


@pytest.mark.parametrize("path", [p for p, _ in LEAVES], ids=[" ".join(p) for p, _ in LEAVES])
def test_every_command_is_in_the_topic_doc_its_section_links(path):
    _, section = documented_row(path)
    docs = topic_docs(section)
    text = "".join((DOCS / name).read_text(encoding="utf-8") for name in docs)
    assert not docs or named(path) in text, f"`{named(path)}` is under {section!r} but not in {' or '.join(docs)}"


TOPICS = {  # the top-level commands whose every subcommand sits under a section linking these docs
    ("month-end.md",): ("month", "adjust", "invoices", "explain", "statements", "export", "journal", "audit"),
    ("allocation.md", "recovery.md"): ("costs", "drivers", "allocation", "recovery", "rates"),
    ("planning.md",): ("budget", "forecast", "advise", "plan"),
}


@pytest.mark.parametrize("docs,tops", TOPICS.items(), ids=[" ".join(d) for d in TOPICS])
def test_month_end_recovery_and_planning_commands_sit_under_their_topic_doc(docs, tops):
    paths = [p for p, _ in LEAVES if p[0] in tops]
    assert {p[0] for p in paths} == set(tops)
    for path in paths:
        _, section = documented_row(path)
        assert tuple(topic_docs(section)) == docs, f"`{named(path)}` is under {section!r}, not a section linking {docs}"


def test_the_global_options_are_documented():
    for param in chargeback.params:
        if isinstance(param, click.Option) and param.name != "help":
            assert param.opts[0] in COMMANDS.split("## ")[0], f"docs/commands.md does not describe {param.opts[0]}"
