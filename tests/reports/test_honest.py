"""Honest figures: closing an overdue message keeps it late; each row names its unit's reply limit; a
limit other than 5 working days is bounded, audited and noted in the report."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.reports.conftest import end_of, local

NOW = datetime(2025, 3, 20, 2, 0, tzinfo=UTC)  # Thursday 20 March 2025, 10:00 local
MARCH = {"from": "2025-03-01", "to": "2025-03-31"}


def test_closing_an_overdue_message_keeps_it_late(
    client, admin_headers, make_unit, make_account, make_user, add_message, frozen_clock
):
    frozen_clock.set(NOW)
    make_unit("a", "甲局")
    account = make_account("a", platform="wechat")
    reviewer = make_user("reviewer", "a")
    # Due Mon 10 March, never answered: overdue on 20 March, then closed as "other".
    late = add_message(account, local(2025, 3, 3, 9), due_at=end_of(2025, 3, 10))
    # Due Mon 24 March, closed as spam before its deadline: not late.
    early = add_message(account, local(2025, 3, 17, 9), due_at=end_of(2025, 3, 24))
    # Answered on time, for the rate.
    add_message(account, local(2025, 3, 4, 9), due_at=end_of(2025, 3, 11), replied_at=local(2025, 3, 5, 9))

    before = client.get("/api/v1/reports/units", params=MARCH, headers=admin_headers).json()["total"]
    assert before["overdue_now"] == 1 and before["on_time_rate"] == 50.0

    for message_id, body in ((late, {"reason": "other", "note": "已电话联系"}), (early, {"reason": "spam"})):
        resp = client.post(f"/api/v1/messages/{message_id}/close", json=body, headers=reviewer)
        assert resp.status_code == 200, resp.text
        assert resp.json()["closed_at"] is not None
    assert client.get(f"/api/v1/messages/{late}", headers=admin_headers).json()["sla_state"] == "missed"

    after = client.get("/api/v1/reports/units", params=MARCH, headers=admin_headers).json()["total"]
    assert after["closed_without_reply"] == 2
    assert after["closed_late"] == 1
    assert after["overdue_now"] == 0
    # Still one of two judged messages not answered in time: the rate does not improve by closing.
    assert after["on_time_rate"] == 50.0
    labels = [
        c["label"]
        for c in client.get("/api/v1/reports/units", params=MARCH, headers=admin_headers).json()["columns"]
    ]
    assert "未答复即关闭" in labels and "超期后关闭（计为未按时答复）" in labels


def test_every_row_carries_its_units_limit_and_the_report_notes_other_limits(
    client, admin_headers, make_unit, make_account, add_message, frozen_clock
):
    frozen_clock.set(NOW)
    make_unit("a", "甲局")
    make_unit("b", "乙局", reply_working_days=7)
    account = make_account("b")
    add_message(account, local(2025, 3, 3, 9), due_at=end_of(2025, 3, 12))

    report = client.get("/api/v1/reports/units", params=MARCH, headers=admin_headers).json()
    limits = {row["unit_code"]: row["reply_working_days"] for row in report["rows"]}
    assert limits == {"a": 5, "b": 7}
    assert any("乙局" in note and "7个工作日" in note for note in report["notes"])
    assert not any("甲局" in note for note in report["notes"])

    accounts = client.get("/api/v1/reports/accounts", params=MARCH, headers=admin_headers).json()
    assert [row["reply_working_days"] for row in accounts["rows"]] == [7]


def test_a_unit_limit_is_bounded_and_audited(client, admin_headers, make_unit):
    make_unit("a", "甲局")
    for absurd in (0, 16, 60, -1):
        resp = client.patch("/api/v1/units/a", json={"reply_working_days": absurd}, headers=admin_headers)
        assert resp.status_code == 422, absurd
        assert "error" in resp.json()
    resp = client.post(
        "/api/v1/units", json={"code": "z", "name": "z", "reply_working_days": 0}, headers=admin_headers
    )
    assert resp.status_code == 422
    assert client.get("/api/v1/units/a", headers=admin_headers).json()["reply_working_days"] is None

    assert (
        client.patch("/api/v1/units/a", json={"reply_working_days": 10}, headers=admin_headers).status_code
        == 200
    )
    events = client.get(
        "/api/v1/audit/events", params={"action": "unit.reply_limit"}, headers=admin_headers
    ).json()
    items = events["items"] if isinstance(events, dict) else events
    assert [e["after"] for e in items if e["action"] == "unit.reply_limit"] == [{"reply_working_days": 10}]
