"""Spreadsheet cells that cannot run as formulas (CSV / formula injection).

A text cell that starts with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage return, which some
programs skip before looking for those) is read by Excel, WPS and LibreOffice as a formula when the
file is opened: a resident who registers as ``=HYPERLINK("http://x","y")`` would put a live link
into a workbook of unmasked numbers. Following the OWASP guidance on CSV injection, such a cell is
written with a leading apostrophe, so it shows as text; numbers, dates and booleans stay as they
are. Every xlsx and CSV writer passes its cells through ``safe_cell`` (or ``safe_row``), and the
ledger reader takes the apostrophe off again (``unescape_cell``), so an exported file imports back
unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

# OWASP "CSV Injection": the characters a formula can start with, plus tab and carriage return.
FORMULA_STARTS = frozenset("=+-@\t\r")
ESCAPE = "'"


def escape_text(text: str) -> str:
    """``text`` with an apostrophe before it when its first character could start a formula."""
    if text and text[0] in FORMULA_STARTS:
        return ESCAPE + text
    return text


def safe_cell(value: Any) -> Any:
    """A cell value safe to write: text escaped by ``escape_text``, anything else as it is."""
    if isinstance(value, str):
        return escape_text(value)
    return value


def safe_row(values: Iterable[Any]) -> list[Any]:
    return [safe_cell(value) for value in values]


def unescape_cell(text: str) -> str:
    """The text ``escape_text`` was given: drops the apostrophe it adds, and only that one."""
    if len(text) > 1 and text[0] == ESCAPE and text[1] in FORMULA_STARTS:
        return text[1:]
    return text
