"""Imports of exported messages through the upload endpoint and the CLI, on the real 2020 message-board
files: counts, idempotent re-import, rejected rows with reasons, answered rows, unit scoping."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import select

from app.audit.models import AuditEvent
from app.cli import main
from app.db import session_scope
from app.messages.models import Message

from .conftest import Desk

DATA = Path(__file__).resolve().parents[2] / "data" / "wenzheng-2020"
needs_data = pytest.mark.skipif(
    not DATA.is_dir(), reason="data/wenzheng-2020 missing from the checkout"
)


def upload(
    desk: Desk,
    path: Path | None = None,
    *,
    account: str = "generic",
    headers: dict[str, str] | None = None,
    data: bytes | None = None,
    name: str = "export.csv",
    **form: str,
):  # type: ignore[no-untyped-def]
    content = path.read_bytes() if path else (data or b"")
    return desk.client.post(
        "/api/v1/imports/messages",
        params={"account_id": desk.accounts[account], "kind": "comment"},
        files={"file": (path.name if path else name, content, "text/csv")},
        data=form,
        headers=headers or desk.admin,
    )


@needs_data
def test_the_real_board_exports_import_and_importing_again_adds_nothing(desk: Desk) -> None:
    labeled = upload(desk, DATA / "messages_labeled.csv")
    assert labeled.status_code == 200, labeled.text
    report = labeled.json()
    assert report["imported"] == 494 and report["duplicates"] == 0
    assert report["rejected"] == [{"row": 312, "reason": "编号重复（与第 100 行相同）"}]
    assert upload(desk, DATA / "messages_hot.csv").json()["imported"] == 30
    again = upload(desk, DATA / "messages_labeled.csv").json()
    assert (again["imported"], again["duplicates"]) == (0, 494)
    with session_scope() as session:
        message = session.exec(select(Message).where(Message.external_id == "24")).one()
    assert message.content.startswith("A市西湖建筑集团占道施工有安全隐患\nA3区大道西行便道")
    assert message.author_id == "A00074011"
    assert message.received_at.isoformat() == "2020-01-06T04:09:38+00:00"  # 12:09:38 Beijing time
    assert message.status == "received" and message.unit_code == "a"


@needs_data
def test_rows_answered_at_the_source_arrive_answered(desk: Desk) -> None:
    report = upload(desk, DATA / "messages_with_replies.csv").json()
    assert (report["imported"], report["answered"], report["rejected"]) == (120, 120, [])
    with session_scope() as session:
        message = session.exec(select(Message).where(Message.external_id == "2549")).one()
    assert message.status == "published"
    assert message.first_replied_at is not None and message.first_replied_at > message.received_at
    assert message.thread_ref["source_reply"].startswith("现将网友在平台《问政西地省》栏目")


@needs_data
def test_a_file_that_is_not_a_message_export_is_refused_with_the_reason(desk: Desk) -> None:
    response = upload(desk, DATA / "categories.csv")
    assert response.status_code == 400
    assert "留言内容列" in response.json()["error"]["message"]
    assert desk.count() == 0


def test_column_mapping_and_row_validation(desk: Desk) -> None:
    csv = (
        "工单号,来电时间,诉求描述,来电人\n"
        "G-001,2026-02-27 09:15:00,青禾路井盖缺失，夜间很危险,张先生\n"
        "G-002,不是时间,路灯不亮,李女士\n"
        "G-003,2026-02-28 10:00:00,,王女士\n"
        "G-004,2099-01-01 00:00:00,未来的来电,赵先生\n"
    ).encode()
    mapping = '{"external_id": "工单号", "posted_at": "来电时间", "content": "诉求描述", "author": "来电人"}'
    report = upload(desk, data=csv, mapping=mapping).json()
    assert report["imported"] == 1
    assert [r["row"] for r in report["rejected"]] == [3, 4, 5]
    assert "无法识别" in report["rejected"][0]["reason"]
    assert "为空" in report["rejected"][1]["reason"]
    assert "晚于当前时间" in report["rejected"][2]["reason"]
    [message] = desk.messages()
    assert (message.external_id, message.author_name) == ("G-001", "张先生")
    assert upload(desk, data=csv, mapping="{not json").status_code == 400
    assert upload(desk, data=csv, mapping='{"phone": "电话"}').status_code == 400
    assert upload(desk, data=csv).status_code == 400  # the default headers are not there


def test_xlsx_export_imports(desk: Desk) -> None:
    import io

    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["编号", "留言时间", "留言主题", "留言详情"])
    sheet.append(["X-1", "2026/2/27 9:15:00", "公交站牌", "站牌被风吹倒，存在安全隐患"])
    buffer = io.BytesIO()
    book.save(buffer)
    report = upload(desk, data=buffer.getvalue(), name="board.xlsx").json()
    assert report["imported"] == 1
    assert desk.messages()[0].content == "公交站牌\n站牌被风吹倒，存在安全隐患"


def test_imports_are_scoped_to_the_callers_units(desk: Desk, make_user) -> None:  # type: ignore[no-untyped-def]
    csv = "编号,留言时间,留言详情\nS-1,2026-02-27 09:15:00,路面塌陷\n".encode()
    operator_b = make_user("operator", "b")
    assert upload(desk, data=csv, account="generic", headers=operator_b).status_code == 404
    assert upload(desk, data=csv, account="generic_b", headers=operator_b).json()["imported"] == 1
    auditor = make_user("auditor")
    assert upload(desk, data=csv, account="generic_b", headers=auditor).status_code == 403
    assert (
        desk.client.post(
            "/api/v1/imports/messages",
            params={"account_id": desk.accounts["generic"]},
            files={"file": ("a.csv", csv)},
        ).status_code
        == 401
    )
    with session_scope() as session:
        audit = session.exec(select(AuditEvent).where(AuditEvent.action == "messages.import")).one()
    assert audit.unit_code == "b" and audit.after is not None and audit.after["imported"] == 1


@needs_data
def test_cli_imports_the_real_file(desk: Desk, capsys: pytest.CaptureFixture[str]) -> None:
    path = str(DATA / "messages_with_replies.csv")
    assert main(["import", "messages", path, "--account", str(desk.accounts["generic"])]) == 0
    out = capsys.readouterr().out
    assert "imported: 120" in out and "rejected: 0" in out
    assert main(["import", "messages", path, "--account", str(desk.accounts["generic"])]) == 0
    assert "duplicates: 120" in capsys.readouterr().out
    mapping = '{"content": "没有这一列"}'
    code = main(
        ["import", "messages", path, "--account", str(desk.accounts["generic"]), "--mapping", mapping]
    )
    assert code == 1
    assert "没有这一列" in capsys.readouterr().err
    assert desk.count() == 120
