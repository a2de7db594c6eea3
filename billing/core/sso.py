"""Single sign-on with an OpenID Connect provider: its settings, read from a YAML file (the
client secret from the environment, never from the file), and how the provider's claim maps to
roles and, for a head, to business lines. Pure: the file's text and the environment are given;
the portal (portal/sso.py) speaks to the provider and billing/jobs/access.py keeps the person.

    issuer: https://login.example.com/realms/corp
    client_id: chargeback
    label: Example Corp                 # the sign-in page's button: "Sign in with Example Corp"
    roles_claim: groups                 # the claim whose values are mapped (a.b: claim a's member b)
    roles:
      chargeback-finance: finance
      chargeback-audit: [auditor, planner]
      heads-finance: {head: [FIN, PROC]}

docs/security.md ("Single sign-on") has every key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from billing.core.access import Role
from billing.core.limits import CODE, SSO_ISSUER, too_long
from billing.core.problems import ProblemCode, ProblemsError, excerpt
from billing.core.yamldoc import NOT_YAML, DocumentReader, line_of

SECRET_VARIABLE = "CHARGEBACK_SSO_CLIENT_SECRET"
"""The environment variable the client secret is read from (``client_secret_variable`` names another)."""
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
"""Hosts a provider may be reached on without TLS (a provider on this machine)."""

KEYS = ("issuer", "discovery_url", "client_id", "client_secret_variable", "label", "redirect_url", "scopes",
        "name_claim", "roles_claim", "roles")


@dataclass(frozen=True, slots=True)
class Grant:
    """What one value of the roles claim gives: roles, and for ``head`` the business lines."""

    roles: frozenset[Role]
    lines: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True, kw_only=True)
class SsoSettings:
    issuer: str
    discovery_url: str
    client_id: str
    client_secret: str = ""
    label: str = "single sign-on"
    redirect_url: str | None = None  # None: this portal's /login/sso/callback as the request reached it
    scopes: tuple[str, ...] = ("openid", "profile", "email")
    name_claim: str = "preferred_username"
    roles_claim: str = "groups"
    grants: Mapping[str, Grant]

    def __repr__(self) -> str:  # never the secret
        return f"SsoSettings(issuer={self.issuer!r}, client_id={self.client_id!r})"


def _https_or_local(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in LOCAL_HOSTS)


def read_sso_settings(text: str, environ: Mapping[str, str], *, file: str = "sso.yaml") -> SsoSettings:
    """The settings in the YAML ``text`` (of ``file``), the client secret from ``environ``;
    :class:`ProblemsError` with every problem at once when anything is wrong."""
    reader = DocumentReader(file)
    document = reader.parse(text)
    if document is NOT_YAML or not isinstance(document, dict):
        if document is not NOT_YAML:
            reader.report(ProblemCode.VALUE_INVALID, "the single sign-on settings must be a mapping of keys "
                          "(issuer, client_id, roles, ...)", "", None)
        raise ProblemsError(reader.problems, f"{file}: not single sign-on settings")
    required = ("issuer", "client_id", "roles")
    found = reader.mapping(document, "", None, (required, [k for k in KEYS if k not in required]),
                           "single sign-on settings")
    if found is None:
        raise ProblemsError(reader.problems, f"{file}: {len(reader.problems)} problem(s)")

    def text_of(key: str, default: str | None = None) -> str | None:
        value = reader.text(found, key, "") if key in found else default
        return None if value is None else str(value).strip()

    issuer = (text_of("issuer") or "").rstrip("/")
    discovery = text_of("discovery_url") or f"{issuer}/.well-known/openid-configuration"
    for key, url in (("issuer", issuer), ("discovery_url", discovery), ("redirect_url", text_of("redirect_url"))):
        if url and not _https_or_local(url):
            reader.report(ProblemCode.VALUE_INVALID, f"{key} {excerpt(url)!r} is not an https:// address",
                          key, line_of(found, key), "the provider is reached over TLS (http:// only on 127.0.0.1 "
                                                    "or localhost)")
    if (message := too_long("issuer", issuer, SSO_ISSUER)) is not None:
        reader.report(ProblemCode.VALUE_INVALID, message, "issuer", line_of(found, "issuer"),
                      "give the provider's issuer exactly as its discovery document says it")
    variable = text_of("client_secret_variable", SECRET_VARIABLE) or SECRET_VARIABLE
    secret = environ.get(variable, "")
    if not secret:
        reader.report(ProblemCode.VALUE_INVALID, f"the client secret is read from the environment variable {variable}, "
                      "which is not set", "client_secret_variable", line_of(found, "client_secret_variable"),
                      f"export {variable}=... (the secret the provider gave this client) before chargeback serve")
    scopes = found.get("scopes", ["openid", "profile", "email"])
    if isinstance(scopes, str):
        scopes = scopes.split()
    if not isinstance(scopes, list) or not all(isinstance(s, str) and s for s in scopes):
        reader.report(ProblemCode.VALUE_INVALID, "scopes must be a list of scope names", "scopes",
                      line_of(found, "scopes"), "e.g. [openid, profile, email, groups]")
        scopes = ["openid"]
    if "openid" not in scopes:
        scopes = ["openid", *scopes]
    grants = {}
    for value, given, location, line in reader.entries(found, "roles", "roles", "claim values and the roles they give"):
        grant = _grant(reader, given, location, line)
        if grant is not None:
            grants[str(value)] = grant
    if not grants and "roles" in found:
        reader.report(ProblemCode.VALUE_INVALID, "roles names no claim value: nobody could sign in", "roles",
                      line_of(found, "roles"), "map each value of the roles claim to a role, e.g. "
                                               "chargeback-finance: finance")
    if reader.problems:
        raise ProblemsError(reader.problems, f"{file}: {len(reader.problems)} problem(s) in the single sign-on settings")
    return SsoSettings(issuer=issuer, discovery_url=discovery, client_id=text_of("client_id") or "",
                       client_secret=secret, label=text_of("label", "single sign-on") or "single sign-on",
                       redirect_url=text_of("redirect_url"), scopes=tuple(dict.fromkeys(scopes)),
                       name_claim=text_of("name_claim", "preferred_username") or "preferred_username",
                       roles_claim=text_of("roles_claim", "groups") or "groups", grants=grants)


def _grant(reader: DocumentReader, given: Any, location: str, line: int | None) -> Grant | None:
    """One claim value's roles: ``finance``, ``[auditor, planner]``, ``{head: [FIN, PROC]}`` or a
    list of those."""
    entries = given if isinstance(given, list) else [given]
    roles: set[Role] = set()
    lines: set[str] = set()
    for entry in entries:
        if isinstance(entry, str) and entry in set(Role) and entry != Role.HEAD:
            roles.add(Role(entry))
        elif isinstance(entry, dict) and set(entry) == {"head"}:
            codes = entry["head"] if isinstance(entry["head"], list) else [entry["head"]]
            if not codes or not all(isinstance(c, str) and 0 < len(c) <= CODE for c in codes):
                reader.report(ProblemCode.VALUE_INVALID, "a head heads named business lines: give their codes",
                              location, line, "e.g. {head: [FIN, PROC]}")
                return None
            roles.add(Role.HEAD)
            lines.update(c.strip() for c in codes)
        else:
            reader.report(ProblemCode.VALUE_INVALID, f"{excerpt(str(entry))!r} is not a role",
                          location, line, "finance, planner, auditor, admin, or {head: [CODE, ...]}")
            return None
    return Grant(roles=frozenset(roles), lines=frozenset(lines))


def claim_values(claims: Mapping[str, Any], claim: str) -> list[str]:
    """The values of ``claim`` in the ID token's claims (``a.b``: member ``b`` of claim ``a``):
    a list of text, or one text as one value; anything else none."""
    value: Any = claims
    for part in claim.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


def granted(settings: SsoSettings, claims: Mapping[str, Any]) -> Grant:
    """The roles and a head's business lines the claims give (none: the person is refused)."""
    roles: set[Role] = set()
    lines: set[str] = set()
    for value in claim_values(claims, settings.roles_claim):
        grant = settings.grants.get(value)
        if grant is not None:
            roles |= grant.roles
            lines |= grant.lines
    return Grant(roles=frozenset(roles), lines=frozenset(lines))

