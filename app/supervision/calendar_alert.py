"""From 1 November, the supervising office is told every day until next year's holiday arrangement is
entered: until then next year's deadlines are provisional."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlmodel import Session

from app.calendar.service import load_calendar
from app.supervision import notices

ALERT_FROM_MONTH = 11


def check_next_year(*, session: Session, now: datetime, tz: ZoneInfo) -> int:
    """Queues today's reminder (once per local day and recipient) if next year is still provisional
    and it is November or December; returns how many were queued."""
    today = now.astimezone(tz).date()
    year = today.year + 1
    if today.month < ALERT_FROM_MONTH or not load_calendar(session=session).is_provisional_year(year):
        return 0
    queued = 0
    for unit_code in notices.supervising_units(session=session):
        notice = notices.queue(
            session=session,
            dedupe_key=f"calendar-missing:{year}:{today.isoformat()}:{unit_code}",
            kind="calendar_missing",
            unit_code=unit_code,
            target="supervisor",
            title=f"请录入{year}年放假安排",
            text=(
                f"{year}年国务院放假安排尚未录入：{year}年的答复截止时间目前按法定节假日暂定（不含调休），"
                f"请管理员在“工作日历”中录入{year}年安排（PUT /api/v1/calendar/years/{year}）。录入前每天提醒。"
            ),
            now=now,
        )
        queued += int(notice is not None)
    session.commit()
    return queued
