"""Every command has help, and every command is in docs/commands.md (sqlite-utils' test_docs)."""

from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from cli import chargeback

DOCS = (Path(__file__).resolve().parent.parent / "docs" / "commands.md").read_text()


def commands(group: click.Group, prefix: tuple[str, ...] = ()):
    for name, command in sorted(group.commands.items()):
        path = prefix + (name,)
        yield path, command
        if isinstance(command, click.Group):
            yield from commands(command, path)


ALL = list(commands(chargeback))


@pytest.mark.parametrize("path", [p for p, _ in ALL], ids=[" ".join(p) for p, _ in ALL])
def test_every_command_has_help_and_is_documented(path):
    result = CliRunner().invoke(chargeback, [*path, "--help"])
    assert result.exit_code == 0
    assert "Usage:" in result.stdout
    command = dict(ALL)[path]
    assert (command.help or "").strip(), f"{' '.join(path)} has no help text"
    assert f"chargeback {' '.join(path)}" in DOCS, f"docs/commands.md does not mention `chargeback {' '.join(path)}`"


def documented_line(path: tuple[str, ...]) -> str:
    """The row of docs/commands.md that documents ``chargeback PATH`` (its first column)."""
    name = f"`chargeback {' '.join(path)}"
    rows = [line for line in DOCS.splitlines() if line.startswith("| " + name)
            and line[len("| " + name)] in " `"]
    assert len(rows) == 1, f"docs/commands.md should have one row for `chargeback {' '.join(path)}`, has {len(rows)}"
    return rows[0].split(" | ")[0]


LEAVES = [(p, c) for p, c in ALL if not isinstance(c, click.Group)]


@pytest.mark.parametrize("path", [p for p, _ in LEAVES], ids=[" ".join(p) for p, _ in LEAVES])
def test_every_option_is_documented(path):
    usage = documented_line(path)
    command = dict(ALL)[path]
    for param in command.params:
        if isinstance(param, click.Option) and param.name != "help":
            assert any(opt in usage.replace("\\|", "|").split("`")[1].replace("[", " ").replace("]", " ").replace("|", " ").split()
                       for opt in param.opts), f"docs/commands.md: `chargeback {' '.join(path)}` does not show {param.opts[0]}"


def test_the_global_options_are_documented():
    for param in chargeback.params:
        if isinstance(param, click.Option) and param.name != "help":
            assert param.opts[0] in DOCS.split("## ")[0], f"docs/commands.md does not describe {param.opts[0]}"


def test_usage_errors_exit_2_without_a_traceback():
    result = CliRunner().invoke(chargeback, ["month", "run"])
    assert result.exit_code == 2 and "Traceback" not in result.output
    result = CliRunner().invoke(chargeback, ["month", "run", "March"])
    assert result.exit_code == 2 and "not a month" in result.stderr


def test_a_wrong_database_url_is_one_line():
    result = CliRunner().invoke(chargeback, ["--db", "bogus://x", "org", "list"])
    assert result.exit_code == 1 and "not a database this engine can use" in result.stderr
    assert "Traceback" not in result.output
