"""From 1 November the supervising office is reminded every day to enter next year's arrangement, through
its notification channel, until the year is entered."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
import respx

from app.calendar.workdays import WorkCalendar
from app.db import session_scope
from app.supervision.calendar_alert import check_next_year
from app.supervision.notices import send_pending

TZ = ZoneInfo("Asia/Shanghai")
OFFICE_ROBOT = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=office-robot"

pytestmark = pytest.mark.skipif(
    WorkCalendar.covers_officially(2027), reason="installed chinesecalendar already has 2027"
)


def check(at: datetime) -> int:
    with session_scope() as session:
        return check_next_year(session=session, now=at, tz=TZ)


def test_daily_reminder_from_1_november_until_the_year_is_entered(
    client, admin_headers, make_unit, frozen_clock
):
    make_unit("office", "县政府办公室")
    make_unit("a", "甲局", supervisor_code="office")
    resp = client.post(
        "/api/v1/notification-channels",
        json={"unit_code": "office", "kind": "wecom", "name": "督办群", "url": OFFICE_ROBOT},
        headers=admin_headers,
    )
    assert resp.status_code == 201, resp.text

    # 31 October, 23:00 local: not yet.
    assert check(datetime(2026, 10, 31, 15, 0, tzinfo=UTC)) == 0
    # 1 November 00:30 local: the first reminder; again the same day adds nothing.
    first = datetime(2026, 10, 31, 16, 30, tzinfo=UTC)
    assert check(first) == 1
    assert check(first + timedelta(hours=5)) == 0
    with respx.mock() as mock:
        route = mock.post(host="qyapi.weixin.qq.com", path="/cgi-bin/webhook/send").mock(
            return_value=httpx.Response(200, json={"errcode": 0, "errmsg": "ok"})
        )
        with session_scope() as session:
            assert send_pending(session=session, now=first) == 1
    body = json.loads(route.calls[0].request.content)
    assert "2027年国务院放假安排尚未录入" in body["markdown"]["content"]
    # Every following day, including December.
    assert check(first + timedelta(days=1)) == 1
    assert check(datetime(2026, 12, 20, 2, tzinfo=UTC)) == 1

    frozen_clock.set(datetime(2026, 12, 21, 2, tzinfo=UTC))
    entered = client.put(
        "/api/v1/calendar/years/2027",
        json={"days": [], "complete": True, "note": "国办发明电"},
        headers=admin_headers,
    )
    assert entered.status_code == 200, entered.text
    assert check(datetime(2026, 12, 22, 2, tzinfo=UTC)) == 0
    notices = client.get(
        "/api/v1/supervision/notices", params={"kind": "calendar_missing"}, headers=admin_headers
    )
    assert len(notices.json()) == 3
