"""口径一致: a draft reply is compared with the KB answer it should follow (the entry it cites, else the
message's confident suggestion), and the reviewer is warned when it departs from it or states other
figures (fees, time limits)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlmodel import Session

from app import clock
from app.knowledge.index import knowledge_index
from app.knowledge.models import EntryStatus, KnowledgeEntry
from app.replies.service import DraftContext
from kb.normalise import normalise
from kb.segment import char_ngrams

# Below this share of shared character pairs the draft says something else than the KB answer. A
# greeting or a closing line added to the KB answer keeps it far above; another entry's answer, or
# "已转相关部门处理", stays far below.
MIN_SIMILARITY = 0.4
WARNING = "与问答库口径不一致："
_FIGURE = re.compile(
    r"(\d+(?:\.\d+)?)\s*(个工作日|工作日|个月|小时|分钟|周岁|平方米|公里|元|天|日|月|年|岁|%|次)"
)


@dataclass(frozen=True)
class Reference:
    """The KB answer a draft should agree with."""

    entry_id: int
    version: int
    question: str
    answer: str


def similarity(draft: str, answer: str) -> float:
    """How much of one text the other one covers (0–1): the larger share of character pairs either has
    in common with the other, so that a shortened answer and an answer with a greeting both score high."""
    a = set(char_ngrams(normalise(answer), (2,)))
    d = set(char_ngrams(normalise(draft), (2,)))
    if not a or not d:
        return 0.0
    shared = len(a & d)
    return max(shared / len(a), shared / len(d))


def figures(text: str) -> dict[str, set[str]]:
    """Numbers with their unit ("20元", "15个工作日"), by unit."""
    found: dict[str, set[str]] = {}
    for number, unit in _FIGURE.findall(normalise(text)):
        found.setdefault(unit, set()).add(number)
    return found


def differing_figures(draft: str, answer: str) -> list[tuple[str, str]]:
    """(what the draft says, what the KB answer says) for figures of a unit the answer states otherwise."""
    mine, theirs = figures(draft), figures(answer)
    out = []
    for unit, numbers in mine.items():
        if unit in theirs and not numbers & theirs[unit]:
            said = "、".join(f"{n}{unit}" for n in sorted(numbers))
            kb_says = "、".join(f"{n}{unit}" for n in sorted(theirs[unit]))
            out.append((said, kb_says))
    return out


def _published(session: Session, entry_id: int) -> KnowledgeEntry | None:
    entry = session.get(KnowledgeEntry, entry_id)
    return entry if entry is not None and entry.status == EntryStatus.published else None


def reference(context: DraftContext) -> Reference | None:
    """The cited entry if the draft cites one; else the message's confident suggestion (stored by the
    pipeline, or looked up now if the message has none). Always the entry's current published answer."""
    session = context.session
    entry_id = context.kb_entry_id
    if entry_id is None:
        stored = context.message.suggestions or []
        if stored:
            first = stored[0]
            entry_id = int(first["entry_id"]) if first.get("confident") and "entry_id" in first else None
        elif not context.message.out_of_scope:
            snapshot = knowledge_index.sync(session=session, now=clock.now())
            hits = snapshot.search(context.message.content, unit_code=context.message.unit_code, limit=2)
            entry_id = hits[0].entry_id if hits and hits[0].confident else None
    if entry_id is None:
        return None
    entry = _published(session, entry_id)
    if entry is None or entry.id is None:
        return None
    return Reference(entry.id, entry.version, entry.question, entry.answer)


def check_draft(context: DraftContext) -> list[str]:
    """Warnings for the reviewer when the draft departs from the KB answer it should follow."""
    if context.message.out_of_scope and context.kb_entry_id is None:
        return []  # a pointer to another authority, not an answer
    ref = reference(context)
    if ref is None:
        return []
    where = f"问答库条目 {ref.entry_id}「{ref.question[:40]}」（第{ref.version}版）"
    warnings = []
    score = similarity(context.text, ref.answer)
    if score < MIN_SIMILARITY:
        warnings.append(f"{WARNING}答复与{where}的答案相似度仅 {score:.0%}，请核对是否需要按问答库答复")
    for said, kb_says in differing_figures(context.text, ref.answer):
        warnings.append(f"{WARNING}答复中的“{said}”与{where}中的“{kb_says}”不同，请核对")
    return warnings
