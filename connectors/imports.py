"""Imports of exported messages (12345 hotline, legacy message boards) from CSV or XLSX files (read by
the one spreadsheet reader, `connectors/spreadsheet.py`).

`parse_export` maps columns (Chinese headers recognised by default), validates each row, and returns
the messages with the rows it rejected and why, so one bad row never sinks a whole file.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, tzinfo
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from connectors.base import EARLIEST, InboundItem, Kind, PayloadError
from connectors.spreadsheet import MAX_ROWS, read_spreadsheet

# field -> header names recognised without a mapping (compared after normalising case and spaces)
DEFAULT_COLUMNS: dict[str, tuple[str, ...]] = {
    "external_id": ("编号", "留言编号", "工单编号", "id"),
    "subject": ("留言主题", "主题", "标题", "subject"),
    "content": ("留言详情", "留言内容", "诉求内容", "内容", "content"),
    "posted_at": ("留言时间", "来电时间", "受理时间", "posted_at"),
    "author": ("留言用户", "用户", "来电人", "user"),
    "reply": ("答复意见", "答复内容", "回复内容", "reply"),
    "replied_at": ("答复时间", "回复时间", "replied_at"),
}
MAX_CONTENT_CHARS = 20_000
MAX_ID_CHARS = 128

_TIME = re.compile(
    r"^\s*(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
    r"(?:[\sT]+(\d{1,2})\s*[:：时]\s*(\d{1,2})(?:\s*[:：分]\s*(\d{1,2})(?:\.\d+)?)?\s*秒?)?\s*$"
)


@dataclass(frozen=True)
class ImportedMessage:
    row_number: int  # as a spreadsheet shows it: the header is row 1
    item: InboundItem
    subject: str
    reply: str | None = None  # an answer already given in the source system
    replied_at: datetime | None = None


@dataclass(frozen=True)
class RejectedRow:
    row_number: int
    reason: str  # Chinese, for the report shown to the operator
    values: dict[str, str] = field(default_factory=dict)


class ImportResult(NamedTuple):
    items: list[ImportedMessage]
    rejected: list[RejectedRow]


def parse_export(
    data: bytes,
    *,
    filename: str,
    now: datetime,
    tz: str | tzinfo = "Asia/Shanghai",
    mapping: Mapping[str, str] | None = None,
    kind: Kind = "comment",
    max_rows: int = MAX_ROWS,
) -> ImportResult:
    """Parse a CSV (UTF-8, UTF-8 with BOM, or GB18030) or XLSX export into messages and rejected rows.

    `mapping` overrides the default columns: `{"content": "诉求描述", "posted_at": "登记时间"}`.
    Times without a zone are read in `tz`. Without an id column, an id is derived from the row's
    time, author and text so that importing the same file twice stays idempotent.
    Raises PayloadError when the file as a whole cannot be read (format, encoding, missing columns).
    """
    zone = _zone(tz)
    rows = read_spreadsheet(data, filename=filename, max_rows=max_rows)
    header = next(rows, None)
    if header is None:
        raise PayloadError("文件为空")
    columns = _resolve_columns([_cell_text(h) for h in header], mapping or {})
    items: list[ImportedMessage] = []
    rejected: list[RejectedRow] = []
    seen: dict[str, int] = {}
    for number, row in enumerate(rows, start=2):
        values = {name: _cell_text(row[i]) if i < len(row) else "" for name, i in columns.items()}
        if not any(v.strip() for v in values.values()):
            continue  # blank line
        raw = {_cell_text(h): _cell_text(row[i]) if i < len(row) else "" for i, h in enumerate(header) if h}
        try:
            message = _message(number, values, raw, row, columns, zone=zone, now=now, kind=kind)
        except _RowError as exc:
            rejected.append(RejectedRow(number, exc.reason, raw))
            continue
        first = seen.get(message.item.external_id)
        if first is not None:
            rejected.append(RejectedRow(number, f"编号重复（与第 {first} 行相同）", raw))
            continue
        seen[message.item.external_id] = number
        items.append(message)
    return ImportResult(items, rejected)


def parse_time(value: Any, *, tz: tzinfo) -> datetime:
    """`2020/1/6 12:09:38`, `2019-04-25 09:32:09`, `2019年4月25日 9:32`, or an Excel date, as UTC.

    Naive values are local time in `tz`. Raises ValueError.
    """
    if isinstance(value, datetime):
        local = value if value.tzinfo else value.replace(tzinfo=tz)
        return local.astimezone(UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=tz).astimezone(UTC)
    match = _TIME.match(str(value or ""))
    if not match:
        raise ValueError(value)
    year, month, day, hour, minute, second = (int(g) if g else 0 for g in match.groups())
    return datetime(year, month, day, hour, minute, second, tzinfo=tz).astimezone(UTC)


# --- rows -------------------------------------------------------------------------------------------


class _RowError(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _message(
    number: int,
    values: Mapping[str, str],
    raw: dict[str, str],
    row: Sequence[Any],
    columns: Mapping[str, int],
    *,
    zone: tzinfo,
    now: datetime,
    kind: Kind,
) -> ImportedMessage:
    subject = values.get("subject", "").strip()
    detail = values.get("content", "").strip()
    if not detail and not subject:
        raise _RowError("留言内容为空")
    content = detail if not subject or detail.startswith(subject) else f"{subject}\n{detail}"
    if len(content) > MAX_CONTENT_CHARS:
        raise _RowError(f"留言内容超过 {MAX_CONTENT_CHARS} 字")
    posted_at = _time_of(row, columns, "posted_at", values, zone=zone, label="留言时间")
    if posted_at is None:
        raise _RowError("缺少留言时间")
    if posted_at > now:
        raise _RowError(f"留言时间晚于当前时间：{values['posted_at']}")
    if posted_at < EARLIEST:
        raise _RowError(f"留言时间早于 2000 年：{values['posted_at']}")
    replied_at = _time_of(row, columns, "replied_at", values, zone=zone, label="答复时间")
    if replied_at is not None and replied_at < posted_at:
        raise _RowError("答复时间早于留言时间")
    if replied_at is not None and replied_at > now:
        raise _RowError(f"答复时间晚于当前时间：{values.get('replied_at', '')}")
    author = values.get("author", "").strip()
    if "external_id" in columns:
        external_id = values["external_id"].strip()
        if not external_id:
            raise _RowError("缺少编号")
        if len(external_id) > MAX_ID_CHARS:
            raise _RowError(f"编号超过 {MAX_ID_CHARS} 个字符")
    else:
        key = "\x1f".join((posted_at.isoformat(), author, content))
        external_id = "row-" + hashlib.sha256(key.encode()).hexdigest()[:20]
    reply = values.get("reply", "").strip() or None
    item = InboundItem(
        external_id=external_id,
        kind=kind,
        author_id=author,
        author_name=author,
        content=content,
        received_at=posted_at,
        thread_ref={"external_id": external_id},
        raw=raw,
    )
    return ImportedMessage(number, item, subject, reply, replied_at)


def _time_of(
    row: Sequence[Any],
    columns: Mapping[str, int],
    name: str,
    values: Mapping[str, str],
    *,
    zone: tzinfo,
    label: str,
) -> datetime | None:
    """The cell's time, None when empty; an unreadable one rejects the row."""
    index = columns.get(name)
    cell = row[index] if index is not None and index < len(row) else None
    if cell is None or (isinstance(cell, str) and not cell.strip()):
        return None
    try:
        return parse_time(cell, tz=zone)
    except ValueError as exc:
        raise _RowError(f"{label}无法识别：{values.get(name, '')}") from exc


def _resolve_columns(header: list[str], mapping: Mapping[str, str]) -> dict[str, int]:
    unknown = set(mapping) - set(DEFAULT_COLUMNS)
    if unknown:
        raise PayloadError(f"未知的字段映射：{'、'.join(sorted(unknown))}")
    positions = {_normalise(h): i for i, h in reversed(list(enumerate(header))) if h}
    columns: dict[str, int] = {}
    for name, candidates in DEFAULT_COLUMNS.items():
        if name in mapping:
            wanted = _normalise(mapping[name])
            if wanted not in positions:
                raise PayloadError(f"文件中没有列“{mapping[name]}”")
            columns[name] = positions[wanted]
            continue
        for candidate in candidates:
            if _normalise(candidate) in positions:
                columns[name] = positions[_normalise(candidate)]
                break
    if "content" not in columns and "subject" not in columns:
        raise PayloadError("找不到留言内容列（如“留言详情”“content”），请指定列映射")
    if "posted_at" not in columns:
        raise PayloadError("找不到留言时间列（如“留言时间”“posted_at”），请指定列映射")
    return columns


def _normalise(header: str) -> str:
    return re.sub(r"[\s\u3000\ufeff]+", "", header).lower()


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # Excel stores ids as floats
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    return str(value)


def _zone(tz: str | tzinfo) -> tzinfo:
    if not isinstance(tz, str):
        return tz
    try:
        return ZoneInfo(tz)
    except ZoneInfoNotFoundError as exc:
        raise PayloadError(f"未知时区：{tz}") from exc
