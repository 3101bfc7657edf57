"""Checks on what the government is about to publish: personal data, abuse, illegal content and
sensitive matters in a reply's text, each as `{code, level, message, span}` for the reviewer.

`block` stops approval (409); `warn` is shown to the reviewer (sensitive: a leader must approve too)."""

from __future__ import annotations

import re
from typing import Any, Literal

from sqlmodel import Session

from app.moderation import service
from app.moderation.check import ABUSE, PROHIBITED, REPORT_CATEGORY, SENSITIVE
from app.pii import PiiSpan, find_pii, mask_span

Level = Literal["block", "warn"]
BLOCK: Level = "block"
WARN: Level = "warn"

PII_LABELS = {
    "mobile": "手机号",
    "landline": "固定电话",
    "id_card": "身份证号",
    "bank_card": "银行卡号",
    "email": "邮箱",
    "address": "详细住址",
}
# Kinds an office also publishes as its own contact (a service line, a mailbox): they count only when
# the reply repeats the citizen's.
_OFFICE_KINDS = frozenset({"landline", "email"})
# Down to the door: "3栋2单元501", "5号楼1502室", "12幢301".
_ADDRESS = re.compile(
    r"[0-9一二三四五六七八九十]{1,4}(?:栋|幢|号楼|座)[0-9一二三四五六七八九十]{0,3}(?:单元)?"
    r"[0-9]{2,5}(?:室|号|房)?"
)


def check(code: str, level: Level, message: str, span: tuple[int, int] | None = None) -> dict[str, Any]:
    """One check as stored on a reply and shown to the reviewer."""
    return {
        "code": code,
        "level": level,
        "message": message,
        "span": {"start": span[0], "end": span[1]} if span else None,
    }


def _personal_data(text: str, citizen_text: str) -> list[PiiSpan]:
    theirs = {span.text for span in find_pii(citizen_text)}
    spans = [s for s in find_pii(text) if s.kind not in _OFFICE_KINDS or s.text in theirs]
    return spans


def _addresses(text: str) -> list[tuple[int, int, str]]:
    return [(m.start(), m.end(), m.group(0)) for m in _ADDRESS.finditer(text)]


def content_checks(
    *, session: Session, text: str, public: bool, citizen_text: str = ""
) -> list[dict[str, Any]]:
    """The checks on a reply's text. `public`: the reply is seen by everyone (a comment or post reply),
    so personal data blocks it; in a private reply it is a warning. `citizen_text` is the message
    answered: an office phone or mailbox in the reply counts only if it repeats the citizen's."""
    found: list[dict[str, Any]] = []
    level = BLOCK if public else WARN
    where = "公开答复" if public else "私信答复"
    for pii in _personal_data(text, citizen_text):
        label = PII_LABELS.get(pii.kind, pii.kind)
        found.append(
            check(
                "pii",
                level,
                f"{where}中含有个人信息：{label} {mask_span(pii)}，请删除或脱敏",
                (pii.start, pii.end),
            )
        )
    for start, end, _value in _addresses(text):
        found.append(check("pii", level, f"{where}中含有精确到门牌的住址，请删除或只写到小区", (start, end)))
    result = service.check_text(session=session, text=text)
    for hit in result.hits:
        start = text.find(hit.term)
        span = (start, start + len(hit.term)) if start >= 0 else None
        reason = f"（{hit.why}）" if hit.why else ""
        if hit.kind == ABUSE:
            found.append(check("abuse", BLOCK, f"答复含有辱骂或不文明用语「{hit.term}」{reason}", span))
        elif hit.kind == PROHIBITED and result.prohibited and hit.category != REPORT_CATEGORY:
            found.append(
                check("prohibited", BLOCK, f"答复含有违法有害信息「{hit.term}」（{hit.category}）", span)
            )
        elif hit.kind == SENSITIVE:
            found.append(
                check(
                    "sensitive",
                    WARN,
                    f"答复涉及敏感事项「{hit.term}」（{hit.category}），须经单位领导复核",
                    span,
                )
            )
    return found


def blocking(checks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The checks that stop approval."""
    return [c for c in checks if c.get("level") == BLOCK]
