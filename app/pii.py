"""Find and mask personal data in message text: mainland mobiles, landlines with an area code, resident ID
numbers, bank cards, e-mails.

Near-misses count: an ID-shaped number (real region and birth date) with a wrong check digit is still
someone's ID mistyped, and a 16–19 digit number after "卡号"/"银行卡" is a card even if it fails Luhn.

Spans are exact substrings of the original text, so masking replaces exactly what was found.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Literal

PiiKind = Literal["mobile", "landline", "id_card", "bank_card", "email"]


@dataclass(frozen=True, slots=True)
class PiiSpan:
    """One piece of personal data: its kind and where it sits in the text."""

    kind: PiiKind
    start: int
    end: int
    text: str


def _fold_table() -> dict[int, str]:
    # One character for one character, so positions in the folded text are positions in the original.
    table = {0xFF10 + i: str(i) for i in range(10)}
    table.update({0xFF21 + i: chr(0x41 + i) for i in range(26)})
    table.update({0xFF41 + i: chr(0x61 + i) for i in range(26)})
    table.update({ord(c): "-" for c in "－‐‑‒–—−﹣"})
    table.update({ord(c): " " for c in "\u3000\u00a0\u2002\u2003\u2009\u202f"})
    table.update({0xFF0B: "+", 0xFF20: "@", 0xFF0E: ".", 0xFF3F: "_"})
    return table


_FOLD = _fold_table()

_SEP = r"[ \-]"
_MOBILE = re.compile(
    rf"(?P<prefix>(?:\+|00)86{_SEP}?)?"
    rf"(?P<num>1[3-9][0-9](?:[0-9]{{8}}|(?P<sep>{_SEP})[0-9]{{4}}{_SEP}[0-9]{{4}}))"
    r"(?![0-9])"
)
_ID_CARD = re.compile(
    rf"(?P<area>[1-8][0-9]{{5}})(?P<sep>{_SEP}?)(?P<birth>(?:18|19|20)[0-9]{{6}})(?P=sep)(?P<tail>[0-9]{{3}}[0-9Xx])"
    r"(?![0-9A-Za-z])"
)
_BANK_CARD = re.compile(
    rf"(?:[0-9]{{16,19}}|(?P<sep>[0-9]{{4}}(?:{_SEP}[0-9]{{4}}){{3}}(?:{_SEP}[0-9]{{1,4}})?))"
    r"(?![0-9])"
)
# Area code 0xx or 0xxx (in brackets or not), then a local number of 7–8 digits that never opens with 0/1.
_LANDLINE = re.compile(
    rf"(?:[(（](?P<area_b>0[1-9][0-9]{{1,2}})[)）]|(?P<area>0[1-9][0-9]{{1,2}}))(?P<sep>{_SEP})?"
    r"[2-9][0-9]{2,3}(?:[ \-]?[0-9]{4})"
    r"(?![0-9])"
)
_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+\-])[A-Za-z0-9][A-Za-z0-9._%+\-]*@"
    r"[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,24}"
    r"(?![A-Za-z0-9\-])"
)
_SEP_DIGIT_BEFORE = re.compile(rf"[0-9]{_SEP}$")
_SEP_DIGIT_AFTER = re.compile(rf"{_SEP}[0-9]")

# Province-level codes that open a resident ID number (81-83: Hong Kong, Macao, Taiwan residence permits).
_PROVINCES = frozenset(
    {11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51, 52, 53, 54}
    | {61, 62, 63, 64, 65, 71, 81, 82, 83}
)
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
# Card schemes seen on mainland cards: 3 JCB/Amex, 4 Visa, 5 Mastercard, 6 UnionPay, 9 old domestic cards.
# Numbers opening with a year (order and receipt numbers) start with 1 or 2 and are left alone.
_CARD_FIRST = frozenset("34569")
# Latin words that may stand right before a phone number ("Tel13907351286", "加v13907351286").
_PHONE_WORDS = frozenset({"tel", "phone", "mobile", "mob", "cell", "call", "wx", "vx", "v", "wechat"})
# A number labelled like this is a reference number, whatever its digits look like.
_REFERENCE_LABELS = (
    "单号",
    "订单",
    "编号",
    "编码",
    "流水号",
    "交易号",
    "受理号",
    "工单",
    "条码",
    "条形码",
    "序列号",
    "发票号",
    "合同号",
    "批号",
    "批次",
    "型号",
    "车架号",
    "案号",
    "文号",
)
_LABEL_FILLER = " :：#是为号码"
# Words right before a long number that say it is a bank card.
_CARD_CONTEXT = (
    "卡号",
    "银行卡",
    "储蓄卡",
    "借记卡",
    "信用卡",
    "工资卡",
    "社保卡",
    "账号",
    "帐号",
    "卡",
    "账户",
)
# A sample number in a guide ("示例身份证号") is nobody's: near-misses there are left alone.
_SAMPLE_CONTEXT = ("示例", "样例", "样本", "例如", "比如")


def _id_check_ok(digits: str) -> bool:
    """ISO 7064 MOD 11-2 check digit and a real birth date."""
    if int(digits[:2]) not in _PROVINCES:
        return False
    try:
        born = date(int(digits[6:10]), int(digits[10:12]), int(digits[12:14]))
    except ValueError:
        return False
    if not 1900 <= born.year <= 2099:
        return False
    total = sum(int(d) * w for d, w in zip(digits[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == digits[17].upper()


def _looks_like_id(digits: str) -> bool:
    """An 18-digit number shaped like an ID (area + birth date), whatever its check digit."""
    if len(digits) != 18 or int(digits[:2]) not in _PROVINCES:
        return False
    try:
        date(int(digits[6:10]), int(digits[10:12]), int(digits[12:14]))
    except ValueError:
        return False
    return True


def _label_before(folded: str, start: int, *, width: int = 12) -> str:
    """The few characters before a number, without the filler between label and number ("号码：")."""
    return folded[max(0, start - width) : start].rstrip(_LABEL_FILLER + "的")


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _standalone(folded: str, start: int, end: int, *, grouped: bool) -> bool:
    """The number is not part of a longer code: no digit or latin letter glued to it on either side."""
    before = folded[start - 1] if start else ""
    if before.isascii() and before.isalnum():
        if before.isdigit():
            return False
        word = re.search(r"[A-Za-z]+$", folded[:start])
        if not word or word.group(0).lower() not in _PHONE_WORDS:
            return False
    if grouped and (
        _SEP_DIGIT_BEFORE.search(folded, max(0, start - 2), start) or _SEP_DIGIT_AFTER.match(folded, end)
    ):
        return False
    if end < len(folded) and folded[end].isascii() and folded[end].isalnum():
        return False
    label = folded[max(0, start - 12) : start].rstrip(_LABEL_FILLER)
    return not label.endswith(_REFERENCE_LABELS)


def _candidates(folded: str) -> list[tuple[PiiKind, int, int]]:
    found: list[tuple[PiiKind, int, int]] = []
    for m in _EMAIL.finditer(folded):
        found.append(("email", m.start(), m.end()))
    for m in _ID_CARD.finditer(folded):
        digits = m.group("area") + m.group("birth") + m.group("tail")
        if not _looks_like_id(digits):
            continue
        # A wrong check digit is a mistyped ID — unless the text shows it as a sample.
        if not _id_check_ok(digits) and any(w in _label_before(folded, m.start()) for w in _SAMPLE_CONTEXT):
            continue
        if _standalone(folded, m.start(), m.end(), grouped=bool(m.group("sep"))):
            found.append(("id_card", m.start(), m.end()))
    for m in _BANK_CARD.finditer(folded):
        digits = re.sub(_SEP, "", m.group(0))
        card_context = _label_before(folded, m.start(), width=8).endswith(_CARD_CONTEXT)
        if (
            16 <= len(digits) <= 19
            and (card_context or (digits[0] in _CARD_FIRST and _luhn_ok(digits)))
            and not _looks_like_id(digits)
            and _standalone(folded, m.start(), m.end(), grouped=bool(m.group("sep")))
        ):
            found.append(("bank_card", m.start(), m.end()))
    for m in _LANDLINE.finditer(folded):
        if _standalone(folded, m.start(), m.end(), grouped=False):
            found.append(("landline", m.start(), m.end()))
    for m in _MOBILE.finditer(folded):
        if _standalone(folded, m.start(), m.end(), grouped=bool(m.group("sep"))):
            found.append(("mobile", m.start(), m.end()))
    return found


def find_pii(text: str) -> list[PiiSpan]:
    """Every piece of personal data in `text`, in order; overlaps resolved e-mail > ID > card > landline >
    mobile."""
    if not text:
        return []
    folded = text.translate(_FOLD)
    taken: list[tuple[PiiKind, int, int]] = []
    for kind, start, end in _candidates(folded):
        if all(end <= s or start >= e for _, s, e in taken):
            taken.append((kind, start, end))
    taken.sort(key=lambda item: item[1])
    return [PiiSpan(kind, start, end, text[start:end]) for kind, start, end in taken]


def _mask_alnum(value: str, *, head: int, tail: int) -> str:
    """Star every letter/digit of `value` except the first `head` and last `tail`; keep separators."""
    positions = [i for i, ch in enumerate(value) if ch.isalnum()]
    hidden = set(positions[head : len(positions) - tail])
    return "".join("*" if i in hidden else ch for i, ch in enumerate(value))


def mask_span(span: PiiSpan) -> str:
    """The masked form of one span: 139****1286, 4301**********123X, 6222 **** **** 1234, z***@example.com,
    0731-****1234."""
    value = span.text
    if span.kind == "email":
        local, _, domain = value.partition("@")
        return f"{local[:1]}***@{domain}"
    if span.kind == "mobile":
        folded = value.translate(_FOLD)
        prefix = re.match(rf"(?:\+|00)86{_SEP}?", folded)
        cut = prefix.end() if prefix else 0
        return value[:cut] + _mask_alnum(value[cut:], head=3, tail=4)
    if span.kind == "landline":
        # Area codes: 010 and 02x have three digits, every other one four.
        digits = re.sub(r"[^0-9]", "", value.translate(_FOLD))
        return _mask_alnum(value, head=3 if digits[1] in "12" else 4, tail=4)
    return _mask_alnum(value, head=4, tail=4)


def mask(text: str, spans: list[PiiSpan]) -> str:
    """`text` with each span (as found by `find_pii` on this text) replaced by its masked form."""
    parts: list[str] = []
    pos = 0
    for span in sorted(spans, key=lambda s: s.start):
        if span.start < pos:
            continue
        parts.append(text[pos : span.start])
        parts.append(mask_span(span))
        pos = span.end
    parts.append(text[pos:])
    return "".join(parts)
