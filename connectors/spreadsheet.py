"""The one spreadsheet reader of every import (messages exports, the Q&A base, routing examples): the rows
of a CSV (UTF-8 or GB18030) or XLSX file, read within limits against crafted files (size, rows, cells,
decompression bombs), refused with Chinese reasons."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable, Iterator
from typing import Any

from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from connectors.base import PayloadError

# Limits against crafted files. A decompression bomb (800 KB of XLSX unpacking to 800 MB) is refused
# before any XML is parsed.
MAX_ROWS = 100_000
MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_UNPACKED_BYTES = 200 * 1024 * 1024  # all parts of an XLSX together, declared and actual
MAX_PARTS = 2_000  # entries in the XLSX archive
MAX_RATIO = 200  # unpacked / packed per part; XML compresses 5–30×, bombs 1000× and more
MAX_CELL_CHARS = 32_767  # Excel's own limit for one cell
UNPACK_CHUNK = 1 << 20


class SpreadsheetTooLarge(PayloadError):
    """The file (or what it unpacks to) is over a limit: HTTP 413."""


def read_spreadsheet(
    data: bytes,
    *,
    filename: str,
    max_rows: int = MAX_ROWS,
    max_file_bytes: int = MAX_FILE_BYTES,
    max_unpacked_bytes: int = MAX_UNPACKED_BYTES,
    max_cell_chars: int = MAX_CELL_CHARS,
) -> Iterator[list[Any]]:
    """The rows (header first) of a CSV (UTF-8 or GB18030; comma, tab or semicolon) or XLSX file.

    XLSX archives are checked before parsing: part count, declared and actual unpacked sizes, and the
    compression ratio. Rows are streamed; more than `max_rows` data rows or a cell longer than
    `max_cell_chars` stops the read. SpreadsheetTooLarge (413) over a limit, PayloadError (422) otherwise.
    """
    if len(data) > max_file_bytes:
        raise SpreadsheetTooLarge(f"文件超过 {max_file_bytes // (1024 * 1024)} MB，请分批导入")
    if _is_xlsx(data, filename):
        _check_archive(data, max_unpacked_bytes=max_unpacked_bytes)
        rows = _xlsx_rows(data)
    else:
        rows = _csv_rows(data)
    return _bounded(rows, max_rows=max_rows, max_cell_chars=max_cell_chars)


def _bounded(rows: Iterator[list[Any]], *, max_rows: int, max_cell_chars: int) -> Iterator[list[Any]]:
    for number, row in enumerate(rows):
        if number > max_rows:
            raise SpreadsheetTooLarge(f"行数超过上限 {max_rows}，请分批导入")
        for value in row:
            if isinstance(value, str) and len(value) > max_cell_chars:
                raise SpreadsheetTooLarge(f"第 {number + 1} 行有单元格超过 {max_cell_chars} 个字符")
        yield row


def _check_archive(data: bytes, *, max_unpacked_bytes: int) -> None:
    """Refuses an XLSX whose parts are too many, or unpack (as declared or in fact) too large."""
    bomb = SpreadsheetTooLarge("Excel 文件解压后过大或结构异常（疑似压缩炸弹），已拒绝导入")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            parts = archive.infolist()
            if len(parts) > MAX_PARTS:
                raise bomb
            if sum(p.file_size for p in parts) > max_unpacked_bytes:
                raise bomb
            if any(p.file_size > MAX_RATIO * max(p.compress_size, 1024) for p in parts):
                raise bomb
            total = 0
            for part in parts:
                # The sizes above are what the archive claims; count what it really unpacks to.
                seen = 0
                with archive.open(part) as stream:
                    while chunk := stream.read(UNPACK_CHUNK):
                        seen += len(chunk)
                        total += len(chunk)
                        if seen > part.file_size or total > max_unpacked_bytes:
                            raise bomb
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, OSError, EOFError) as exc:
        raise PayloadError("无法读取 Excel 文件，请确认是 .xlsx 格式") from exc


def _is_xlsx(data: bytes, filename: str) -> bool:
    if filename.lower().endswith(".xls") or data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise PayloadError("不支持旧版 .xls 文件，请另存为 .xlsx 或 CSV 后导入")
    return data[:4] == b"PK\x03\x04" or filename.lower().endswith(".xlsx")


def _csv_rows(data: bytes) -> Iterator[list[Any]]:
    text = _decode(data)
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(text[:4096], delimiters=",\t;")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    return _guard(reader)


def _guard(rows: Iterable[list[Any]]) -> Iterator[list[Any]]:
    try:
        yield from rows
    except csv.Error as exc:
        raise PayloadError(f"CSV 格式错误：{exc}") from exc


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise PayloadError("无法识别文件编码（支持 UTF-8、GB18030/GBK）")


def _xlsx_rows(data: bytes) -> Iterator[list[Any]]:
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError, SyntaxError) as exc:
        raise PayloadError("无法读取 Excel 文件，请确认是 .xlsx 格式") from exc
    if not workbook.worksheets:
        raise PayloadError("Excel 文件中没有工作表")
    sheet = workbook.worksheets[0]
    try:
        for row in sheet.iter_rows(values_only=True):
            yield list(row)
    finally:
        workbook.close()
