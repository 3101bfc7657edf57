"""One spreadsheet reader for every import, with limits against decompression bombs and absurd files."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import pytest

from connectors.base import PayloadError
from connectors.spreadsheet import SpreadsheetTooLarge, read_spreadsheet
from tests.helpers import xlsx_bytes as xlsx


def bomb(unpacked_mb: int = 64) -> bytes:
    """A real workbook whose sheet unpacks to `unpacked_mb` MB from a few dozen KB."""
    source = zipfile.ZipFile(io.BytesIO(xlsx([["问题", "答案"], ["a", "b"]])))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b"<t>a</t>", b"<t>" + b"A" * (unpacked_mb << 20) + b"</t>")
            target.writestr(info.filename, data)
    return out.getvalue()


def test_a_decompression_bomb_is_refused_before_parsing() -> None:
    data = bomb()
    assert len(data) < 200_000
    with pytest.raises(SpreadsheetTooLarge, match="压缩炸弹"):
        read_spreadsheet(data, filename="bomb.xlsx")


def test_total_unpacked_size_is_capped_even_at_a_modest_ratio() -> None:
    rows = [[f"第{i}行" + "文" * 200] for i in range(400)]
    data = xlsx(rows)
    assert len(list(read_spreadsheet(data, filename="ok.xlsx"))) == 400
    with pytest.raises(SpreadsheetTooLarge):
        read_spreadsheet(data, filename="big.xlsx", max_unpacked_bytes=50_000)


def test_an_archive_lying_about_its_sizes_is_refused() -> None:
    good = xlsx([["问题"], ["x" * 5000]])
    # Make the central directory claim every part is 10 bytes.
    archive = zipfile.ZipFile(io.BytesIO(good))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in archive.infolist():
            target.writestr(info, archive.read(info))
    raw = bytearray(out.getvalue())
    at = 0
    while (at := raw.find(b"PK\x01\x02", at)) != -1:
        raw[at + 24 : at + 28] = (10).to_bytes(4, "little")  # uncompressed size
        at += 4
    with pytest.raises(PayloadError):
        read_spreadsheet(bytes(raw), filename="liar.xlsx")


def test_too_many_parts_rows_or_too_long_cells() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for i in range(2_001):
            archive.writestr(f"xl/junk{i}.xml", b"")
    with pytest.raises(SpreadsheetTooLarge):
        read_spreadsheet(out.getvalue(), filename="parts.xlsx")
    csv_data = ("问题\n" + "a\n" * 11).encode()
    with pytest.raises(SpreadsheetTooLarge, match="行数"):
        list(read_spreadsheet(csv_data, filename="rows.csv", max_rows=10))
    assert len(list(read_spreadsheet(csv_data, filename="rows.csv", max_rows=11))) == 12
    with pytest.raises(SpreadsheetTooLarge, match="单元格"):
        list(read_spreadsheet(("问题\n" + "字" * 40_000).encode(), filename="cell.csv"))


def test_every_import_endpoint_answers_413_to_a_bomb(
    client: Any, admin_headers: dict[str, str], make_unit: Any, make_account: Any
) -> None:
    make_unit("a")
    account = make_account("a", platform="generic")
    data = bomb()
    files = {"file": ("bomb.xlsx", data)}
    answers = [
        client.post("/api/v1/kb/import", files=files, headers=admin_headers),
        client.post(
            "/api/v1/routing/examples/import",
            files=files,
            data={"text_column": "问题", "unit_column": "答案"},
            headers=admin_headers,
        ),
        client.post(
            "/api/v1/imports/messages",
            params={"account_id": account["id"], "kind": "comment"},
            files=files,
            headers=admin_headers,
        ),
    ]
    for resp in answers:
        assert resp.status_code == 413, resp.text
        assert resp.json()["error"]["code"] == "file_too_large"
        assert "压缩炸弹" in resp.json()["error"]["message"]
