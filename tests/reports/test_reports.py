"""Report figures against a hand count: on-time, late, overdue, out-of-scope, transferred, escalated and
closed messages over two units, three accounts and three platforms; the files carry the same numbers."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest
from openpyxl import load_workbook

from tests.reports.conftest import end_of, local

NOW = datetime(2025, 3, 20, 2, 0, tzinfo=UTC)  # Thursday 20 March 2025, 10:00 local
MARCH = {"from": "2025-03-01", "to": "2025-03-31"}


@pytest.fixture
def world(client, make_unit, make_account, make_user, add_message, frozen_clock):
    """Deadlines by hand: received Mon 3 March → due Mon 10 March (5 working days), etc."""
    frozen_clock.set(NOW)
    make_unit("a", "甲局")
    make_unit("b", "乙局")
    make_unit("c", "丙局")
    acc_a = make_account("a", platform="wechat")
    acc_a2 = make_account("a", platform="generic")
    acc_b = make_account("b", platform="weibo")
    # m1 unit a: answered the next day → on time; 1 working day, 10.0 working hours.
    add_message(acc_a, local(2025, 3, 3, 9), due_at=end_of(2025, 3, 10), replied_at=local(2025, 3, 4, 10))
    # m2 unit a: answered Wed 12 March → late, escalated; 7 working days, 58.0 working hours.
    add_message(
        acc_a,
        local(2025, 3, 3, 14),
        due_at=end_of(2025, 3, 10),
        replied_at=local(2025, 3, 12, 9),
        escalation_level=1,
    )
    # m3 unit a: out of scope, due the same day, answered that afternoon → on time; 0 days, 6.0 hours.
    add_message(
        acc_a2,
        local(2025, 3, 5, 10),
        due_at=end_of(2025, 3, 5),
        replied_at=local(2025, 3, 5, 16),
        out_of_scope=True,
    )
    # m7 unit a: closed without a reply (spam): neither answered nor overdue.
    add_message(acc_a, local(2025, 3, 10, 9), due_at=end_of(2025, 3, 17), status="closed")
    # m8 unit a: February, outside the March range.
    add_message(acc_a, local(2025, 2, 20, 9), due_at=end_of(2025, 2, 27), replied_at=local(2025, 3, 3, 9))
    # m4 unit b: transferred twice, never answered, due Tue 11 March → overdue now, escalated.
    add_message(
        acc_b, local(2025, 3, 4, 11), due_at=end_of(2025, 3, 11), transfer_count=2, escalation_level=2
    )
    # m5 unit b: received Mon 17 March, due Mon 24 March → still open, not overdue.
    add_message(acc_b, local(2025, 3, 17, 9), due_at=end_of(2025, 3, 24))
    # m6 unit b: transferred once, answered at 20:00 on its due day → on time; 5 days, 53.5 hours.
    add_message(
        acc_b,
        local(2025, 3, 6, 9),
        due_at=end_of(2025, 3, 13),
        replied_at=local(2025, 3, 13, 20),
        transfer_count=1,
    )
    return {"a": acc_a, "a2": acc_a2, "b": acc_b}


UNIT_A = {
    "received": 4,
    "answered": 3,
    "answered_on_time": 2,
    "answered_late": 1,
    "overdue_now": 0,
    "open_now": 0,
    "out_of_scope": 1,
    "transferred": 0,
    "transfers": 0,
    "escalated": 1,
    "on_time_rate": 66.7,
    "reply_days_median": 1,
    "reply_days_p90": 7,
    "reply_hours_median": 10.0,
    "reply_hours_p90": 58.0,
}
UNIT_B = {
    "received": 3,
    "answered": 1,
    "answered_on_time": 1,
    "answered_late": 0,
    "overdue_now": 1,
    "open_now": 1,
    "out_of_scope": 0,
    "transferred": 2,
    "transfers": 3,
    "escalated": 1,
    "on_time_rate": 50.0,
    "reply_days_median": 5,
    "reply_days_p90": 5,
    "reply_hours_median": 53.5,
    "reply_hours_p90": 53.5,
}
TOTAL = {
    "received": 7,
    "answered": 4,
    "answered_on_time": 3,
    "answered_late": 1,
    "overdue_now": 1,
    "open_now": 1,
    "out_of_scope": 1,
    "transferred": 2,
    "transfers": 3,
    "escalated": 2,
    "on_time_rate": 60.0,
    "reply_days_median": 1,
    "reply_days_p90": 7,
    "reply_hours_median": 10.0,
    "reply_hours_p90": 58.0,
}


def _subset(row, expected):
    return {k: row[k] for k in expected}


def test_units_report_equals_hand_count(client, admin_headers, world):
    body = client.get("/api/v1/reports/units", params=MARCH, headers=admin_headers).json()
    rows = {r["unit_code"]: r for r in body["rows"]}
    assert set(rows) == {"a", "b", "c"}
    assert _subset(rows["a"], UNIT_A) == UNIT_A
    assert _subset(rows["b"], UNIT_B) == UNIT_B
    assert rows["c"]["received"] == 0 and rows["c"]["on_time_rate"] is None
    assert rows["a"]["unit_name"] == "甲局"
    assert _subset(body["total"], TOTAL) == TOTAL
    assert body["total"]["unit_name"] == "合计"


def test_range_is_inclusive_local_dates(client, admin_headers, world):
    # February only: m8, answered 3 March (after its 27 February deadline).
    body = client.get(
        "/api/v1/reports/units", params={"from": "2025-02-01", "to": "2025-02-28"}, headers=admin_headers
    ).json()
    assert body["total"]["received"] == 1
    assert body["total"]["answered_late"] == 1
    # No range: everything.
    assert client.get("/api/v1/reports/units", headers=admin_headers).json()["total"]["received"] == 8
    # A single local day: 3 March holds m1 and m2 (received 09:00 and 14:00 local, i.e. 01:00 and 06:00 UTC).
    day = {"from": "2025-03-03", "to": "2025-03-03"}
    assert (
        client.get("/api/v1/reports/units", params=day, headers=admin_headers).json()["total"]["received"]
        == 2
    )


def test_accounts_and_platforms(client, admin_headers, world):
    body = client.get("/api/v1/reports/accounts", params=MARCH, headers=admin_headers).json()
    rows = {r["account_id"]: r for r in body["rows"]}
    acc_a, acc_a2, acc_b = (world[k]["id"] for k in ("a", "a2", "b"))
    assert (rows[acc_a]["received"], rows[acc_a]["answered_on_time"], rows[acc_a]["answered_late"]) == (
        3,
        1,
        1,
    )
    assert rows[acc_a]["on_time_rate"] == 50.0
    assert (rows[acc_a2]["received"], rows[acc_a2]["out_of_scope"], rows[acc_a2]["on_time_rate"]) == (
        1,
        1,
        100.0,
    )
    assert _subset(rows[acc_b], UNIT_B) == UNIT_B
    assert rows[acc_b]["platform_label"] == "微博" and rows[acc_b]["unit_name"] == "乙局"

    platforms = client.get("/api/v1/reports/platforms", params=MARCH, headers=admin_headers).json()
    by_platform = {r["platform"]: r["received"] for r in platforms["rows"]}
    assert by_platform == {"generic": 1, "wechat": 3, "weibo": 3}
    assert _subset(platforms["total"], TOTAL) == TOTAL


def test_weekly_trend_lists_every_week(client, admin_headers, world):
    body = client.get(
        "/api/v1/reports/periods", params={**MARCH, "period": "week"}, headers=admin_headers
    ).json()
    weeks = [(r["period"], r["received"]) for r in body["rows"]]
    # 1 March is a Saturday: its week starts Monday 24 February; 31 March is a Monday.
    assert weeks == [
        ("2025-W09", 0),
        ("2025-W10", 5),
        ("2025-W11", 1),
        ("2025-W12", 1),
        ("2025-W13", 0),
        ("2025-W14", 0),
    ]
    w10 = body["rows"][1]
    assert (w10["answered"], w10["answered_on_time"], w10["answered_late"], w10["overdue_now"]) == (
        4,
        3,
        1,
        1,
    )
    assert w10["period_start"] == "2025-03-03"
    assert _subset(body["total"], TOTAL) == TOTAL


def test_units_per_month(client, admin_headers, world):
    body = client.get(
        "/api/v1/reports/units",
        params={"from": "2025-02-01", "to": "2025-03-31", "period": "month"},
        headers=admin_headers,
    ).json()
    cells = {(r["unit_code"], r["period"]): r["received"] for r in body["rows"]}
    assert cells == {("a", "2025-02"): 1, ("a", "2025-03"): 4, ("b", "2025-03"): 3}


def test_unit_roles_see_their_units_only(client, make_user, world):
    operator_a = make_user("operator", "a")
    body = client.get("/api/v1/reports/units", params=MARCH, headers=operator_a).json()
    assert [r["unit_code"] for r in body["rows"]] == ["a"]
    assert _subset(body["total"], UNIT_A) == UNIT_A
    accounts = client.get("/api/v1/reports/accounts", params=MARCH, headers=operator_a).json()
    assert {r["account_id"] for r in accounts["rows"]} == {world["a"]["id"], world["a2"]["id"]}
    assert (
        client.get("/api/v1/reports/units", params={"unit_code": "b"}, headers=operator_a).status_code == 404
    )
    overdue = client.get("/api/v1/reports/overdue", headers=operator_a).json()
    assert overdue["total"] == 0
    # Supervisors and auditors see every unit.
    for role in ("supervisor", "auditor"):
        seen = client.get("/api/v1/reports/units", params=MARCH, headers=make_user(role)).json()
        assert seen["total"]["received"] == 7


def test_csv_and_xlsx_hold_the_same_numbers(client, admin_headers, world):
    json_body = client.get("/api/v1/reports/units", params=MARCH, headers=admin_headers).json()
    csv_resp = client.get("/api/v1/reports/units", params={**MARCH, "format": "csv"}, headers=admin_headers)
    xlsx_resp = client.get("/api/v1/reports/units", params={**MARCH, "format": "xlsx"}, headers=admin_headers)
    assert csv_resp.status_code == 200 and csv_resp.headers["content-type"].startswith("text/csv")
    assert "attachment" in csv_resp.headers["content-disposition"]
    assert xlsx_resp.headers["content-type"].startswith("application/vnd.openxmlformats")

    text = csv_resp.content.decode("utf-8-sig")
    csv_rows = list(csv.reader(io.StringIO(text)))
    sheet = load_workbook(io.BytesIO(xlsx_resp.content)).active
    xlsx_rows = [["" if v is None else v for v in row] for row in sheet.iter_rows(values_only=True)]

    header = csv_rows[0]
    assert header[:5] == ["单位代码", "单位名称", "答复时限（工作日）", "收到留言", "已答复"]
    assert "按时答复率（%）" in header and "答复用时P90（工作日）" in header
    assert xlsx_rows[0] == header
    assert len(csv_rows) == len(xlsx_rows) == 1 + 3 + 1  # header, three units, total

    def numbers(row):
        return [float(v) if v != "" else None for v in row[3:]]

    for csv_row, xlsx_row in zip(csv_rows[1:], xlsx_rows[1:], strict=True):
        assert csv_row[:2] == [str(v) for v in xlsx_row[:2]]
        assert numbers(csv_row) == numbers(xlsx_row)
    # And the files agree with the JSON report.
    keys = [c["key"] for c in json_body["columns"]]
    assert header == [c["label"] for c in json_body["columns"]]
    total = dict(zip(keys, csv_rows[-1], strict=True))
    assert total["unit_name"] == "合计"
    assert float(total["answered_late"]) == 1 and float(total["on_time_rate"]) == 60.0
    row_a = dict(zip(keys, csv_rows[1], strict=True))
    assert {k: float(row_a[k]) for k in UNIT_A} == {k: float(v) for k, v in UNIT_A.items()}


def test_account_report_file_has_account_columns(client, admin_headers, world):
    resp = client.get("/api/v1/reports/accounts", params={**MARCH, "format": "xlsx"}, headers=admin_headers)
    sheet = load_workbook(io.BytesIO(resp.content)).active
    header = next(sheet.iter_rows(values_only=True))
    assert header[:7] == (
        "账号ID",
        "账号名称",
        "平台",
        "单位代码",
        "单位名称",
        "答复时限（工作日）",
        "僵尸账号",
    )


def test_overdue_view(client, admin_headers, world):
    body = client.get("/api/v1/reports/overdue", headers=admin_headers).json()
    # m4 was due Tue 11 March; on Thu 20 March that is 7 working days ago (12, 13, 14, 17, 18, 19, 20).
    assert body["total"] == 1
    buckets = {b["key"]: b["count"] for b in body["buckets"]}
    assert buckets == {"lt1": 0, "1-2": 0, "3-5": 0, "6-10": 1, "gt10": 0}
    assert body["oldest"][0]["working_days_overdue"] == 7
    assert body["oldest"][0]["unit_name"] == "乙局"
    assert body["by_unit"] == [{"key": "b", "label": "乙局", "count": 1}]
    # m5 is due Mon 24 March: within three working days of Thu 20 March (21, 24, 25), not today.
    upcoming = {b["key"]: b["count"] for b in body["upcoming"]}
    assert upcoming == {"today": 0, "3wd": 1}


def test_overdue_excerpts_are_masked(client, admin_headers, world, add_message):
    add_message(
        world["b"], local(2025, 3, 5, 9), due_at=end_of(2025, 3, 12), content="请回电 13812345678 谢谢"
    )
    body = client.get("/api/v1/reports/overdue", headers=admin_headers).json()
    assert all("13812345678" not in item["excerpt"] for item in body["oldest"])


def test_bad_input_is_4xx(client, admin_headers, world):
    bad_range = client.get(
        "/api/v1/reports/units", params={"from": "2025-03-31", "to": "2025-03-01"}, headers=admin_headers
    )
    assert bad_range.status_code == 422
    assert (
        client.get("/api/v1/reports/units", params={"format": "pdf"}, headers=admin_headers).status_code
        == 422
    )
    too_many = client.get(
        "/api/v1/reports/periods",
        params={"from": "2000-01-01", "to": "2025-12-31", "period": "day"},
        headers=admin_headers,
    )
    assert too_many.status_code == 422
    assert "周期过多" in too_many.json()["error"]["message"]
    assert client.get("/api/v1/reports/units").status_code == 401


def test_transfers_out_count_the_unit_that_passed_it_on(client, admin_headers, make_user, world, add_message):
    message_id = add_message(world["a"], local(2025, 3, 18, 9), due_at=end_of(2025, 3, 25))
    moved = client.post(
        f"/api/v1/messages/{message_id}/transfer",
        json={"unit_code": "b", "reason": "属乙局职责，转乙局办理"},
        headers=make_user("operator", "a"),
    )
    assert moved.status_code == 200, moved.text
    body = client.get("/api/v1/reports/units", params=MARCH, headers=admin_headers).json()
    rows = {r["unit_code"]: r for r in body["rows"]}
    # Unit a bounced it; unit b now holds it, transferred once.
    assert (rows["a"]["transfers_out"], rows["b"]["transfers_out"], rows["c"]["transfers_out"]) == (1, 0, 0)
    assert (rows["b"]["received"], rows["b"]["transferred"], rows["b"]["transfers"]) == (4, 3, 4)
    assert body["total"]["transfers_out"] == 1
    assert "转出次数" in [c["label"] for c in body["columns"]]
    # Not in per-period or other reports: there it would not add up.
    accounts = client.get("/api/v1/reports/accounts", params=MARCH, headers=admin_headers).json()
    assert "转出次数" not in [c["label"] for c in accounts["columns"]]
