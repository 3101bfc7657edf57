"""12345 / legacy message-board imports: the real wenzheng-2020 exports, encodings, XLSX, row checks."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from openpyxl import Workbook

from connectors.base import PayloadError
from connectors.imports import parse_export, parse_time

DATA = Path(__file__).resolve().parents[2] / "data" / "wenzheng-2020"
SHANGHAI = ZoneInfo("Asia/Shanghai")


def read(name: str) -> bytes:
    path = DATA / name
    if not path.exists():
        pytest.skip(f"shared data not present: {name}")
    return path.read_bytes()


def test_labeled_export_imports_and_reports_its_duplicate_row(now: datetime) -> None:
    items, rejected = parse_export(read("messages_labeled.csv"), filename="messages_labeled.csv", now=now)
    assert len(items) == 494
    assert [(r.row_number, r.reason) for r in rejected] == [(312, "编号重复（与第 100 行相同）")]
    first = items[0]
    assert first.row_number == 2
    assert first.item.external_id == "24"
    assert first.subject == "A市西湖建筑集团占道施工有安全隐患"
    assert first.item.content.startswith("A市西湖建筑集团占道施工有安全隐患\nA3区大道西行便道")
    assert first.item.author_id == "A00074011"
    assert first.item.received_at == datetime(2020, 1, 6, 4, 9, 38, tzinfo=UTC)  # 12:09:38 Beijing
    assert first.item.raw["category"] == "城乡建设"


def test_export_with_official_replies_keeps_reply_and_reply_time(now: datetime) -> None:
    items, rejected = parse_export(
        read("messages_with_replies.csv"), filename="messages_with_replies.csv", now=now
    )
    assert len(items) == 120 and rejected == []
    first = items[0]
    assert first.item.external_id == "2549"
    assert first.item.received_at == datetime(2019, 4, 25, 1, 32, 9, tzinfo=UTC)
    assert first.reply is not None and first.reply.startswith("现将网友在平台《问政西地省》")
    assert first.replied_at is not None and first.replied_at > first.item.received_at
    assert all(m.replied_at is not None and m.reply for m in items)


def test_hot_export_with_dash_dates_imports(now: datetime) -> None:
    items, rejected = parse_export(read("messages_hot.csv"), filename="messages_hot.csv", now=now)
    assert len(items) == 30 and rejected == []
    assert items[0].item.received_at == datetime(2017, 6, 8, 9, 31, 20, tzinfo=UTC)


def test_a_file_without_message_columns_is_refused_as_a_whole(now: datetime) -> None:
    with pytest.raises(PayloadError, match="留言内容列"):
        parse_export(read("categories.csv"), filename="categories.csv", now=now)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2020/1/6 12:09:38", datetime(2020, 1, 6, 4, 9, 38, tzinfo=UTC)),
        ("2019-04-25 09:32:09", datetime(2019, 4, 25, 1, 32, 9, tzinfo=UTC)),
        ("2019年4月25日 9:32", datetime(2019, 4, 25, 1, 32, tzinfo=UTC)),
        ("2019/4/25", datetime(2019, 4, 24, 16, 0, tzinfo=UTC)),
        (datetime(2019, 4, 25, 9, 32, 9), datetime(2019, 4, 25, 1, 32, 9, tzinfo=UTC)),
    ],
)
def test_times_are_read_in_the_given_zone(value: object, expected: datetime) -> None:
    assert parse_time(value, tz=SHANGHAI) == expected


def test_times_in_another_zone() -> None:
    assert parse_time("2020/1/6 12:09:38", tz=UTC) == datetime(2020, 1, 6, 12, 9, 38, tzinfo=UTC)


CSV = (
    "工单编号,来电人,诉求内容,来电时间,答复意见,答复时间\n"
    "GD001,李女士,小区楼道灯坏了,2024/5/1 8:00:00,已修复,2024/5/2 9:00:00\n"
    "GD002,王先生,,2024/5/1 8:00:00,,\n"
    "GD003,赵先生,噪音扰民,五月一日,,\n"
    "GD004,钱女士,井盖缺失,2024/5/1 8:00:00,已处理,2024/4/30 9:00:00\n"
    "GD005,孙先生,明天的事,2030/1/1 8:00:00,,\n"
    ",周先生,没有编号,2024/5/1 8:00:00,,\n"
    ",,,,,\n"
    "GD006,吴女士,公交线路调整建议,2024-05-03 10:00,,\n"
    "GD007,郑先生,没有时间,,,\n"
)


def test_rows_are_validated_one_by_one_with_chinese_reasons(now: datetime) -> None:
    items, rejected = parse_export(CSV.encode("gb18030"), filename="12345导出.csv", now=now)
    assert [m.item.external_id for m in items] == ["GD001", "GD006"]
    assert {r.row_number: r.reason for r in rejected} == {
        3: "留言内容为空",
        4: "留言时间无法识别：五月一日",
        5: "答复时间早于留言时间",
        6: "留言时间晚于当前时间：2030/1/1 8:00:00",
        7: "缺少编号",
        10: "缺少留言时间",
    }
    assert rejected[0].values["来电人"] == "王先生"


def test_utf8_with_bom_and_a_column_mapping(now: datetime) -> None:
    data = "\ufeff序号,诉求描述,登记时间\n1,路面塌陷,2024-05-01 08:00:00\n".encode()
    items, rejected = parse_export(
        data,
        filename="x.csv",
        now=now,
        mapping={"external_id": "序号", "content": "诉求描述", "posted_at": "登记时间"},
    )
    assert rejected == [] and items[0].item.content == "路面塌陷" and items[0].item.external_id == "1"
    with pytest.raises(PayloadError, match="没有列"):
        parse_export(data, filename="x.csv", now=now, mapping={"content": "不存在的列"})


def test_without_an_id_column_ids_are_derived_and_stable(now: datetime) -> None:
    data = "留言内容,留言时间,留言用户\n垃圾站太臭,2024-05-01 08:00:00,u1\n垃圾站太臭,2024-05-02 08:00:00,u1\n".encode()
    first, _ = parse_export(data, filename="a.csv", now=now)
    again, _ = parse_export(data, filename="a.csv", now=now)
    assert [m.item.external_id for m in first] == [m.item.external_id for m in again]
    assert len({m.item.external_id for m in first}) == 2


def test_xlsx_export_is_read_with_excel_types(now: datetime) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["留言编号", "留言主题", "留言详情", "留言时间", "留言用户"])
    sheet.append(
        [360114.0, "学院变相强制实习", "实训单位与专业不对口", datetime(2017, 6, 8, 17, 31, 20), "A0182491"]
    )
    sheet.append([360115, "公交站牌缺失", "站牌被撞倒一周", "2017/6/9 8:00:00", "A0000001"])
    buffer = io.BytesIO()
    book.save(buffer)
    items, rejected = parse_export(buffer.getvalue(), filename="导出.xlsx", now=now)
    assert rejected == []
    assert [m.item.external_id for m in items] == ["360114", "360115"]
    assert items[0].item.received_at == datetime(2017, 6, 8, 9, 31, 20, tzinfo=UTC)


@pytest.mark.parametrize(
    ("data", "filename"),
    [
        (b"", "empty.csv"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 64, "old.xls"),
        (b"PK\x03\x04 not really a zip", "broken.xlsx"),
        (b"id,content,posted_at\n1,\xff\xfe\xff,2024-05-01\n", "bad-encoding.csv"),
    ],
)
def test_unreadable_files_are_refused(now: datetime, data: bytes, filename: str) -> None:
    with pytest.raises(PayloadError, match=r"为空|xls|Excel|编码"):
        parse_export(data, filename=filename, now=now)


def test_row_limit(now: datetime) -> None:
    rows = "".join(f"{i},内容{i},2024-05-01 08:00:00\n" for i in range(5))
    with pytest.raises(PayloadError, match="行数超过上限"):
        parse_export(f"id,content,posted_at\n{rows}".encode(), filename="x.csv", now=now, max_rows=3)
