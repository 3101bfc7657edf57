"""Deadline extension (延期): requested before the deadline with a reason, approved or rejected by the
supervising office; only an approval moves the deadline and its explanation; reports count extensions."""

from __future__ import annotations

from tests.sla.conftest import local, message


def test_request_approve_moves_the_deadline_and_reports_count_it(
    client, admin_headers, make_unit, make_account, make_user, ingest, frozen_clock
):
    frozen_clock.set(local(2025, 3, 3, 11))
    make_unit("office", "县政府办公室")
    make_unit("a", "甲局", supervisor_code="office")
    make_unit("b", "乙局")
    account = make_account("a")
    # Received Mon 3 March 2025 → due Mon 10 March.
    message_id = ingest(account["id"], local(2025, 3, 3, 10))
    assert message(message_id).due_at == local(2025, 3, 10, 23, 59, 59)
    operator_a, operator_b = make_user("operator", "a"), make_user("operator", "b")
    office = make_user("supervisor")

    body = {"working_days": 3, "reason": "需现场勘查并协调供电部门"}
    assert (
        client.post(f"/api/v1/messages/{message_id}/extensions", json=body, headers=operator_b).status_code
        == 404
    )
    for bad in (
        {"working_days": 0, "reason": "x理由"},
        {"working_days": 16, "reason": "理由"},
        {"working_days": 3},
    ):
        resp = client.post(f"/api/v1/messages/{message_id}/extensions", json=bad, headers=operator_a)
        assert resp.status_code == 422 and "error" in resp.json()
    resp = client.post(f"/api/v1/messages/{message_id}/extensions", json=body, headers=operator_a)
    assert resp.status_code == 201, resp.text
    extension = resp.json()
    assert extension["state"] == "pending"
    twice = client.post(f"/api/v1/messages/{message_id}/extensions", json=body, headers=operator_a)
    assert twice.status_code == 409
    # Nothing moves before the approval; the unit cannot approve its own request.
    assert message(message_id).due_at == local(2025, 3, 10, 23, 59, 59)
    assert (
        client.post(f"/api/v1/extensions/{extension['id']}/approve", json={}, headers=operator_a).status_code
        == 403
    )
    approved = client.post(
        f"/api/v1/extensions/{extension['id']}/approve", json={"note": "同意"}, headers=office
    )
    assert approved.status_code == 200, approved.text
    # 10 March + 3 working days: 11, 12, 13 → Thu 13 March.
    assert approved.json()["new_due_at"] == "2025-03-13T15:59:59Z"
    stored = message(message_id)
    assert stored.due_at == local(2025, 3, 13, 23, 59, 59)
    assert stored.deadline_basis is not None and "批准延期3个工作日" in stored.deadline_basis["explanation"]
    assert (
        client.post(f"/api/v1/extensions/{extension['id']}/approve", json={}, headers=office).status_code
        == 409
    )

    # A second request is rejected: the deadline stays.
    frozen_clock.set(local(2025, 3, 12, 9))
    second = client.post(
        f"/api/v1/messages/{message_id}/extensions",
        json={"working_days": 2, "reason": "仍需协调"},
        headers=operator_a,
    ).json()
    assert (
        client.post(f"/api/v1/extensions/{second['id']}/reject", json={}, headers=office).status_code == 422
    )
    rejected = client.post(
        f"/api/v1/extensions/{second['id']}/reject", json={"note": "请按期答复"}, headers=office
    )
    assert rejected.json()["state"] == "rejected"
    assert message(message_id).due_at == local(2025, 3, 13, 23, 59, 59)

    # Past the deadline: too late to ask.
    frozen_clock.set(local(2025, 3, 14, 9))
    late = client.post(f"/api/v1/messages/{message_id}/extensions", json=body, headers=operator_a)
    assert late.status_code == 409

    report = client.get(
        "/api/v1/reports/units", params={"from": "2025-03-01", "to": "2025-03-31"}, headers=admin_headers
    ).json()
    rows = {r["unit_code"]: r for r in report["rows"]}
    assert rows["a"]["extensions"] == 1 and rows["b"]["extensions"] == 0
    assert report["total"]["extensions"] == 1
    assert "批准延期" in [c["label"] for c in report["columns"]]
    # The extended message is not mistaken for a unit with another limit.
    assert report["notes"] == []
    assert [e["state"] for e in client.get("/api/v1/extensions", headers=operator_a).json()] == [
        "approved",
        "rejected",
    ]
    assert client.get("/api/v1/extensions", headers=operator_b).json() == []
    # The office is told of each request (its channels), the unit of each decision.
    office_kinds = [n["kind"] for n in client.get("/api/v1/supervision/notices", headers=office).json()]
    assert office_kinds.count("extension_request") == 2
    unit_notes = client.get("/api/v1/supervision/notices", headers=make_user("leader", "a")).json()
    assert sorted(n["title"][:6] for n in unit_notes if n["kind"] == "extension_decision") == [
        "延期申请已批",
        "延期申请未批",
    ]
    assert {
        n["unit_code"]
        for n in client.get(
            "/api/v1/supervision/notices", params={"kind": "extension_request"}, headers=office
        ).json()
    } == {"office"}
