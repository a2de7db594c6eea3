"""The one guard against formula injection (OWASP "CSV injection", CWE-1236).

A spreadsheet evaluates a cell whose text starts with ``=``, ``+``, ``-`` or ``@`` (and, in
some, tab, carriage return, line feed, NUL, ``|`` or ``%``), quoted or not:
``=HYPERLINK("http://x","y")`` from a service name would become a live link. Every writer of
a CSV file or a workbook puts text that came from input through here:

- :func:`is_formula`: the one test, over :data:`FORMULA_TRIGGERS`;
- :func:`for_people`: a CSV cell for people who open the file in a spreadsheet: a ``'`` in
  front of a triggering text, as OWASP recommends (Excel and LibreOffice show it as text);
- :func:`for_machines`: a free-text field of a file for machines (the GL journal): no
  apostrophe (an ERP would keep it), the leading trigger characters are removed instead and
  line breaks become spaces;
- workbooks force such a cell to text and set Excel's quote prefix
  (:func:`reports.xlsx.safe_text`, which asks :func:`is_formula`).

Numbers the engine made (amounts, quantities, line numbers) are never guarded: ``-12.50`` is a
credit, not an attack. GL codes are not rewritten either: ``billing.close.journal`` refuses a
code that a spreadsheet would misread where it is entered (docs/journal.md). The FOCUS export
keeps every value exactly as issued, as FOCUS requires (docs/month-end.md).
"""

from __future__ import annotations

__all__ = ["FORMULA_TRIGGERS", "is_formula", "for_people", "for_machines"]

#: First characters that make a spreadsheet read text as a formula.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n", "\0", "|", "%")
_LEADING = "".join(FORMULA_TRIGGERS) + " "


def is_formula(text: str) -> bool:
    """True when a spreadsheet could evaluate ``text`` (it starts with a trigger)."""
    return text.startswith(FORMULA_TRIGGERS)


def for_people(value: object) -> str:
    """Text for a CSV cell people open: ``None`` is empty; a triggering text gets ``'`` in front."""
    text = "" if value is None else str(value)
    return "'" + text if is_formula(text) else text


def for_machines(value: object) -> str:
    """Text for a field machines read: NULs and line breaks become spaces, and a triggering
    text loses its leading trigger characters (and the spaces among them)."""
    text = "" if value is None else str(value)
    text = " ".join(text.replace("\0", " ").splitlines()) if text else ""
    return text.lstrip(_LEADING).strip() if is_formula(text) else text
