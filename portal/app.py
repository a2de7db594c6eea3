"""The portal's ASGI application: routes, the guard every route passes, errors as pages or
problem bodies.

    from portal.app import create_app
    app = create_app("sqlite:///chargeback.db")    # run with uvicorn (chargeback serve)

Each route is named, and its name is its row in the access matrix (portal/access.py); a route
without a row makes :func:`create_app` fail, so no route is ever served unguarded. The guard
finds who is asking (the session cookie, or an API token), refuses whom the row does not name,
checks the CSRF token of every form, and sends a person with a one-time password to change it
first. Routes only call ``billing.api`` and render what it returns (portal/pages.py,
portal/rest.py).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import functools
import os
import secrets
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import parse_qsl

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from billing import api
from billing.core.access import Principal, TokenScope
from billing.core.problems import ChargebackError, excerpt
from billing.core.sso import SsoSettings
from portal.access import ACCESS, Caller, allowed, callers
from portal.security import MAX_FORM_BYTES, PRE_COOKIE, SESSION_COOKIE, AddressLimit, Csrf, headers

HERE = Path(__file__).resolve().parent
Endpoint = Callable[[Request], Awaitable[Response]]


class Portal:
    """What every route shares: the store, the templates, the CSRF key, the address limit."""

    def __init__(self, url: str | None, csrf_key: bytes | None = None, sso: SsoSettings | None = None):
        from portal.sso import OpenIdClient

        self.store = api.open_store(url)
        self.csrf = Csrf(csrf_key)
        self.sso = None if sso is None else OpenIdClient(sso)  # single sign-on, when configured (portal/sso.py)
        self.logins = AddressLimit()
        env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(default=True),
                          undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
        from reports import filters

        filters.register(env)
        env.globals["sso_label"] = None if sso is None else sso.label  # the sign-in page's button, only when configured
        self.templates = env
        self.computed = Computed()
        self.computing: dict[tuple, asyncio.Lock] = {}

    async def cached(self, request: Request, key: tuple, function: Callable, *args, **kwargs):
        """:meth:`call`'s answer, reused while the store's generation (billing.api.store_generation)
        is unchanged. ``key`` names the call and everything its answer depends on; the caller has
        already checked that the signed-in person may see it, and the answer must not depend on
        who asks (a head's page is keyed by the line it shows, never shared across lines)."""
        generation = getattr(request.state, "generation", None) if request.method == "GET" else None
        if generation is None:  # not read with the session at this request's start (signed_in), or a change since
            generation = await self.call(request, api.store_generation)
        found = self.computed.get((key, generation))
        if found is not None:
            return found
        async with self.computing.setdefault(key, asyncio.Lock()):  # many asking at once: one computes, the others wait
            found = self.computed.get((key, generation))
            if found is None:
                found = await self.call(request, function, *args, **kwargs)
                self.computed.put((key, generation), found)
            self.computing.pop(key, None)  # the waiters hold it; none is kept for keys no longer asked for
        return found

    async def signed_in(self, request: Request, cookie: str) -> Principal | None:
        """Who the session cookie belongs to, or None; the store's generation, read in the same
        query, is kept for :meth:`cached` (one query a page, the store read afresh each time)."""
        principal, request.state.generation = await run_in_threadpool(api.signed_in, self.store, cookie)
        return principal

    async def call(self, request: Request, function: Callable, *args, **kwargs):
        """A billing.api call, off the event loop, acting as the signed-in person."""
        principal: Principal | None = getattr(request.state, "principal", None)

        def run():
            if principal is None:
                return function(self.store, *args, **kwargs)
            with api.acting_as(principal.name):
                return function(self.store, *args, **kwargs)

        return await run_in_threadpool(run)

    def page(self, request: Request, template: str, status: int = 200, **values) -> HTMLResponse:
        principal = getattr(request.state, "principal", None)
        bound = getattr(request.state, "bound_to", None)
        html = self.templates.get_template(template).render(
            principal=principal, csrf=self.csrf.token(bound) if bound else "", **values)
        response = HTMLResponse(html, status_code=status)
        response.headers.update(headers())
        return response

    def error(self, request: Request, status: int, message: str) -> Response:
        if request.url.path.startswith("/api/") or wants_json(request):
            return problem(status, message)
        return self.page(request, "error.html", status=status, status_code=status, message=message)


class Computed:
    """A bounded, thread-safe map of answers computed from the store, newest kept (least
    recently used dropped first)."""

    def __init__(self, size: int = 256):
        self.size = size
        self._items: collections.OrderedDict[tuple, object] = collections.OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple):
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        return None

    def put(self, key: tuple, value: object) -> None:
        if value is None:
            return
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)


TITLES = {400: "Bad request", 401: "Not signed in", 403: "Forbidden", 404: "Not found", 405: "Method not allowed",
          409: "Conflict", 413: "Too large", 415: "Unsupported media type", 422: "Unprocessable content",
          429: "Too many requests", 500: "Internal error"}


def wants_json(request: Request) -> bool:
    """Whether the caller asks for JSON first (a script, not a browser): its refusals are
    problem bodies then, as the API's are."""
    first = request.headers.get("accept", "").split(",")[0].split(";")[0].strip().lower()
    return first in ("application/json", "application/problem+json")


ENDED = ("your session has ended (signed out, signed out everywhere, or older than 12 hours): sign in again "
         "and send it from there; nothing was changed")


def problem(status: int, detail: str, **extra) -> JSONResponse:
    """An RFC 9457 problem body."""
    body = {"type": "about:blank", "title": TITLES.get(status, "Error"), "status": status, "detail": detail, **extra}
    response = JSONResponse(body, status_code=status, media_type="application/problem+json")
    response.headers.update(headers())
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="chargeback"'
    return response


class FormRefused(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


async def read_form(request: Request) -> dict[str, str]:
    """A urlencoded form (an empty body is an empty form); :class:`FormRefused` when it is
    larger than :data:`MAX_FORM_BYTES` (413) or not a form (400)."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise FormRefused(413, f"the form is larger than {MAX_FORM_BYTES // 1024} KiB; nothing was changed")
    if not body:
        return {}
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/x-www-form-urlencoded":
        raise FormRefused(400, "the form could not be read (not a form); nothing was changed")
    try:
        return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=50))
    except (UnicodeDecodeError, ValueError):
        raise FormRefused(400, "the form could not be read (not UTF-8, or too many fields); nothing was changed") \
            from None


def guarded(portal: Portal, name: str, endpoint: Endpoint) -> Endpoint:
    rule = ACCESS[name]  # a route without its row in the access matrix is never built

    @functools.wraps(endpoint)
    async def guard(request: Request) -> Response:
        is_api = request.url.path.startswith("/api/")
        principal, scope, bound, ended = None, None, None, False
        authorization = request.headers.get("authorization", "") if is_api else ""
        if authorization.lower().startswith("bearer "):
            found = await portal.call(request, api.token_principal, authorization[7:].strip())
            if found is not None:
                principal, token = found
                scope = token.scope
                request.state.token = token
        elif not is_api or request.method == "GET":  # the API reads a signed-in person's session too, never for a change
            cookie = request.cookies.get(SESSION_COOKIE, "")
            if cookie:
                principal = await portal.signed_in(request, cookie)
                if principal is not None:
                    bound = cookie
                else:
                    ended = True  # a session cookie, but the session has ended
            if bound is None:
                bound = request.cookies.get(PRE_COOKIE) or None
        request.state.principal, request.state.scope, request.state.bound_to = principal, scope, bound
        who = callers(principal, scope)
        if not allowed(name, who):
            if Caller.ANONYMOUS in who:
                if is_api:
                    return problem(401, "give an API token: Authorization: Bearer cb_... (chargeback tokens add)")
                if ended and (request.method != "GET" or wants_json(request)):
                    response = portal.error(request, 401, ENDED)  # a form sent after the session ended: say so
                    response.delete_cookie(SESSION_COOKIE, path="/")
                    return response
                if wants_json(request):
                    return problem(401, "sign in first (POST /login); nothing was changed")
                return RedirectResponse("/login", status_code=303)
            return portal.error(request, 403, "your role does not give you this page")
        if principal is not None and scope is None and principal.must_change_password and not rule.must_change_ok:
            if is_api:
                return problem(403, "change your one-time password first (/password)")
            return RedirectResponse("/password", status_code=303)
        if request.method == "POST" and not is_api:
            try:
                form = await read_form(request)
            except FormRefused as exc:
                return portal.error(request, exc.status, str(exc))
            if not portal.csrf.valid(bound, form.get("csrf")):
                return portal.error(request, 403, "the form has expired or did not come from this portal: "
                                                  "open the page again and send it from there; nothing was changed")
            request.state.form = form
        return await endpoint(request)

    return guard


STORE_VARIABLE, KEY_VARIABLE = "CHARGEBACK_PORTAL_STORE", "CHARGEBACK_PORTAL_CSRF_KEY"
SSO_VARIABLE = "CHARGEBACK_PORTAL_SSO"


def shared_settings(url: str, sso_file: str | None = None) -> dict[str, str]:
    """What every worker process of one ``chargeback serve --workers N`` shares, as environment
    variables: the store's URL, one CSRF key (a form made by one process is accepted by
    another) and the single sign-on settings' file, if any."""
    return {STORE_VARIABLE: url, KEY_VARIABLE: secrets.token_hex(32), **({SSO_VARIABLE: sso_file} if sso_file else {})}


def create_app_from_environment() -> Starlette:
    """The portal of one worker process, over :func:`shared_settings`' store and CSRF key."""
    sso_file = os.environ.get(SSO_VARIABLE)
    return create_app(os.environ[STORE_VARIABLE], csrf_key=bytes.fromhex(os.environ[KEY_VARIABLE]),
                      sso=api.read_sso(sso_file) if sso_file else None)


def create_app(url: str | None = None, *, csrf_key: bytes | None = None, sso: SsoSettings | None = None) -> Starlette:
    """The portal over the store at ``url`` (as ``--db`` names it; it must exist); its CSRF key
    ``csrf_key``, or a new random one; ``sso``: single sign-on with an OpenID Connect provider
    (``billing.api.read_sso``), else people sign in with their passwords only."""
    from portal import disputes, pages, rest, sso as single_sign_on

    portal = Portal(url, csrf_key, sso)
    named: list[tuple[str, str, Endpoint, list[str]]] = [*pages.routes(portal), *single_sign_on.routes(portal),
                                                         *disputes.routes(portal), *rest.routes(portal)]
    routes: list[Route | Mount] = [Route(path, guarded(portal, name, endpoint), methods=methods, name=name)
                                   for path, name, endpoint, methods in named]
    static = StaticFiles(directory=HERE / "static")

    async def static_app(scope, receive, send):
        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                message["headers"] = list(message["headers"]) + [(k.lower().encode(), v.encode())
                                                                 for k, v in headers().items() if k != "Cache-Control"]
            await send(message)
        await static(scope, receive, send_with_headers)

    ACCESS["static"]  # noqa: B018 -- the static files have their row too
    routes.append(Mount("/static", app=static_app, name="static"))

    async def not_found(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        return portal.error(request, status, TITLES.get(status, "error").lower())

    async def refused(request: Request, exc: Exception) -> Response:
        return portal.error(request, 400, excerpt(str(exc), 500))

    @contextlib.asynccontextmanager
    async def lifespan(_app):
        yield
        portal.store.close()

    app = Starlette(routes=routes, exception_handlers={HTTPException: not_found, ChargebackError: refused},
                    lifespan=lifespan)
    app.state.portal = portal
    return app


def route_table(app: Starlette) -> list[tuple[str, str, str]]:
    """(methods, path, name) of every route, for the access matrix's table."""
    found = []
    for route in app.routes:
        if isinstance(route, Mount):
            found.append(("GET", route.path + "/{file}", route.name))
        elif isinstance(route, Route):
            methods = " ".join(m for m in sorted(route.methods or ()) if m != "HEAD")
            found.append((methods, route.path, route.name))
    return found


__all__ = ["create_app", "create_app_from_environment", "shared_settings", "route_table", "problem", "Portal", "TokenScope"]
