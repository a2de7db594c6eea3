"""The HTTP API under ``/api/v1``: JSON in and out, problems as RFC 9457 bodies, described by
the OpenAPI document at ``/api/v1/openapi.json`` (portal/openapi.py). A read-only token reads
charges, invoices and statements; a signed-in person's session (GET only) reads a month's
statements too: finance and auditors every line's, a head its own lines' and nothing of any
other (another line's statement is the 404 of one that does not exist)."""

from __future__ import annotations

from decimal import Decimal
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from billing import api
from billing.core.access import Role, TokenScope
from billing.core.periods import parse_month
from billing.core.problems import ChargebackError, excerpt
from portal.security import headers


def json(body: object, status: int = 200) -> JSONResponse:
    response = JSONResponse(body, status_code=status)
    response.headers.update(headers())
    return response


def money(value: Decimal) -> str:
    """Amounts and quantities as exact decimal strings (JSON numbers would pass through floats)."""
    return format(value, "f")


def invoice_json(document) -> dict:
    return {
        "number": document.number, "kind": document.kind.value, "month": document.month,
        "issue_date": document.issue_date.isoformat(), "business_line": document.business_line,
        "buyer_name": document.buyer_name, "currency": document.currency, "total": money(document.total),
        "original_invoice": document.original_invoice, "reason": document.reason,
        "lines": [{"line_no": line.line_no, "kind": line.kind.value, "service": line.service, "tier": line.tier,
                   "description": line.description, "quantity": money(line.quantity), "unit": line.unit,
                   "amount": money(line.amount)} for line in document.lines],
    }


def charge_json(charge) -> dict:
    return {
        "line_no": charge.line_no, "kind": charge.kind.value, "business_line": charge.business_line,
        "service": charge.service, "tier": charge.tier, "tariff_version": charge.tariff_version,
        "charging_mode": charge.charging_mode.value, "from": charge.segment_from.isoformat(),
        "to": charge.segment_to.isoformat(), "quantity": money(charge.quantity), "billable": money(charge.billable),
        "amount": money(charge.amount), "currency": charge.currency, "usage_rows": charge.usage_rows,
    }


def statement_line_json(line) -> dict:
    return {"service": line.service_code, "service_name": line.service_name, "tier_name": line.tier_name,
            "kind": line.kind, "description": line.description,
            "quantity": None if line.quantity is None else money(line.quantity), "unit": line.unit,
            "amount": money(line.amount), "detail": line.detail}


def statement_json(view) -> dict:
    """A statement's figures (``reports.views.StatementView``) as the API answers them."""
    return {
        "business_line": view.business_line_code, "name": view.business_line_name, "month": view.month,
        "draft": view.is_draft, "invoice": view.invoice_number, "currency": view.currency, "total": money(view.total),
        "previous_total": None if view.previous_total is None else money(view.previous_total),
        "lines": [statement_line_json(line) for line in view.lines],
        "showback_lines": [statement_line_json(line) for line in view.showback_lines],
        "showback_total": money(view.showback_total),
    }


def statement_summary_json(view) -> dict:
    """A statement as a month's list shows it: its line, total, invoice, and where to read it whole."""
    return {
        "business_line": view.business_line_code, "name": view.business_line_name, "month": view.month,
        "draft": view.is_draft, "invoice": view.invoice_number, "currency": view.currency, "total": money(view.total),
        "previous_total": None if view.previous_total is None else money(view.previous_total),
        "href": f"/api/v1/statements/{quote(view.business_line_code, safe='')}?month={view.month}",
    }


def no_statement(month: str) -> str:
    """The 404 of a statement not found: the same words for a line that does not exist and for
    another line a head does not head."""
    return (f"{month} has no statement for that business line: it had no charges or notes that month, or there is "
            f"no such line")


def lines_seen(request: Request) -> frozenset[str] | None:
    """The business lines the caller reads: None for every line (a read-only token, finance,
    auditors), else the lines a head heads."""
    if request.state.scope is TokenScope.READ:
        return None
    principal = request.state.principal
    return None if principal.has(Role.FINANCE, Role.AUDITOR) else principal.lines


def month_param(request: Request) -> str | Response:
    from portal.app import problem

    try:
        return parse_month(request.query_params.get("month", ""))
    except ChargebackError:
        return problem(400, "give the month as ?month=YYYY-MM", problems=[{"code": "value-invalid", "field": "month"}])


def routes(portal):
    from portal import batches, openapi
    from portal.app import problem

    async def schema(request: Request) -> Response:
        return json(openapi.document())

    async def invoices(request: Request) -> Response:
        month = month_param(request)
        if isinstance(month, Response):
            return month
        found = await portal.call(request, api.documents, month)
        return json({"month": month, "invoices": [invoice_json(d) for d in found]})

    async def invoice(request: Request) -> Response:
        number = request.path_params["number"]
        found = await portal.call(request, api.document, number) if len(number) <= 40 else None
        if found is None:
            return problem(404, f"no document numbered {number[:40]!r}")
        return json(invoice_json(found))

    async def charges(request: Request) -> Response:
        month = month_param(request)
        if isinstance(month, Response):
            return month
        found = await portal.call(request, api.charges, month)
        return json({"month": month, "charges": [charge_json(c) for c in found]})

    async def statement(request: Request) -> Response:
        month = month_param(request)
        if isinstance(month, Response):
            return month
        line = request.path_params["line"]
        seen = lines_seen(request)
        if seen is not None and line not in seen:  # another line's: as one that does not exist
            return problem(404, no_statement(month))
        try:
            found = await portal.call(request, api.statement, month, line) if len(line) <= 40 else None
        except ChargebackError as exc:
            return problem(409, excerpt(str(exc), 500))
        if found is None:
            return problem(404, no_statement(month))
        return json(statement_json(found.view))

    async def statements(request: Request) -> Response:
        month = month_param(request)
        if isinstance(month, Response):
            return month
        try:
            found = await portal.call(request, api.month_statement_views, month, lines=lines_seen(request))
        except ChargebackError as exc:
            return problem(409, excerpt(str(exc), 500))
        return json({"month": month, "statements": [statement_summary_json(v) for v in found]})

    return [
        ("/api/v1/openapi.json", "api_openapi", schema, ["GET"]),
        ("/api/v1/sources/{source}/usage-batches", "api_usage_batch", batches.endpoint(portal), ["POST"]),
        ("/api/v1/invoices", "api_invoices", invoices, ["GET"]),
        ("/api/v1/invoices/{number}", "api_invoice", invoice, ["GET"]),
        ("/api/v1/charges", "api_charges", charges, ["GET"]),
        ("/api/v1/statements", "api_statements", statements, ["GET"]),
        ("/api/v1/statements/{line}", "api_statement", statement, ["GET"]),
    ]
