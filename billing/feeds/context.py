"""What a feed is mapped against: the catalogue, the organisation and the accepted dates.

The caller builds one :class:`MappingContext` per load from the store (or from test records);
the readers never look anything up themselves.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from tariffs.model import Catalogue

__all__ = ["UNALLOCATED", "CostCenterOwner", "MappingContext"]

UNALLOCATED = "UNALLOCATED"
"""Business line code for rows that a source maps to nobody, when the source says
``unallocated: business_line``: finance sees them instead of losing them."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CostCenterOwner:
    """A cost centre belongs to a business line from one date to another (both inclusive,
    ``None`` = open-ended). A cost centre that moves has one record per owner.

    The fields are those of ``billing.core.records.Ownership``; records of either class work.
    """

    cost_center: str
    business_line: str
    effective_from: dt.date
    effective_to: dt.date | None = None

    def __post_init__(self) -> None:
        if self.effective_to is not None and self.effective_to < self.effective_from:
            raise ValueError(
                f"cost centre {self.cost_center}: ownership ends {self.effective_to} "
                f"before it starts {self.effective_from}"
            )

    def in_force(self, day: dt.date) -> bool:
        return self.effective_from <= day and (self.effective_to is None or day <= self.effective_to)


@dataclass(frozen=True, slots=True, kw_only=True)
class MappingContext:
    """Reference data for validating and mapping usage rows.

    ``business_lines`` holds every known business line code; include :data:`UNALLOCATED` when
    a source parks unmapped rows there. A usage date outside ``earliest``..``latest`` (both
    inclusive) is rejected; callers typically pass 2000-01-01 .. today + 31 days.
    """

    catalogue: Catalogue
    business_lines: frozenset[str]
    cost_centers: tuple[CostCenterOwner, ...]
    earliest: dt.date
    latest: dt.date

    def __post_init__(self) -> None:
        if self.latest < self.earliest:
            raise ValueError(f"latest usage date {self.latest} is before earliest {self.earliest}")
        folded: dict[str, str] = {}
        for code in self.business_lines:
            other = folded.setdefault(code.lower(), code)
            if other != code:
                raise ValueError(f"business lines {other!r} and {code!r} differ only by case")
        by_center: dict[str, list] = {}
        for owner in self.cost_centers:
            if owner.business_line not in self.business_lines:
                raise ValueError(
                    f"cost centre {owner.cost_center} is owned by unknown business line {owner.business_line}"
                )
            by_center.setdefault(owner.cost_center.lower(), []).append(owner)
        for periods in by_center.values():
            periods.sort(key=lambda o: o.effective_from)
            for before, after in zip(periods, periods[1:]):
                if before.effective_to is None or before.effective_to >= after.effective_from:
                    raise ValueError(
                        f"cost centre {after.cost_center} has overlapping owners "
                        f"({before.business_line} and {after.business_line} on {after.effective_from})"
                    )

    def business_line_codes(self) -> dict[str, str]:
        """Lower-cased code -> code as known."""
        return {code.lower(): code for code in self.business_lines}

    def cost_center_codes(self) -> dict[str, str]:
        """Lower-cased code -> code as known."""
        return {o.cost_center.lower(): o.cost_center for o in self.cost_centers}
