"""The one way any table leaves the service as a spreadsheet (reports, the audit log, the registry's forms,
the KB export): CSV for Excel (UTF-8 with BOM, so Excel shows the Chinese headers) or rows of an XLSX
sheet (openpyxl).

Text that a spreadsheet would run as a formula — starting with `=`, `+`, `-`, `@`, a tab or a carriage
return (OWASP's CSV-injection rule) — is neutralised, and numbers stay numbers; `restore` undoes it when
an exported CSV comes back."""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Iterable
from typing import Any

from openpyxl.worksheet.worksheet import Worksheet

# Excel column widths are in characters of the default Latin font; a Chinese character takes about two.
MIN_WIDTH, MAX_WIDTH, PADDING = 8, 50, 2


def display_width(value: Any) -> int:
    """How many Latin-character widths `value` takes in a cell: wide (CJK) characters count two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in str(value))


def column_widths(rows: list[list[Any]]) -> list[float]:
    """A width per column that shows its header and its longest value, within MIN_WIDTH..MAX_WIDTH."""
    return [
        min(max(max(display_width(r[i]) for r in rows) + PADDING, MIN_WIDTH), MAX_WIDTH)
        for i in range(len(rows[0]))
    ]


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    """A text cell a spreadsheet would evaluate gets a leading apostrophe; anything else is unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_bytes(table: Iterable[Iterable[Any]]) -> bytes:
    """CSV for Excel: UTF-8 with BOM, CRLF, every text cell neutralised."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows([neutralise(v) for v in row] for row in table)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def restore(value: Any) -> Any:
    """The text `neutralise` was given back, for re-importing an exported CSV."""
    if isinstance(value, str) and value.startswith("'") and value[1:].startswith(FORMULA_STARTS):
        return value[1:]
    return value


def append_rows(sheet: Worksheet, table: Iterable[Iterable[Any]]) -> None:
    """Appends rows to an XLSX sheet: text as typed text cells, so the exact text and never a formula
    (XLSX, unlike CSV, says what a cell is); numbers as numbers."""
    for values in table:
        sheet.append(list(values))
        for cell in sheet[sheet.max_row]:
            if isinstance(cell.value, str):
                cell.data_type = "s"
