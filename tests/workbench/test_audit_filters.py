"""Audit log filters (date, user, action family) and CSV export, scoped like the JSON list."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

EVENTS = "/api/v1/audit/events"


def test_filters_and_csv(client, admin_headers, make_unit, make_user, make_login_user, frozen_clock):
    make_unit("U1", "城管局")
    make_unit("U2", "水务局")
    op = make_login_user("wang.op", "operator", "U1")
    client.post("/api/v1/auth/login", json={"username": "wang.op", "password": "=cmd|' /C calc'!A0"})
    frozen_clock.set(frozen_clock.at + timedelta(days=2))
    client.post("/api/v1/auth/login", json={"username": "wang.op", "password": "wrong-again-1A"})

    family = client.get(EVENTS, params={"action": "auth."}, headers=admin_headers).json()
    assert [e["action"] for e in family] == ["auth.login_failed", "auth.login_failed"]
    by_user = client.get(EVENTS, params={"actor_id": 1}, headers=admin_headers).json()
    assert by_user and all(e["actor_id"] == 1 for e in by_user)
    later = client.get(
        EVENTS,
        params={"action": "auth.login_failed", "from": (frozen_clock.at - timedelta(hours=1)).isoformat()},
        headers=admin_headers,
    ).json()
    assert len(later) == 1
    earlier = client.get(
        EVENTS,
        params={"action": "auth.", "to": (frozen_clock.at - timedelta(hours=1)).isoformat()},
        headers=admin_headers,
    ).json()
    assert len(earlier) == 1

    resp = client.get(EVENTS, params={"format": "csv", "action": "auth."}, headers=admin_headers)
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/csv")
    assert "attachment" in resp.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(resp.text.lstrip("\ufeff"))))
    assert rows[0][:2] == ["编号", "时间"] and len(rows) == 3
    assert all(row[4] == "auth.login_failed" and row[6] == str(op["id"]) for row in rows[1:])
    assert "calc" not in resp.text  # the typed password is never in the log

    # A leader of another unit sees none of U1's events, in JSON or CSV; an operator may not read the log.
    other = make_user("leader", "U2")
    assert client.get(EVENTS, params={"action": "auth."}, headers=other).json() == []
    exported = list(csv.reader(io.StringIO(client.get(EVENTS, params={"format": "csv"}, headers=other).text)))
    assert len(exported) > 1 and all(row[7] == "U2" for row in exported[1:])
    assert client.get(EVENTS, headers=make_user("operator", "U1")).status_code == 403
    assert client.get(EVENTS, params={"format": "xml"}, headers=admin_headers).status_code == 422
    assert client.get(EVENTS, params={"from": "bad"}, headers=admin_headers).status_code == 422


def test_csv_cells_cannot_become_formulas():
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from app.audit.models import AuditEvent
    from app.audit.service import to_csv

    event = AuditEvent(
        id=1,
        at=datetime(2026, 3, 2, tzinfo=UTC),
        actor_name='=HYPERLINK("x")',
        action="a",
        entity_type="t",
        entity_id="1",
        note="+1",
    )
    rows = list(
        csv.reader(
            io.StringIO(to_csv([event], tz=ZoneInfo("Asia/Shanghai")).decode("utf-8").lstrip("\ufeff"))
        )
    )
    assert rows[1][3].startswith("'=") and rows[1][8] == "'+1" and rows[1][1] == "2026-03-02 08:00:00"
