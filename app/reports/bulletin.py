"""The unit report's figures as plain values, for the supervision bulletin (通报): the totals and one row
per unit that received messages. Lent to supervision (`app/supervision/inspections.py`) by `app/wiring.py`:
reports count supervision's deadline extensions, so supervision does not import reports."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session

from app.auth import SYSTEM
from app.reports.models import Dimension
from app.reports.service import build_report
from app.sla.escalation import load_settings
from app.sla.service import load_calendar


def unit_figures(
    *, session: Session, date_from: date, date_to: date, now: datetime, tz: ZoneInfo
) -> dict[str, Any]:
    """The unit report from `date_from` to `date_to` (local dates) as every unit sees it: received,
    answered_on_time, not_in_time (answered late, overdue now or closed late), overdue_now, on_time_rate,
    `units` (one dict per unit with messages) and the report's `notes`."""
    sla = load_settings(session=session)
    report = build_report(
        session=session,
        principal=SYSTEM,
        dimension=Dimension.unit,
        period=None,
        date_from=date_from,
        date_to=date_to,
        now=now,
        calendar=load_calendar(session=session),
        tz=tz,
        work_hours=(sla.work_start, sla.work_end),
    )
    total = report.total
    return {
        "received": total.received,
        "answered_on_time": total.answered_on_time,
        "not_in_time": _late(total),
        "overdue_now": total.overdue_now,
        "on_time_rate": total.on_time_rate,
        "units": [
            {
                "unit_code": r.unit_code,
                "unit_name": r.unit_name,
                "received": r.received,
                "answered_on_time": r.answered_on_time,
                "not_in_time": _late(r),
                "overdue_now": r.overdue_now,
                "closed_without_reply": r.closed_without_reply,
                "extensions": r.extensions or 0,
                "on_time_rate": r.on_time_rate,
                "reply_working_days": r.reply_working_days,
            }
            for r in report.rows
            if r.received
        ],
        "notes": report.notes,
    }


def _late(row: Any) -> int:
    return int(row.answered_late + row.overdue_now + row.closed_late)
