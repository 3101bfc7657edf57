"""POST /kb/import and GET /kb/export: CSV and XLSX, Chinese and English headers, a report of rejected
rows, idempotent on (unit, question), and an export that imports back unchanged."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from openpyxl import load_workbook

from tests.helpers import xlsx_bytes
from tests.knowledge.conftest import Desk

ROWS = [
    ["问题", "答案", "相似问法", "单位", "标签", "渠道", "生效时间", "失效时间"],
    [
        "居民身份证到期了怎么换领？",
        "有效期满前三个月内到户籍地派出所办理换领，工本费20元。",
        "身份证过期了去哪换|身份证到期换证",
        "gaj",
        "证件、户籍",
        "微信|网站",
        "2026-01-01",
        "2026-12-31",
    ],
    ["新生儿怎么上户口？", "出生一个月内到派出所申报出生登记。", "", "县公安局", "户籍", "", "", ""],
    [
        "住房公积金怎么提取？",
        "到公积金中心窗口或在线办理，3个工作日到账。",
        "公积金的钱怎么取出来",
        "",
        "",
        "",
        "",
        "",
    ],
]


def csv_bytes(rows: list[list[Any]], encoding: str = "utf-8-sig") -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode(encoding)


def upload(desk: Desk, data: bytes, name: str, headers: dict[str, str] | None = None, **params: Any) -> Any:
    return desk.client.post(
        "/api/v1/kb/import", files={"file": (name, data)}, params=params, headers=headers or desk.admin
    )


def test_import_csv_with_chinese_headers(desk: Desk) -> None:
    resp = upload(desk, csv_bytes(ROWS), "kb.csv")
    assert resp.status_code == 200, resp.text
    assert resp.json() | {"rejected": []} == {
        "total": 3,
        "created": 3,
        "updated": 0,
        "unchanged": 0,
        "rejected": [],
        "ignored_columns": [],
    }
    items = {e["question"]: e for e in desk.get("/kb/entries", desk.admin).json()["items"]}
    card = items["居民身份证到期了怎么换领？"]
    assert card["alt_questions"] == ["身份证过期了去哪换", "身份证到期换证"]
    assert card["tags"] == ["证件", "户籍"]
    assert card["channels"] == ["wechat", "generic"]
    assert card["valid_from"] == "2025-12-31T16:00:00Z"  # local midnight, Asia/Shanghai
    assert card["valid_to"].startswith("2026-12-31T15:59:59.999999")  # through the last local instant
    assert items["新生儿怎么上户口？"]["unit_code"] == "gaj"  # a unit's name is accepted too
    assert items["住房公积金怎么提取？"]["unit_code"] is None
    assert all(e["status"] == "published" for e in items.values())


def test_import_xlsx_with_english_headers_and_gbk_csv(desk: Desk) -> None:
    rows = [["question", "answer", "alt_questions", "unit_code", "status"]]
    rows.append(["营业执照怎么注销？", "先清税，再网上申请注销。", "执照注销\n怎么注销公司", "gaj", "draft"])
    resp = upload(desk, xlsx_bytes(rows), "kb.xlsx")
    assert resp.json()["created"] == 1, resp.text
    entry = desk.get("/kb/entries", desk.admin).json()["items"][0]
    assert entry["alt_questions"] == ["执照注销", "怎么注销公司"]
    assert entry["status"] == "draft"
    gbk = csv_bytes([["问题", "答案"], ["低保怎么申请？", "向乡镇提出书面申请。"]], encoding="gb18030")
    assert upload(desk, gbk, "gbk.csv").json()["created"] == 1


def test_rejected_rows_are_reported_and_the_rest_imported(desk: Desk) -> None:
    rows = [
        ["问题", "答案", "单位", "渠道", "状态", "失效时间", "备注"],
        ["好问题？", "好答案。", "gaj", "", "", "", "x"],
        ["", "没有问题的答案", "gaj", "", "", "", ""],
        ["没有答案的问题", "", "gaj", "", "", "", ""],
        ["单位不存在？", "答案", "nowhere", "", "", "", ""],
        ["渠道不对？", "答案", "gaj", "传真", "", "", ""],
        ["状态不对？", "答案", "gaj", "", "待定", "", ""],
        ["日期不对？", "答案", "gaj", "", "", "明年", ""],
        ["好问题?", "同一问题再来一次", "gaj", "", "", "", ""],
    ]
    report = upload(desk, csv_bytes(rows), "bad.csv").json()
    assert report["created"] == 1
    assert [r["row"] for r in report["rejected"]] == [3, 4, 5, 6, 7, 8, 9]
    reasons = " ".join(r["reason"] for r in report["rejected"])
    for word in ("问题为空", "答案为空", "nowhere", "传真", "待定", "明年", "第 2 行"):
        assert word in reasons
    assert report["ignored_columns"] == ["备注"]


def test_missing_columns_and_unreadable_files_are_400(desk: Desk) -> None:
    assert upload(desk, csv_bytes([["标题", "内容"], ["a", "b"]]), "x.csv").status_code == 400
    assert upload(desk, b"PK\x03\x04 broken", "x.xlsx").status_code == 400
    assert upload(desk, b"", "x.csv").status_code == 400


def test_reimport_is_idempotent_and_changes_make_versions(desk: Desk) -> None:
    data = csv_bytes(ROWS)
    upload(desk, data, "kb.csv")
    again = upload(desk, data, "kb.csv").json()
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 3)
    changed = [row[:] for row in ROWS]
    changed[2][1] = "出生一个月内到户籍派出所申报出生登记，当场办结。"
    report = upload(desk, csv_bytes(changed), "kb.csv").json()
    assert (report["created"], report["updated"], report["unchanged"]) == (0, 1, 2)
    entry = next(
        e
        for e in desk.get("/kb/entries", desk.admin).json()["items"]
        if e["question"] == "新生儿怎么上户口？"
    )
    assert entry["version"] == 2
    versions = desk.get(f"/kb/entries/{entry['id']}/versions", desk.admin).json()
    assert [v["answer"] for v in versions][1] == "出生一个月内到派出所申报出生登记。"


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_imports_back_unchanged(desk: Desk, fmt: str) -> None:
    upload(desk, csv_bytes(ROWS), "kb.csv")
    desk.create(
        question="=1+1 是什么？", answer="-2 不是答案", unit_code="rsj", status="draft", tags=["测试"]
    )
    resp = desk.client.get("/api/v1/kb/export", params={"format": fmt}, headers=desk.admin)
    assert resp.status_code == 200
    assert "attachment" in resp.headers["content-disposition"]
    if fmt == "xlsx":
        sheet = load_workbook(io.BytesIO(resp.content)).worksheets[0]
        assert [c.value for c in sheet[1]][:4] == ["编号", "单位", "问题", "答案"]
        assert any(c.value == "=1+1 是什么？" and c.data_type == "s" for c in sheet["C"])
    else:
        assert resp.content.startswith("\ufeff编号,单位,问题,答案".encode())
    report = upload(desk, resp.content, f"export.{fmt}").json()
    assert report == {
        "total": 4,
        "created": 0,
        "updated": 0,
        "unchanged": 4,
        "rejected": [],
        "ignored_columns": [],
    }


def test_export_shows_only_what_the_caller_may_read(desk: Desk) -> None:
    upload(desk, csv_bytes(ROWS), "kb.csv")
    desk.create(question="内部草稿？", answer="草稿", unit_code="gaj", status="draft")
    rows = list(csv.reader(io.StringIO(desk.client.get("/api/v1/kb/export", headers=desk.operator_a).text)))
    assert "内部草稿？" not in {r[2] for r in rows}
    rows = list(
        csv.reader(
            io.StringIO(
                desk.client.get("/api/v1/kb/export", params={"unit_code": "gaj"}, headers=desk.leader_a).text
            )
        )
    )
    assert {r[2] for r in rows[1:]} == {"居民身份证到期了怎么换领？", "新生儿怎么上户口？", "内部草稿？"}


def test_leader_imports_only_their_units_rows(desk: Desk) -> None:
    report = upload(desk, csv_bytes(ROWS), "kb.csv", headers=desk.leader_b).json()
    assert report["created"] == 0
    assert len(report["rejected"]) == 3
    assert upload(desk, csv_bytes(ROWS), "kb.csv", headers=desk.operator_a).status_code == 403
    mine = [["问题", "答案"], ["失业保险金怎么申领？", "办理失业登记后申领。"]]
    assert (
        upload(desk, csv_bytes(mine), "kb.csv", headers=desk.leader_b)
        .json()["rejected"][0]["reason"]
        .startswith("无权")
    )
    own = [["问题", "答案", "单位"], ["失业保险金怎么申领？", "办理失业登记后申领。", "rsj"]]
    assert upload(desk, csv_bytes(own), "kb.csv", headers=desk.leader_b).json()["created"] == 1


def test_cli_import_and_export(desk: Desk, tmp_path: Any, capsys: Any) -> None:
    from app.cli import main

    source = tmp_path / "kb.csv"
    source.write_bytes(csv_bytes(ROWS))
    assert main(["kb", "import", str(source)]) == 0
    assert "created: 3" in capsys.readouterr().out
    exported = tmp_path / "out.xlsx"
    assert main(["kb", "export", str(exported)]) == 0
    assert main(["kb", "import", str(exported)]) == 0
    assert "unchanged: 3" in capsys.readouterr().out
