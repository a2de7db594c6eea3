"""Control totals of a load: every row read is accounted for, and so is every amount."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields
from decimal import Decimal, localcontext
from typing import Protocol

from billing.core.money import EXACT, plain

__all__ = ["Reconciliation", "reconcile"]

_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True, kw_only=True)
class Reconciliation:
    """Counts and sums of one batch or, added up, of a whole file.

    ``rows_read`` counts data records (the header and blank lines are not records); each is
    exactly one of good, rejected (has an ERROR problem), duplicate (repeats an earlier record
    of the file, id and content), conflict (repeats an earlier record's id with other content;
    quarantined) or excluded (left out by a source rule, with a warning). A good row that
    is split yields several loaded rows, so ``rows_loaded`` may exceed ``good``.
    ``*_read`` sum the values that parsed, whatever else was wrong with their row;
    ``*_loaded`` sum the loaded rows. ``complete`` is false when the file broke off.
    """

    rows_read: int = 0
    good: int = 0
    rejected: int = 0
    duplicates: int = 0
    conflicts: int = 0
    excluded: int = 0
    rows_loaded: int = 0
    blank_rows: int = 0
    quantity_read: Decimal = _ZERO
    quantity_loaded: Decimal = _ZERO
    cost_read: Decimal = _ZERO
    cost_loaded: Decimal = _ZERO
    complete: bool = True

    def __add__(self, other: Reconciliation) -> Reconciliation:
        with localcontext(EXACT):  # quantity and cost totals exactly, however many digits
            return self._plus(other)

    def _plus(self, other: Reconciliation) -> Reconciliation:
        values = {
            f.name: (getattr(self, f.name) and getattr(other, f.name)) if f.name == "complete"
            else getattr(self, f.name) + getattr(other, f.name)
            for f in fields(self)
        }
        return Reconciliation(**values)

    @property
    def balanced(self) -> bool:
        """Every row read is good, rejected, a duplicate, a conflict or excluded."""
        return self.rows_read == self.good + self.rejected + self.duplicates + self.conflicts + self.excluded

    def render(self) -> str:
        """One line for the load summary, e.g.
        ``rows read 1,000 = good 990 + rejected 7 + duplicates 2 + conflicts 1 + excluded 0; …``."""
        text = (
            f"rows read {self.rows_read:,} = good {self.good:,} + rejected {self.rejected:,}"
            f" + duplicates {self.duplicates:,} + conflicts {self.conflicts:,} + excluded {self.excluded:,}"
        )
        if not self.balanced:
            text += " (DOES NOT BALANCE)"
        text += f"; usage rows loaded {self.rows_loaded:,}"
        if self.blank_rows:
            text += f"; blank lines skipped {self.blank_rows:,}"
        text += (
            f"; quantity read {plain(self.quantity_read)}, loaded {plain(self.quantity_loaded)}"
            f"; cost read {plain(self.cost_read)}, loaded {plain(self.cost_loaded)}"
        )
        if not self.complete:
            text += "; the file broke off, rows after the break were not read"
        return text


class _HasTally(Protocol):
    tally: Reconciliation


def reconcile(items: Iterable[_HasTally | Reconciliation]) -> Reconciliation:
    """Add up the tallies of :class:`~billing.feeds.read.UsageBatch` values (or of
    Reconciliations). Keep only ``batch.tally`` while streaming to stay in bounded memory."""
    total = Reconciliation()
    for item in items:
        total = total + (item if isinstance(item, Reconciliation) else item.tally)
    return total

