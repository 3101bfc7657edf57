"""The wording of deadline notices (Chinese markdown for the group robots); pure, no database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from app.messages.present import masked
from app.sla.escalation import WINDOW_NAMES, window_text
from app.sla.models import LadderStep

PLATFORM_NAMES = {"wechat": "微信", "weibo": "微博", "douyin": "抖音", "generic": "网站/App"}
KIND_NAMES = {"comment": "评论", "private": "私信", "mention": "提及"}
EXCERPT_CHARS = 60


@dataclass(frozen=True)
class MessageFacts:
    """What a notice says about the message (the content is masked before use)."""

    id: int
    unit_code: str | None
    unit_name: str | None
    platform: str
    kind: str
    content: str
    received_at: datetime
    due_at: datetime | None
    provisional: bool
    window_closes_at: datetime | None = None


def _local(at: datetime, tz: ZoneInfo) -> str:
    return at.astimezone(tz).strftime("%Y-%m-%d %H:%M")


def _excerpt(text: str) -> str:
    # Personal data never goes to a group chat; the excerpt is masked first, then shortened.
    flat = " ".join(masked(text).split())
    return flat if len(flat) <= EXCERPT_CHARS else flat[:EXCERPT_CHARS] + "…"


def _unit(code: str | None, name: str | None) -> str:
    if code is None:
        return "（未分办）"
    return f"{name}（{code}）" if name else code


def _body(facts: MessageFacts, tz: ZoneInfo, lines: list[str]) -> str:
    where = f"{PLATFORM_NAMES.get(facts.platform, facts.platform)}{KIND_NAMES.get(facts.kind, facts.kind)}"
    out = [
        f"**承办单位**：{_unit(facts.unit_code, facts.unit_name)}",
        f"**留言**：#{facts.id}（{where}）",
        f"**收到时间**：{_local(facts.received_at, tz)}",
    ]
    if facts.due_at is not None:
        due = facts.due_at.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S")
        out.append(f"**答复时限**：{due}{'（暂定）' if facts.provisional else ''}")
    out.append(f"**内容摘要**：{_excerpt(facts.content)}")
    return "\n".join([*out, "", *lines])


def ladder_note(
    step: LadderStep, facts: MessageFacts, *, target_name: str | None, tz: ZoneInfo
) -> tuple[str, str]:
    """(title, markdown text) of a ladder step's notice."""
    later = f"超过时限 {step.after_working_days} 个工作日后" if step.after_working_days else ""
    if step.at == "due_soon":
        state, ask = "临近答复时限", "请在时限内审核发布答复。"
    else:
        state, ask = "已超过答复时限", f"{later}仍未答复，请尽快办理并说明原因。"
    if step.notify == "unit":
        title = f"留言{state}"
    elif step.notify == "leaders":
        title = f"留言{state}（请单位负责人阅处）"
        ask = "请单位负责人督促办理。" + ask
    else:
        title = f"督办提醒：{facts.unit_name or facts.unit_code or '未分办'}留言{state}"
        ask = f"请{target_name or '主管单位'}督办。" + ask
    return title, _body(facts, tz, [ask])


# Alerts about what a message says: (title, what to do — "{target}" is the unit asked, default if none).
CONTENT_ALERTS = {
    "prohibited": (
        "违法有害信息告警",
        "该留言含违法有害信息，已从待答复队列隐藏并留存证据。请{target}第一时间处理：核实后可在平台删除或"
        "隐藏该评论，必要时导出证据会同公安部门依法查处。",
        "单位负责人",
    ),
    "rumour": (
        "待核实传言提醒",
        "该留言含有待核实的传言，请{target}及时核实；属不实传言的，起草澄清答复（同样先审后发）。",
        "信息发布部门",
    ),
}


def content_note(kind: str, facts: MessageFacts, *, target_name: str | None, tz: ZoneInfo) -> tuple[str, str]:
    """(title, markdown text) of an alert about illegal content ("prohibited") or a rumour ("rumour")."""
    title, ask, default = CONTENT_ALERTS[kind]
    return title, _body(facts, tz, [ask.format(target=target_name or default)])


def window_note(facts: MessageFacts, *, tz: ZoneInfo) -> tuple[str, str]:
    assert facts.window_closes_at is not None
    closes = _local(facts.window_closes_at, tz)
    text = _body(
        facts,
        tz,
        [f"{window_text(facts.platform)}，窗口将于 **{closes}** 关闭，之后无法通过私信答复。"],
    )
    return f"{WINDOW_NAMES[facts.platform]}回复窗口即将关闭", text


def sensitive_note(facts: MessageFacts, *, target_name: str | None, tz: ZoneInfo) -> tuple[str, str]:
    text = _body(
        facts, tz, [f"该留言被标记为敏感，请{target_name or '督办单位'}关注，答复须经单位负责人二次审核。"]
    )
    return "敏感留言提醒", text
