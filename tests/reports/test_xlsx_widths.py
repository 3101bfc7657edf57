"""XLSX exports size their columns so Chinese headers and values are readable without dragging."""

from __future__ import annotations

import io

from openpyxl import load_workbook

from app.spreadsheet import MAX_WIDTH, column_widths, display_width


def test_chinese_characters_count_twice():
    assert display_width("按时答复率") == 10
    assert display_width("ABC 12") == 6
    assert display_width("ＡＢ") == 4  # full-width forms are wide too
    assert column_widths([["单位", "x"], ["县住房和城乡建设局", 1], ["y" * 200, 2]]) == [MAX_WIDTH, 8]


def test_report_xlsx_columns_fit_their_chinese_headers(client, admin_headers):
    resp = client.get("/api/v1/reports/units", params={"format": "xlsx"}, headers=admin_headers)
    assert resp.status_code == 200
    sheet = load_workbook(io.BytesIO(resp.content)).active
    headers = [cell.value for cell in sheet[1]]
    assert len(headers) > 5
    for index, header in enumerate(headers, start=1):
        letter = sheet.cell(row=1, column=index).column_letter
        width = sheet.column_dimensions[letter].width
        assert display_width(header) < width <= MAX_WIDTH, (header, width)
