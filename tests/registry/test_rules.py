"""The registry's rules, exactly: every lifecycle event against its filing deadline in working days,
changes and closings approved before they take effect, change of owner unit, unregistered accounts, and
the 登记表 / 统计表 workbook."""

from __future__ import annotations

import io
from datetime import date

import pytest
from openpyxl import load_workbook

from app.db import session_scope
from app.registry.service import apply_due_events
from tests.registry.test_registry import (
    approve_pending,
    flag_codes,
    form,
    register,
    units,  # noqa: F401  (the fixture)
)
from tests.reports.conftest import local

pytestmark = pytest.mark.usefixtures("units")


def submit(client, headers, registration_id, **body):
    return client.post(f"/api/v1/registry/accounts/{registration_id}/events", json=body, headers=headers)


def flags_of(client, headers, registration_id):
    body = client.get(f"/api/v1/registry/accounts/{registration_id}", headers=headers).json()
    return [f["message"] for f in body["flags"]]


def test_each_event_type_on_time_and_late(client, admin_headers):
    # Today is Thu 20 March 2025. Opening: 3 March, filed 6 March = 3 working days → on time.
    on_time = register(client, admin_headers, registered_on="2025-03-06")
    late = register(
        client, admin_headers, platform="weibo", account_name="甲局微博", registered_on="2025-03-07"
    )
    assert flag_codes(on_time) == [] and flag_codes(late) == ["late_registration"]
    for item in (on_time, late):
        approve_pending(client, admin_headers, item["id"])

    # Cancellation (注销) in effect on 10 March, filed 13 March (3 working days) → on time.
    resp = submit(
        client,
        admin_headers,
        on_time["id"],
        kind="cancelled",
        effective_on="2025-03-10",
        filed_on="2025-03-13",
    )
    assert resp.status_code == 201, resp.text
    assert flags_of(client, admin_headers, on_time["id"]) == []
    # In effect on 10 March, filed today 20 March → 8 working days late.
    resp = submit(client, admin_headers, late["id"], kind="cancelled", effective_on="2025-03-10")
    assert resp.status_code == 201, resp.text
    assert flags_of(client, admin_headers, late["id"]) == [
        "开设后第4个工作日才备案（应在3个工作日内）",
        "注销生效后第8个工作日才报备（应在3个工作日内）",
    ]

    # A change filed today for 31 March is 7 working days ahead → fine; for 28 March only 6 → flagged.
    ahead = register(
        client, admin_headers, platform="douyin", account_name="甲局抖音", registered_on="2025-03-04"
    )
    short = register(
        client, admin_headers, platform="toutiao", account_name="甲局头条", registered_on="2025-03-04"
    )
    for item in (ahead, short):
        approve_pending(client, admin_headers, item["id"])
    changes = {"person_in_charge": "王芳"}
    assert (
        submit(
            client, admin_headers, ahead["id"], kind="changed", effective_on="2025-03-31", changes=changes
        ).status_code
        == 201
    )
    assert (
        submit(
            client, admin_headers, short["id"], kind="changed", effective_on="2025-03-28", changes=changes
        ).status_code
        == 201
    )
    assert flags_of(client, admin_headers, ahead["id"]) == []
    assert flags_of(client, admin_headers, short["id"]) == [
        "变更仅提前6个工作日报备（应至少提前7个工作日，批准后方可实施）"
    ]
    # A rejected event no longer counts against the account.
    pending = client.get("/api/v1/registry/events/pending", headers=admin_headers).json()
    event = next(e for e in pending if e["registration_id"] == short["id"])
    resp = client.post(
        f"/api/v1/registry/events/{event['id']}/reject", json={"note": "请按时报备"}, headers=admin_headers
    )
    assert resp.status_code == 200
    assert flags_of(client, admin_headers, short["id"]) == []


def test_change_or_closing_cannot_take_effect_before_approval(client, admin_headers, make_user, frozen_clock):
    body = register(client, admin_headers, registered_on="2025-03-04")
    approve_pending(client, admin_headers, body["id"])
    # Already in effect, or in effect today: refused at filing.
    for day in ("2025-03-18", "2025-03-20"):
        resp = submit(client, admin_headers, body["id"], kind="closed", effective_on=day)
        assert resp.status_code == 422
        assert "批准后方可实施" in resp.json()["error"]["message"]
    # Filed in time, but the office approves only after the effective date: refused, nothing changes.
    resp = submit(
        client, admin_headers, body["id"], kind="closed", effective_on="2025-03-24", filed_on="2025-03-10"
    )
    assert resp.status_code == 201
    late_approval = client.post(
        f"/api/v1/registry/events/{resp.json()['id']}/approve",
        json={"decided_on": "2025-03-20"},
        headers=admin_headers,
    )
    assert late_approval.status_code == 200  # 24 March is still ahead
    # A second registration: effective 14 March, approval on 20 March is after it.
    other = register(
        client, admin_headers, platform="weibo", account_name="甲局微博", registered_on="2025-03-04"
    )
    approve_pending(client, admin_headers, other["id"])
    resp = submit(
        client, admin_headers, other["id"], kind="closed", effective_on="2025-03-14", filed_on="2025-03-03"
    )
    assert resp.status_code == 201
    refused = client.post(
        f"/api/v1/registry/events/{resp.json()['id']}/approve", json={}, headers=admin_headers
    )
    assert refused.status_code == 409
    assert "须批准后方可实施" in refused.json()["error"]["message"]
    assert (
        client.get(f"/api/v1/registry/accounts/{other['id']}", headers=admin_headers).json()["status"]
        == "active"
    )
    # Approval dates from the future, or before the filing, are refused.
    for day in ("2025-03-21", "2025-03-02"):
        bad = client.post(
            f"/api/v1/registry/events/{resp.json()['id']}/approve",
            json={"decided_on": day},
            headers=admin_headers,
        )
        assert bad.status_code == 422
    # A unit may not backdate its filing.
    leader = make_user("leader", "a")
    third = register(
        client, admin_headers, platform="douyin", account_name="甲局抖音", registered_on="2025-03-04"
    )
    approve_pending(client, admin_headers, third["id"])
    backdated = submit(
        client, leader, third["id"], kind="cancelled", effective_on="2025-03-10", filed_on="2025-03-11"
    )
    assert backdated.status_code == 403


def test_change_of_owner_unit_moves_the_account(client, admin_headers, make_user, make_account):
    account = make_account("a", platform="wechat")
    body = register(client, admin_headers, registered_on="2025-03-04", account_id=account["id"])
    approve_pending(client, admin_headers, body["id"])
    leader_a = make_user("leader", "a")
    missing = submit(
        client, leader_a, body["id"], kind="changed", effective_on="2025-04-30", changes={"unit_code": "nope"}
    )
    assert missing.status_code == 404
    resp = submit(
        client, leader_a, body["id"], kind="changed", effective_on="2025-03-20", changes={"unit_code": "b"}
    )
    assert resp.status_code == 422  # today: too late to approve first
    resp = submit(
        client,
        admin_headers,
        body["id"],
        kind="changed",
        effective_on="2025-03-21",
        filed_on="2025-03-11",
        changes={"unit_code": "b"},
    )
    assert resp.status_code == 201, resp.text
    assert (
        client.post(
            f"/api/v1/registry/events/{resp.json()['id']}/approve", json={}, headers=admin_headers
        ).status_code
        == 200
    )
    # Approved but not yet in effect (21 March).
    assert client.get(f"/api/v1/accounts/{account['id']}", headers=leader_a).status_code == 200
    with session_scope() as session:
        assert apply_due_events(session=session, today=date(2025, 3, 21)) == 1
    assert (
        client.get(f"/api/v1/registry/accounts/{body['id']}", headers=admin_headers).json()["unit_code"]
        == "b"
    )
    assert client.get(f"/api/v1/accounts/{account['id']}", headers=admin_headers).json()["unit_code"] == "b"
    # The old unit no longer sees the account or its registration.
    assert client.get(f"/api/v1/accounts/{account['id']}", headers=leader_a).status_code == 404
    assert client.get(f"/api/v1/registry/accounts/{body['id']}", headers=leader_a).status_code == 404
    assert (
        client.get(f"/api/v1/accounts/{account['id']}", headers=make_user("leader", "b")).status_code == 200
    )


def test_unregistered_accounts(client, admin_headers, make_user, make_account, add_message):
    never = make_account("a", platform="wechat")
    filed = make_account("a", platform="weibo")
    approved = make_account("b", platform="douyin")
    add_message(never, local(2025, 3, 18, 9))
    add_message(never, local(2025, 3, 19, 9))
    register(
        client,
        admin_headers,
        registered_on="2025-03-04",
        platform="weibo",
        account_name="甲局微博",
        account_id=filed["id"],
    )
    done = register(
        client,
        admin_headers,
        registered_on="2025-03-04",
        unit_code="b",
        platform="douyin",
        account_name="乙局抖音",
        account_id=approved["id"],
    )
    approve_pending(client, admin_headers, done["id"])

    rows = client.get("/api/v1/registry/unregistered", headers=admin_headers).json()
    assert [(r["account_id"], r["registration_status"], r["messages_received"]) for r in rows] == [
        (never["id"], None, 2),
        (filed["id"], "pending", 0),
    ]
    # Unit scoping: unit b's leader sees none of unit a's accounts.
    assert client.get("/api/v1/registry/unregistered", headers=make_user("leader", "b")).json() == []
    assert len(client.get("/api/v1/registry/unregistered", headers=make_user("operator", "a")).json()) == 2


def test_registration_form_and_statistics_as_xlsx(client, admin_headers, make_user):
    register(
        client,
        admin_headers,
        registered_on="2025-03-04",
        maintainer="王芳",
        verification="已认证（政府机构）",
    )
    register(client, admin_headers, registered_on="2025-03-04", platform="weibo", account_name="甲局微博")
    register(client, admin_headers, registered_on="2025-03-04", unit_code="b", account_name="乙局发布")
    resp = client.get("/api/v1/registry/accounts.xlsx", headers=admin_headers)
    assert resp.status_code == 200
    book = load_workbook(io.BytesIO(resp.content))
    assert book.sheetnames == ["登记表", "统计表"]
    rows = list(book["登记表"].iter_rows(values_only=True))
    assert rows[0][0] == "政务新媒体账号登记表"
    assert rows[1] == (
        "序号",
        "类型",
        "主体单位",
        "账号名称",
        "账号地址/ID",
        "负责人",
        "职务",
        "联系电话",
        "运维人员",
        "开设日期",
        "认证情况",
        "状态",
    )
    assert rows[2] == (
        1,
        "微信公众号",
        "甲局",
        "甲局发布",
        "gh_3f2a1b0c9d8e",
        "李明",
        "办公室主任",
        "13812345678、0731-88886666",
        "王芳",
        "2025-03-03",
        "已认证（政府机构）",
        "待审批",
    )
    stats = list(book["统计表"].iter_rows(values_only=True))
    assert stats[1] == ("单位", "微信公众号", "微博", "合计")
    assert stats[2:] == [("甲局", 1, 1, 2), ("乙局", 1, 0, 1), ("合计", 2, 1, 3)]
    # An operator sees masked numbers in the file too, and only its own unit.
    masked = load_workbook(
        io.BytesIO(client.get("/api/v1/registry/accounts.xlsx", headers=make_user("operator", "b")).content)
    )
    lines = list(masked["登记表"].iter_rows(values_only=True))
    assert len(lines) == 3 and "138****5678" in lines[2][7]
    assert form()["phones"][0] not in str(lines)


def test_registration_form_text_is_never_a_formula(client, admin_headers):
    hostile = '=HYPERLINK("http://example.invalid","点此核对")'
    register(client, admin_headers, registered_on="2025-03-04", maintainer=hostile)
    book = load_workbook(
        io.BytesIO(client.get("/api/v1/registry/accounts.xlsx", headers=admin_headers).content)
    )
    cell = book["登记表"]["I3"]
    assert (cell.value, cell.data_type) == (hostile, "s")
