"""A small OpenID Connect provider for the single sign-on tests: a Starlette app served by
uvicorn on 127.0.0.1 and a free port, in a thread, stopped when its ``with`` block ends.

It publishes a discovery document and its JWKS, answers ``/authorize`` by sending the browser
straight back with a code (as a provider does once its user has signed in), and exchanges the
code at ``/token`` as a provider must: the client's secret (HTTP Basic), the redirect URI the
code was issued for, once only, and the PKCE verifier against the S256 challenge. The ID token
is signed RS256 with a key generated for the run (joserfc). What the next ID token says, and
how it is signed, is the test's to set (:attr:`OpenIdProvider.next`), so that each way a token
can be wrong is a real token that a real provider could have sent.
"""

from __future__ import annotations

import base64
import secrets
import socket
import threading
import time
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode

import uvicorn
from joserfc import jwt
from joserfc.jwk import RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse
from starlette.routing import Route

CLIENT_ID, CLIENT_SECRET = "chargeback-portal", "s3cret-for-the-test-provider"


class OpenIdProvider:
    def __init__(self):
        self.key = RSAKey.generate_key(2048, parameters={"kid": "key-1", "use": "sig", "alg": "RS256"})
        self.other_key = RSAKey.generate_key(2048, parameters={"kid": "key-1", "use": "sig", "alg": "RS256"})
        self.user: dict[str, Any] = {"sub": "248289761001", "preferred_username": "ada", "groups": ["cb-finance"]}
        self.next: dict[str, Any] = {}  # the next ID token's claims changed ("sign_with_other_key": True: a forged one)
        self.codes: dict[str, dict[str, Any]] = {}
        self.authorize_requests: list[dict[str, str]] = []
        self.token_requests: list[dict[str, str]] = []
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.issuer = f"http://127.0.0.1:{self.port}"
        app = Starlette(routes=[
            Route("/.well-known/openid-configuration", self.discovery),
            Route("/jwks", self.jwks),
            Route("/authorize", self.authorize),
            Route("/token", self.token, methods=["POST"]),
        ])
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                                    lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> OpenIdProvider:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            assert self.thread.is_alive() and time.monotonic() < deadline, "the provider did not start"
            time.sleep(0.05)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)

    # --- endpoints ---------------------------------------------------------------------------

    async def discovery(self, request: Request) -> JSONResponse:
        return JSONResponse({
            "issuer": self.issuer, "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token", "jwks_uri": f"{self.issuer}/jwks",
            "response_types_supported": ["code"], "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"], "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic"],
        })

    async def jwks(self, request: Request) -> JSONResponse:
        return JSONResponse({"keys": [self.key.as_dict(private=False)]})

    async def authorize(self, request: Request):
        asked = dict(request.query_params)
        self.authorize_requests.append(asked)
        if asked.get("response_type") != "code" or asked.get("client_id") != CLIENT_ID \
                or "openid" not in asked.get("scope", "").split() or asked.get("code_challenge_method") != "S256" \
                or not asked.get("code_challenge"):
            return JSONResponse({"error": "invalid_request"}, status_code=400)
        code = secrets.token_urlsafe(16)
        self.codes[code] = {"nonce": asked.get("nonce"), "challenge": asked["code_challenge"],
                            "redirect_uri": asked["redirect_uri"]}
        return RedirectResponse(f"{asked['redirect_uri']}?{urlencode({'code': code, 'state': asked.get('state', '')})}",
                                status_code=302)

    async def token(self, request: Request) -> JSONResponse:
        from authlib.oauth2.rfc7636 import create_s256_code_challenge

        form = dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))
        self.token_requests.append(form)
        basic = request.headers.get("authorization", "")
        client = base64.b64decode(basic[6:]).decode() if basic.startswith("Basic ") else ":"
        client_id, _, secret = client.partition(":")
        if (unquote(client_id), unquote(secret)) != (CLIENT_ID, CLIENT_SECRET):
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        issued = self.codes.pop(form.get("code", ""), None)  # a code is good once
        if issued is None or form.get("grant_type") != "authorization_code" \
                or form.get("redirect_uri") != issued["redirect_uri"]:
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        if create_s256_code_challenge(form.get("code_verifier", "")) != issued["challenge"]:
            return JSONResponse({"error": "invalid_grant", "error_description": "PKCE verification failed"},
                                status_code=400)
        now = int(time.time())
        claims = {"iss": self.issuer, "aud": CLIENT_ID, "iat": now, "exp": now + 300, "nonce": issued["nonce"],
                  **self.user}
        changes = dict(self.next)
        forged = changes.pop("sign_with_other_key", False)
        claims.update(changes)
        claims = {k: v for k, v in claims.items() if v is not None}
        id_token = jwt.encode({"alg": "RS256", "kid": "key-1"}, claims, self.other_key if forged else self.key)
        return JSONResponse({"access_token": secrets.token_urlsafe(16), "token_type": "Bearer", "expires_in": 300,
                             "id_token": id_token})
