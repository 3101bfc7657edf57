"""A supervising office's quarterly inspection on the demo data, end to end: the bulletin of 2019 Q4 is
generated, exported and sent to the office's channel; a sampling inspection draws messages; a finding is
recorded, the unit rectifies it, the office closes it."""

from __future__ import annotations

import io
import json

import httpx
import respx
from openpyxl import load_workbook

from app import clock
from app.db import session_scope
from app.reports.alerts import supervising_units
from app.supervision.notices import send_pending
from tests.reports.test_demo_data import demo  # noqa: F401  (the fixture)

ROBOT = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=office-robot"


def test_quarterly_inspection_on_the_demo_data(client, admin_headers, make_user, demo):  # noqa: F811
    with session_scope() as session:
        offices = supervising_units(session=session)
    assert offices
    for code in offices:
        resp = client.post(
            "/api/v1/notification-channels",
            json={"unit_code": code, "kind": "wecom", "name": "督办群", "url": ROBOT},
            headers=admin_headers,
        )
        assert resp.status_code == 201, resp.text
    office = make_user("supervisor")

    # 1. The bulletin of the fourth quarter of 2019, with the unit report's figures for those dates.
    quarter = client.get(
        "/api/v1/reports/units", params={"from": "2019-10-01", "to": "2019-12-31"}, headers=office
    ).json()["total"]
    assert quarter["received"] > 0
    operator = make_user("operator", offices[0])
    assert (
        client.post(
            "/api/v1/supervision/bulletins", json={"period_key": "2019-Q4"}, headers=operator
        ).status_code
        == 403
    )
    assert (
        client.post(
            "/api/v1/supervision/bulletins", json={"period_key": "2019-Q5"}, headers=office
        ).status_code
        == 422
    )
    made = client.post("/api/v1/supervision/bulletins", json={"period_key": "2019-Q4"}, headers=office)
    assert made.status_code == 201, made.text
    bulletin = made.json()
    summary = bulletin["summary"]
    assert (bulletin["date_from"], bulletin["date_to"]) == ("2019-10-01", "2019-12-31")
    assert summary["received"] == quarter["received"]
    assert summary["on_time_rate"] == quarter["on_time_rate"]
    assert (
        summary["not_in_time"] == quarter["answered_late"] + quarter["overdue_now"] + quarter["closed_late"]
    )
    assert summary["worst_units"] and {z["account_name"] for z in summary["zombies"]} >= {"青禾发布微博"}
    again = client.post("/api/v1/supervision/bulletins", json={"period_key": "2019-Q4"}, headers=office)
    assert again.status_code == 200 and again.json()["id"] == bulletin["id"]

    file = client.get(f"/api/v1/supervision/inspections/{bulletin['id']}.xlsx", headers=office)
    assert file.status_code == 200
    book = load_workbook(io.BytesIO(file.content))
    assert book.sheetnames == ["通报", "各单位", "僵尸账号", "未备案账号"]
    assert "2019年第4季度" in book["通报"]["A1"].value
    per_unit = list(book["各单位"].iter_rows(values_only=True))
    assert per_unit[0][:4] == ("单位代码", "单位名称", "答复时限（工作日）", "收到留言")
    assert sum(row[3] for row in per_unit[1:]) == quarter["received"]

    # 2. Sent to the supervising office's channel.
    with respx.mock(assert_all_called=False) as mock:
        route = mock.post(host="qyapi.weixin.qq.com", path="/cgi-bin/webhook/send").mock(
            return_value=httpx.Response(200, json={"errcode": 0, "errmsg": "ok"})
        )
        with session_scope() as session:
            send_pending(session=session, now=clock.now())
    texts = [json.loads(c.request.content)["markdown"]["content"] for c in route.calls]
    assert any(
        "政务新媒体留言办理情况通报（2019年第4季度）" in t and f"收到留言 {quarter['received']} 条" in t
        for t in texts
    )

    # 3. A sampling inspection of the same quarter, repeatable with its seed.
    sample = client.post(
        "/api/v1/supervision/samplings",
        json={"period_key": "2019-Q4", "messages": 5, "accounts": 2, "seed": 17},
        headers=office,
    )
    assert sample.status_code == 201, sample.text
    sampled = sample.json()["sampled"]
    assert len(sampled["message_ids"]) == 5 and len(sampled["account_ids"]) == 2
    redo = client.post(
        "/api/v1/supervision/samplings",
        json={"period_key": "2019-Q4", "messages": 5, "accounts": 2, "seed": 17},
        headers=office,
    ).json()
    assert redo["sampled"]["message_ids"] == sampled["message_ids"]

    # 4. A finding on a sampled message; one outside the sample is refused.
    message_id = sampled["message_ids"][0]
    outside = client.post(
        f"/api/v1/supervision/inspections/{sample.json()['id']}/findings",
        json={"finding": "答复超期", "message_id": -1},
        headers=office,
    )
    assert outside.status_code == 422
    finding = client.post(
        f"/api/v1/supervision/inspections/{sample.json()['id']}/findings",
        json={
            "finding": "答复超期且未说明理由，答复内容未引用问答库口径",
            "message_id": message_id,
            "days": 10,
        },
        headers=office,
    )
    assert finding.status_code == 201, finding.text
    record = finding.json()
    assert record["state"] == "notified" and record["source"] == "inspection"
    unit = record["unit_code"]
    notices = client.get(
        "/api/v1/supervision/notices", params={"kind": "finding_notice"}, headers=make_user("leader", unit)
    )
    assert len(notices.json()) == 1

    # 5. The unit rectifies; the office checks and closes.
    leader = make_user("leader", unit)
    assert (
        client.post(
            f"/api/v1/supervision/rectifications/{record['id']}/close", json={}, headers=office
        ).status_code
        == 409
    )
    done = client.post(
        f"/api/v1/supervision/rectifications/{record['id']}/rectify",
        json={"note": "已补充答复并向留言人说明原因；已组织学习问答库口径"},
        headers=leader,
    )
    assert done.status_code == 200 and done.json()["state"] == "rectified"
    closed = client.post(
        f"/api/v1/supervision/rectifications/{record['id']}/close", json={"note": "复核通过"}, headers=office
    )
    assert closed.status_code == 200 and closed.json()["state"] == "closed"
    listed = client.get(
        "/api/v1/supervision/rectifications", params={"inspection_id": sample.json()["id"]}, headers=office
    ).json()
    assert [(r["id"], r["state"]) for r in listed] == [(record["id"], "closed")]
    kinds = {i["kind"] for i in client.get("/api/v1/supervision/inspections", headers=office).json()}
    assert kinds == {"bulletin", "sampling"}
    # Units see the bulletins (通报 go to every unit), not the office's sampling records.
    seen = client.get("/api/v1/supervision/inspections", headers=leader).json()
    assert {i["kind"] for i in seen} == {"bulletin"}
    assert (
        client.get(f"/api/v1/supervision/inspections/{bulletin['id']}.xlsx", headers=leader).status_code
        == 200
    )
    sampling_file = client.get(f"/api/v1/supervision/inspections/{sample.json()['id']}.xlsx", headers=office)
    assert sampling_file.status_code == 404


def test_bulletin_workbook_text_is_never_a_formula():
    """Unit and account names are typed by people: in the bulletin's workbook they stay text."""
    import io
    from datetime import UTC, date, datetime

    from openpyxl import load_workbook

    from app.supervision.inspections import bulletin_xlsx
    from app.supervision.models import Inspection

    hostile = '=HYPERLINK("http://example.invalid","点此核对")'
    unit = {
        "unit_code": "u1",
        "unit_name": hostile,
        "reply_working_days": 5,
        "received": 3,
        "answered_on_time": 1,
        "not_in_time": 1,
        "overdue_now": 1,
        "closed_without_reply": 0,
        "extensions": 0,
        "on_time_rate": 33.3,
    }
    item = Inspection(
        kind="bulletin",
        period="quarter",
        period_key="2026-Q4",
        date_from=date(2026, 10, 1),
        date_to=date(2026, 12, 31),
        title="第四季度通报",
        summary={
            "on_time_rate": 33.3,
            "received": 3,
            "answered_on_time": 1,
            "not_in_time": 1,
            "overdue_now": 1,
            "units": [unit],
            "worst_units": ["u1"],
            "zombies": [
                {"account_id": 1, "account_name": hostile, "unit_name": "乙局", "reasons": [hostile]}
            ],
            "unregistered": [{"account_id": 2, "account_name": hostile, "unit_name": "丙局"}],
        },
        created_by="督办",
        created_at=datetime(2027, 1, 4, tzinfo=UTC),
    )
    book = load_workbook(io.BytesIO(bulletin_xlsx(item)))
    cells = [c for sheet in book.worksheets for row in sheet.iter_rows() for c in row if c.value == hostile]
    assert len(cells) >= 4 and {c.data_type for c in cells} == {"s"}
