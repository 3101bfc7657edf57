"""Inspection rounds: the bulletin (通报) of a week, quarter or half-year — on-time rate, messages not
answered in time, zombie and unregistered accounts, the worst units — stored, sent to the supervising
office's channels and exported as XLSX; and the sampling inspection (抽查): which messages and accounts
were checked, the findings, each tracked to rectification (整改) and closure."""

from __future__ import annotations

import io
import random
import re
from datetime import date, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.styles import Font
from sqlmodel import Session, col, select

from app import clock
from app.audit.service import record
from app.auth import SYSTEM, Principal
from app.errors import Conflict, Invalid, NotFound
from app.messages.models import Message
from app.registry import service as registry
from app.registry.zombie import list_checks
from app.spreadsheet import append_rows
from app.supervision import notices
from app.supervision.models import (
    FindingCreate,
    Inspection,
    InspectionKind,
    Rectification,
    RectificationSource,
    RectificationState,
    SamplingCreate,
)
from app.units import service as units
from app.users.models import Role

INSPECTING_ROLES = (Role.admin, Role.supervisor)
WORST_UNITS = 3
_KEY = re.compile(r"^(\d{4})-(W(\d{2})|Q([1-4])|H([12]))$")
PERIOD_NAMES = {"week": "周", "quarter": "季度", "half": "半年"}


def period_range(key: str) -> tuple[str, date, date, str]:
    """`2025-W12` / `2025-Q1` / `2025-H1` → (period, first day, last day, Chinese label)."""
    match = _KEY.match(key.strip())
    if match is None:
        raise Invalid("周期格式应为 2025-W12（周）、2025-Q1（季度）或 2025-H1（半年）")
    year = int(match.group(1))
    if not 2000 <= year <= 2100:
        raise Invalid("年份超出范围")
    if match.group(3):
        week = int(match.group(3))
        try:
            first = date.fromisocalendar(year, week, 1)
        except ValueError as exc:
            raise Invalid(f"{year}年没有第{week}周") from exc
        return "week", first, first + timedelta(days=6), f"{year}年第{week}周"
    if match.group(4):
        quarter = int(match.group(4))
        first = date(year, 3 * quarter - 2, 1)
        end = date(year + 1, 1, 1) if quarter == 4 else date(year, 3 * quarter + 1, 1)
        return "quarter", first, end - timedelta(days=1), f"{year}年第{quarter}季度"
    half = int(match.group(5))
    first = date(year, 1 if half == 1 else 7, 1)
    last = date(year, 6, 30) if half == 1 else date(year, 12, 31)
    return "half", first, last, f"{year}年{'上' if half == 1 else '下'}半年"


def bulletin(*, session: Session, actor: Principal, key: str, tz: ZoneInfo) -> tuple[Inspection, bool]:
    """The bulletin of the period `key`, made once (a second call returns the stored one) and sent to the
    supervising office's channels; returns it and whether it was new."""
    actor.require(*INSPECTING_ROLES)
    period, first, last, label = period_range(key)
    existing = session.exec(
        select(Inspection).where(Inspection.kind == InspectionKind.bulletin, Inspection.period_key == key)
    ).first()
    if existing is not None:
        return existing, False
    now = clock.now()
    summary = _figures(session, first, last, now=now, tz=tz)
    recipients = notices.supervising_units(session=session)
    item = Inspection(
        kind=InspectionKind.bulletin.value,
        period=period,
        period_key=key,
        date_from=first,
        date_to=last,
        title=f"政务新媒体留言办理情况通报（{label}）",
        summary=summary,
        sent_to=",".join(recipients) or None,
        created_by=actor.name,
        created_at=now,
    )
    session.add(item)
    session.flush()
    for unit_code in recipients:
        notices.queue(
            session=session,
            dedupe_key=f"bulletin:{item.id}:{unit_code}",
            kind="bulletin",
            unit_code=unit_code,
            target="supervisor",
            title=item.title,
            text=bulletin_text(item),
            now=now,
        )
    record(
        session=session,
        actor=actor,
        action="inspection.bulletin",
        entity_type="inspection",
        entity_id=item.id,
        after={"period_key": key, "on_time_rate": summary["on_time_rate"]},
        at=now,
    )
    session.commit()
    return item, True


class UnitFiguresFn(Protocol):
    def __call__(
        self, *, session: Session, date_from: date, date_to: date, now: datetime, tz: ZoneInfo
    ) -> dict[str, Any]: ...


_unit_figures: UnitFiguresFn | None = None


def install(unit_figures: UnitFiguresFn) -> None:
    """Sets where a bulletin's figures come from: the unit report's totals (received, answered_on_time,
    not_in_time, overdue_now, on_time_rate), its `units` rows and `notes`. The reports domain lends it at
    start-up (`app/wiring.py`): reports count supervision's extensions, so supervision does not import
    reports. Idempotent."""
    global _unit_figures
    _unit_figures = unit_figures


def _figures(session: Session, first: date, last: date, *, now: datetime, tz: ZoneInfo) -> dict[str, Any]:
    if _unit_figures is None:
        raise RuntimeError("bulletin figures not installed: call app.wiring.install() at start-up")
    report = _unit_figures(session=session, date_from=first, date_to=last, now=now, tz=tz)
    rows = report["units"]
    judged = [r for r in rows if r["on_time_rate"] is not None]
    worst = sorted(
        judged,
        key=lambda r: (float(r["on_time_rate"] or 0), -int(r["not_in_time"] or 0), str(r["unit_code"])),
    )[:WORST_UNITS]
    zombies = [
        {
            "account_id": c.account_id,
            "account_name": c.account_name,
            "unit_name": c.unit_name,
            "reasons": c.reasons,
        }
        for c in list_checks(session=session, principal=SYSTEM, zombies_only=True)
        if c.zombie
    ]
    unregistered = [
        {"account_id": u.account_id, "account_name": u.account_name, "unit_name": u.unit_name}
        for u in registry.unregistered(session=session, principal=SYSTEM)
    ]
    return {
        "received": report["received"],
        "answered_on_time": report["answered_on_time"],
        "not_in_time": report["not_in_time"],
        "overdue_now": report["overdue_now"],
        "on_time_rate": report["on_time_rate"],
        "units": rows,
        "worst_units": [r["unit_code"] for r in worst],
        "zombies": zombies,
        "unregistered": unregistered,
        "notes": report["notes"],
    }


def bulletin_text(item: Inspection) -> str:
    """The bulletin as the markdown notice the supervising office receives."""
    s = item.summary
    rate = "—" if s["on_time_rate"] is None else f"{s['on_time_rate']}%"
    names = {r["unit_code"]: r["unit_name"] for r in s["units"]}
    lines = [
        f"**{item.title}**",
        f"统计时间：{item.date_from} 至 {item.date_to}",
        f"收到留言 {s['received']} 条，按时答复 {s['answered_on_time']} 条，未按时答复 {s['not_in_time']} 条"
        f"（其中至今超期未答复 {s['overdue_now']} 条），按时答复率 {rate}。",
        f"僵尸账号 {len(s['zombies'])} 个：" + ("、".join(z["account_name"] for z in s["zombies"]) or "无"),
        f"未备案账号 {len(s['unregistered'])} 个："
        + ("、".join(u["account_name"] for u in s["unregistered"]) or "无"),
        "按时答复率较低的单位：" + ("、".join(str(names.get(c, c)) for c in s["worst_units"]) or "无"),
    ]
    return "\n".join(lines)


def _worst(row: dict[str, Any], summary: dict[str, Any]) -> str:
    return "是" if row["unit_code"] in summary["worst_units"] else ""


def bulletin_xlsx(item: Inspection) -> bytes:
    """The bulletin as a workbook: 通报 (the text), 各单位 (figures per unit), 僵尸账号, 未备案账号."""
    s = item.summary
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "通报"
    append_rows(sheet, ([line] for line in bulletin_text(item).replace("**", "").split("\n")))
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.column_dimensions["A"].width = 100
    per_unit = book.create_sheet("各单位")
    header = [
        "单位代码",
        "单位名称",
        "答复时限（工作日）",
        "收到留言",
        "按时答复",
        "未按时答复",
        "超期未答复",
    ]
    header += ["未答复即关闭", "批准延期", "按时答复率（%）", "排名靠后"]
    figures = ["reply_working_days", "received", "answered_on_time", "not_in_time", "overdue_now"]
    figures += ["closed_without_reply", "extensions", "on_time_rate"]
    append_rows(
        per_unit,
        [
            header,
            *([r["unit_code"], r["unit_name"], *(r[k] for k in figures), _worst(r, s)] for r in s["units"]),
        ],
    )
    for cell in per_unit[1]:
        cell.font = Font(bold=True)
    zombies = book.create_sheet("僵尸账号")
    append_rows(
        zombies,
        [
            ["账号ID", "账号名称", "主办单位", "情况"],
            *(
                [z["account_id"], z["account_name"], z["unit_name"], "；".join(z["reasons"])]
                for z in s["zombies"]
            ),
        ],
    )
    unregistered = book.create_sheet("未备案账号")
    append_rows(
        unregistered,
        [
            ["账号ID", "账号名称", "主办单位"],
            *([u["account_id"], u["account_name"], u["unit_name"]] for u in s["unregistered"]),
        ],
    )
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def sampling(*, session: Session, actor: Principal, data: SamplingCreate, tz: ZoneInfo) -> Inspection:
    """Draws the messages received in the period and the active accounts to check (a seeded random
    sample, so the draw can be repeated) and records them."""
    actor.require(*INSPECTING_ROLES)
    period, first, last, label = period_range(data.period_key)
    now = clock.now()
    start = datetime.combine(first, datetime.min.time(), tzinfo=tz)
    end = datetime.combine(last + timedelta(days=1), datetime.min.time(), tzinfo=tz)
    message_ids = sorted(
        i
        for i in session.exec(
            select(Message.id).where(col(Message.received_at) >= start, col(Message.received_at) < end)
        )
        if i is not None
    )
    account_ids = sorted(
        c.account_id for c in list_checks(session=session, principal=SYSTEM, zombies_only=False)
    )
    draw = random.Random(data.seed if data.seed is not None else int(now.timestamp()))
    sampled = {
        "seed": data.seed,
        "message_ids": sorted(draw.sample(message_ids, min(data.messages, len(message_ids)))),
        "account_ids": sorted(draw.sample(account_ids, min(data.accounts, len(account_ids)))),
    }
    item = Inspection(
        kind=InspectionKind.sampling.value,
        period=period,
        period_key=data.period_key,
        date_from=first,
        date_to=last,
        title=f"政务新媒体抽查（{label}）",
        sampled=sampled,
        created_by=actor.name,
        created_at=now,
    )
    session.add(item)
    session.flush()
    record(
        session=session,
        actor=actor,
        action="inspection.sampling",
        entity_type="inspection",
        entity_id=item.id,
        after={"period_key": data.period_key, **sampled},
        at=now,
    )
    session.commit()
    return item


def record_finding(
    *, session: Session, actor: Principal, inspection_id: int, data: FindingCreate, tz: ZoneInfo
) -> Rectification:
    """A finding of a sampling inspection: a rectification record for the unit, which is notified."""
    actor.require(*INSPECTING_ROLES)
    item = get(session=session, inspection_id=inspection_id)
    if item.kind != InspectionKind.sampling:
        raise Conflict("只有抽查可以登记发现的问题")
    unit_code = data.unit_code
    if data.message_id is not None:
        if data.message_id not in item.sampled.get("message_ids", []):
            raise Invalid(f"留言 {data.message_id} 不在本次抽查范围内")
        message = session.get(Message, data.message_id)
        assert message is not None
        unit_code = unit_code or message.unit_code
    if data.account_id is not None and data.account_id not in item.sampled.get("account_ids", []):
        raise Invalid(f"账号 {data.account_id} 不在本次抽查范围内")
    if not unit_code:
        raise Invalid("请指明整改单位 unit_code")
    units.require(session=session, code=unit_code)
    now = clock.now()
    finding = Rectification(
        source=RectificationSource.inspection.value,
        unit_code=unit_code,
        account_id=data.account_id,
        message_id=data.message_id,
        inspection_id=inspection_id,
        finding=data.finding.strip(),
        state=RectificationState.notified.value,
        due_on=data.due_on or now.astimezone(tz).date() + timedelta(days=data.days),
        opened_at=now,
        created_by=actor.name,
    )
    if finding.due_on is not None and finding.due_on < now.astimezone(tz).date():
        raise Invalid("整改期限不能早于今天")
    session.add(finding)
    session.flush()
    notices.queue(
        session=session,
        dedupe_key=f"finding:{finding.id}",
        kind="finding_notice",
        unit_code=unit_code,
        title=f"抽查发现问题整改通知（{item.title}）",
        text=f"{finding.finding}\n请于{finding.due_on}前整改并报告整改情况。",
        now=now,
        urgent=True,
    )
    record(
        session=session,
        actor=actor,
        action="inspection.finding",
        entity_type="rectification",
        entity_id=finding.id,
        unit_code=unit_code,
        after={"inspection_id": inspection_id, "message_id": data.message_id, "account_id": data.account_id},
        note=finding.finding,
        at=now,
    )
    session.commit()
    return finding


def get(*, session: Session, inspection_id: int) -> Inspection:
    item = session.get(Inspection, inspection_id)
    if item is None:
        raise NotFound(f"检查记录 {inspection_id} 不存在")
    return item


def get_bulletin(*, session: Session, inspection_id: int) -> Inspection:
    """The bulletin with that id (any role: 通报 go to every unit); 404 for anything else."""
    item = session.get(Inspection, inspection_id)
    if item is None or item.kind != InspectionKind.bulletin:
        raise NotFound(f"通报 {inspection_id} 不存在")
    return item


def list_inspections(*, session: Session, principal: Principal, kind: str | None = None) -> list[Inspection]:
    """Bulletins and samplings, newest first; unit roles see the bulletins only (通报 go to every unit)."""
    query = select(Inspection).order_by(col(Inspection.id).desc())
    if principal.role not in (Role.admin, Role.supervisor, Role.auditor):
        query = query.where(Inspection.kind == InspectionKind.bulletin)
    if kind is not None:
        query = query.where(Inspection.kind == kind)
    return list(session.exec(query))
