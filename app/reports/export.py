"""Reports as files: CSV (UTF-8 with BOM, so Excel shows the Chinese headers) and XLSX (openpyxl),
the same cells in both, the total row last; written by the service's one spreadsheet writer
(`app.spreadsheet`)."""

from __future__ import annotations

import io
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from app.reports.models import Report, ReportRow
from app.spreadsheet import append_rows, column_widths, csv_bytes

TITLES = {
    "unit": "各单位留言办理情况",
    "account": "各账号留言办理情况",
    "platform": "各平台留言办理情况",
    "period": "留言办理情况趋势",
}


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
