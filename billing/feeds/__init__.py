"""Usage feeds: our own CSV/.xlsx usage format and FinOps FOCUS exports, read in batches,
validated and mapped to usage rows, with every other row returned as a Problem.

Entry points: :func:`load_sources` (source definitions from YAML), :class:`MappingContext`
(catalogue and organisation to map against), :func:`read_usage` (batches of rows and
problems) and :func:`reconcile` (control totals). See README.md here and docs/feeds.md.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

# Imported now: the function has its module's name, which importing the module would otherwise
# bind here instead.
from billing.feeds.reconcile import Reconciliation, reconcile

#: Where each name of the package lives. Imported on first use (PEP 562), so that a command
#: that only reads stored usage (a month run) does not import the readers and validators.
_WHERE = {
    "UNALLOCATED": "context", "CostCenterOwner": "context", "MappingContext": "context",
    "UsageBatch": "read", "file_digest": "read", "read_usage": "read",
    "ROW_SCHEMA": "rows", "row_schema": "rows",
    "FeedFormat": "sources", "SourceDefinition": "sources", "UnallocatedRule": "sources", "check_source": "sources",
    "default_source": "sources", "load_sources": "sources", "parse_source": "sources",
}

if TYPE_CHECKING:
    from billing.feeds.context import UNALLOCATED, CostCenterOwner, MappingContext
    from billing.feeds.read import UsageBatch, file_digest, read_usage
    from billing.feeds.rows import ROW_SCHEMA, row_schema
    from billing.feeds.sources import (FeedFormat, SourceDefinition, UnallocatedRule, check_source, default_source,
                                       load_sources, parse_source)


def __getattr__(name: str) -> object:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
    globals()[name] = value
    return value


__all__ = [
    "UNALLOCATED",
    "CostCenterOwner",
    "MappingContext",
    "UsageBatch",
    "file_digest",
    "read_usage",
    "Reconciliation",
    "reconcile",
    "ROW_SCHEMA",
    "row_schema",
    "FeedFormat",
    "SourceDefinition",
    "UnallocatedRule",
    "check_source",
    "default_source",
    "load_sources",
    "parse_source",
]
