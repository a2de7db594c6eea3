"""Every YAML the engine reads (tariffs, sources, allocation rules, scenarios) is bounded: an
alias bomb, deep nesting or an oversized file is one TOO_LARGE problem, never a hang, a
RecursionError or gigabytes of memory; and no text at all makes a reader raise."""

from __future__ import annotations

import functools
import string
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing.recovery.allocation_rules import load_rules, validate_rules
from billing.feeds.sources import load_sources
from billing.core.problems import ProblemCode, errors
from billing.planning.scenarios import load_scenarios
from billing.core.yamldoc import MAX_BYTES, MAX_DEPTH, MAX_REPEATED, DocumentReader
from tariffs.load import load_catalogue
from tariffs.validate import validate_catalogue
from tests.cli_helpers import run, write
from tests.conftest import EXAMPLE_SOURCES, EXAMPLE_TARIFFS, ROOT

EXAMPLES = sorted([*EXAMPLE_TARIFFS.glob("*.yaml"), *EXAMPLE_SOURCES.glob("*.yaml"),
                   *(ROOT / "examples" / "allocation").glob("*.yaml"), *(ROOT / "examples" / "scenarios").glob("*.yaml")])


def billion_laughs(levels: int = 10, fanout: int = 4) -> str:
    """``levels`` lists of ``fanout`` aliases each to the previous one: fanout ** levels values."""
    lines = ['l0: &l0 ["lol"]']
    for i in range(1, levels + 1):
        lines.append(f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * fanout)}]")
    return "\n".join(lines) + "\n"


def nested(depth: int) -> str:
    return "".join(f"{'  ' * i}k{i}:\n" for i in range(depth)) + f"{'  ' * depth}end\n"


def one_too_large(problems) -> list[str]:
    found = [p for p in problems if p.code is ProblemCode.TOO_LARGE]
    assert len(found) == 1, [p.render() for p in problems]
    return [p.render() for p in found]


# --- the readers, each over one file -------------------------------------------------------------


def read_tariffs(folder: Path, text: str):
    (folder / "t.yaml").write_text(text, encoding="utf-8")
    catalogue, problems = load_catalogue(folder)
    problems = problems + validate_catalogue(catalogue)
    return (catalogue.units + catalogue.services + catalogue.tariffs), problems


def read_source(folder: Path, text: str):
    (folder / "s.yaml").write_text(text, encoding="utf-8")
    sources, problems = load_sources(folder)
    return tuple(sources.values()), problems


@functools.cache
def example_catalogue():
    return load_catalogue(EXAMPLE_TARIFFS)[0]


def read_rules(folder: Path, text: str):
    (folder / "r.yaml").write_text(text, encoding="utf-8")
    rules, problems = load_rules(folder / "r.yaml")
    problems = problems + validate_rules(rules, example_catalogue())
    return (*rules.pools, *rules.shared_services, *rules.steps), problems


def read_scenarios(folder: Path, text: str):
    (folder / "sc.yaml").write_text(text, encoding="utf-8")
    scenarios, problems = load_scenarios(folder / "sc.yaml")
    return tuple(scenarios), problems


READERS = {"tariffs": read_tariffs, "sources": read_source, "rules": read_rules, "scenarios": read_scenarios}


# --- the bounds, for every reader --------------------------------------------------------------------


@pytest.mark.parametrize("reader", READERS)
def test_an_alias_bomb_is_one_problem_for_every_reader(tmp_path, reader):
    # 4 ** 10 = 1,048,576 values once expanded: refused before anything is built
    records, problems = READERS[reader](tmp_path, billion_laughs())
    (line,) = one_too_large(problems)
    assert f"repeat more than {MAX_REPEATED:,} values" in line
    assert records == ()


@pytest.mark.parametrize("reader", READERS)
def test_nesting_500_levels_deep_is_one_problem_not_a_recursion_error(tmp_path, reader):
    for text in (nested(500), "x: " + "[" * 500 + "]" * 500 + "\n", "x: " + "{a: " * 500 + "1" + "}" * 500 + "\n"):
        records, problems = READERS[reader](tmp_path, text)
        (line,) = one_too_large(problems)
        assert f"more than {MAX_DEPTH} levels deep" in line
        assert records == ()


@pytest.mark.parametrize("reader", READERS)
def test_a_file_over_one_mebibyte_is_refused_before_it_is_read(tmp_path, reader):
    # a 50 MB file once took four minutes and 2.4 GB; anything over the bound is one line now
    text = "# padding\n" * (MAX_BYTES // 10 + 1)
    records, problems = READERS[reader](tmp_path, text)
    (line,) = one_too_large(problems)
    assert f"at most {MAX_BYTES:,} (1 MiB)" in line
    assert records == ()


@pytest.mark.parametrize("text, message", [
    ("a: &a [*a]\n", "refers to the value that holds it"),
    ("a: &a {<<: *a}\n", "refers to the value that holds it"),
    ('base: &b {' + ", ".join(f"k{i}: 1" for i in range(2_000)) + "}\n"
     + "".join(f"m{i}: {{<<: *b}}\n" for i in range(100)), f"repeat more than {MAX_REPEATED:,} values"),
    ("a: &a [1]\n" + "".join(f"b{i}: &b{i} [*{'a' if i == 0 else f'b{i - 1}'}]\n" for i in range(40)),
     f"nests more than {MAX_DEPTH} levels deep"),
])
def test_self_reference_merge_bombs_and_deep_aliases_are_refused(text, message):
    reader = DocumentReader("x.yaml")
    assert reader.parse(text) is not None
    (line,) = one_too_large(reader.problems)
    assert message in line


def test_aliases_and_nesting_within_the_bounds_still_read():
    reader = DocumentReader("x.yaml")
    shared = "credits: &credits [{shortfall_up_to: 15, credit_pct: 5}, {credit_pct: 10}]\n"
    document = reader.parse(shared + "gold: {service_credits: *credits}\nsilver: {service_credits: *credits}\n"
                            + nested(MAX_DEPTH - 1))
    assert reader.problems == []
    assert document["gold"]["service_credits"] == document["credits"]
    reader = DocumentReader("x.yaml")
    document = reader.parse(billion_laughs(levels=4, fanout=10))  # 11,111 values repeated: allowed
    assert reader.problems == [] and len(document["l4"]) == 10


def test_tags_yaml_cannot_build_are_kept_as_text():
    reader = DocumentReader("x.yaml")
    document = reader.parse("a: !!bool maybe\nb: !!timestamp nope\nc: !!int twelve\n")
    assert document == {"a": "maybe", "b": "nope", "c": "twelve"}


def test_the_commands_refuse_a_bomb_in_one_line(sqlite_url, tmp_path):
    tariffs = tmp_path / "tariffs"
    tariffs.mkdir()
    for path in EXAMPLE_TARIFFS.glob("*.yaml"):
        (tariffs / path.name).write_text(path.read_text())
    (tariffs / "bomb.yaml").write_text(billion_laughs())
    result = run(sqlite_url, "tariffs", "validate", tariffs, ok=False)
    assert result.exit_code == 1 and "Traceback" not in result.stderr
    assert [line for line in result.stderr.splitlines() if "too-large" in line] == [
        f"{tariffs / 'bomb.yaml'}:2: too-large its aliases (*name) and merges (<<:) repeat more than 100,000 values "
        "(write the values out, or use fewer aliases)"]
    sources = tmp_path / "sources"
    write(sources / "deep.yaml", nested(500))
    run(sqlite_url, "tariffs", "load", EXAMPLE_TARIFFS)
    feed = write(tmp_path / "u.csv", "record_id,usage_date,business_line,service,quantity,unit\n")
    result = run(sqlite_url, "usage", "load", feed, "--source", "servicedesk", "--sources", sources, ok=False)
    assert result.exit_code == 1 and "Traceback" not in result.stderr
    assert "deep.yaml:32: too-large the values nest more than 32 levels deep" in result.stderr
    rules = write(tmp_path / "rules.yaml", "x: " + "[" * 500 + "]" * 500)
    result = run(sqlite_url, "allocation", "validate", "--rules", rules, "--tariffs", EXAMPLE_TARIFFS, ok=False)
    assert result.exit_code == 1 and "too-large" in result.stderr and "Traceback" not in result.stderr


# --- fuzzing: any text, any YAML, never a traceback ----------------------------------------------------


def _keys_of(value, found: set[str]) -> set[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            found.add(str(key))
            _keys_of(item, found)
    elif isinstance(value, list):
        for item in value:
            _keys_of(item, found)
    return found


VOCABULARY = sorted(set().union(*(_keys_of(yaml.safe_load(p.read_text()), set()) for p in EXAMPLES)))
TOKENS = [": ", "- ", "&a ", "*a", "<<: *a", "!!bool ", "!!timestamp ", "!!binary ", "!!python/object:os.system ",
          "!!set ", "{", "}", "[", "]", "\t", "\x00", "\x1b[31m", '"', "'", "#", "\n", "  ", "? ", "|", ">",
          "%YAML 1.1\n", "---\n", "...\n", "~", "1e999", "NaN", ".inf", "-" * 40, "é", "\ufeff", "\u202e",
          "2026-13-45", "9" * 60, "0x1F", "1_000", "yes", "null", "&b [*a, *a, *a]", "*undefined", "\r"]

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.dates().map(str),
    st.decimals(allow_nan=False, allow_infinity=False).map(str),
    st.sampled_from(["0.10", "1e25", "-1", "99999999999999999999999999.5", "", " ", "NaN", "USD", "per_unit",
                     "graduated", "pass_through", "focus", "usage", "gold", "silver", "DESK", "VM", "2026-01-01"]),
    st.text(max_size=20), st.text(alphabet=string.printable + "\x1b\x07\u202e", max_size=300),
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(VOCABULARY) | st.text(max_size=8), inner, max_size=6),
    max_leaves=40,
)


@st.composite
def documents(draw) -> str:
    """YAML text: a dumped structure in the engine's vocabulary, an example with random edits,
    or a mix of both."""
    kind = draw(st.sampled_from(["dumped", "edited", "bomb"]))
    if kind == "dumped":
        value = draw(st.dictionaries(st.sampled_from(VOCABULARY), values, max_size=8))
        return yaml.safe_dump(value, default_flow_style=draw(st.sampled_from([None, True, False])), allow_unicode=True,
                              sort_keys=False)
    if kind == "bomb":
        levels = draw(st.integers(1, 30))
        fanout = draw(st.integers(1, 12))
        return billion_laughs(levels, fanout) if draw(st.booleans()) else nested(levels * fanout)
    text = draw(st.sampled_from(EXAMPLES)).read_text()
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(text)))
        if draw(st.booleans()):
            text = text[:at] + draw(st.sampled_from(TOKENS) | st.text(max_size=5)) + text[at:]
        else:
            text = text[:at] + text[at + draw(st.integers(1, 40)):]
    return text


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture], deadline=None)
@given(text=documents(), reader=st.sampled_from(sorted(READERS)))
def test_any_text_gives_records_or_problems_never_a_traceback(tmp_path_factory, text, reader):
    folder = tmp_path_factory.mktemp(reader)
    records, problems = READERS[reader](folder, text)
    assert isinstance(problems, list)
    assert records or problems, f"{reader} read neither records nor problems from {text!r}"
    for problem in problems:
        assert problem.render()  # every problem renders to one line
    if errors(problems):
        assert all(p.source.file for p in problems)
