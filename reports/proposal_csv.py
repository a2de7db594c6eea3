"""The expected recovery of proposed rates as CSV (`chargeback rates propose`: expected-recovery-FY.csv).

One row per service of a :class:`billing.recovery.rates.RateProposal`; UTF-8, ``\\n``; numbers
exactly as computed (recovery % to 0.01); text from the catalogue passes the one formula guard
(:func:`reports.guard.for_people`).
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from billing.core.money import plain, round_to_step
from billing.recovery.rates import RateProposal
from reports.guard import for_people

__all__ = ["PROPOSAL_HEADER", "proposal_csv"]

PROPOSAL_HEADER = ("fiscal_year", "service", "name", "model", "budget", "volume_last_year", "charged_last_year",
                   "at_current_prices", "expected_recovery", "of_which_fees", "difference", "recovery_pct", "proposal", "note",
                   "currency")


def proposal_csv(proposal: RateProposal) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(PROPOSAL_HEADER)
    t = for_people
    for s in proposal.services:
        pct = "" if s.recovery_pct is None else plain(round_to_step(s.recovery_pct, Decimal("0.01")))
        writer.writerow([proposal.fiscal_year, t(s.service), t(s.name), t(s.model), s.budget, plain(s.volume), s.last_year,
                         s.current_prices, s.expected, s.fees, s.difference, pct, t(s.method), t(s.note), t(proposal.currency)])
    return buffer.getvalue().encode("utf-8")
