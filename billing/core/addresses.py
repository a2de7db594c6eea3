"""The one rule for an e-mail address the engine sends to or from (a head's ``head_email``,
the ``mail_from`` setting): one plain address, ``local@domain``, nothing else.

A display name, a second address (``a@x.com, b@y.com``), a group, a comment, quotes, spaces,
angle brackets or a line break would let one value name more recipients than the one head, or
add a header to a message; none is accepted. The domain is ASCII labels of letters, digits
and ``-`` with at least one dot; the local part the RFC 5322 dot-atom of ASCII letters, digits
and ``!#$%&'*+/=?^_`{|}~-``. Pure: text in, the reason it is refused (or None) out.
"""

from __future__ import annotations

import re

__all__ = ["address_problem"]

_LOCAL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_LABEL = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
LOCAL_LENGTH = 64
ADDRESS_LENGTH = 254


def address_problem(text: str) -> str | None:
    """Why ``text`` is not one plain e-mail address (``name@example.com``), or None when it is."""
    if not text:
        return "it is empty"
    if any(c.isspace() for c in text) or not text.isprintable():
        return "it holds a space, a line break or another invisible character"
    if len(text) > ADDRESS_LENGTH:
        return f"it is longer than {ADDRESS_LENGTH} characters"
    if text.count("@") != 1:
        return ("it holds no @" if "@" not in text
                else "it holds more than one @ (one address per business line, without a name or a second address)")
    local, domain = text.split("@")
    if not local or len(local) > LOCAL_LENGTH or not _LOCAL.fullmatch(local):
        return (f"the part before @ must be 1 to {LOCAL_LENGTH} ASCII letters, digits or !#$%&'*+/=?^_`{{|}}~- "
                "with single dots between them")
    labels = domain.split(".")
    if len(labels) < 2 or not all(_LABEL.fullmatch(label) for label in labels):
        return "the part after @ must be a domain such as example.com (ASCII letters, digits, '-' and dots)"
    return None
