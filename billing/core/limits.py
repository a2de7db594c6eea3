"""The engine's limits, declared once: how long a text and how large a number may be wherever
one enters (a file, a YAML document, an option, a setting, the environment). Each is checked
where the value enters, with a message that names the field and the limit, the same on every
database. docs/store.md ("Limits") says why each one is what it is.

Text: the lengths are the store's column lengths. ``billing/store/schema.py`` declares its
columns with these constants, and ``billing/store/bounds.py`` says, for every text column,
which input fills it and where that input is checked; a test holds the two together, so a
column nobody checks fails the suite.

Numbers: a :class:`Range` per kind of value. They are chosen so that everything the engine
makes of accepted values fits what carries it:

- usage quantities and costs are ``Decimal(38, 12)`` in polars (26 digits before the point):
  a value below 10**15 leaves room for sums of 10**11 rows of the largest value, far more
  than a month holds;
- a usage row priced at its service's highest rate is worth at most :data:`ROW_WORTH`
  (10**15), and tariff prices and fees are below 10**12, so a month's charges stay below
  :data:`MONTH_AMOUNT` (10**25) for up to nine billion rows at the largest values; amounts
  have at most 3 decimals, so they are exact in Python's default 28-digit context
  (invoice totals, the journal, reports) and in PostgreSQL's NUMERIC (unbounded) and
  SQLite's exact text alike. Month run checks every charge and total against the bound.

Pure: no database, no files.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from billing.core.money import plain
from billing.core.problems import ProblemCode, excerpt

__all__ = [
    "CODE", "NAME", "REFERENCE", "SOURCE_NAME", "PATH", "USER", "CURRENCY", "LABEL", "SUBJECT",
    "USAGE_FEED_MONTHS", "COST_FEED_MONTHS", "FLAGS", "DIMENSION_VALUE", "IDEMPOTENCY_KEY",
    "SSO_ISSUER", "SSO_SUBJECT", "too_long", "path_problem", "months_that_fit",
    "Range", "NUMBER", "QUANTITY", "COST", "AMOUNT", "PRICE", "MARKUP", "MEASURE", "RATIO",
    "ROW_WORTH", "MONTH_AMOUNT", "FEED_TOTAL",
]

# --- text lengths (characters) ------------------------------------------------------------------

CODE = 40
"""A code: business line, cost centre, service, tier, unit, tariff version, GL account and GL
cost centre, cost pool, driver, metric."""
NAME = 200
"""A name: of a business line, its head and e-mail, division, cost centre, service, tier, unit."""
REFERENCE = 200
"""A cost line's ``source_ref`` (the reference in the ledger it came from)."""
SOURCE_NAME = 80
"""A usage source's name."""
PATH = 500
"""A loaded file's path as given on the command line."""
USER = 120
"""Who runs a command: ``CHARGEBACK_USER``, else the login name."""
CURRENCY = 3
"""An ISO 4217 code."""
LABEL = 80
"""A rejected row's column, a budget line's place (row, or sheet!cell): shortened to fit."""
SUBJECT = 200
"""What an audit event is about (a file, a month, a document): shortened to fit."""
SSO_ISSUER = 300
"""A single sign-on provider's issuer (its URL)."""
SSO_SUBJECT = 255
"""The subject of a provider's ID token (OpenID Connect Core 1.0 §2: at most 255 ASCII characters)."""
USAGE_FEED_MONTHS = 200
"""The months a usage feed covers, kept as ``YYYY-MM,YYYY-MM,...``."""
COST_FEED_MONTHS = 400
"""The months a cost feed covers, kept the same way."""
FLAGS = 200
"""A charge's flags, joined with ``; `` (the engine's own texts)."""
IDEMPOTENCY_KEY = 200
"""An API request's ``Idempotency-Key`` header."""
DIMENSION_VALUE = 100
"""A price dimension's value (a region, a VM size, a storage class), in a tariff's ``by_value``
and on a usage row (its dimension's name is a CODE)."""


def too_long(field: str, value: str, length: int) -> str | None:
    """The message when ``value`` is longer than ``length`` characters, else None."""
    if len(value) <= length:
        return None
    return f"{field} {excerpt(value, 40)!r} is {len(value):,} characters long; at most {length} are kept"


def path_problem(path: Path | str) -> str | None:
    """The message when a file's path is longer than the store keeps (:data:`PATH`)."""
    text = str(path)
    if len(text) <= PATH:
        return None
    return (f"the file's path is {len(text):,} characters long; the store keeps at most {PATH}: "
            f"move the file to a shorter path, or give it relative to the working directory")


def months_that_fit(length: int) -> int:
    """How many ``YYYY-MM`` fit ``length`` characters, comma-separated."""
    return (length + 1) // 8


# --- number ranges ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Range:
    """The numbers accepted for one kind of value: fewer than ``digits`` digits before the
    point (``|value| < 10 ** digits``) and at most ``decimals`` significant decimals."""

    name: str
    digits: int
    decimals: int = 12

    @property
    def bound(self) -> Decimal:
        """The first value out of range (exclusive upper bound of ``|value|``)."""
        return Decimal(10) ** self.digits

    @property
    def largest(self) -> Decimal:
        """The largest value in range."""
        return self.bound - Decimal(1).scaleb(-self.decimals)

    def describe(self) -> str:
        """``at most 15 digits before the point (999,999,999,999,999.999999999999)``."""
        return f"at most {self.digits} digits before the point ({plain(self.largest, grouped=True)})"

    def problem(self, field: str, value: Decimal) -> tuple[ProblemCode, str] | None:
        """(code, message) when ``value`` is out of range or too precise, else None."""
        if not value.is_finite() or abs(value) >= self.bound:
            return ProblemCode.OUT_OF_RANGE, (f"{field} {excerpt(_text(value), 40)} is out of range: "
                                              f"{self.name} has {self.describe()}")
        exponent = value.normalize().as_tuple().exponent
        if isinstance(exponent, int) and -exponent > self.decimals:
            return ProblemCode.TOO_PRECISE, (f"{field} {excerpt(_text(value), 40)} has {-exponent} decimals; "
                                             f"at most {self.decimals} are kept")
        return None


def _text(value: Decimal) -> str:
    return f"{value:f}" if value.is_finite() and abs(value.adjusted()) < 100 else str(value)


NUMBER = Range("a number", 15)
"""Any number in a YAML file, before the rule for its kind (prices, percentages ...) applies."""
QUANTITY = Range("a quantity", 15)
"""Usage quantities, budget volumes, a credit note's quantity, driver values, and the
quantities in tariffs: included quantity, band edges, block size, component quantity."""
COST = Range("a cost", 15)
"""A usage row's source cost (FOCUS BilledCost, our ``cost`` column)."""
AMOUNT = Range("an amount", 15)
"""Money entered directly: IT cost lines, budget amounts, a credit or debit note's amount."""
PRICE = Range("a price", 12)
"""A tariff's unit prices, block price, band flat fees, monthly fee and minimum charge."""
MARKUP = Range("a markup", 4)
"""A pass-through tariff's ``markup_pct`` (and at least -100)."""
MEASURE = Range("a measurement", 9)
"""Service levels: targets, measured values, credit shortfalls (percentages, minutes, hours)."""
RATIO = Range("a percentage or ratio", 6)
"""Growth percentages, tier differentials, price steps, capacities of allocation rules."""

ROW_WORTH = Decimal(10) ** 15
"""A usage row's quantity priced at the highest unit rate of its service (any tier, any
version), plus its cost with the highest markup, may be worth at most this."""
MONTH_AMOUNT = Decimal(10) ** 25
"""Every charge, invoice total and month total stays below this (checked at month run)."""
FEED_TOTAL = Decimal(10) ** 25
"""A feed's quantities and costs add up to less than this (a tenth of what Decimal(38, 12)
holds, so a month of several such feeds still sums exactly); checked when it is loaded."""
