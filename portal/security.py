"""What every response and every form carries: the security headers, the session cookie, the
CSRF token, the limits on a request's size and on sign-in tries from one address.

- Headers: a Content-Security-Policy that allows no script at all and styles only from the
  portal's own style sheet (a statement's own ``<style>`` by its hash), ``frame-ancestors
  'none'`` (and ``X-Frame-Options: DENY`` for older browsers), ``Referrer-Policy: no-referrer``,
  ``X-Content-Type-Options: nosniff``, and ``Cache-Control: no-store`` (figures are not kept
  in shared caches).
- The session cookie is ``Secure``, ``HttpOnly`` and ``SameSite=Lax``; browsers keep a Secure
  cookie from ``http://127.0.0.1`` and ``localhost`` too, so a portal on this machine works
  without TLS; anywhere else it belongs behind HTTPS.
- CSRF: every form carries a token, the HMAC of the session's value (or, before sign-in, of a
  random value in a cookie of its own) under a key the portal draws when it starts; a POST
  whose token does not match is refused 403 and changes nothing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import threading
import time
from collections import defaultdict, deque

SESSION_COOKIE = "cb_session"
PRE_COOKIE = "cb_presession"
MAX_FORM_BYTES = 64 * 1024
MAX_BATCH_BYTES = 32 * 1024 * 1024
"""The largest usage batch the API takes in one request (about 200,000 records)."""

CSP = ("default-src 'none'; style-src 'self'{styles}; img-src 'self' data:; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")


def headers(*, styles: tuple[str, ...] = ()) -> dict[str, str]:
    extra = "".join(f" 'sha256-{s}'" for s in styles)
    return {
        "Content-Security-Policy": CSP.format(styles=extra),
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "no-store",
        "Cross-Origin-Opener-Policy": "same-origin",
    }


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def attachment(filename: str) -> str:
    """A ``Content-Disposition`` for a download named ``filename``: in ``filename`` only letters,
    digits and ``. _ -`` (anything else one ``_``; no quote, slash or line break can reach the
    header), and the name as given, percent-encoded, in ``filename*`` (RFC 6266)."""
    from urllib.parse import quote

    safe = _UNSAFE.sub("_", filename).strip("._")[:150] or "download"
    return f"attachment; filename=\"{safe}\"; filename*=UTF-8''{quote(filename[:150], safe='')}"


_STYLE = re.compile(rb"<style>(.*?)</style>", re.S)


def style_hashes(html: bytes) -> tuple[str, ...]:
    """The CSP hashes of a page's ``<style>`` blocks (a statement carries its own CSS)."""
    return tuple(base64.b64encode(hashlib.sha256(m.group(1)).digest()).decode() for m in _STYLE.finditer(html))


class Csrf:
    """CSRF tokens bound to a session's (or a pre-session's) value under the portal's key."""

    def __init__(self, key: bytes | None = None):
        self._key = key or secrets.token_bytes(32)

    @property
    def key(self) -> bytes:
        """The portal's key, which also seals the single sign-on flow's cookie (portal/sso.py)."""
        return self._key

    def token(self, bound_to: str) -> str:
        return hmac.new(self._key, b"csrf:" + bound_to.encode(), hashlib.sha256).hexdigest()

    def valid(self, bound_to: str | None, given: str | None) -> bool:
        return bool(bound_to and given) and hmac.compare_digest(self.token(bound_to), given)  # type: ignore[arg-type]


class AddressLimit:
    """At most ``tries`` sign-in tries from one address within ``seconds`` (in this process;
    the store limits tries per name across processes, billing/jobs/access.py)."""

    def __init__(self, tries: int = 20, seconds: float = 900):
        self.tries, self.seconds = tries, seconds
        self._seen: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def allow(self, address: str) -> bool:
        now = time.monotonic()
        with self._lock:
            seen = self._seen[address]
            while seen and seen[0] < now - self.seconds:
                seen.popleft()
            if len(seen) >= self.tries:
                return False
            seen.append(now)
            return True
