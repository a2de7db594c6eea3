"""The engine's settings as one typed record (`chargeback settings`, docs/commands.md).

:class:`Settings` holds every setting as the type it is used as (a month number, a currency
code, a percentage as a Decimal, a yes/no as a bool); the store keeps each as text and reads
them back through :meth:`Settings.from_text`, so a job asks ``settings.currency``, never a
string by its key. :data:`RULES` declares each setting once: its default and the rule that
reads its text (:func:`read_setting`, which refuses a wrong value with what to write instead).
Pure: no store, no clock.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from decimal import Decimal
from typing import Any

from billing.core.addresses import address_problem
from billing.core.codes import gl_code_problem
from billing.core.limits import CODE, NAME, RATIO, too_long
from billing.core.money import D
from billing.core.problems import ChargebackError, excerpt, has_control

__all__ = ["PREFIX_LENGTH", "RULES", "Settings", "read_setting", "setting_text", "DEFAULT_TEXTS"]

PREFIX_LENGTH = 20
"""The longest invoice prefix: the number PREFIX-YYYY-NNNNNN(N) fits the store's 40 characters."""

_HOST = re.compile(r"[A-Za-z0-9]([A-Za-z0-9.:-]{0,251}[A-Za-z0-9])?")
_PREFIX = re.compile(rf"[A-Za-z0-9][A-Za-z0-9._-]{{0,{PREFIX_LENGTH - 1}}}")

Value = int | str | bool | Decimal


@dataclass(frozen=True, slots=True)
class Rule:
    """One setting: its default (as stored) and how its text is read (raises ChargebackError)."""

    default: str
    read: Callable[[str, str], Value]  # (key, text stripped) -> value


def _month(key: str, text: str) -> int:
    if not (text.isascii() and text.isdigit() and 1 <= int(text) <= 12):
        raise ChargebackError(f"{key} must be a month number from 1 to 12")
    return int(text)


def _share(default: str, *, most: Decimal | None = None) -> Callable[[str, str], Decimal]:
    def read(key: str, text: str) -> Decimal:
        if not (text.isascii() and text.replace(".", "", 1).isdigit()):
            raise ChargebackError(f"{key} must be a positive number, e.g. {default}")
        value = D(text)
        if (beyond := RATIO.problem(key, value)) is not None:
            raise ChargebackError(beyond[1])
        if most is not None and value > most:
            raise ChargebackError(f"{key} is a share of the usual usage, from 0 to {most}")
        return value
    return read


def _currency(key: str, text: str) -> str:
    if not (len(text) == 3 and text.isascii() and text.isalpha()):
        raise ChargebackError(f"{key} must be a three-letter ISO code, e.g. USD")
    return text.upper()


def _gl_code(default: str) -> Callable[[str, str], str]:
    def read(key: str, text: str) -> str:
        if message := too_long(key, text, CODE):
            raise ChargebackError(f"{message}: codes have at most {CODE} characters")
        reason = "it is empty" if not text else gl_code_problem(text)
        if reason:
            raise ChargebackError(f"{key} {excerpt(text)!r} cannot go to the GL journal: {reason}; "
                                  f"write the code exactly as the ERP knows it, e.g. {default}")
        return text
    return read


def _business_line(key: str, text: str) -> str:
    if message := too_long(key, text, CODE):
        raise ChargebackError(f"{message}: codes have at most {CODE} characters")
    if not text or has_control(text):
        raise ChargebackError(f"{key} must be a business line code, e.g. UNALLOCATED")
    return text


def _prefix(key: str, text: str) -> str:
    if not _PREFIX.fullmatch(text):
        raise ChargebackError(f"{key} {excerpt(text)!r} must be 1 to {PREFIX_LENGTH} letters, digits, '.', '_' "
                              f"or '-', starting with a letter or digit (numbers read PREFIX-2026-000001), e.g. CB")
    return text


def _text(key: str, text: str) -> str:
    return text


def _address(key: str, text: str) -> str:
    if text and (reason := address_problem(text)):
        raise ChargebackError(f"{key} {excerpt(text)!r} is not one e-mail address: {reason}; "
                              f"write the sender's address alone, e.g. it-billing@example.com")
    return text


def _host(key: str, text: str) -> str:
    if text and not _HOST.fullmatch(text):
        raise ChargebackError(f"{key} {excerpt(text)!r} must be a host name or IP address, e.g. smtp.example.com")
    return text


def _port(key: str, text: str) -> int:
    if not (text.isascii() and text.isdigit() and 1 <= int(text) <= 65535):
        raise ChargebackError(f"{key} must be a port number from 1 to 65535, e.g. 587")
    return int(text)


def _yes_no(key: str, text: str) -> bool:
    if text.lower() not in ("yes", "no"):
        raise ChargebackError(f"{key} must be yes (upgrade the connection with STARTTLS, required) or no")
    return text.lower() == "yes"


def _user(key: str, text: str) -> str:
    if has_control(text) or too_long(key, text, NAME):
        raise ChargebackError(f"{key} must be a user name without control characters, at most {NAME} characters")
    return text


RULES: Mapping[str, Rule] = {
    "fiscal_year_start_month": Rule("1", _month),
    "currency": Rule("USD", _currency),
    "anomaly_pct": Rule("25", _share("25")),
    "anomaly_floor_pct": Rule("0.1", _share("0.1")),
    "low_usage_pct": Rule("50", _share("50", most=Decimal(100))),
    "invoice_prefix": Rule("CB", _prefix),
    "expense_account": Rule("6810", _gl_code("6810")),
    "recovery_account": Rule("4810", _gl_code("4810")),
    "it_cost_center": Rule("IT-RECOVERY", _gl_code("IT-RECOVERY")),
    "unallocated_business_line": Rule("UNALLOCATED", _business_line),
    "provider_id": Rule("IT", _text),
    "provider_name": Rule("IT services", _text),
    "mail_from": Rule("", _address),
    "smtp_host": Rule("", _host),
    "smtp_port": Rule("587", _port),
    "smtp_starttls": Rule("yes", _yes_no),
    "smtp_user": Rule("", _user),
}
"""Every setting, in the order `chargeback settings list` shows them."""

DEFAULT_TEXTS: Mapping[str, str] = {key: rule.default for key, rule in RULES.items()}


def read_setting(key: str, text: str) -> Value:
    """The value of setting ``key`` written as ``text`` (trimmed), or a ChargebackError saying
    what to write instead (an unknown key lists the known ones)."""
    rule = RULES.get(key)
    if rule is None:
        raise ChargebackError(f"unknown setting {key!r}; known settings: {', '.join(RULES)}")
    return rule.read(key, text.strip())


def setting_text(value: Value) -> str:
    """How a setting's value is stored and shown: ``yes``/``no`` for a bool, digits as written."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    """Every setting, typed (the defaults are :data:`RULES`' defaults)."""

    fiscal_year_start_month: int = 1
    currency: str = "USD"
    anomaly_pct: Decimal = Decimal("25")
    anomaly_floor_pct: Decimal = Decimal("0.1")
    low_usage_pct: Decimal = Decimal("50")
    invoice_prefix: str = "CB"
    expense_account: str = "6810"
    recovery_account: str = "4810"
    it_cost_center: str = "IT-RECOVERY"
    unallocated_business_line: str = "UNALLOCATED"
    provider_id: str = "IT"
    provider_name: str = "IT services"
    mail_from: str = ""
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_starttls: bool = True
    smtp_user: str = ""

    @classmethod
    def from_text(cls, stored: Mapping[str, str]) -> Settings:
        """The settings from their stored text (a setting not stored: its default; a key no
        longer known is left out)."""
        values: dict[str, Any] = {key: read_setting(key, stored.get(key, rule.default)) for key, rule in RULES.items()}
        return cls(**values)

    def texts(self) -> dict[str, str]:
        """Every setting as text, in :data:`RULES`' order (what the store keeps and `settings list` shows)."""
        return {key: setting_text(getattr(self, key)) for key in RULES}


if {f.name for f in fields(Settings)} != set(RULES):  # never an assert: this must hold even with -O
    raise RuntimeError("Settings and RULES must name the same settings")
