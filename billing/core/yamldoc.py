"""Read a YAML document with its line numbers, and collect problems with their location.

Every YAML loader (``tariffs/load.py``, ``billing/recovery/allocation_rules.py``,
``billing/feeds/sources.py``, ``billing/planning/scenarios.py``) subclasses :class:`DocumentReader` for
one file and keeps only its own schema: which keys, which records, and its own wording.

- :func:`read_yaml_file` reads a file's text, refusing one larger than :data:`MAX_BYTES`.
- :meth:`DocumentReader.parse` turns YAML text into plain values that remember their lines: a
  mapping is a :class:`YamlMap`, a list a :class:`YamlList`. Numbers keep the text as written
  (``0.10`` stays 0.10, ``2026.10`` is not 2026.1); other scalars are what YAML makes of them.
  A key written twice is a DUPLICATE problem and ``<<`` merges are resolved. Text that is not
  YAML comes back as :data:`NOT_YAML` after one problem at the line where YAML stopped.
- Bounds (docs/pricing.md, "Limits of a YAML file"): a document is refused, with one problem,
  when it is larger than :data:`MAX_BYTES`, nests deeper than :data:`MAX_DEPTH`, or when its
  aliases (``*name``) and merges (``<<:``) repeat more than :data:`MAX_REPEATED` values in all
  (an alias bomb) or refer to the value that holds them. Nothing is built before these checks.
- :meth:`~DocumentReader.report` adds a :class:`~billing.core.problems.Problem` at
  ``file:line:location`` (``tariffs[0].tiers.gold.bands[1]``); :meth:`~DocumentReader.ref` is
  the same place as a :class:`~billing.core.problems.SourceRef` for a record.
- :meth:`~DocumentReader.mapping`, ``items``, ``entries``, ``text``, ``number``, ``date`` and
  ``choice`` read typed fields and report what is wrong at the key's line, with a hint.

A loader whose wording differs from the defaults overrides the class attributes and small
methods under "wording"; the Problem codes, locations and lines stay the same for all.

Pure: reads text it is given; no database, no click, no templates, no spreadsheets.
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from billing.core.limits import NUMBER, Range
from billing.core.money import D
from billing.core.problems import Problem, ProblemCode, Severity, SourceRef, excerpt

__all__ = [
    "MAX_BYTES",
    "MAX_DEPTH",
    "MAX_REPEATED",
    "read_yaml_file",
    "YamlMap",
    "YamlList",
    "NOT_YAML",
    "DocumentReader",
    "line_of",
    "join",
    "describe",
    "plain",
    "did_you_mean",
]

_WHOLE = object()  # line_of(value) without a key: the line of the value itself

MAX_BYTES = 1_048_576
"""The largest YAML file the engine reads (1 MiB; the largest example is under 4 KB). Reading
and checking one of this size takes a few seconds."""
MAX_DEPTH = 32
"""How deep values may nest (a mapping in a list in a mapping ...); the engine's files need
about 8 levels."""
MAX_REPEATED = 100_000
"""How many values aliases and merges may repeat in all, counted with every alias expanded."""


class YamlMap(dict):
    """A YAML mapping that remembers its own line, and the line of each key and of each value (1-based)."""

    __slots__ = ("line", "lines", "value_lines")
    line: int
    lines: dict[str, int]
    value_lines: dict[str, int]


class YamlList(list):
    """A YAML sequence that remembers its own line and the line of each item (1-based)."""

    __slots__ = ("line", "lines")
    line: int
    lines: list[int]


class _NotYaml:
    def __repr__(self) -> str:
        return "NOT_YAML"


NOT_YAML: Any = _NotYaml()
"""What :meth:`DocumentReader.parse` returns for text that is not valid YAML (already reported)."""


def line_of(value: object, key: object = _WHOLE) -> int | None:
    """The line of ``value``, or of its ``key`` (a mapping key or a list index); None for a scalar.

    A key a mapping does not have gives the mapping's own line."""
    if isinstance(value, YamlMap):
        return value.line if key is _WHOLE else value.lines.get(key, value.line)
    if isinstance(value, YamlList):
        return value.lines[key] if isinstance(key, int) else value.line
    return None


def join(path: str, key: object) -> str:
    """``tiers`` + ``gold`` → ``tiers.gold``; at the top of the document just the key."""
    return f"{path}.{key}" if path else str(key)


def describe(value: object) -> str:
    """What a value is, for a message that says it is the wrong kind: ``a list``, ``yes/no (False)``."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return f"yes/no ({value})"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dt.datetime):
        return "a date and time"
    if isinstance(value, dt.date):
        return "a date"
    return repr(excerpt(value)) if isinstance(value, str) else excerpt(repr(value))


def plain(value: object) -> str:
    """A value as the user would write it: ``no`` for False, ISO for a date."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def did_you_mean(word: str, choices: Sequence[str], lead: str) -> str:
    """``did you mean 'graduated'? write one of: flat, graduated`` (the closest choice, if any, then all)."""
    close = difflib.get_close_matches(str(word), list(choices), n=1)
    listing = f"{lead}: {', '.join(choices)}"
    return f"did you mean {close[0]!r}? {listing}" if close else listing


def read_yaml_file(path: Path, *, encoding: str = "utf-8") -> tuple[str | None, Problem | None]:
    """The text of the YAML file ``path``, or None and the one problem why it is not read: it
    cannot be opened, is not ``encoding`` text, or is larger than :data:`MAX_BYTES`."""
    where = SourceRef(file=str(path))
    try:
        size = Path(path).stat().st_size
        if size > MAX_BYTES:
            return None, _too_large(where, size)
        with open(path, encoding=encoding) as handle:
            text = handle.read(MAX_BYTES + 1)  # a file that grew since: still bounded
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        return None, Problem(code=ProblemCode.FILE_UNREADABLE, message=f"cannot read the file: {exc}", source=where,
                             hint="save it as UTF-8 text and check it can be opened")
    if len(text) > MAX_BYTES:
        return None, _too_large(where, len(text))
    return text, None


def _too_large(where: SourceRef, size: int) -> Problem:
    return Problem(code=ProblemCode.TOO_LARGE, source=where,
                   message=f"the file is {size:,} bytes; a YAML file may have at most {MAX_BYTES:,} (1 MiB)",
                   hint="split it into several files in the same folder, or remove what is not needed")


class _Refused(Exception):
    """A document beyond the bounds: one problem (message, line, hint) and nothing built."""

    def __init__(self, message: str, line: int | None, hint: str):
        super().__init__(message)
        self.message, self.line, self.hint = message, line, hint


class _BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader, composing at most :data:`MAX_DEPTH` levels (its composer recurses,
    so 500 levels would end in a RecursionError) and remembering where the first alias is."""

    def __init__(self, text: str):
        super().__init__(text)
        self.depth = 0
        self.first_alias: int | None = None

    def compose_node(self, parent, index):
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            if self.first_alias is None:
                self.first_alias = event.start_mark.line + 1
            return super().compose_node(parent, index)
        if self.depth >= MAX_DEPTH:
            raise _Refused(f"the values nest more than {MAX_DEPTH} levels deep", event.start_mark.line + 1,
                           "a tariff, source, rule or scenario file needs only a few levels; check the indentation "
                           "and the brackets")
        self.depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


_MERGE = "tag:yaml.org,2002:merge"


def _check_expansion(root: yaml.Node, first_alias: int | None) -> None:
    """Refuse a document whose aliases and merges, expanded, repeat more than
    :data:`MAX_REPEATED` values, nest it deeper than :data:`MAX_DEPTH`, or refer to the value
    that holds them. Every node is measured once (its expanded size and depth are kept), so
    this takes as long as the document as written, whatever its aliases expand to."""
    measured: dict[int, tuple[int, int]] = {}  # id(node) -> (expanded values, depth)
    open_nodes: set[int] = set()
    line = first_alias

    def measure(node: yaml.Node, depth: int) -> tuple[int, int]:
        key = id(node)
        if key in measured:
            return measured[key]
        if key in open_nodes:
            raise _Refused("an alias refers to the value that holds it, which would repeat without end",
                           node.start_mark.line + 1, "an alias may only repeat a value written before and outside it")
        if depth > MAX_DEPTH:
            raise _Refused(f"with its aliases expanded, the document nests more than {MAX_DEPTH} levels deep", line,
                           "write the values out, or use fewer aliases")
        open_nodes.add(key)
        size, deepest = 1, 0
        if isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        elif isinstance(node, yaml.MappingNode):
            children = [n for pair in node.value for n in pair]
        else:
            children = []
        for child in children:
            child_size, child_depth = measure(child, depth + 1)
            size += child_size
            deepest = max(deepest, child_depth)
        open_nodes.discard(key)
        measured[key] = (size, deepest + 1)
        if deepest + depth > MAX_DEPTH:
            raise _Refused(f"with its aliases expanded, the document nests more than {MAX_DEPTH} levels deep", line,
                           "write the values out, or use fewer aliases")
        if size - len(measured) > MAX_REPEATED:
            raise _Refused(f"its aliases (*name) and merges (<<:) repeat more than {MAX_REPEATED:,} values",
                           line, "write the values out, or use fewer aliases")
        return measured[key]

    measure(root, 1)


def _yaml_reason(exc: yaml.YAMLError, context: bool) -> str:
    problem = getattr(exc, "problem", None)
    if not context:
        return str(problem or exc)
    said = " ".join(str(p) for p in (getattr(exc, "context", None), problem) if p)
    return said or str(exc).splitlines()[0]


class DocumentReader:
    """Reads one file's YAML document and collects its problems.

    ``problems`` is every problem found so far; ``fatal`` counts those that stopped a record
    from being built (see :meth:`keep`).
    """

    merge_keys = True  # resolve "<<: *anchor" merges

    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[Problem] = []
        self.fatal = 0
        self.document_line: int | None = None  # where the document starts (set by parse)

    # ---- wording: a loader with its own may override these

    number_hint = 'write a plain number such as 0.12 or "1250.00" (no currency sign, no thousands separator)'
    text_hint = 'write it in quotes, e.g. {key}: "{value}"'  # {key}, {value}: the key and the value as written
    entries_hint = "write it as '{key}:' then one '<{what}>: ...' per line"
    empty_is_missing = False  # whether a required key written as "" counts as missing
    read_incomplete = True  # mapping() returns a mapping that lacks a required key (so its other fields are read)

    def describe(self, value: object) -> str:
        return describe(value)

    def quote(self, value: object) -> str:
        """A value that is not a number, as shown in the message that says so."""
        return repr(excerpt(plain(value)))

    def suggest(self, word: str, choices: Sequence[str], lead: str) -> str:
        return did_you_mean(word, choices, lead)

    def example(self, required: Sequence[str], optional: Sequence[str]) -> str:
        """The keys shown in ``write it as {...}`` when a mapping is expected."""
        return ", ".join(f"{k}: ..." for k in required) or ", ".join(f"{k}: ..." for k in optional[:2])

    def is_text(self, value: object) -> bool:
        return isinstance(value, str)

    # ---- problems

    def ref(self, location: str, line: int | None) -> SourceRef:
        return SourceRef(file=self.file, row=line, location=location or None)

    def report(
        self,
        code: ProblemCode,
        message: str,
        location: str,
        line: int | None,
        hint: str | None = None,
        *,
        fatal: bool = True,
        severity: Severity = Severity.ERROR,
    ) -> None:
        self.problems.append(
            Problem(code=code, message=message, source=self.ref(location, line), severity=severity, hint=hint)
        )
        if fatal:
            self.fatal += 1

    def keep(self, record: Any, before: int) -> Any:
        """The record, or None when a fatal problem since ``before`` (a count of ``fatal``) means it
        could not be built."""
        return None if self.fatal > before else record

    # ---- YAML into values that remember their lines

    def parse(
        self,
        text: str,
        *,
        hint: str | None = "check the indentation and quoting on this line (values with ':' or '#' need quotes)",
        code: ProblemCode = ProblemCode.FILE_UNREADABLE,
        context: bool = False,
    ) -> Any:
        """The document: YamlMap, YamlList or a scalar; None when the text holds none.

        Text that is not valid YAML is reported (``code``, ``not valid YAML: ...``, the line where
        YAML stopped, ``hint``) and gives :data:`NOT_YAML`. With ``context`` the message also says
        what YAML was reading (``while scanning a quoted scalar``). A document beyond the bounds
        (see the module) is one TOO_LARGE problem and gives :data:`NOT_YAML` too.
        """
        if len(text) > MAX_BYTES:
            self.problems.append(_too_large(self.ref("", None), len(text.encode("utf-8", "surrogatepass"))))
            self.fatal += 1
            return NOT_YAML
        loader = None
        try:
            loader = _BoundedLoader(text)  # reads the text at once: a NUL is refused here
            node = loader.get_single_node()
            if node is None:
                return None
            _check_expansion(node, loader.first_alias)
            self.document_line = node.start_mark.line + 1
            return self._value(node, loader, "")
        except _Refused as refused:
            self.report(ProblemCode.TOO_LARGE, refused.message, "", refused.line, refused.hint)
            return NOT_YAML
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
            self.report(code, f"not valid YAML: {_yaml_reason(exc, context)}", "",
                        None if mark is None else mark.line + 1, hint)
            return NOT_YAML
        finally:
            if loader is not None:
                loader.dispose()

    def scalar(self, node: yaml.ScalarNode, loader: yaml.SafeLoader) -> Any:
        """A scalar's value. Numbers keep the text as written, so 0.10 stays 0.10."""
        if node.tag in ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float"):
            return node.value
        try:
            return loader.construct_object(node, deep=True)
        except ValueError:  # a date-shaped value that is no date (2026-13-01): the readers report the text
            return node.value

    def duplicate_key(self, mapping: YamlMap, key: str, location: str, line: int) -> bool:
        """A key written twice: report it; True to let the later one replace the first."""
        self.report(ProblemCode.DUPLICATE, f"key {key!r} is written twice", location, line,
                    f"keep one {key!r}; YAML would silently use the last one")
        return False

    def _value(self, node: yaml.Node, loader: yaml.SafeLoader, location: str) -> Any:
        line = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            if self.merge_keys:
                loader.flatten_mapping(node)
            result = YamlMap()
            result.line, result.lines, result.value_lines = line, {}, {}
            for key_node, value_node in node.value:
                key_line = key_node.start_mark.line + 1
                if not isinstance(key_node, yaml.ScalarNode):
                    self.report(ProblemCode.VALUE_INVALID, "a key must be a plain word", location, key_line,
                                "write keys as plain words such as unit_price")
                    continue
                key = key_node.value  # the key exactly as written: "2026", "no" and "on" stay text
                if key in result and not self.duplicate_key(result, key, join(location, key), key_line):
                    continue
                result[key] = self._value(value_node, loader, join(location, key))
                result.lines[key] = key_line
                result.value_lines[key] = value_node.start_mark.line + 1
            return result
        if isinstance(node, yaml.SequenceNode):
            result = YamlList()
            result.line, result.lines = line, []
            for i, item in enumerate(node.value):
                result.append(self._value(item, loader, f"{location}[{i}]"))
                result.lines.append(item.start_mark.line + 1)
            return result
        try:
            return self.scalar(node, loader)
        except (ValueError, KeyError, AttributeError, TypeError, ArithmeticError):
            return node.value  # a tag YAML cannot build (!!bool maybe, !!timestamp x): the text as written

    # ---- typed fields; each reports at the key's line and gives None when the value is unusable

    def mapping(
        self, value: Any, location: str, line: int | None, spec: tuple[Sequence[str], Sequence[str]], what: str
    ) -> YamlMap | None:
        """``value`` as a mapping of the ``spec``'s ``(required, optional)`` keys, or None when it is not
        a mapping. An unknown key is reported (not fatal); a missing required key is reported, and
        without ``read_incomplete`` makes the result None."""
        required, optional = spec
        if not isinstance(value, dict):
            self.report(ProblemCode.VALUE_INVALID, f"{what} must be a mapping of keys, not {self.describe(value)}",
                        location, line if line is not None else line_of(value),
                        f"write it as {{{self.example(required, optional)}}}")
            return None
        before = self.fatal
        allowed = tuple(required) + tuple(optional)
        for key in value:
            if key not in allowed:
                self.report(ProblemCode.UNKNOWN_KEY, f"unknown key {key!r} in {what}", join(location, key),
                            line_of(value, key), self.suggest(str(key), allowed, "allowed keys"), fatal=False)
        for key in required:
            found = value.get(key)
            if found is None or (self.empty_is_missing and found == ""):
                self.report(ProblemCode.VALUE_MISSING, f"{what} has no {key}", join(location, key),
                            line_of(value, key), f"add '{key}:' to the {what}")
        return value if self.read_incomplete or self.fatal == before else None

    def items(self, m: YamlMap, key: str, location: str, what: str) -> list[tuple[Any, str, int | None]]:
        """The items of a list under ``key``, each with its location and line."""
        value = m.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            self.report(ProblemCode.VALUE_INVALID, f"{key} must be a list of {what}, not {self.describe(value)}",
                        join(location, key), line_of(m, key), f"write each of the {what} on its own '- ' line")
            return []
        return [(item, f"{join(location, key)}[{i}]", line_of(value, i)) for i, item in enumerate(value)]

    def entries(self, m: YamlMap, key: str, location: str, what: str) -> list[tuple[str, Any, str, int | None]]:
        """The entries of a mapping under ``key``: (key, value, location, line of the key)."""
        value = m.get(key)
        if value is None:
            return []
        if not isinstance(value, dict):
            self.report(ProblemCode.VALUE_INVALID, f"{key} must be a mapping of {what}, not {self.describe(value)}",
                        join(location, key), line_of(m, key), self.entries_hint.format(key=key, what=what))
            return []
        return [(k, v, join(join(location, key), k), line_of(value, k)) for k, v in value.items()]

    def text(self, m: YamlMap, key: str, location: str) -> str | None:
        value = m.get(key)
        if value is None:
            return None  # a missing required key was reported by mapping()
        if isinstance(value, bool) or not self.is_text(value):
            self.report(ProblemCode.VALUE_INVALID, f"{key} must be text, not {self.describe(value)}",
                        join(location, key), line_of(m, key), self.text_hint.format(key=key, value=plain(value)))
            return None
        return str(value).strip()

    def number(self, m: YamlMap, key: str, location: str, *, what: str | None = None,
               required: bool = False, limit: Range = NUMBER) -> Decimal | None:
        """A number written as text (see :meth:`scalar`) within ``limit`` (billing/core/limits.py);
        ``required``: a missing one is a problem too. ``what`` names the value in the message
        instead of the key."""
        value = m.get(key)
        if value is None and not required:
            return None
        if isinstance(value, str):
            try:
                number = D(value)
            except ValueError:
                pass
            else:
                beyond = limit.problem(what or key, number)
                if beyond is None:
                    return number
                self.report(beyond[0], beyond[1], join(location, key), line_of(m, key),
                            "the store, invoices and the journal carry numbers of this size exactly; check the unit")
                return None
        self.report(ProblemCode.NOT_A_NUMBER, f"{what or key} is not a number: {self.quote(value)}",
                    join(location, key), line_of(m, key), self.number_hint)
        return None

    def date(self, m: YamlMap, key: str, location: str) -> dt.date | None:
        value = m.get(key)
        if value is None:
            return None
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            return value
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value.strip())
            except ValueError:
                pass
        self.report(ProblemCode.NOT_A_DATE, f"{key} is not a date: {plain(value)!r}", join(location, key),
                    line_of(m, key), f"write the date as YYYY-MM-DD, e.g. {key}: 2026-01-01")
        return None

    def choice(self, m: YamlMap, key: str, location: str, enum_type: type) -> Any:
        """One of an enum's values, written as its text."""
        raw = self.text(m, key, location)
        if raw is None:
            return None
        try:
            return enum_type(raw)
        except ValueError:
            choices = [e.value for e in enum_type]
            self.report(ProblemCode.VALUE_INVALID, f"{key} {raw!r} is not one of {', '.join(choices)}",
                        join(location, key), line_of(m, key), self.suggest(raw, choices, "write one of"))
            return None
