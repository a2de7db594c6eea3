"""Single sign-on with an OpenID Connect provider (optional: ``chargeback serve --sso FILE``).

The authorization-code flow with PKCE (RFC 7636, S256): ``/login/sso`` draws a state, a nonce
and a code verifier, keeps them in a short-lived cookie sealed with the portal's key (HttpOnly,
Secure, SameSite=Lax, ten minutes) and sends the browser to the provider; the provider sends it
back to ``/login/sso/callback`` with a code. There the state must match the cookie's, the code
is exchanged (with the verifier and the client secret) at the provider's token endpoint, and
the ID token is verified: its signature by the provider's JWKS (joserfc, Authlib's JOSE
library; RS256, ES256 or PS256 only, a key not known refetched once), then its claims by
Authlib's ``CodeIDToken`` (``iss`` the issuer, ``aud`` this client, ``exp`` not passed, ``iat``,
``nonce`` the one sent, ``azp``, ``at_hash``). The provider's claim maps to roles
(billing/core/sso.py); billing/jobs/access.py adds or updates the person and opens a session
as a password's sign-in does. Anything that does not hold is refused, kept in the audit trail,
and nobody is signed in.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from billing import api
from billing.core.access import LoginRefused
from billing.core.problems import ChargebackError, excerpt
from billing.core.sso import SsoSettings, granted
from portal.security import headers

FLOW_COOKIE = "cb_sso"
FLOW_SECONDS = 600
"""How long a sign-in may take at the provider before it starts again."""
ALGORITHMS = ["RS256", "ES256", "PS256"]
"""The ID token's signatures accepted (never ``none``, never a shared-secret HMAC)."""
MAX_ANSWER = 1024 * 1024
TIMEOUT = 10.0
METADATA_SECONDS = 3600
"""How long the provider's discovery document and keys are reused before they are read again."""


class SsoFailed(ChargebackError):
    """The provider's answer did not hold: refused, nobody signed in."""


class OpenIdClient:
    """This portal as the provider's client: its discovery document and keys (cached), the
    authorization URL, the code exchange and the ID token's verification."""

    def __init__(self, settings: SsoSettings):
        self.settings = settings
        self._metadata: dict[str, Any] | None = None
        self._keys: dict[str, Any] | None = None
        self._read_at = 0.0
        self._lock = threading.Lock()

    # --- talking to the provider (blocking: called off the event loop) -----------------------

    def _read(self, request: urllib.request.Request, what: str) -> dict[str, Any]:
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as answer:  # noqa: S310 -- https, or http on this machine
                body = answer.read(MAX_ANSWER + 1)
        except urllib.error.HTTPError as exc:
            detail = exc.read(2000).decode("utf-8", "replace")
            raise SsoFailed(f"the provider refused the {what} ({exc.code}): {excerpt(detail, 300)}") from None
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise SsoFailed(f"the provider could not be reached for the {what}: {excerpt(str(exc), 200)}") from None
        if len(body) > MAX_ANSWER:
            raise SsoFailed(f"the provider's {what} is larger than 1 MiB")
        try:
            found = json.loads(body)
        except ValueError:
            raise SsoFailed(f"the provider's {what} is not JSON") from None
        if not isinstance(found, dict):
            raise SsoFailed(f"the provider's {what} is not a JSON object")
        return found

    def _get(self, url: str, what: str) -> dict[str, Any]:
        return self._read(urllib.request.Request(url, headers={"Accept": "application/json"}), what)

    def metadata(self) -> dict[str, Any]:
        """The provider's discovery document; its issuer must be the one configured."""
        with self._lock:
            if self._metadata is None or time.monotonic() - self._read_at > METADATA_SECONDS:
                found = self._get(self.settings.discovery_url, "discovery document")
                if found.get("issuer") != self.settings.issuer:
                    raise SsoFailed(f"the discovery document names the issuer {excerpt(str(found.get('issuer')), 200)!r}, "
                                    f"not {self.settings.issuer!r}")
                for key in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
                    if not isinstance(found.get(key), str):
                        raise SsoFailed(f"the discovery document has no {key}")
                self._metadata, self._keys, self._read_at = found, None, time.monotonic()
            return self._metadata

    def keys(self, *, refresh: bool = False) -> dict[str, Any]:
        metadata = self.metadata()
        with self._lock:
            if self._keys is None or refresh:
                self._keys = self._get(metadata["jwks_uri"], "signing keys (JWKS)")
            return self._keys

    def authorization_url(self, *, redirect_uri: str, state: str, nonce: str, verifier: str) -> str:
        from authlib.common.urls import add_params_to_uri
        from authlib.oauth2.rfc7636 import create_s256_code_challenge

        return add_params_to_uri(self.metadata()["authorization_endpoint"], [
            ("response_type", "code"), ("client_id", self.settings.client_id), ("redirect_uri", redirect_uri),
            ("scope", " ".join(self.settings.scopes)), ("state", state), ("nonce", nonce),
            ("code_challenge", create_s256_code_challenge(verifier)), ("code_challenge_method", "S256")])

    def exchange(self, *, code: str, redirect_uri: str, verifier: str) -> dict[str, Any]:
        """The token endpoint's answer for ``code`` (client_secret_basic, RFC 6749 §2.3.1)."""
        body = urllib.parse.urlencode({"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
                                       "code_verifier": verifier}).encode()
        quote = urllib.parse.quote
        basic = base64.b64encode(f"{quote(self.settings.client_id, safe='')}:"
                                 f"{quote(self.settings.client_secret, safe='')}".encode()).decode()
        request = urllib.request.Request(self.metadata()["token_endpoint"], data=body, method="POST", headers={
            "Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json",
            "Authorization": f"Basic {basic}"})
        found = self._read(request, "code exchange")
        if not isinstance(found.get("id_token"), str):
            raise SsoFailed("the provider's token answer holds no ID token (is the scope openid asked for?)")
        return found

    def verify(self, tokens: dict[str, Any], *, nonce: str) -> dict[str, Any]:
        """The ID token's claims, once its signature and claims hold."""
        from authlib.oidc.core import CodeIDToken
        from joserfc import jwt
        from joserfc.errors import ExpiredTokenError, InvalidKeyIdError, JoseError
        from joserfc.jwk import KeySet
        from joserfc.jws import JWSRegistry

        registry = JWSRegistry(algorithms=ALGORITHMS)
        try:
            try:
                token = jwt.decode(tokens["id_token"], KeySet.import_key_set(self.keys()), algorithms=ALGORITHMS,
                                   registry=registry)
            except InvalidKeyIdError:  # the provider may have rolled its keys: read them once more
                token = jwt.decode(tokens["id_token"], KeySet.import_key_set(self.keys(refresh=True)),
                                   algorithms=ALGORITHMS, registry=registry)
            params = {"nonce": nonce, "client_id": self.settings.client_id}
            if isinstance(tokens.get("access_token"), str):
                params["access_token"] = tokens["access_token"]
            claims = CodeIDToken(token.claims, token.header, {
                "iss": {"essential": True, "value": self.settings.issuer},
                "aud": {"essential": True, "value": self.settings.client_id},
                "sub": {"essential": True}}, params)
            claims.validate(leeway=60)
        except ExpiredTokenError:
            raise SsoFailed("the ID token has expired") from None
        except JoseError as exc:
            raise SsoFailed(f"the ID token does not hold: {excerpt(_jose_reason(exc), 200)}") from None
        except ValueError as exc:  # not a JWT at all, or keys that cannot be read
            raise SsoFailed(f"the ID token could not be read: {excerpt(str(exc), 200)}") from None
        return dict(claims)


CLAIMS = {"iss": "issuer", "aud": "audience", "nonce": "nonce", "sub": "subject", "azp": "authorized party",
          "at_hash": "access token hash", "iat": "issue time", "exp": "expiry", "nbf": "not-before time"}


def _jose_reason(exc: Exception) -> str:
    """Why joserfc or Authlib refused the token, in words."""
    from joserfc.errors import BadSignatureError, ClaimError, MissingClaimError

    if isinstance(exc, BadSignatureError):
        return "its signature is not the provider's"
    if isinstance(exc, ClaimError):
        names = ", ".join(CLAIMS.get(c, c) for c in str(exc.claim).split(","))
        return f"its {names} claim is {'missing' if isinstance(exc, MissingClaimError) else 'not the one expected'}"
    return str(getattr(exc, "description", "") or exc.__class__.__name__)


# --- the flow's cookie -------------------------------------------------------------------------


def seal(key: bytes, values: dict[str, Any]) -> str:
    body = base64.urlsafe_b64encode(json.dumps(values, separators=(",", ":")).encode()).decode().rstrip("=")
    mac = hmac.new(key, b"sso:" + body.encode(), hashlib.sha256).hexdigest()
    return f"{body}.{mac}"


def unseal(key: bytes, text: str) -> dict[str, Any] | None:
    """The values :func:`seal` sealed, or None when the cookie is not this portal's, is
    tampered with, or is older than :data:`FLOW_SECONDS`."""
    body, _, mac = text.partition(".")
    if not body or len(text) > 2000 or not hmac.compare_digest(
            hmac.new(key, b"sso:" + body.encode(), hashlib.sha256).hexdigest(), mac):
        return None
    try:
        values = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except ValueError:
        return None
    if not isinstance(values, dict) or not isinstance(values.get("at"), (int, float)) \
            or not 0 <= time.time() - values["at"] <= FLOW_SECONDS:
        return None
    return values


# --- the routes ----------------------------------------------------------------------------------


def routes(portal):
    from portal.pages import COOKIE
    from portal.security import PRE_COOKIE, SESSION_COOKIE

    def client() -> OpenIdClient:
        if portal.sso is None:
            raise HTTPException(404)  # single sign-on is not configured here
        return portal.sso

    def redirect_uri(request: Request) -> str:
        settings = client().settings
        return settings.redirect_url or str(request.url_for("login_sso_callback"))

    def refused(request: Request, status: int, message: str) -> Response:
        """The sign-in page again, saying why (its password form usable: a pre-session for its CSRF token)."""
        fresh = None
        if request.state.bound_to is None:
            fresh = request.state.bound_to = secrets.token_urlsafe(32)
        response = portal.page(request, "login.html", status=status, error=message)
        if fresh is not None:
            response.set_cookie(PRE_COOKIE, fresh, max_age=3600, **COOKIE)
        response.delete_cookie(FLOW_COOKIE, path="/login/sso")
        return response

    async def start(request: Request) -> Response:
        openid = client()
        flow = {"state": secrets.token_urlsafe(24), "nonce": secrets.token_urlsafe(24),
                "verifier": secrets.token_urlsafe(48), "at": int(time.time())}
        try:
            url = await portal.call(request, lambda _store: openid.authorization_url(
                redirect_uri=redirect_uri(request), state=flow["state"], nonce=flow["nonce"], verifier=flow["verifier"]))
        except SsoFailed as exc:
            return refused(request, 502, f"single sign-on is not available now: {exc}")
        response = RedirectResponse(url, status_code=303)
        response.headers.update(headers())
        response.set_cookie(FLOW_COOKIE, seal(portal.csrf.key, flow), max_age=FLOW_SECONDS,
                            **{**COOKIE, "path": "/login/sso"})
        return response

    async def callback(request: Request) -> Response:
        openid = client()
        address = request.client.host if request.client else "unknown"
        if not portal.logins.allow(address):
            return refused(request, 429, "too many sign-in tries from this address: wait a few minutes")
        query = request.query_params
        flow = unseal(portal.csrf.key, request.cookies.get(FLOW_COOKIE, ""))
        if flow is None:
            return refused(request, 400, "the sign-in did not start here, or took longer than ten minutes: "
                                         "sign in again")
        if not hmac.compare_digest(str(flow.get("state", "")).encode(), query.get("state", "").encode()):
            await portal.call(request, api.sso_refused, "the state sent back is not the one this sign-in sent")
            return refused(request, 400, "the sign-in's state does not match (the answer is not for this sign-in): "
                                         "sign in again")
        if "error" in query:
            reason = excerpt(query.get("error_description") or query["error"], 200)
            await portal.call(request, api.sso_refused, f"the provider answered {reason}")
            return refused(request, 401, f"the provider did not sign you in: {reason}")
        code = query.get("code", "")
        if not code or len(code) > 2000:
            return refused(request, 400, "the provider sent no code back: sign in again")
        try:
            tokens = await portal.call(request, lambda _store: openid.exchange(
                code=code, redirect_uri=redirect_uri(request), verifier=flow["verifier"]))
            claims = await portal.call(request, lambda _store: openid.verify(tokens, nonce=flow["nonce"]))
        except SsoFailed as exc:
            found = await portal.call(request, api.sso_refused, str(exc))
            return refused(request, 401, str(found))
        grant = granted(openid.settings, claims)
        name = claims.get(openid.settings.name_claim)
        try:
            signed = await portal.call(request, api.sso_sign_in, issuer=openid.settings.issuer, subject=claims["sub"],
                                       name=name if isinstance(name, str) else "", roles=grant.roles, lines=grant.lines)
        except LoginRefused as exc:
            return refused(request, 403, str(exc))
        response = RedirectResponse("/", status_code=303)
        response.headers.update(headers())
        response.set_cookie(SESSION_COOKIE, signed.token, max_age=api.SESSION_HOURS * 3600, **COOKIE)
        response.delete_cookie(FLOW_COOKIE, path="/login/sso")
        return response

    return [
        ("/login/sso", "login_sso", start, ["GET"]),
        ("/login/sso/callback", "login_sso_callback", callback, ["GET"]),
    ]
