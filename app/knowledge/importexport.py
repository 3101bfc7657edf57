"""The knowledge base as a file: import CSV or XLSX with Chinese or English headers (rows checked one by
one, rejected rows reported; the same (unit, question) updates its entry, with a new version only if the
content changed) and export to CSV or XLSX in the same layout, so that an export imports back unchanged."""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.styles import Font
from sqlmodel import Session, col, select

from app import clock, spreadsheet
from app.accounts.models import Platform
from app.audit.service import record
from app.auth import Principal
from app.config import get_settings
from app.errors import BadRequest, Forbidden, HuiyingError, uploaded_file
from app.knowledge import service
from app.knowledge.models import (
    LIST_SEPARATOR,
    STATUS_LABELS,
    EntryFields,
    EntryStatus,
    ImportReport,
    KnowledgeEntry,
    RejectedRow,
)
from app.units.models import Unit
from app.users.models import Role
from connectors.spreadsheet import read_spreadsheet

MAX_ROWS = 50_000
MAX_REJECTED_SHOWN = 500
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# field → accepted headers (compared without spaces, case-insensitive)
COLUMNS: dict[str, tuple[str, ...]] = {
    "question": ("问题", "标准问题", "标准问", "question"),
    "answer": ("答案", "答复", "标准答案", "答复口径", "answer"),
    "alt_questions": ("相似问法", "相似问题", "其他问法", "扩展问", "alt_questions", "alternative_questions"),
    "unit_code": ("单位", "单位代码", "所属单位", "unit", "unit_code"),
    "tags": ("标签", "tags", "tag"),
    "channels": ("渠道", "适用渠道", "channels", "channel"),
    "status": ("状态", "status"),
    "valid_from": ("生效时间", "生效日期", "valid_from"),
    "valid_to": ("失效时间", "失效日期", "截止时间", "截止日期", "valid_to"),
}
# Exported for reference, ignored on import (entries are matched on unit and question).
INFORMATIONAL = ("编号", "id", "版本", "version")
EXPORT_COLUMNS = (
    ("id", "编号"),
    ("unit_code", "单位"),
    ("question", "问题"),
    ("answer", "答案"),
    ("alt_questions", "相似问法"),
    ("tags", "标签"),
    ("channels", "渠道"),
    ("status", "状态"),
    ("valid_from", "生效时间"),
    ("valid_to", "失效时间"),
    ("version", "版本"),
)

_ALT_SPLIT = re.compile(r"[|｜\r\n]+")
_LIST_SPLIT = re.compile(r"[|｜,，、;；\r\n]+")
_STATUS_WORDS = {
    "published": EntryStatus.published,
    "已发布": EntryStatus.published,
    "发布": EntryStatus.published,
    "draft": EntryStatus.draft,
    "草稿": EntryStatus.draft,
    "archived": EntryStatus.archived,
    "已归档": EntryStatus.archived,
    "归档": EntryStatus.archived,
}
_CHANNEL_WORDS = {
    "wechat": Platform.wechat,
    "微信": Platform.wechat,
    "微信公众号": Platform.wechat,
    "weibo": Platform.weibo,
    "微博": Platform.weibo,
    "douyin": Platform.douyin,
    "抖音": Platform.douyin,
    "generic": Platform.generic,
    "网站": Platform.generic,
    "app": Platform.generic,
    "留言板": Platform.generic,
    "12345": Platform.generic,
    "热线": Platform.generic,
}
_TIME_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y年%m月%d日 %H:%M",
)
_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y年%m月%d日", "%Y.%m.%d")
_END_OF_DAY = time(23, 59, 59, 999999)


class RowError(ValueError):
    """A reason to reject one row (Chinese)."""


def _header_key(value: str) -> str:
    return re.sub(r"[\s\u3000\ufeff]+", "", value).lower()


_HEADER_FIELDS = {_header_key(h): name for name, headers in COLUMNS.items() for h in headers}


# --- reading files -------------------------------------------------------------------------------------------


def read_rows(data: bytes, filename: str) -> list[list[Any]]:
    """The rows (header first) of a CSV or XLSX file, through the one spreadsheet reader (its limits)."""
    with uploaded_file():
        return list(read_spreadsheet(data, filename=filename, max_rows=MAX_ROWS))


# --- cells ---------------------------------------------------------------------------------------------------------


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    return str(spreadsheet.restore(str(value).strip())).strip()


def _split(value: str, pattern: re.Pattern[str]) -> list[str]:
    return [part.strip() for part in pattern.split(value) if part.strip()]


def _status(value: str) -> EntryStatus | None:
    if not value:
        return None
    found = _STATUS_WORDS.get(value.strip().lower())
    if found is None:
        raise RowError(f"状态“{value}”无法识别（可填：已发布、草稿、已归档）")
    return found


def _channels(value: str) -> list[Platform]:
    out: list[Platform] = []
    for word in _split(value, _LIST_SPLIT):
        found = _CHANNEL_WORDS.get(word.lower())
        if found is None:
            raise RowError(f"渠道“{word}”无法识别（可填：微信、微博、抖音、网站/App/12345）")
        out.append(found)
    return out


def _moment(value: Any, tz: ZoneInfo, *, end_of_day: bool, what: str) -> datetime | None:
    """A cell as a time: full times as written (local time if no offset); a bare date is the start
    (valid_from) or the last instant (valid_to) of that local day."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None and value.time() == time(0) and end_of_day:
            return datetime.combine(value.date(), _END_OF_DAY, tz)
        return value if value.tzinfo else value.replace(tzinfo=tz)
    text = str(value).strip()
    for fmt in _DATE_FORMATS:
        try:
            day = datetime.strptime(text, fmt).date()
        except ValueError:
            continue
        return datetime.combine(day, _END_OF_DAY if end_of_day else time(0), tz)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        parsed = None
        for fmt in _TIME_FORMATS:
            try:
                parsed = datetime.strptime(text, fmt)
                break
            except ValueError:
                continue
    if parsed is None:
        raise RowError(f"{what}“{text}”无法识别（例如 2026-01-01 或 2026-01-01 08:00）")
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)


def _show_moment(value: datetime | None, tz: ZoneInfo, *, end_of_day: bool) -> str:
    if value is None:
        return ""
    local = value.astimezone(tz)
    if local.time() == (_END_OF_DAY if end_of_day else time(0)):
        return local.date().isoformat()
    spec = "seconds" if local.microsecond == 0 else "microseconds"
    return local.isoformat(sep=" ", timespec=spec)


# --- import ----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Row:
    number: int
    fields: EntryFields
    status: EntryStatus | None


def _columns(header: Sequence[Any]) -> tuple[dict[str, int], list[str]]:
    at: dict[str, int] = {}
    ignored: list[str] = []
    for i, cell in enumerate(header):
        label = _text(cell)
        name = _HEADER_FIELDS.get(_header_key(label))
        if name is not None and name not in at:
            at[name] = i
        elif label and _header_key(label) not in INFORMATIONAL:
            ignored.append(label)
    missing = [COLUMNS[n][0] for n in ("question", "answer") if n not in at]
    if missing:
        raise BadRequest(
            f"文件缺少列：{'、'.join(missing)}（可用表头：问题/question、答案/answer、相似问法/alt_questions、"
            "单位/unit_code、标签/tags、渠道/channels、状态/status、生效时间/valid_from、失效时间/valid_to）"
        )
    return at, ignored


def _parse_row(
    cells: list[Any], at: dict[str, int], units: dict[str, str], tz: ZoneInfo, number: int
) -> _Row:
    def cell(name: str) -> Any:
        i = at.get(name)
        return cells[i] if i is not None and i < len(cells) else None

    unit_text = _text(cell("unit_code"))
    unit_code = None
    if unit_text:
        unit_code = units.get(unit_text) or units.get(unit_text.lower())
        if unit_code is None:
            raise RowError(f"单位“{unit_text}”不存在（填单位代码或名称；留空表示全县共用）")
    values = {
        "question": _text(cell("question")),
        "answer": _text(cell("answer")),
        "unit_code": unit_code,
        "alt_questions": _split(_text(cell("alt_questions")), _ALT_SPLIT),
        "tags": _split(_text(cell("tags")), _LIST_SPLIT),
        "channels": _channels(_text(cell("channels"))),
        "valid_from": _moment(cell("valid_from"), tz, end_of_day=False, what="生效时间"),
        "valid_to": _moment(cell("valid_to"), tz, end_of_day=True, what="失效时间"),
    }
    if not values["question"]:
        raise RowError("问题为空")
    if not values["answer"]:
        raise RowError("答案为空")
    try:
        fields = service.validated(values)
    except HuiyingError as exc:
        raise RowError(exc.message) from None
    return _Row(number, fields, _status(_text(cell("status"))))


def _unit_lookup(session: Session) -> dict[str, str]:
    """Unit code or name → code (codes win over names)."""
    found: dict[str, str] = {}
    rows = session.exec(select(Unit.code, Unit.name)).all()
    for code, name in rows:
        found.setdefault(name, code)
    for code, _ in rows:
        found[code] = code
        found.setdefault(code.lower(), code)
    return found


def _existing(session: Session, keys: set[tuple[str, str]]) -> dict[tuple[str, str], KnowledgeEntry]:
    found: dict[tuple[str, str], KnowledgeEntry] = {}
    questions = sorted({q for _, q in keys})
    for start in range(0, len(questions), 500):
        chunk = questions[start : start + 500]
        for entry in session.exec(select(KnowledgeEntry).where(col(KnowledgeEntry.question_key).in_(chunk))):
            key = (entry.scope_key, entry.question_key)
            if key in keys:
                found[key] = entry
    return found


def import_entries(
    *,
    session: Session,
    actor: Principal,
    data: bytes,
    filename: str,
    default_status: EntryStatus = EntryStatus.published,
    now: datetime | None = None,
) -> ImportReport:
    """Imports a CSV/XLSX file (rows numbered as in a spreadsheet, the header being row 1). A row whose unit
    and question match an entry updates it; rows a leader may not maintain are rejected, not fatal."""
    if actor.role not in (Role.admin, Role.leader):
        raise Forbidden("只有管理员和单位领导可以导入问答库")
    rows = iter(read_rows(data, filename))
    header = next(rows, None)
    if header is None:
        raise BadRequest("文件为空")
    at, ignored = _columns(header)
    tz = get_settings().tz
    units = _unit_lookup(session)
    parsed: list[_Row] = []
    rejected: list[RejectedRow] = []
    first_row: dict[tuple[str, str], int] = {}
    total = 0
    for number, cells in enumerate(rows, start=2):
        if not any(_text(c) for c in cells):
            continue
        total += 1
        if total > MAX_ROWS:
            raise BadRequest(f"一次最多导入 {MAX_ROWS} 行")
        try:
            row = _parse_row(cells, at, units, tz, number)
            try:
                service.require_write(actor, row.fields.unit_code, "")
            except HuiyingError:
                raise RowError(f"无权维护单位“{row.fields.unit_code or '全县共用'}”的条目") from None
            key = (service.scope_key(row.fields.unit_code), service.question_key(row.fields.question))
            if key in first_row:
                raise RowError(f"与第 {first_row[key]} 行是同一单位的同一问题")
            first_row[key] = number
            parsed.append(row)
        except RowError as exc:
            rejected.append(RejectedRow(row=number, reason=str(exc)))
    existing = _existing(session, set(first_row))
    moment = now or clock.now()
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    for row in parsed:
        key = (service.scope_key(row.fields.unit_code), service.question_key(row.fields.question))
        entry = existing.get(key)
        status = row.status or (default_status if entry is None else None)
        _, outcome = service.save(
            session=session,
            actor=actor,
            entry=entry,
            fields=row.fields,
            status=status,
            note=f"导入 {filename[:100]} 第 {row.number} 行",
            now=moment,
        )
        counts[outcome] += 1
    report = ImportReport(
        total=total, **counts, rejected=rejected[:MAX_REJECTED_SHOWN], ignored_columns=ignored
    )
    if counts["created"] or counts["updated"]:
        record(
            session=session,
            actor=actor,
            action="kb.import",
            entity_type="kb_import",
            entity_id=filename[:64],
            after={**counts, "total": total, "rejected": len(rejected)},
            at=moment,
        )
        service.commit(session=session, now=moment)
    else:
        session.rollback()
    return report


# --- export ------------------------------------------------------------------------------------------------------------


def export_table(entries: Sequence[KnowledgeEntry], tz: ZoneInfo) -> list[list[Any]]:
    """Header (Chinese) and one row per entry, in the layout `import_entries` reads."""
    out: list[list[Any]] = [[label for _, label in EXPORT_COLUMNS]]
    for e in entries:
        out.append(
            [
                e.id,
                e.unit_code or "",
                e.question,
                e.answer,
                LIST_SEPARATOR.join(e.alt_questions or []),
                LIST_SEPARATOR.join(e.tags or []),
                LIST_SEPARATOR.join(e.channels or []),
                STATUS_LABELS[EntryStatus(e.status)],
                _show_moment(e.valid_from, tz, end_of_day=False),
                _show_moment(e.valid_to, tz, end_of_day=True),
                e.version,
            ]
        )
    return out


def to_csv(table: list[list[Any]]) -> bytes:
    return spreadsheet.csv_bytes(table)


def to_xlsx(table: list[list[Any]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "问答库"
    spreadsheet.append_rows(sheet, table)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for letter, width in zip("ABCDEFGHIJK", (8, 10, 40, 60, 40, 16, 16, 8, 12, 12, 6), strict=True):
        sheet.column_dimensions[letter].width = width
    sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def export_entries(
    *, session: Session, principal: Principal, fmt: str, **filters: Any
) -> tuple[bytes, str, str]:
    """(file content, media type, file name) of the entries the principal may read that pass `filters`."""
    query = service.entries_query(principal=principal, **filters).order_by(col(KnowledgeEntry.id))
    table = export_table(list(session.exec(query)), get_settings().tz)
    stamp = (clock.now().astimezone(get_settings().tz)).strftime("%Y%m%d")
    if fmt == "xlsx":
        return to_xlsx(table), XLSX_TYPE, f"问答库_{stamp}.xlsx"
    return to_csv(table), "text/csv; charset=utf-8", f"问答库_{stamp}.csv"
