"""Which codes may go to the GL journal: the one rule, shared by where codes are entered
(the organisation's GL cost centres, the settings' accounts) and the journal itself
(billing/close/journal.py, docs/journal.md)."""

from __future__ import annotations

__all__ = ["FORMULA_TRIGGERS", "gl_code_problem"]

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n", "\0")
"""First characters that make a spreadsheet (and some ERP import tools) read a cell as a
formula or a signed number (OWASP ASVS 5.0 V1.2.10)."""


def gl_code_problem(code: str) -> str | None:
    """Why ``code`` cannot be a GL account or GL cost-centre code, or None when it can.

    The journal is read by machines, so a code is written exactly as entered: one that begins
    with a formula character would be taken for a formula or a negative number by a
    spreadsheet opening the file (``-4711`` becomes -4711, ``=1+1`` a formula), and one with a
    control character breaks the file's lines. Both are refused where codes are entered
    (``org load``, ``settings set``) and, for codes stored before, when the journal is made.
    The empty code (a line without a cost centre) is the journal's documented gap."""
    if not code:
        return None
    if code.startswith(FORMULA_TRIGGERS):
        return (f"it begins with {code[0]!r}, which a spreadsheet or an ERP import takes for a formula or a sign; "
                "GL codes start with a letter or a digit")
    if not code.isprintable():
        return "it holds a control character"
    return None
