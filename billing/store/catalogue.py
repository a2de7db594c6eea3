"""The catalogue, tariff versions and subscriptions in the store.

Tariff versions are kept as canonical JSON and are immutable once a charge refers to them:
changing one is refused with a message that says to add a new version instead.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from sqlalchemy import delete, exists, func, select
from sqlalchemy.orm import Session

from billing.core.periods import first_day, last_day
from billing.core.problems import ChargebackError
from billing.core.records import Subscription
from billing.store import schema as t
from billing.store.audit import now
from tariffs.load import (
    agreement_from_dict,
    agreement_to_dict,
    service_from_dict,
    service_to_dict,
    tariff_version_from_dict,
    tariff_version_hash,
    tariff_version_to_dict,
)
from tariffs.model import Catalogue, TariffVersion, Unit


@dataclass(slots=True)
class CatalogueChanges:
    services_added: list[str] = field(default_factory=list)
    services_updated: list[str] = field(default_factory=list)
    versions_added: list[str] = field(default_factory=list)
    versions_updated: list[str] = field(default_factory=list)
    versions_unchanged: int = 0
    agreements: int = 0  # stored: the directory's agreements replace the stored ones
    agreements_before: int = 0  # stored before the load


def _canonical(data: dict) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"))


def closed_months(session: Session) -> list[str]:
    return list(session.scalars(select(t.Period.month).where(t.Period.status == "closed").order_by(t.Period.month)))


def save_catalogue(session: Session, catalogue: Catalogue) -> CatalogueChanges:
    """Store units, services and tariff versions; refuse to change a version in use."""
    changes = CatalogueChanges()
    stamp = now()
    for unit in catalogue.units:
        row = session.get(t.CatalogueUnit, unit.code)
        if row is None:
            session.add(t.CatalogueUnit(code=unit.code, name=unit.name))
        else:
            row.name = unit.name
    for service in catalogue.services:
        text = _canonical(service_to_dict(service))
        digest = _sha(text)
        row = session.get(t.CatalogueService, service.code)
        if row is None:
            session.add(t.CatalogueService(code=service.code, definition=text, content_hash=digest, loaded_at=stamp))
            changes.services_added.append(service.code)
        elif row.content_hash != digest:
            row.definition, row.content_hash, row.loaded_at = text, digest, stamp
            changes.services_updated.append(service.code)
    changes.agreements_before = session.scalar(select(func.count()).select_from(t.AgreementRow)) or 0
    changes.agreements = len(catalogue.agreements)
    session.execute(delete(t.AgreementRow))  # the directory's agreements are all of them
    for agreement in catalogue.agreements:
        session.add(t.AgreementRow(business_line_code=agreement.business_line, service_code=agreement.service,
                                   fiscal_year=agreement.fiscal_year, definition=_canonical(agreement_to_dict(agreement))))
    closed = closed_months(session)
    for version in catalogue.tariffs:
        label = f"{version.service} {version.version}"
        digest = tariff_version_hash(version)
        row = session.scalar(
            select(t.TariffVersionRow).where(
                t.TariffVersionRow.service_code == version.service, t.TariffVersionRow.version == version.version
            )
        )
        touched = [m for m in closed if _covers(version, m)]
        if row is None:
            if touched:
                raise ChargebackError(
                    f"tariff {label} would price the closed month {touched[0]}; "
                    f"start it after the last closed month, or reopen {touched[0]} first"
                )
            session.add(_version_row(version, digest, stamp))
            changes.versions_added.append(label)
            continue
        if row.content_hash == digest:
            changes.versions_unchanged += 1
            continue
        used = session.scalar(select(exists().where(t.Charge.tariff_version_id == row.id)))
        if (used or touched) and _only_ends_earlier(session, row, version, closed):
            row.effective_to, row.definition, row.content_hash, row.loaded_at = (
                version.effective_to, _canonical(tariff_version_to_dict(version)), digest, stamp)
            changes.versions_updated.append(label)
            continue
        if used or touched:
            raise ChargebackError(
                f"tariff {label} has already priced usage and cannot change; "
                f"add a new version (e.g. {version.version}-b) with its own effective_from instead"
            )
        fresh = _version_row(version, digest, stamp)
        for column in ("effective_from", "effective_to", "currency", "definition", "content_hash", "loaded_at"):
            setattr(row, column, getattr(fresh, column))
        changes.versions_updated.append(label)
    session.flush()
    return changes


def _only_ends_earlier(session: Session, row: t.TariffVersionRow, version: TariffVersion, closed: list[str]) -> bool:
    """A version in use may still be given an end (or an earlier end), so that a new version
    can follow it, as long as nothing it has priced in a closed month and no closed month falls
    after that end (an open month's charges are replaced when it is run again, and its close
    refuses charges rated before the tariffs changed)."""
    before = json.loads(row.definition)
    after = tariff_version_to_dict(version)
    before.pop("effective_to", None)
    after.pop("effective_to", None)
    new_end = version.effective_to
    if before != json.loads(_canonical(after)) or new_end is None:
        return False
    if row.effective_to is not None and new_end >= row.effective_to:
        return False
    last_priced = session.scalar(select(func.max(t.Charge.segment_to)).where(
        t.Charge.tariff_version_id == row.id, t.Charge.month.in_(closed)))
    if last_priced is not None and last_priced > new_end:
        return False
    return not any(first_day(m) > new_end and _covers_row(row, m) for m in closed)


def _covers_row(row: t.TariffVersionRow, month: str) -> bool:
    start, end = first_day(month), last_day(month)
    return row.effective_from <= end and (row.effective_to is None or row.effective_to >= start)


def _covers(version: TariffVersion, month: str) -> bool:
    start, end = first_day(month), last_day(month)
    return version.effective_from <= end and (version.effective_to is None or version.effective_to >= start)


def _version_row(version: TariffVersion, digest: str, stamp) -> t.TariffVersionRow:
    return t.TariffVersionRow(
        service_code=version.service,
        version=version.version,
        effective_from=version.effective_from,
        effective_to=version.effective_to,
        currency=version.currency,
        definition=_canonical(tariff_version_to_dict(version)),
        content_hash=digest,
        loaded_at=stamp,
    )


def _sha(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode()).hexdigest()


def load_catalogue(session: Session) -> Catalogue:
    """The stored catalogue as records (empty when nothing has been loaded)."""
    units = tuple(Unit(code=u.code, name=u.name) for u in session.scalars(select(t.CatalogueUnit).order_by(t.CatalogueUnit.code)))
    services = tuple(
        service_from_dict(json.loads(s.definition))
        for s in session.scalars(select(t.CatalogueService).order_by(t.CatalogueService.code))
    )
    tariffs = tuple(
        tariff_version_from_dict(json.loads(v.definition))
        for v in session.scalars(select(t.TariffVersionRow).order_by(t.TariffVersionRow.service_code, t.TariffVersionRow.effective_from))
    )
    agreements = tuple(
        agreement_from_dict(json.loads(a.definition))
        for a in session.scalars(select(t.AgreementRow).order_by(t.AgreementRow.id))
    )
    return Catalogue(units=units, services=services, tariffs=tariffs, agreements=agreements)


def tariff_version(session: Session, service: str, version: str) -> TariffVersion | None:
    """Tariff ``version`` of ``service`` as stored (None when there is none)."""
    row = session.scalar(select(t.TariffVersionRow).where(
        t.TariffVersionRow.service_code == service, t.TariffVersionRow.version == version))
    return None if row is None else tariff_version_from_dict(json.loads(row.definition))


def tariff_version_ids(session: Session) -> dict[tuple[str, str], int]:
    rows = session.execute(select(t.TariffVersionRow.service_code, t.TariffVersionRow.version, t.TariffVersionRow.id))
    return {(s, v): i for s, v, i in rows}


# --- subscriptions ---------------------------------------------------------------------------


def load_subscriptions(session: Session) -> list[Subscription]:
    query = (  # columns, not ORM objects: every rating run reads them all
        select(t.BusinessLine.code, t.Subscription.service_code, t.Subscription.tier_code,
               t.Subscription.effective_from, t.Subscription.effective_to)
        .join(t.BusinessLine, t.BusinessLine.id == t.Subscription.business_line_id)
        .order_by(t.BusinessLine.code, t.Subscription.service_code, t.Subscription.effective_from)
    )
    return [
        Subscription(business_line=code, service=service, tier=tier, effective_from=start, effective_to=end)
        for code, service, tier, start, end in session.execute(query)
    ]


def replace_subscriptions(session: Session, subscriptions: list[Subscription]) -> None:
    """Write the merged set of subscriptions (see billing.organisation.subscriptions.merge_subscriptions)."""
    ids = dict(session.execute(select(t.BusinessLine.code, t.BusinessLine.id)).all())
    session.execute(delete(t.Subscription))
    for sub in subscriptions:
        session.add(t.Subscription(
            business_line_id=ids[sub.business_line], service_code=sub.service, tier_code=sub.tier,
            effective_from=sub.effective_from, effective_to=sub.effective_to,
        ))
    session.flush()
