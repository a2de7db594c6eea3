"""The named steps of the cost workings, left to right: which a workbook has (``Steps``, from
the rate card and the year: ``optional_steps``, ``band_slots``) and the column each is in."""

from __future__ import annotations

from dataclasses import dataclass

from openpyxl.utils import get_column_letter

from billing.planning.workbook import PlanView
from reports.plan_xlsx.layout import FIRST_STEP


@dataclass(frozen=True, slots=True)
class Steps:
    """The optional parts of every service's cost workings in a workbook (the Summary says which,
    ``optional_steps``): a fees step, the agreement steps, a usage line rounded as a price by
    dimension charges it (its usage and the tier's terms each rounded)."""

    fees: bool = False
    agreements: bool = False
    by_value: bool = False
    values: bool = False  # rows of dimension values: each month's rows of a service add up on its first
    quantities: bool = False  # a quantity commitment's steps (the last month's rows only), with the agreement steps


def working_steps(slots: int, steps: Steps = Steps()) -> tuple[str, ...]:
    """The step columns of the cost workings, left to right, with ``slots`` bands and the
    optional ``steps``."""
    fees, agreements, values = steps.fees, steps.agreements, steps.values
    bands = []
    for k in range(1, slots + 1):
        bands += [f"Band {k} entered (1/0)", f"Band {k} quantity", f"Band {k} amount"]
    head = (["Tier", "Tier row", "Rate card row", "Pricing model", "Quantity", "By value (1/0)", "Held (1/0)",
             "Group quantity", "Priced quantity"] if values else ["Tier", "Rate card row", "Pricing model", "Quantity"])
    tail = ["Usage amount", *(["Group usage"] if values else []), "Monthly fee", "Minimum top-up"]
    if agreements or values:
        tail += ["Usage line", *(["Group lines"] if values else []), *(["Quarterly and annual fees"] if fees else [])]
        if agreements:
            tail += ["Agreement row", "Discounted charge", "Discount",
                     *(_quantity_steps(slots) if steps.quantities else []), "Commitment true-up"]
    elif fees:
        tail += ["Quarterly and annual fees"]
    return (*head, "Billable", "Block size", "Billed (whole blocks)", "First band row", *bands, *tail, "Total")


def _quantity_steps(slots: int) -> list[str]:
    """A quantity commitment's steps: the units committed and used at its tier, and each priced at
    the tier's bands (the shortfall is the units between them)."""
    names = ["Committed units", "Units used", "Commitment price row", "Commitment model", "Commitment block size",
             "Commitment first band"]
    for at in ("committed", "used"):
        names.append(f"Billed {at} (whole blocks)")
        for k in range(1, slots + 1):
            names += [f"Band {k} entered at {at} (1/0)", f"Band {k} at {at}"]
        names.append(f"Amount at {at}")
    return names


def working_columns(slots: int, steps: Steps = Steps()) -> dict[str, str]:
    """The column of each step of the cost workings."""
    return {step: get_column_letter(FIRST_STEP + j) for j, step in enumerate(working_steps(slots, steps))}


#: the step with a formula on the fiscal year's last month's rows only (the service's own row)
LAST_MONTH_ONLY = "Commitment true-up"


def agreement_steps(slots: int, steps: Steps = Steps()) -> tuple[str, ...]:
    """The steps only a row whose business line has an agreement for its service holds (from its
    agreement's row to the true-up); the other rows leave them empty, which their Total counts as 0."""
    names = working_steps(slots, steps)
    if "Agreement row" not in names:
        return ()
    return names[names.index("Agreement row"):names.index(LAST_MONTH_ONLY) + 1]


def optional_steps(view: PlanView) -> Steps:
    """The optional steps the workings need: fees when a price on the rate card has quarterly or
    annual fees, the agreement steps when the fiscal year has agreements, the usage line of a
    price by dimension when one is on the rate card."""
    return Steps(fees=any(any(rate.fees_due) for rate in view.rates), agreements=bool(view.agreements),
                 by_value=any(rate.by_value for rate in view.rates),
                 values=any(service.value for sheet in view.sheets for service in sheet.services),
                 quantities=any(a.commitment_quantity is not None for a in view.agreements))


def band_slots(view: PlanView) -> int:
    """Bands in each service's workings: the most bands any price on the rate card has (1 at least)."""
    counts: dict[str, int] = {}
    for band in view.bands:
        counts[band.key] = counts.get(band.key, 0) + 1
    return max([1, *counts.values()])
