"""A month's rating inputs read from the store, in one place: what ``rate_month`` prices."""

from __future__ import annotations

from sqlalchemy.orm import Session

from billing.rating.tiers import RatingInputs
from billing.store import audit
from billing.store import catalogue as catalogue_store
from billing.store import charges as charge_store
from billing.store import org as org_store
from billing.store import usage as usage_store
from tariffs.model import Catalogue


def month_inputs(session: Session, month: str, *, catalogue: Catalogue | None = None) -> RatingInputs:
    """The catalogue (``catalogue`` when already read), subscriptions, cost-centre owners, the
    month's active usage and its measured service levels."""
    catalogue = catalogue if catalogue is not None else catalogue_store.load_catalogue(session)
    return RatingInputs(
        month=month, catalogue=catalogue,
        subscriptions=tuple(catalogue_store.load_subscriptions(session)),
        ownerships=tuple(org_store.ownerships(session)),
        usage=usage_store.month_usage(session, month),
        sla=tuple(charge_store.sla_results(session, month)),
        fiscal_year_start=int(audit.get_setting(session, "fiscal_year_start_month")),
    )
