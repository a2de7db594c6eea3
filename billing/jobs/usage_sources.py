"""Which source a feed comes from: declared, never made up by a typo (issue 12, defect 6).

A source is declared by a source definition (``sources/*.yaml``; docs/feeds.md) or registered
on first use with ``usage load --new-source``; the store keeps every declared source
(``usage_source``). Any other name is refused with the known ones and the nearest, wherever a
source name comes in: ``usage load``, the ``--source`` filters of ``usage feeds`` and
``usage rejects``, and any later caller of these functions.
"""

from __future__ import annotations

import difflib
import os
import re
from pathlib import Path

from sqlalchemy.orm import Session

from billing.feeds.sources import SourceDefinition, default_source, load_sources
from billing.core.limits import SOURCE_NAME
from billing.core.problems import Ask, Asked, ChargebackError, ProblemsError, errors, excerpt
from billing.store import audit
from billing.store import locks
from billing.store.sources import declare_source, declared_sources
from billing.jobs.workspace import default_dir

DEFAULT_SOURCES = "sources/ here when it holds definitions, else examples/sources"
NAME = re.compile(rf"[A-Za-z0-9][A-Za-z0-9._-]{{0,{SOURCE_NAME - 1}}}")


def sources_directory(sources_dir: Path | None = None) -> Path:
    return Path(sources_dir or os.environ.get("CHARGEBACK_SOURCES") or default_dir("sources"))


def definitions_in(directory: Path) -> dict[str, SourceDefinition]:
    if not directory.is_dir():
        return {}
    definitions, problems = load_sources(directory)
    if errors(problems):
        raise ProblemsError(problems, f"{directory}: the source definitions have {len(errors(problems))} problem(s)")
    return definitions


def resolve_source(session: Session, name: str, fmt: str | None, sources_dir: Path | None = None, *,
                   new_source: bool = False) -> SourceDefinition:
    """The definition that ``name``'s feeds are read with, declaring the source in the store on
    its first load (in the load's transaction, so a refused load declares nothing)."""
    directory = sources_directory(sources_dir)
    definitions = definitions_in(directory)
    locks.lock_usage(session)  # the load that follows holds it too: no other load declares or loads meanwhile
    declared = declared_sources(session)
    if name in definitions:
        source = definitions[name]
        if new_source:
            raise ChargebackError(f"source {name} is already declared by its definition in {directory}: load it without "
                                  f"declaring a new source", asks_for=(Asked(Ask.NEW_SOURCE, drop=True),))
        if fmt and fmt != source.format:
            raise ChargebackError(f"source {name} is defined as format {source.format}, not {fmt}")
        if name not in declared:
            _declare(session, name, source.format, "definition")
        return source
    if name in declared:
        known = declared[name]
        if new_source:
            if locks.waited(session):
                raise ChargebackError(f"source {name} was declared by another command ({known.declared_by}) at "
                                      f"{known.declared_at:%Y-%m-%d %H:%M} while this one waited; nothing was done: "
                                      f"load again without declaring a new source", asks_for=(Asked(Ask.NEW_SOURCE, drop=True),))
            raise ChargebackError(f"source {name} is already declared (since {known.declared_at:%Y-%m-%d}): load it without "
                                  f"declaring a new source", asks_for=(Asked(Ask.NEW_SOURCE, drop=True),))
        if known.origin == "definition" or known.format != "usage":
            raise ChargebackError(f"source {name} is read with its source definition, which is not in {directory}: "
                                  f"give the source definitions folder that has it (or CHARGEBACK_SOURCES)",
                                  asks_for=(Asked(Ask.SOURCES, "DIR"),))
        if fmt and fmt != "usage":
            raise ChargebackError(f"source {name} sends our usage format, not {fmt}; a {fmt} feed needs a source definition")
        return default_source(name)
    if not new_source:
        raise ChargebackError(unknown_source(name, set(definitions) | set(declared), directory),
                              asks_for=(Asked(Ask.SOURCES, "DIR"), Ask.NEW_SOURCE), either=True)
    if not NAME.fullmatch(name):
        raise ChargebackError(f"{excerpt(name)!r} cannot name a source: use letters, digits, '.', '_' and '-' (at most {SOURCE_NAME}), "
                              f"starting with a letter or digit")
    twin = next((k for k in set(definitions) | set(declared) if k.lower() == name.lower()), None)
    if twin is not None:
        raise ChargebackError(f"source {name!r} differs from the known source {twin!r} only by case: load it under {twin}")
    if (fmt or "usage") != "usage":
        raise ChargebackError(f"a new {fmt} source needs a source definition to map its rows: write {directory}/{name}.yaml "
                              f"(docs/feeds.md, 'Source definitions')")
    _declare(session, name, "usage", "registered")
    return default_source(name)


def source_definition(name: str, fmt: str | None = None, sources_dir: Path | None = None) -> SourceDefinition:
    """The definition named ``name``, to read a file with it without loading anything: nothing
    is declared in the store. An unknown name is refused with the definitions there are."""
    directory = sources_directory(sources_dir)
    definitions = definitions_in(directory)
    if name not in definitions:
        listed = ", ".join(sorted(definitions)) or "none"
        raise ChargebackError(f"no source definition {name!r} in {directory}{_did_you_mean(name, set(definitions))}; "
                              f"definitions there: {listed} (or give another source definitions folder)",
                              asks_for=(Asked(Ask.SOURCES, "DIR"),))
    source = definitions[name]
    if fmt and fmt != source.format:
        raise ChargebackError(f"source {name} is defined as format {source.format}, not {fmt}")
    return source


def check_source_name(session: Session, name: str) -> str:
    """``name`` when the store knows the source (for filters); else a refusal naming the known ones."""
    declared = declared_sources(session)
    if name not in declared:
        raise ChargebackError(unknown_source(name, set(declared), None))
    return name


def unknown_source(name: str, known: set[str], directory: Path | None) -> str:
    listed = ", ".join(sorted(known)) or "none yet"
    text = f"unknown source {name!r}{_did_you_mean(name, known)}; known sources: {listed}"
    if directory is not None:
        text += (f". A source is declared by a source definition in {directory} (or another source definitions "
                 f"folder), or registered on its first load as a new source")
    return text


def _did_you_mean(name: str, known: set[str]) -> str:
    lowered = {k.lower(): k for k in known}
    near = [lowered[m] for m in difflib.get_close_matches(name.lower(), list(lowered), n=3, cutoff=0.6)]
    return f" (did you mean {' or '.join(near)}?)" if near else ""


def _declare(session: Session, name: str, format: str, origin: str) -> None:
    declare_source(session, name=name, format=format, origin=origin, user=audit.current_user(), at=audit.now())
    audit.record(session, "source.declare", name, f"{origin}, format {format}")


def source_rows(session: Session, sources_dir: Path | None = None) -> tuple[Path, list[list[object]]]:
    """Every known source (declared in the store, or defined in the sources folder) with its
    format, how it is declared, since when, and its active feeds: for ``sources list``."""
    from billing.store.usage import feeds

    directory = sources_directory(sources_dir)
    definitions = definitions_in(directory)
    declared = declared_sources(session)
    active: dict[str, list] = {}
    for feed in feeds(session):
        if feed.status == "active":
            active.setdefault(feed.source, []).append(feed)
    rows = []
    for name in sorted(set(definitions) | set(declared)):
        known, defined = declared.get(name), definitions.get(name)
        how = ("definition" if defined else f"{known.origin} (no definition in {directory})" if known.origin == "definition"
               else known.origin) if known else "definition, not loaded yet"
        loaded = active.get(name, [])
        rows.append([name, defined.format if defined else known.format, how,
                     f"{known.declared_at:%Y-%m-%d}" if known else "", len(loaded),
                     max(f.loaded_at for f in loaded).strftime("%Y-%m-%d") if loaded else ""])
    return directory, rows
