"""Reports as files: CSV (UTF-8 with BOM, so Excel shows the Chinese headers) and XLSX (openpyxl),
the same cells in both, the total row last.

Also the one way any table leaves the service as a spreadsheet (`csv_bytes`, `append_rows`; the KB export
uses them too): text that a spreadsheet would run as a formula — starting with `=`, `+`, `-`, `@`, a tab
or a carriage return (OWASP's CSV-injection rule) — is neutralised, and numbers stay numbers."""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Iterable
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from app.reports.models import Report, ReportRow

TITLES = {
    "unit": "各单位留言办理情况",
    "account": "各账号留言办理情况",
    "platform": "各平台留言办理情况",
    "period": "留言办理情况趋势",
}


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


def _cell(row: ReportRow, key: str) -> Any:
    value = getattr(row, key)
    if key == "zombie":
        return "" if value is None else ("是" if value else "否")
    return "" if value is None else value


def table(report: Report) -> list[list[Any]]:
    """Header row (Chinese labels) and one row per report row, then the total."""
    keys = [c.key for c in report.columns]
    out: list[list[Any]] = [[c.label for c in report.columns]]
    out.extend([_cell(row, k) for k in keys] for row in [*report.rows, report.total])
    return out


def filename(report: Report, extension: str) -> str:
    span = "全部"
    if report.date_from or report.date_to:
        span = f"{report.date_from or ''}_{report.date_to or ''}"
    return f"{TITLES[report.dimension.value]}_{span}.{extension}"


def to_csv(report: Report) -> bytes:
    return csv_bytes(table(report))


def to_xlsx(report: Report) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = TITLES[report.dimension.value][:31]
    rows = table(report)
    append_rows(sheet, rows)
    header_fill = PatternFill("solid", fgColor="DDEBF7")
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.fill = header_fill
        cell.alignment = Alignment(wrap_text=True, vertical="center")
    for cell in sheet[len(rows)]:
        cell.font = Font(bold=True)
    for index, width in enumerate(column_widths(rows), start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
