"""Reading a ledger file: xlsx (first sheet) or csv (UTF-8, or GB18030 as Excel saves it in
China) → rows of text. Every cell becomes a stripped string; numbers typed into Excel come back as
their digits, dates as YYYY-MM-DD; the apostrophe our exports put before formula-like text
(``lib.spreadsheet``) is taken off, so an exported or rejected file imports back as it was. A file
that cannot be read is an ``InvalidInputError`` on ``file`` saying why.
"""

from __future__ import annotations

import codecs
import csv
import io
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, time
from typing import IO, Any

from django.conf import settings
from django.utils.translation import gettext as _

from wangge.core.errors import InvalidInputError
from wangge.lib.spreadsheet import unescape_cell

FORMATS = ("xlsx", "csv")
DEFAULT_MAX_BYTES = 256 * 1024 * 1024
HEADER_SEARCH_ROWS = 5  # a ledger may have a title row or two above its header


def max_bytes() -> int:
    return int(getattr(settings, "WANGGE_LEDGER_MAX_BYTES", DEFAULT_MAX_BYTES))


def file_error(message: str) -> InvalidInputError:
    return InvalidInputError(message, {"file": [message]})


def sniff_format(name: str, head: bytes) -> str:
    """ "xlsx" or "csv" from the file's first bytes (and name); anything else is an error."""
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise file_error(_("This is an old Excel file (.xls); save it as .xlsx and try again."))
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    lower = name.lower()
    if lower.endswith((".xlsx", ".xlsm")):
        raise file_error(_("The file is named .xlsx but is not an Excel workbook."))
    if not head.strip():
        raise file_error(_("The file is empty."))
    if b"\x00" in head:
        raise file_error(_("The file is neither an Excel workbook (.xlsx) nor a CSV text file."))
    if not lower.endswith((".csv", ".txt")):
        raise file_error(_("Upload an Excel workbook (.xlsx) or a CSV file (.csv)."))
    return "csv"


def cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return unescape_cell(value.strip())
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        # A long number typed into Excel has lost its last digits already; keep what is left so
        # validation says it is wrong rather than guessing.
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat(" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def _csv_encoding(stream: IO[bytes]) -> str:
    head = stream.read(1 << 20)
    stream.seek(0)
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return "gb18030"
    return "utf-8-sig"


def _csv_rows(stream: IO[bytes]) -> Iterator[list[str]]:
    text = io.TextIOWrapper(stream, encoding=_csv_encoding(stream), newline="")
    try:
        for row in csv.reader(text):
            yield [unescape_cell(cell.strip()) for cell in row]
    except (UnicodeDecodeError, csv.Error) as exc:
        raise file_error(_("The CSV file cannot be read: %(reason)s") % {"reason": exc}) from None
    finally:
        text.detach()


def _xlsx_rows(stream: IO[bytes]) -> Iterator[list[str]]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(stream, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise file_error(_("The Excel file cannot be read: %(reason)s") % {"reason": exc}) from None
    try:
        sheet = workbook.worksheets[0]
        for row in sheet.iter_rows(values_only=True):
            yield [cell_text(value) for value in row]
    finally:
        workbook.close()


def xlsx_row_estimate(stream: IO[bytes]) -> int | None:
    """Rows of the first sheet from its dimension, without reading them (None when unknown)."""
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(stream, read_only=True, data_only=True)
        rows = workbook.worksheets[0].max_row
        workbook.close()
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, IndexError):
        return None  # the progress bar goes without a total; reading the rows reports the fault
    finally:
        stream.seek(0)
    return rows


def csv_row_estimate(stream: IO[bytes]) -> int:
    lines = 0
    for block in iter(lambda: stream.read(1 << 20), b""):
        lines += block.count(b"\n")
    stream.seek(0)
    return lines


@contextmanager
def open_rows(stream: IO[bytes], file_format: str) -> Iterator[Iterator[list[str]]]:
    """The rows of the file, every cell as text, trailing empty cells kept."""
    rows = _xlsx_rows(stream) if file_format == "xlsx" else _csv_rows(stream)
    try:
        yield rows
    finally:
        rows.close()  # type: ignore[attr-defined]
