"""Personal data found as exact spans, masked exactly, and ordinary numbers left alone."""

from __future__ import annotations

import pytest

from app.pii import PiiSpan, find_pii, mask

VALID_ID = "43010219800315123X"
VALID_CARD = "6222100000031234"  # Luhn-valid


def texts_of(text: str) -> list[tuple[str, str]]:
    return [(s.kind, s.text) for s in find_pii(text)]


@pytest.mark.parametrize(
    "number",
    [
        "13907351286",
        "139 0735 1286",
        "139-0735-1286",
        "+8613907351286",
        "+86 139 0735 1286",
        "+86-139-0735-1286",
        "0086 13907351286",
    ],
)
def test_mobile_numbers_in_every_common_writing(number: str) -> None:
    assert texts_of(f"我的电话：{number}，请回电") == [("mobile", number)]


def test_spans_point_into_the_original_text() -> None:
    text = "电话 +86 139 0735 1286 邮箱 a.b@example.com"
    for span in find_pii(text):
        assert text[span.start : span.end] == span.text


def test_full_width_digits_are_found_as_written() -> None:
    text = "手机１３９０７３５１２８６"
    assert texts_of(text) == [("mobile", "１３９０７３５１２８６")]


def test_id_numbers_need_a_real_region_and_birth_date() -> None:
    assert texts_of(f"身份证{VALID_ID}") == [("id_card", VALID_ID)]
    assert texts_of(f"身份证{VALID_ID.lower()}") == [("id_card", VALID_ID.lower())]
    assert texts_of("身份证430102198013151234") == []  # month 13
    assert texts_of("身份证990102198003151234") == []  # no province 99


def test_id_number_with_a_mistyped_check_digit_is_still_masked() -> None:
    assert texts_of("身份证430102198003151230，麻烦查一下") == [("id_card", "430102198003151230")]
    text = "我身份证号430102198003151230"
    assert mask(text, find_pii(text)) == "我身份证号4301**********1230"
    # …but a sample number printed in a guide is nobody's.
    assert texts_of("办事指南上的示例身份证号110101199003071230，校验位不对") == []


def test_grouped_id_number() -> None:
    assert texts_of("身份证：430102 19800315 123X，谢谢") == [("id_card", "430102 19800315 123X")]


def test_bank_cards_pass_luhn_solid_or_grouped() -> None:
    assert texts_of(f"卡号{VALID_CARD}") == [("bank_card", VALID_CARD)]
    assert texts_of("卡号6222 1000 0003 1234，农行") == [("bank_card", "6222 1000 0003 1234")]
    assert texts_of("卡号6217 0000 0000 0001 234") == [("bank_card", "6217 0000 0000 0001 234")]
    assert texts_of("6222100000031235") == []  # Luhn fails and nothing says it is a card


def test_card_numbers_in_card_context_are_masked_even_if_mistyped() -> None:
    assert texts_of("卡号6222100000031235") == [("bank_card", "6222100000031235")]  # Luhn fails
    assert texts_of("银行卡号：6228 4800 1234 5678 912，农行") == [("bank_card", "6228 4800 1234 5678 912")]
    assert texts_of("工资卡1234567890123456789没到账") == [("bank_card", "1234567890123456789")]
    assert texts_of("流水号1234567890123456789") == []


@pytest.mark.parametrize(
    ("text", "found", "masked"),
    [
        ("电话0731-84561234", "0731-84561234", "电话0731-****1234"),
        ("座机(0731)8456 1234白天有人", "(0731)8456 1234", "座机(0731)**** 1234白天有人"),
        ("北京的010-62345678", "010-62345678", "北京的010-****5678"),
        ("打07318456123找我", "07318456123", "打0731***6123找我"),
    ],
)
def test_landlines_with_area_codes(text: str, found: str, masked: str) -> None:
    assert texts_of(text) == [("landline", found)]
    assert mask(text, find_pii(text)) == masked


def test_emails() -> None:
    assert texts_of("发到 zhang.li_85@mail.example.com。") == [("email", "zhang.li_85@mail.example.com")]
    assert texts_of("@青禾县发布 请回复") == []


@pytest.mark.parametrize(
    "text",
    [
        "我是2024年3月15日交的材料，受理编号20240315000123",
        "医保今年交了380元，去年是350元",
        "打了12345和12315都没人接",
        "订单号13907351286，一直不发货",
        "快递单号SF1402783365921还没到",
        "流水号9013907351286123456789",
        "每亩110.5元，共1392.3元",
        "工单号GD2024061800357",
        "我是2024-03-15交的，2024.03.15也行",
        "案号(2024)湘0102民初1234号",
        "罚款200元，0.5元一斤，共3000.75元",
        "订单号4200002156202406183745",
        "打12345或0731-12345都行",
    ],
)
def test_ordinary_numbers_are_left_alone(text: str) -> None:
    assert find_pii(text) == []


def test_number_inside_a_longer_digit_run_is_not_a_phone() -> None:
    assert texts_of("编码 913907351286") == []
    assert texts_of("2139073512861") == []


def test_two_numbers_side_by_side() -> None:
    assert texts_of("13907351286 13812345678") == [("mobile", "13907351286"), ("mobile", "13812345678")]


def test_mask_shapes() -> None:
    text = f"电话13907351286，身份证{VALID_ID}，卡6222 1000 0003 1234，邮箱zhang@example.com"
    assert mask(text, find_pii(text)) == (
        "电话139****1286，身份证4301**********123X，卡6222 **** **** 1234，邮箱z***@example.com"
    )


def test_mask_keeps_prefix_and_separators_of_phones() -> None:
    text = "+86 139 0735 1286"
    assert mask(text, find_pii(text)) == "+86 139 **** 1286"


def test_mask_without_spans_returns_the_text() -> None:
    assert mask("没有个人信息", []) == "没有个人信息"


def test_email_holding_a_phone_number_is_one_email() -> None:
    assert texts_of("13907351286@163.com") == [("email", "13907351286@163.com")]


def test_span_type() -> None:
    (span,) = find_pii("13907351286")
    assert span == PiiSpan("mobile", 0, 11, "13907351286")
