"""Moderation: the lexicon kept in the database (seeded from the shipped files on the first edit) and
matched by a per-process cached matcher, the check, the authors of abusive messages, and illegal and
harmful content held as evidence."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app import clock, versioning
from app.accounts.models import Account
from app.audit.service import record
from app.auth import Principal
from app.errors import Conflict, Invalid, NotFound
from app.messages import service as messages
from app.messages.models import Message, MessageStatus
from app.moderation.check import ABUSE, PROHIBITED, REPORT_CATEGORY, ModerationResult, check
from app.moderation.lexicon import Lexicon, LexiconEntry, default_entries, default_lexicon
from app.moderation.models import (
    AuthorOffence,
    ContentEvidence,
    EvidencePublic,
    LexiconState,
    ModerationTerm,
    OffenderPublic,
    TermCreate,
    TermKind,
    TermPublic,
)
from app.users.models import Role
from app.versioning import VersionedCache, VersionKey
from kb.normalise import normalise

STATE_ID = 1
SYSTEM_AUTHOR = "system"
READ_ROLES = (Role.admin, Role.supervisor, Role.auditor)
OFFENDER_ROLES = (Role.admin, Role.supervisor, Role.auditor, Role.leader)
EVIDENCE_ROLES = OFFENDER_ROLES
PROHIBITED_CLOSE_REASON = "prohibited: 违法有害信息（已从队列隐藏，留存为证据）"
EVIDENCE_IDS = 20

# The flags moderation sets on a message (others, e.g. routing's out_of_scope, are left alone).
ABUSIVE = "abusive"
SENSITIVE = "sensitive"
SPAM = "spam"
PII = "pii"
INTENSE = "intense"
RUMOUR_CHECK = "rumour_check"
FLAGS = frozenset({ABUSIVE, SENSITIVE, SPAM, PII, INTENSE, PROHIBITED, RUMOUR_CHECK})
# A term must contain a letter, digit or Chinese character: "!?" alone would match half the messages.
_CONTENT = re.compile(r"[0-9a-z\u3400-\u9fff]")


@dataclass(frozen=True)
class CurrentLexicon:
    """The matcher in force and the version it was built from (0 = the shipped files, never edited)."""

    version: int
    lexicon: Lexicon
    stamp: str = ""


_cache: VersionedCache[VersionKey, CurrentLexicon] = VersionedCache("moderation.lexicon")


def _state(session: Session) -> VersionKey | None:
    return versioning.read(LexiconState, session=session, row_id=STATE_ID)


def _build(session: Session, state: VersionKey | None) -> CurrentLexicon:
    if state is None:
        return CurrentLexicon(0, default_lexicon())
    rows = session.exec(select(ModerationTerm.kind, ModerationTerm.term, ModerationTerm.category)).all()
    entries = (LexiconEntry(k, t, c) for k, t, c in rows)
    return CurrentLexicon(state[0], Lexicon(entries), state[1])


def current_lexicon(*, session: Session) -> CurrentLexicon:
    """The lexicon in force, rebuilt only when the database's version changed (checked once per session,
    so a pipeline batch or a request pays one small query)."""
    return _cache.get(session, key=_state, build=_build)


def check_text(*, session: Session, text: str, normalised: str | None = None) -> ModerationResult:
    """Moderates `text` with the lexicon in force; changes nothing."""
    return check(text, lexicons=current_lexicon(session=session).lexicon, normalised=normalised)


# ------------------------------------------------------------------------------------------- lexicon


def list_terms(*, session: Session, actor: Principal, kind: TermKind | None = None) -> list[TermPublic]:
    """The terms in force (of one kind), ordered by kind, category and term."""
    actor.require(*READ_ROLES)
    if _state(session) is None:
        terms = [
            TermPublic(kind=TermKind(e.kind), term=e.term, category=e.category, source="default")
            for e in default_entries()
            if e.kind in TermKind.__members__
        ]
    else:
        rows = session.exec(select(ModerationTerm)).all()
        terms = [
            TermPublic(
                kind=TermKind(r.kind),
                term=r.term,
                category=r.category,
                source="default" if r.created_by == SYSTEM_AUTHOR else "custom",
            )
            for r in rows
        ]
    if kind is not None:
        terms = [t for t in terms if t.kind == kind]
    return sorted(terms, key=lambda t: (t.kind, t.category, t.term))


def _bump(session: Session, now: datetime) -> None:
    versioning.bump(LexiconState, session=session, row_id=STATE_ID, now=now)
    _cache.forget(session)


def _seed(session: Session, now: datetime) -> None:
    """Copies the shipped terms into the database once, before the first edit (the caller bumps the
    version in the same transaction, so a racing second seeder fails on the unique key and retries)."""
    if _state(session) is not None:
        return
    seen: set[tuple[str, str]] = set()
    for entry in default_entries():
        key = (entry.kind, entry.term)
        if entry.kind in TermKind.__members__ and key not in seen:
            seen.add(key)
            session.add(
                ModerationTerm(
                    kind=TermKind(entry.kind),
                    term=entry.term,
                    category=entry.category,
                    created_by=SYSTEM_AUTHOR,
                    created_at=now,
                )
            )


def _commit(session: Session) -> None:
    try:
        session.commit()
    except IntegrityError as exc:
        # Another process seeded or edited the same terms at the same moment.
        session.rollback()
        raise Conflict("词库正被同时修改，请重试") from exc


def add_term(*, session: Session, actor: Principal, data: TermCreate) -> TermPublic:
    """Adds a term (admin); it takes effect at once in every process. 409 if the kind has it already."""
    actor.require(Role.admin)
    if not _CONTENT.search(normalise(data.term)):
        raise Invalid("词条须包含汉字、字母或数字")
    now = clock.now()
    _seed(session, now)
    exists = session.exec(
        select(ModerationTerm.id).where(
            ModerationTerm.kind == data.kind.value, ModerationTerm.term == data.term
        )
    ).first()
    if exists is not None:
        raise Conflict(f"词条“{data.term}”已在 {data.kind.value} 词库中")
    session.add(
        ModerationTerm(
            kind=data.kind,
            term=data.term,
            category=data.category or data.kind.value,
            created_by=actor.name[:64],
            created_at=now,
        )
    )
    _bump(session, now)
    record(
        session=session,
        actor=actor,
        action="moderation.term.add",
        entity_type="moderation_term",
        entity_id=f"{data.kind.value}:{data.term}",
        after={"kind": data.kind.value, "term": data.term, "category": data.category or data.kind.value},
        at=now,
    )
    _commit(session)
    return TermPublic(
        kind=data.kind, term=data.term, category=data.category or data.kind.value, source="custom"
    )


def remove_term(*, session: Session, actor: Principal, kind: TermKind, term: str) -> None:
    """Removes a term (admin), shipped or added; 404 if the kind does not have it."""
    actor.require(Role.admin)
    now = clock.now()
    _seed(session, now)
    row = session.exec(
        select(ModerationTerm).where(ModerationTerm.kind == kind.value, ModerationTerm.term == term.strip())
    ).first()
    if row is None:
        raise NotFound(f"{kind.value} 词库中没有“{term}”")
    session.delete(row)
    _bump(session, now)
    record(
        session=session,
        actor=actor,
        action="moderation.term.remove",
        entity_type="moderation_term",
        entity_id=f"{kind.value}:{row.term}",
        before={"kind": row.kind, "term": row.term, "category": row.category},
        at=now,
    )
    _commit(session)


# ------------------------------------------------------------------------------------------ offenders


def moderate(*, session: Session, message: Message, normalised: str, at: datetime) -> ModerationResult:
    """Checks the message and writes the verdict on it: the moderation flags and `message.moderation` (the
    lexicon hits and the kinds of personal data — never the personal data itself); counts an abusive
    message against its author. Returns the verdict."""
    current = current_lexicon(session=session)
    result = check_text(session=session, text=message.content, normalised=normalised)
    before = list(message.flags or [])
    # Other domains' flags (e.g. out_of_scope) stay; ours are replaced by this verdict.
    message.flags = [f for f in before if f not in FLAGS] + result.flags
    pii_kinds = sorted({span.kind for span in result.pii})
    summary: dict[str, Any] = {
        "hits": [
            {"kind": h.kind, "term": h.term, "category": h.category, **({"why": h.why} if h.why else {})}
            for h in result.hits
        ],
        "pii": pii_kinds,
        "lexicon_version": current.version,
    }
    message.moderation = summary
    if result.abusive and ABUSIVE not in before:
        terms = [h.term for h in result.hits if h.kind == ABUSE]
        record_offence(session=session, message=message, terms=terms, at=at)
    return result


def record_offence(*, session: Session, message: Message, terms: list[str], at: datetime) -> bool:
    """Counts an abusive message against its author (once per message); False if already counted or
    the author is anonymous."""
    if not message.author_id or message.id is None:
        return False
    done = session.exec(select(AuthorOffence.id).where(AuthorOffence.message_id == message.id)).first()
    if done is not None:
        return False
    session.add(
        AuthorOffence(
            message_id=message.id,
            account_id=message.account_id,
            author_id=message.author_id,
            author_name=message.author_name,
            terms=terms,
            at=at,
        )
    )
    return True


def offenders(
    *,
    session: Session,
    actor: Principal,
    min_offences: int = 2,
    account_id: int | None = None,
    since: datetime | None = None,
    limit: int = 100,
) -> list[OffenderPublic]:
    """Authors with at least `min_offences` abusive messages (per account), most offences first.
    Leaders see the accounts of their units; supervisors, auditors and admins every account."""
    actor.require(*OFFENDER_ROLES)
    count = func.count(col(AuthorOffence.id))
    query = (
        sa_select(
            col(AuthorOffence.account_id),
            col(AuthorOffence.author_id),
            func.max(AuthorOffence.author_name),
            count,
            func.min(AuthorOffence.at),
            func.max(AuthorOffence.at),
        )
        .group_by(col(AuthorOffence.account_id), col(AuthorOffence.author_id))
        .having(count >= min_offences)
        .order_by(count.desc(), func.max(AuthorOffence.at).desc())
        .limit(limit)
    )
    if actor.units is not None:
        query = query.join(Account, col(Account.id) == col(AuthorOffence.account_id)).where(
            col(Account.unit_code).in_(actor.units)
        )
    if account_id is not None:
        query = query.where(col(AuthorOffence.account_id) == account_id)
    if since is not None:
        query = query.where(col(AuthorOffence.at) >= since)
    rows = session.execute(query).all()
    result: list[OffenderPublic] = []
    for account, author, name, n, first_at, last_at in rows:
        evidence = session.exec(
            select(AuthorOffence.message_id)
            .where(AuthorOffence.account_id == account, AuthorOffence.author_id == author)
            .order_by(col(AuthorOffence.message_id).desc())
            .limit(EVIDENCE_IDS)
        ).all()
        result.append(
            OffenderPublic(
                account_id=account,
                author_id=author,
                author_name=name or "",
                offences=n,
                first_at=first_at,
                last_at=last_at,
                message_ids=list(evidence),
            )
        )
    return result


# ---------------------------------------------------------------------- illegal and harmful content


def hold_prohibited(*, session: Session, message: Message, result: ModerationResult, at: datetime) -> bool:
    """Takes a message with illegal and harmful content out of the reply queue (closed, no deadline
    checks) and keeps it as evidence with what matched; once per message. Returns False if already held.
    Joins the caller's transaction."""
    if message.id is None:
        session.flush()
    assert message.id is not None
    held = session.exec(select(ContentEvidence.id).where(ContentEvidence.message_id == message.id)).first()
    if held is not None:
        return False
    found = [hit for hit in result.hits if hit.kind == PROHIBITED and hit.category != REPORT_CATEGORY]
    session.add(
        ContentEvidence(
            message_id=message.id,
            account_id=message.account_id,
            unit_code=message.unit_code,
            terms=list(dict.fromkeys(hit.term for hit in found)),
            categories=list(dict.fromkeys(hit.category for hit in found)),
            at=at,
        )
    )
    before = {"status": message.status}
    message.status = MessageStatus.closed
    message.close_reason = PROHIBITED_CLOSE_REASON
    message.next_check_at = None
    record(
        session=session,
        actor=None,
        action="moderation.prohibited_hold",
        entity_type="message",
        entity_id=message.id,
        unit_code=message.unit_code,
        before=before,
        after={"status": message.status, "terms": [hit.term for hit in found]},
        at=at,
    )
    return True


# Documented public addresses of a post, where the platform gives one; WeChat comments have none.
_LINKS = {
    "weibo": ("status_id", "https://m.weibo.cn/detail/{}"),
    "douyin": ("item_id", "https://www.douyin.com/video/{}"),
}


def _link(platform: str, refs: dict[str, object]) -> str | None:
    url = refs.get("url") or refs.get("link")
    if isinstance(url, str) and url.startswith(("https://", "http://")):
        return url
    key, pattern = _LINKS.get(platform, ("", ""))
    value = refs.get(key) if key else None
    return pattern.format(value) if value else None


def evidence(
    *,
    session: Session,
    actor: Principal,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 100,
    cursor: str | None = None,
) -> tuple[list[EvidencePublic], str | None]:
    """Held illegal and harmful content, newest first, with the unmasked message, its author, platform
    ids, times and link; (items, next cursor). Leaders see their units' messages; supervisors, auditors
    and admins all. Every export is audited (it shows personal data)."""
    actor.require(*EVIDENCE_ROLES)
    if any(t is not None and t.tzinfo is None for t in (since, until)):
        raise Invalid("from/to 必须带时区，例如 2026-03-01T00:00:00+08:00")
    query = (
        select(ContentEvidence, Message, Account)
        .join(Message, col(Message.id) == col(ContentEvidence.message_id))
        .join(Account, col(Account.id) == col(ContentEvidence.account_id))
        .order_by(col(ContentEvidence.id).desc())
        .limit(limit + 1)
    )
    if actor.units is not None:
        query = query.where(col(Message.unit_code).in_(actor.units))
    if since is not None:
        query = query.where(col(ContentEvidence.at) >= since)
    if until is not None:
        query = query.where(col(ContentEvidence.at) < until)
    if cursor:
        try:
            before_id = int(messages.decode_cursor(cursor, 1)[0])
        except ValueError:
            raise Invalid("cursor 无效") from None
        query = query.where(col(ContentEvidence.id) < before_id)
    rows = session.exec(query).all()
    items = [
        EvidencePublic(
            evidence_id=held.id or 0,
            message_id=held.message_id,
            platform=message.platform,
            account_id=account.id or 0,
            account_name=account.name,
            account_external_id=account.external_id,
            message_external_id=message.external_id,
            kind=message.kind,
            author_id=message.author_id,
            author_name=message.author_name,
            content=message.content,
            received_at=message.received_at,
            flagged_at=held.at,
            unit_code=message.unit_code,
            terms=held.terms,
            categories=held.categories,
            platform_refs=dict(message.thread_ref or {}),
            link=_link(message.platform, message.thread_ref or {}),
        )
        for held, message, account in rows[:limit]
    ]
    next_cursor = messages.encode_cursor([items[-1].evidence_id]) if len(rows) > limit and items else None
    record(
        session=session,
        actor=actor,
        action="moderation.evidence.export",
        entity_type="moderation_evidence",
        entity_id=None,
        after={"count": len(items), "message_ids": [i.message_id for i in items][:100]},
    )
    session.commit()
    return items, next_cursor


EVIDENCE_COLUMNS = (
    ("evidence_id", "证据编号"),
    ("message_id", "留言ID"),
    ("platform", "平台"),
    ("account_name", "账号"),
    ("account_external_id", "账号平台ID"),
    ("message_external_id", "留言平台ID"),
    ("kind", "类型"),
    ("author_id", "发布者ID"),
    ("author_name", "发布者昵称"),
    ("content", "内容"),
    ("received_at", "发布/收到时间(UTC)"),
    ("flagged_at", "判定时间(UTC)"),
    ("unit_code", "承办单位"),
    ("categories", "类别"),
    ("terms", "命中词条"),
    ("link", "链接"),
    ("platform_refs", "平台标识"),
)


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        text = value.isoformat()
    elif isinstance(value, list):
        text = "、".join(str(v) for v in value)
    elif isinstance(value, dict):
        text = "; ".join(f"{k}={v}" for k, v in value.items())
    else:
        text = str(value)
    # A cell a spreadsheet would run as a formula (CSV injection) is written as text.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def evidence_csv(items: list[EvidencePublic]) -> bytes:
    """The evidence as a CSV file for Excel (UTF-8 with BOM), one row per message."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([label for _, label in EVIDENCE_COLUMNS])
    for item in items:
        writer.writerow([_cell(getattr(item, name)) for name, _ in EVIDENCE_COLUMNS])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")
