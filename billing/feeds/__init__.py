"""Usage feeds: our own CSV/.xlsx usage format and FinOps FOCUS exports, read in batches,
validated and mapped to usage rows, with every other row returned as a Problem.

Entry points: :func:`load_sources` (source definitions from YAML), :class:`MappingContext`
(catalogue and organisation to map against), :func:`read_usage` (batches of rows and
problems) and :func:`reconcile` (control totals). See README.md here and docs/feeds.md.
"""

from billing.feeds.context import UNALLOCATED, CostCenterOwner, MappingContext
from billing.feeds.read import UsageBatch, file_digest, read_usage
from billing.feeds.reconcile import Reconciliation, reconcile
from billing.feeds.rows import ROW_SCHEMA, row_schema
from billing.feeds.sources import (
    FeedFormat,
    SourceDefinition,
    UnallocatedRule,
    check_source,
    default_source,
    load_sources,
    parse_source,
)

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
