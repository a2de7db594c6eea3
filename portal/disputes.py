"""Disputes in the portal: a head raises one from an invoice line's page, finance works the
queue (accept: the note is issued in the next open month, for the amount asked or, given an
amount, for less; reject: with a reason), the head reads the outcome. The rules are billing/jobs/disputes.py's; a head is kept to its own lines
there too (``lines``), so another line's dispute is the 404 of one that does not exist."""

from __future__ import annotations

from decimal import Decimal

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from billing import api
from billing.core.access import Principal, Role
from billing.core.money import D
from billing.core.problems import ChargebackError


def lines_of(principal: Principal) -> frozenset[str] | None:
    """The business lines a caller sees: None for every line (finance, auditors), else a head's."""
    return None if principal.has(Role.FINANCE, Role.AUDITOR) else principal.lines


def number_of(text: str) -> int:
    """A dispute's id from the path; 404 for anything that is not one."""
    if not text.isdigit() or len(text) > 12 or int(text) == 0:
        raise HTTPException(404)
    return int(text)


def _decimal(what: str, text: str) -> Decimal | None:
    if not text.strip():
        return None
    try:
        return D(text)
    except ValueError:
        raise ChargebackError(f"{what} {text.strip()[:40]!r} is not a number: write it as 120.50") from None


def routes(portal):
    from portal.pages import invoice_line_page, principal_of

    async def listing(request: Request) -> Response:
        principal = principal_of(request)
        state = request.query_params.get("state") or None
        if state not in (None, "open", "accepted", "rejected"):
            state = None
        found = await portal.call(request, api.disputes, lines=lines_of(principal), state=state)
        return portal.page(request, "disputes.html", disputes=found, state=state,
                           may_decide=principal.has(Role.FINANCE))

    async def one(request: Request) -> Response:
        principal = principal_of(request)
        found = await portal.call(request, api.dispute, number_of(request.path_params["id"]),
                                  lines=lines_of(principal))
        if found is None:
            raise HTTPException(404)
        return portal.page(request, "dispute.html", dispute=found, may_decide=principal.has(Role.FINANCE), error="")

    async def raise_(request: Request) -> Response:
        principal = principal_of(request)
        number, line_text = request.path_params["number"], request.path_params["line"]
        if len(number) > 40 or not line_text.isdigit() or len(line_text) > 6:
            raise HTTPException(404)
        form = request.state.form
        try:
            amount = _decimal("the amount", form.get("amount", ""))
            quantity = _decimal("the quantity", form.get("quantity", ""))
            made = await portal.call(request, api.raise_dispute, number, int(line_text), reason=form.get("reason", ""),
                                     amount=amount, quantity=quantity, debit=form.get("direction") == "debit",
                                     lines=principal.lines)
        except ChargebackError as exc:
            from billing.jobs.disputes import NotFound

            if isinstance(exc, NotFound):
                raise HTTPException(404) from None
            return await invoice_line_page(portal, request, number, int(line_text), status=422, error=str(exc))
        return RedirectResponse(f"/disputes/{made.id}", status_code=303)

    async def decide(request: Request) -> Response:
        dispute_id = number_of(request.path_params["id"])
        form = request.state.form
        accepting = request.url.path.endswith("/accept")
        try:
            if accepting:
                await portal.call(request, api.accept_dispute, dispute_id, remark=form.get("remark", ""),
                                  amount=_decimal("the amount accepted", form.get("amount", "")))
            else:
                await portal.call(request, api.reject_dispute, dispute_id, reason=form.get("reason", ""))
        except ChargebackError as exc:
            from billing.jobs.disputes import NotFound

            if isinstance(exc, NotFound):
                raise HTTPException(404) from None
            found = await portal.call(request, api.dispute, dispute_id)
            return portal.page(request, "dispute.html", status=409 if found and found.state != "open" else 422,
                               dispute=found, may_decide=True, error=str(exc))
        return RedirectResponse(f"/disputes/{dispute_id}", status_code=303)

    return [
        ("/disputes", "disputes", listing, ["GET"]),
        ("/disputes/{id}", "dispute", one, ["GET"]),
        ("/disputes/{id}/accept", "dispute_accept", decide, ["POST"]),
        ("/disputes/{id}/reject", "dispute_reject", decide, ["POST"]),
        ("/invoices/{number}/lines/{line}/disputes", "dispute_raise", raise_, ["POST"]),
    ]
