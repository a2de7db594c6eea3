"""``POST /api/v1/sources/{source}/usage-batches``: a source system sends usage records.

The body is ``{"records": [{"record_id": "T-1", "usage_date": "2026-03-03", ...}, ...]}``,
each record an object of the source's fields (docs/feeds.md) whose values are text, numbers
(kept exactly as written) or null. The shape is checked here, with the index of each record at
fault; everything else is the usage load's (billing/jobs/usage_batches.py): the batch is
validated, mapped, quarantined and reconciled exactly as a file of the source's is.
"""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import Response

from billing import api
from billing.core.access import TokenScope
from billing.core.problems import ChargebackError, ProblemsError, excerpt
from portal.rest import json as json_response
from portal.security import MAX_BATCH_BYTES


class Malformed(Exception):
    def __init__(self, status: int, detail: str, problems: list[dict] | None = None):
        super().__init__(detail)
        self.status, self.detail, self.problems = status, detail, problems or []


def _no_constant(name: str):
    raise ValueError(f"{name} is not a number JSON allows")


def records_of(body: bytes) -> list[dict[str, str | None]]:
    """The batch's records, every value as text (or None), or :class:`Malformed`."""
    from billing.jobs.usage_batches import MAX_RECORDS

    try:
        parsed = json.loads(body, parse_float=str, parse_int=str, parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:
        raise Malformed(400, f"the body is not JSON: {excerpt(str(exc), 200)}") from None
    if not isinstance(parsed, dict) or not isinstance(parsed.get("records"), list):
        raise Malformed(422, 'the body must be an object with a list of records: {"records": [{...}, ...]}')
    records = parsed["records"]
    if not records:
        raise Malformed(422, "the batch has no records")
    if len(records) > MAX_RECORDS:
        raise Malformed(413, f"the batch has {len(records):,} records; send at most {MAX_RECORDS:,} in one batch")
    problems: list[dict] = []
    found: list[dict[str, str | None]] = []
    for index, record in enumerate(records):
        if not isinstance(record, dict):
            problems.append({"code": "value-invalid", "record": index, "field": None,
                             "message": "a record must be an object of fields"})
            continue
        row: dict[str, str | None] = {}
        for field, value in record.items():
            if value is not None and not isinstance(value, str):
                problems.append({"code": "value-invalid", "record": index, "field": excerpt(field),
                                 "message": "a value must be text, a number or null"})
            elif value is not None and ("\n" in value or "\r" in value):
                problems.append({"code": "value-invalid", "record": index, "field": excerpt(field),
                                 "message": "a value may not hold a line break"})
            else:
                row[field.strip()] = value
        found.append(row)
        if len(problems) >= 100:
            break
    if problems:
        raise Malformed(422, f"{len(problems)} record(s) are not objects of text, numbers or nulls; nothing was loaded",
                        problems)
    return found


def endpoint(portal):
    from portal.app import problem

    async def post(request: Request) -> Response:
        source = request.path_params["source"]
        token = request.state.token
        if token.scope is not TokenScope.SOURCE or token.source != source:
            return problem(403, f"this token sends usage for source {token.source} only")
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
            return problem(415, "send the batch as application/json")
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BATCH_BYTES:
                return problem(413, f"the batch is larger than {MAX_BATCH_BYTES // 2**20} MiB: send it in several")
        try:
            records = records_of(body)
        except Malformed as exc:
            return problem(exc.status, exc.detail, problems=exc.problems)
        try:
            answer = await portal.call(request, api.load_usage_batch, source=source,
                                       key=request.headers.get("idempotency-key"), body=body, records=records,
                                       token_id=token.id)
        except ProblemsError as exc:
            from billing.jobs.usage_batches import problem_json

            return problem(422, str(exc), problems=[problem_json(p) for p in exc.problems[:100]])
        except ChargebackError as exc:
            return problem(409 if "Idempotency-Key" not in str(exc) else 400, excerpt(str(exc), 1000))
        response = json_response(answer.body, status=answer.status)
        if answer.status >= 400:
            response.headers["content-type"] = "application/problem+json"
        if answer.replayed:
            response.headers["Idempotent-Replayed"] = "true"
        return response

    return post
