"""A usage batch sent to the API: its records loaded exactly as a file of the source's is.

The records (JSON objects of one source's fields) are written as a CSV of the source's format
and loaded by :func:`billing.jobs.usage.load_usage_file`, the one path every usage row takes:
the same validation, mapping, quarantine, de-duplication and reconciliation, with each
problem's row turned back into the record's index (row 2 is record 0). Under an
``Idempotency-Key`` the batch's answer is kept (``api_batch``): the same key and body again
get the first answer and charge nothing twice; the same key with another body is refused.
"""

from __future__ import annotations

import csv
import hashlib
import json
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from billing.core.limits import IDEMPOTENCY_KEY
from billing.core.problems import ChargebackError, Problem, ProblemsError, excerpt
from billing.jobs.usage import load_usage_file, resolve_source
from billing.store import access as access_store
from billing.store import audit, locks

MAX_RECORDS = 200_000
"""The most records one batch may hold (send more in several batches)."""
FIRST_ROW = 2  # the CSV's header is row 1


@dataclass(frozen=True, slots=True)
class BatchAnswer:
    """What the API answers: an HTTP status and a JSON body, the same every time for one key and body."""

    status: int
    body: dict
    replayed: bool = False


def check_key(key: str | None) -> str:
    if not key:
        raise ChargebackError("send the batch with an Idempotency-Key header (any unique text, e.g. a UUID), so that "
                              "sending it again charges nothing twice")
    if len(key) > IDEMPOTENCY_KEY:
        raise ChargebackError(f"the Idempotency-Key is {len(key):,} characters long; at most {IDEMPOTENCY_KEY} are kept")
    if not key.isascii() or not key.isprintable():
        raise ChargebackError("the Idempotency-Key may hold printable ASCII characters only")
    return key


def body_hash(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def problem_json(problem: Problem) -> dict:
    """A problem as the API gives it: the CLI's code, message and hint, with the record's
    index (from 0) instead of the CSV row, and the field."""
    row = problem.source.row
    return {"code": problem.code.value, "message": problem.message, "hint": problem.hint,
            "record": None if row is None else row - FIRST_ROW, "field": problem.source.column,
            "severity": problem.severity.value}


def batch_csv(records: Sequence[Mapping[str, object]], path: Path) -> None:
    """Write the records as one CSV (the union of their fields, in the order first met).
    Values are text already (:func:`portal.batches` keeps JSON numbers as written)."""
    fields: dict[str, None] = {}
    for record in records:
        fields.update(dict.fromkeys(record))
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(fields)
        for record in records:
            writer.writerow(["" if record.get(f) is None else record.get(f) for f in fields])


def load_usage_batch(session: Session, *, source: str, key: str, digest: str, records: Sequence[Mapping[str, object]],
                     token_id: int, sources_dir: Path | None = None) -> BatchAnswer:
    """Load one batch for ``source`` (the token's) under ``key``; ``digest`` is the body's hash."""
    check_key(key)
    locks.lock_usage(session)  # before anything is read: the batches of one key take turns
    earlier = access_store.batch(session, source, key)
    if earlier is not None:
        if earlier.body_hash != digest:
            return BatchAnswer(409, {"type": "about:blank", "title": "Conflict", "status": 409,
                                     "detail": f"the Idempotency-Key {excerpt(key)!r} was used for another batch "
                                               f"(feed {earlier.feed_id}); send a new batch under a new key"})
        return BatchAnswer(earlier.status, json.loads(earlier.answer), replayed=True)
    definition = resolve_source(session, source, None, sources_dir)
    name = f"api-{source}-{hashlib.sha256(key.encode()).hexdigest()[:12]}.csv"
    with tempfile.TemporaryDirectory(prefix="chargeback-batch-") as folder:
        path = Path(folder) / name
        batch_csv(records, path)
        try:
            result = load_usage_file(session, path, definition, file_name=f"api:{name}")
        except ProblemsError as exc:  # the batch refused whole: nothing is kept, the answer is the same next time
            raise ProblemsError(exc.problems, str(exc).replace(str(path), f"the batch (Idempotency-Key {excerpt(key)!r})")) from None
    body = {
        "source": source, "feed_id": result.feed_id if result.already_loaded_as is None else result.already_loaded_as,
        "already_loaded": result.already_loaded_as is not None,
        "records": result.rows_read, "loaded": result.rows_loaded, "quarantined": result.rows_rejected,
        "duplicates": result.rows_duplicate, "conflicts": result.rows_conflict, "excluded": result.rows_excluded,
        "months": result.months, "rated_months": result.rated_months, "problem_count": result.problem_count,
        "problems": [problem_json(p) for p in result.problems],
        "reconciliation": result.reconciliation(),
    }
    status = 200 if result.already_loaded_as is not None else 201
    access_store.add_batch(session, source=source, key=key, digest=digest, status=status, answer=json.dumps(body),
                           feed_id=body["feed_id"], token_id=token_id, at=audit.now())
    return BatchAnswer(status, body)


__all__ = ["BatchAnswer", "MAX_RECORDS", "check_key", "body_hash", "batch_csv", "load_usage_batch", "problem_json"]
