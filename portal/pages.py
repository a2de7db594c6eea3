"""The portal's pages: signing in and out, the month-end dashboard, business lines, their
statements and invoices, its tier advice, budget and forecast. Each calls billing.api and renders what it returns; who may reach
each is portal/access.py's, a head's own lines checked by :func:`own_line`."""

from __future__ import annotations

import secrets

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from billing import api
from billing.core.access import Principal, Role
from billing.core.periods import parse_month
from billing.core.problems import ChargebackError, NeedsConfirmation, excerpt
from billing.api import SESSION_HOURS, LoginRefused
from portal.security import PRE_COOKIE, SESSION_COOKIE, attachment, headers, style_hashes

COOKIE = {"httponly": True, "secure": True, "samesite": "lax", "path": "/"}


def principal_of(request: Request) -> Principal:
    principal = request.state.principal
    assert principal is not None  # the guard let only a signed-in person through
    return principal


def own_line(request: Request, code: str) -> None:
    """404 unless the caller may see business line ``code`` (the same 404 as a line that
    does not exist: a head learns nothing of another line)."""
    if not principal_of(request).sees_line(code):
        raise HTTPException(404)


def planning_line(request: Request, code: str) -> None:
    """:func:`own_line`, but a planner (forecasts and budgets of every line) may see any line."""
    if not principal_of(request).has(Role.PLANNER):
        own_line(request, code)


def month_of(text: str) -> str:
    try:
        return parse_month(text)
    except ChargebackError:
        raise HTTPException(404) from None


def own_line_month(request: Request) -> tuple[str, str]:
    """The business line and month a ``/lines/{code}/{month}/…`` route names, the line checked
    as :func:`own_line` does and the month as :func:`month_of`."""
    code = request.path_params["code"]
    own_line(request, code)
    return code, month_of(request.path_params["month"])


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def download(body: bytes, media_type: str, filename: str) -> Response:
    """A file to save: its bytes, type and name (escaped for the header), the security headers."""
    response = Response(body, media_type=media_type)
    response.headers.update(headers())
    response.headers["Content-Disposition"] = attachment(filename)
    return response


PAGE_ROWS = 50
"""Usage rows on one page of an invoice line's drill-down."""


def page_of(request: Request) -> int:
    text = request.query_params.get("page", "1")
    if not text.isdigit() or len(text) > 9 or int(text) < 1:
        raise HTTPException(404)
    return int(text)


async def invoice_line_page(portal, request: Request, number: str, line_no: int, *, status: int = 200,
                            error: str = "") -> Response:
    """An invoice line traced to its charge, tariff version and a page of the usage rows behind
    it, with the line's disputes (and, for a head, the form to raise one); 404 for another
    line's document, as for one that does not exist."""
    from portal.disputes import lines_of

    principal = principal_of(request)
    page = page_of(request)
    document = await portal.call(request, api.document, number) if len(number) <= 40 else None
    if document is None or not principal.sees_line(document.business_line) \
            or not any(l.line_no == line_no for l in document.lines):
        raise HTTPException(404)
    found = await portal.call(request, api.explain, f"{number}/{line_no}", rows=PAGE_ROWS,
                              offset=(page - 1) * PAGE_ROWS)
    if page > 1 and not found.usage_rows:
        raise HTTPException(404)
    disputes = await portal.call(request, api.disputes, lines=lines_of(principal), invoice=number, line_no=line_no)
    pages = max(1, -(-found.usage_count // PAGE_ROWS))
    return portal.page(request, "invoice_line.html", status=status, found=found, page=page, pages=pages,
                       first_row=(page - 1) * PAGE_ROWS + 1, disputes=disputes, error=error,
                       may_dispute=principal.has(Role.HEAD) and document.business_line in principal.lines
                       and document.role.value == "invoice")


def routes(portal):
    async def login(request: Request) -> Response:
        if request.method == "GET":
            fresh = None
            if request.state.bound_to is None:  # a pre-session value the sign-in form's CSRF token is bound to
                fresh = request.state.bound_to = secrets.token_urlsafe(32)
            response = portal.page(request, "login.html", error="")
            if fresh is not None:
                response.set_cookie(PRE_COOKIE, fresh, max_age=3600, **COOKIE)
            return response
        form = request.state.form
        address = request.client.host if request.client else "unknown"
        if not portal.logins.allow(address):
            return portal.page(request, "login.html", status=429,
                               error="too many sign-in tries from this address: wait a few minutes")
        try:
            signed = await portal.call(request, api.sign_in, form.get("name", ""), form.get("password", ""))
        except LoginRefused as exc:
            return portal.page(request, "login.html", status=401, error=str(exc))
        response = RedirectResponse("/password" if signed.principal.must_change_password else "/", status_code=303)
        response.set_cookie(SESSION_COOKIE, signed.token, max_age=SESSION_HOURS * 3600, **COOKIE)
        response.delete_cookie(PRE_COOKIE, path="/")
        return response

    async def logout(request: Request) -> Response:
        everywhere = request.url.path.endswith("/everywhere")
        await portal.call(request, api.sign_out, request.cookies.get(SESSION_COOKIE, ""), everywhere=everywhere)
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    async def password(request: Request) -> Response:
        if request.method == "GET":
            return portal.page(request, "password.html", error="")
        form = request.state.form
        if form.get("new", "") != form.get("again", ""):
            return portal.page(request, "password.html", status=422, error="the two new passwords differ")
        try:
            await portal.call(request, api.change_password, request.cookies.get(SESSION_COOKIE, ""),
                              form.get("current", ""), form.get("new", ""))
        except ChargebackError as exc:
            return portal.page(request, "password.html", status=422, error=str(exc))
        return RedirectResponse("/", status_code=303)

    async def home(request: Request) -> Response:
        planned = await portal.call(request, api.business_lines) if principal_of(request).has(Role.PLANNER) else []
        return portal.page(request, "home.html", Role=Role, planned=planned)

    async def dashboard(request: Request) -> Response:
        statuses = await portal.cached(request, ("month_statuses",), api.month_statuses)
        return portal.page(request, "dashboard.html", statuses=sorted(statuses, key=lambda s: s.month, reverse=True),
                           may_act=principal_of(request).has(Role.FINANCE), Role=Role)

    async def month_review(request: Request) -> Response:
        from reports.review_text import review_lines

        month = month_of(request.path_params["month"])
        review = await portal.call(request, api.review_month, month)
        return portal.page(request, "review.html", month=month, lines=review_lines(review),
                           warnings=review.warnings, may_act=principal_of(request).has(Role.FINANCE))

    async def month_run(request: Request) -> Response:
        month = month_of(request.path_params["month"])
        try:
            result = await portal.call(request, api.run_month, month)
        except ChargebackError as exc:
            return portal.page(request, "done.html", status=409, title=f"{month} not rated", message=str(exc))
        totals = [f"{mode} {currency}: {total}" for (mode, currency), total in sorted(result.totals.items())]
        return portal.page(request, "done.html", title=f"{month} rated",
                           message=f"{len(result.rated.charges)} charges from {result.rated.usage_rows:,} usage rows; "
                                   + "; ".join(totals)
                                   + "".join(f". Warning: {w.message}" for w in result.warnings))

    async def month_close(request: Request) -> Response:
        month = month_of(request.path_params["month"])
        confirm = request.state.form.get("confirm") == "yes"
        try:
            result = await portal.call(request, api.close_month, month, confirm=confirm)
        except NeedsConfirmation as exc:
            return portal.page(request, "confirm.html", status=409, month=month, reasons=exc.reasons, message=str(exc))
        except ChargebackError as exc:
            return portal.page(request, "done.html", status=409, title=f"{month} not closed", message=str(exc))
        numbers = [i.number for i in result.invoices]
        return portal.page(request, "done.html", title=f"{month} closed",
                           message=f"{len(numbers)} invoices" + (f" ({numbers[0]} to {numbers[-1]})" if numbers else "")
                                   + f" totalling {result.total} {result.currency}")

    async def lines(request: Request) -> Response:
        principal = principal_of(request)
        found = [b for b in await portal.call(request, api.business_lines) if principal.sees_line(b.code)]
        return portal.page(request, "lines.html", lines=found)

    async def line(request: Request) -> Response:
        code = request.path_params["code"]
        own_line(request, code)
        found = [b for b in await portal.call(request, api.business_lines) if b.code == code]
        if not found:
            raise HTTPException(404)
        statuses = await portal.call(request, api.month_statuses)
        issued = await portal.call(request, api.line_documents, code)
        return portal.page(request, "line.html", line=found[0], documents=issued,
                           months=sorted((s for s in statuses if s.total is not None), key=lambda s: s.month, reverse=True))

    async def the_line(request: Request, code: str):
        found = [b for b in await portal.call(request, api.business_lines) if b.code == code]
        if not found:
            raise HTTPException(404)
        return found[0]

    async def line_advice(request: Request) -> Response:
        code = request.path_params["code"]
        own_line(request, code)
        found = await the_line(request, code)
        text = request.query_params.get("month")
        month = month_of(text) if text else None
        try:
            advice = await portal.cached(request, ("advice", code, month), api.advise, code, month)
        except ChargebackError as exc:
            return portal.page(request, "advice.html", line=found, advice=None, message=str(exc))
        return portal.page(request, "advice.html", line=found, advice=advice, message="")

    async def line_budget(request: Request) -> Response:
        code = request.path_params["code"]
        planning_line(request, code)
        found = await the_line(request, code)
        statuses = await portal.cached(request, ("month_statuses",), api.month_statuses)
        rated = sorted((s.month for s in statuses if s.total is not None), reverse=True)
        text = request.query_params.get("month")
        month = month_of(text) if text else (rated[0] if rated else None)
        budget, forecast, forecast_message = None, None, ""
        if month is not None:
            budget = await portal.cached(request, ("budget", code, month), api.budget_to_date, month, business_line=code)
        try:
            forecast = await portal.cached(request, ("forecast", code), api.line_forecast, code)
        except ChargebackError as exc:
            forecast_message = str(exc)
        return portal.page(request, "budget.html", line=found, month=month, months=rated, budget=budget,
                           forecast=forecast, forecast_message=forecast_message)

    async def statement(request: Request) -> Response:
        code, month = own_line_month(request)
        found = await portal.cached(request, ("statement", month, code), api.statement, month, code)
        if found is None:
            raise HTTPException(404)
        response = Response(found.html, media_type="text/html; charset=utf-8")
        response.headers.update(headers(styles=style_hashes(found.html)))
        if request.url.path.endswith("/download"):
            response.headers["Content-Disposition"] = attachment(found.filename)
        return response

    async def statement_pdf(request: Request) -> Response:
        code, month = own_line_month(request)
        try:
            pdf = await portal.call(request, api.statement_pdf, month, code)
        except ChargebackError as exc:
            return portal.error(request, 503, str(exc))
        if pdf is None:
            raise HTTPException(404)
        return download(pdf, "application/pdf", f"statement-{code}-{month}.pdf")

    async def line_xlsx(request: Request) -> Response:
        code, month = own_line_month(request)
        try:
            workbook = await portal.call(request, api.line_export, month, code)
        except ChargebackError:
            raise HTTPException(404) from None  # not rated, or nothing of this line's: as for a line not there
        return download(workbook, XLSX, f"chargeback-{code}-{month}.xlsx")

    async def month_file(request: Request) -> Response:
        month = month_of(request.path_params["month"])
        what = request.url.path.rsplit("/", 1)[1]
        try:
            if what == "journal.csv":
                body = (await portal.call(request, api.journal, month)).csv
                return download(body, "text/csv; charset=utf-8", f"journal-{month}.csv")
            if what == "focus.csv":
                body = await portal.call(request, api.export_month, month, "focus")
                return download(body, "text/csv; charset=utf-8", f"focus-{month}.csv")
            body = await portal.call(request, api.export_month, month, "xlsx")
            return download(body, XLSX, f"chargeback-{month}.xlsx")
        except ChargebackError as exc:
            return portal.error(request, 409, str(exc))

    async def invoice(request: Request) -> Response:
        number = request.path_params["number"]
        if len(number) > 40:
            raise HTTPException(404)
        found = await portal.call(request, api.document, number)
        if found is None or not principal_of(request).sees_line(found.business_line):
            raise HTTPException(404)  # one answer for none and for another line's
        return portal.page(request, "invoice.html", document=found)

    async def invoice_line(request: Request) -> Response:
        line_text = request.path_params["line"]
        if not line_text.isdigit() or len(line_text) > 6:
            raise HTTPException(404)
        return await invoice_line_page(portal, request, request.path_params["number"], int(line_text))

    return [
        ("/login", "login", login, ["GET", "POST"]),
        ("/logout", "logout", logout, ["POST"]),
        ("/logout/everywhere", "logout_everywhere", logout, ["POST"]),
        ("/password", "password", password, ["GET", "POST"]),
        ("/", "home", home, ["GET"]),
        ("/months", "dashboard", dashboard, ["GET"]),
        ("/months/{month}/review", "month_review", month_review, ["GET"]),
        ("/months/{month}/run", "month_run", month_run, ["POST"]),
        ("/months/{month}/close", "month_close", month_close, ["POST"]),
        ("/lines", "lines", lines, ["GET"]),
        ("/lines/{code}", "line", line, ["GET"]),
        ("/lines/{code}/advice", "line_advice", line_advice, ["GET"]),
        ("/lines/{code}/budget", "line_budget", line_budget, ["GET"]),
        ("/lines/{code}/statements/{month}", "statement", statement, ["GET"]),
        ("/lines/{code}/statements/{month}/download", "statement_download", statement, ["GET"]),
        ("/lines/{code}/statements/{month}/pdf", "statement_pdf", statement_pdf, ["GET"]),
        ("/lines/{code}/statements/{month}/xlsx", "line_xlsx", line_xlsx, ["GET"]),
        ("/months/{month}/journal.csv", "month_journal", month_file, ["GET"]),
        ("/months/{month}/focus.csv", "month_focus", month_file, ["GET"]),
        ("/months/{month}/export.xlsx", "month_xlsx", month_file, ["GET"]),
        ("/invoices/{number}", "invoice", invoice, ["GET"]),
        ("/invoices/{number}/lines/{line}", "invoice_line", invoice_line, ["GET"]),
    ]


__all__ = ["routes", "own_line", "excerpt"]
