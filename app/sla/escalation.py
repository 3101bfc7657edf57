"""The escalation settings (stored in one row, defaults otherwise) and the times they imply for a message:
when it turns due_soon and overdue, when each ladder step fires, when the WeChat window alert goes."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from app import clock
from app.audit.service import record
from app.auth import Principal
from app.calendar.service import load_calendar
from app.calendar.workdays import WorkCalendar, deadline, due_soon_at
from app.config import get_settings
from app.errors import Invalid
from app.messages.models import OPEN_STATUSES, Message, MessageKind, SlaState
from app.notifications.delivery import DeliveryRules
from app.sla.models import LadderStep, SlaConfig, SlaSettings
from app.units.models import Unit
from app.users.models import Role

CONFIG_ID = 1
# DESIGN: due at 23:59:59; a message is overdue from the next second (00:00 of the next day).
OVERDUE_AFTER = timedelta(seconds=1)
# WeChat customer-service messages are refused 48 hours after the citizen's last message (errcode 45015).
# How long after the citizen's last private message the platform still takes a private reply:
# WeChat customer-service messages 48 h (else 45015), Douyin private replies 24 h, Weibo fans-service
# replies 48 h. Past it the reply must go another way (public reply, manual delivery).
REPLY_WINDOWS: dict[str, timedelta] = {
    "wechat": timedelta(hours=48),
    "douyin": timedelta(hours=24),
    "weibo": timedelta(hours=48),
}
WINDOW_NAMES = {"wechat": "微信客服消息", "douyin": "抖音私信", "weibo": "微博粉丝服务私信"}
_SESSION_KEY = "sla.settings"


def load_settings(*, session: Session) -> SlaSettings:
    """The escalation settings in force (read once per session)."""
    cached: SlaSettings | None = session.info.get(_SESSION_KEY)
    if cached is not None:
        return cached
    row = session.get(SlaConfig, CONFIG_ID)
    settings = SlaSettings.model_validate(row.data) if row is not None else SlaSettings()
    session.info[_SESSION_KEY] = settings
    return settings


def delivery_rules(*, session: Session) -> DeliveryRules:
    """What the notification sender needs of the settings: attempts, the working hours routine notices
    wait for, and whether a message is settled (`message_settled`)."""
    settings = load_settings(session=session)
    return DeliveryRules(
        max_attempts=settings.max_attempts,
        work_start=settings.work_start,
        work_end=settings.work_end,
        settled=message_settled,
    )


def message_settled(session: Session, message_id: int) -> bool:
    """Whether a message needs no more deadline notices: gone, answered, or no longer open."""
    message = session.get(Message, message_id)
    return message is None or message.first_replied_at is not None or message.status not in OPEN_STATUSES


def update_settings(*, session: Session, actor: Principal, data: SlaSettings) -> tuple[SlaSettings, int]:
    """Stores new settings (admin only) and makes every open message be checked again under them;
    returns (settings, number of open messages rescheduled)."""
    actor.require(Role.admin)
    if (
        data.sensitive_unit_code is not None
        and session.exec(select(Unit.id).where(Unit.code == data.sensitive_unit_code)).first() is None
    ):
        raise Invalid(f"单位 {data.sensitive_unit_code} 不存在")
    now = clock.now()
    before = load_settings(session=session)
    row = session.get(SlaConfig, CONFIG_ID)
    payload: dict[str, Any] = data.model_dump(mode="json")
    if row is None:
        row = SlaConfig(id=CONFIG_ID, data=payload, updated_by=actor.name, updated_at=now)
    else:
        row.data, row.updated_by, row.updated_at = payload, actor.name, now
    session.add(row)
    session.info[_SESSION_KEY] = data
    rescheduled = _reschedule_open(session, before, data, now)
    record(
        session=session,
        actor=actor,
        action="sla.settings_update",
        entity_type="sla_settings",
        entity_id=CONFIG_ID,
        before=before.model_dump(mode="json"),
        after=payload,
        note=f"重新检查 {rescheduled} 条未办结留言",
        at=now,
    )
    session.commit()
    return data, rescheduled


def _reschedule_open(session: Session, before: SlaSettings, after: SlaSettings, now: datetime) -> int:
    """A changed due-soon rule moves `due_soon_at`; a changed ladder may add steps to fire.
    Either way the sweep looks at every open message once more."""
    open_filter = (
        col(Message.status).in_(list(OPEN_STATUSES)),
        col(Message.first_replied_at).is_(None),
        col(Message.due_at).is_not(None),
    )
    policy_fields = ("due_soon_policy", "due_soon_hours", "due_soon_working_days")
    if any(getattr(before, f) != getattr(after, f) for f in policy_fields):
        calendar, tz = load_calendar(session=session), get_settings().tz
        last_id, count = 0, 0
        while True:
            page = list(
                session.exec(
                    select(Message)
                    .where(*open_filter, col(Message.id) > last_id)
                    .order_by(col(Message.id))
                    .limit(500)
                )
            )
            if not page:
                return count
            for message in page:
                assert message.due_at is not None and message.id is not None
                message.due_soon_at = due_soon_time(message.due_at, settings=after, calendar=calendar, tz=tz)
                message.next_check_at = now
                session.add(message)
                last_id = message.id
            count += len(page)
            session.flush()
            for message in page:
                session.expunge(message)
    result = session.execute(update(Message).where(*open_filter).values(next_check_at=now))
    return int(getattr(result, "rowcount", 0) or 0)


def due_soon_time(due_at: datetime, *, settings: SlaSettings, calendar: WorkCalendar, tz: Any) -> datetime:
    return due_soon_at(
        due_at,
        calendar=calendar,
        tz=tz,
        policy=settings.due_soon_policy,
        hours=settings.due_soon_hours,
        working_days=settings.due_soon_working_days,
    )


def state_at(now: datetime, *, due_at: datetime, due_soon: datetime) -> SlaState:
    """on_track before `due_soon`, due_soon until `due_at` (inclusive), overdue after."""
    if now > due_at:
        return SlaState.overdue
    if now >= due_soon:
        return SlaState.due_soon
    return SlaState.on_track


def step_time(
    step: LadderStep, *, due_at: datetime, due_soon: datetime, calendar: WorkCalendar, tz: Any
) -> datetime:
    """When `step` fires. With `after_working_days` = N > 0: when the N-th working day after the
    day of the trigger has ended without a reply (e.g. breach on Monday, N = 1: Tuesday 24:00)."""
    anchor = due_soon if step.at == "due_soon" else due_at
    if step.after_working_days == 0:
        return anchor if step.at == "due_soon" else due_at + OVERDUE_AFTER
    return (
        deadline(anchor, working_days=step.after_working_days, calendar=calendar, tz=tz).due_at
        + OVERDUE_AFTER
    )


def reply_window(*, kind: str, platform: str) -> timedelta | None:
    """The platform's reply window for this kind of message, None when there is none."""
    return REPLY_WINDOWS.get(platform) if kind == MessageKind.private else None


def window_text(platform: str) -> str:
    """ "微信客服消息只能在用户最后一条消息后48小时内回复" for the platform."""
    hours = int(REPLY_WINDOWS[platform].total_seconds() // 3600)
    return f"{WINDOW_NAMES[platform]}只能在用户最后一条消息后{hours}小时内回复"


def window_alert_time(closes_at: datetime, *, settings: SlaSettings) -> datetime:
    return closes_at - timedelta(hours=settings.wechat_alert_hours)


def first_check(*, due_soon: datetime, window_closes_at: datetime | None, settings: SlaSettings) -> datetime:
    """The first time the sweep must look at a fresh deadline (it schedules the rest itself)."""
    if window_closes_at is None:
        return due_soon
    return min(due_soon, window_alert_time(window_closes_at, settings=settings))
