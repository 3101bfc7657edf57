"""Knowledge base: entries with their version history, who may read and change them, suggestions, and
proposing a published reply as a new entry. Every change bumps the KB version in its transaction and
writes an audit event; after the commit this process's index catches up at once, others within a second."""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import ValidationError
from sqlalchemy import ColumnElement, or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from app import clock
from app.audit.service import record
from app.auth import Principal
from app.errors import BadRequest, Conflict, Forbidden, Invalid, NotFound
from app.knowledge import state
from app.knowledge.index import Hit, knowledge_index
from app.knowledge.models import (
    MAX_QUESTION,
    EntryCreate,
    EntryFields,
    EntryStatus,
    EntryUpdate,
    IndexStatus,
    KnowledgeEntry,
    KnowledgeEntryVersion,
    ProposeRequest,
    content_of,
)
from app.privacy import masked
from app.replies import service as replies
from app.replies.models import ReplyKind
from app.replies.workflow import ReplyState
from app.units.models import Unit
from app.users.models import Role
from kb.normalise import normalise

# Roles that read every entry in any status; leaders read their units' drafts; everyone reads published ones.
READ_ALL_ROLES = frozenset({Role.admin, Role.supervisor, Role.auditor})
PROPOSE_ROLES = (Role.admin, Role.leader, Role.reviewer, Role.operator)
_KEY_STRIP = re.compile(r"[\s?？。.!！~～、,，;；:：]+")

Outcome = Literal["created", "updated", "unchanged"]


# --- keys and permissions -----------------------------------------------------------------------------


def question_key(question: str) -> str:
    """The question as compared for sameness: normalised (Simplified, half-width, no noise), without
    spaces and punctuation."""
    return _KEY_STRIP.sub("", normalise(question))[:MAX_QUESTION] or question.strip()[:MAX_QUESTION]


def scope_key(unit_code: str | None) -> str:
    return unit_code or ""


def can_read(principal: Principal, entry: KnowledgeEntry) -> bool:
    """Published entries: everyone. Drafts and archived ones: admins, supervisors, auditors, and the
    leaders of the entry's unit."""
    if entry.status == EntryStatus.published or principal.role in READ_ALL_ROLES:
        return True
    return (
        principal.role == Role.leader and entry.unit_code is not None and principal.sees_unit(entry.unit_code)
    )


def require_write(principal: Principal, unit_code: str | None, what: str) -> None:
    """Admins change any entry; a leader the entries of units in their scope (others: 404); nobody else."""
    if principal.role == Role.admin:
        return
    if principal.role != Role.leader:
        raise Forbidden("只有管理员和单位领导可以维护问答库")
    if unit_code is None:
        raise Forbidden("全县共用条目（不属于任何单位）只能由管理员维护")
    principal.require_unit(unit_code, what)


def _require_unit_exists(session: Session, unit_code: str | None) -> None:
    if unit_code is not None and session.exec(select(Unit.id).where(Unit.code == unit_code)).first() is None:
        raise Invalid(f"单位 {unit_code} 不存在")


def validated(values: dict[str, Any]) -> EntryFields:
    """`values` checked as entry content; Invalid (422) with the reasons otherwise."""
    try:
        return EntryFields.model_validate(values)
    except ValidationError as exc:
        reasons = []
        for err in exc.errors()[:5]:
            where = ".".join(str(p) for p in err.get("loc", ()))
            message = str(err.get("msg", "")).removeprefix("Value error, ")
            reasons.append(f"{where}: {message}" if where else message)
        raise Invalid("问答库条目有误：" + "；".join(reasons)) from None


# --- reading ------------------------------------------------------------------------------------------------


def get(*, session: Session, entry_id: int, principal: Principal) -> KnowledgeEntry:
    """The entry if the principal may read it; 404 otherwise."""
    entry = session.get(KnowledgeEntry, entry_id)
    if entry is None or not can_read(principal, entry):
        raise NotFound(f"问答库条目 {entry_id} 不存在")
    return entry


def entries_query(
    *,
    principal: Principal,
    unit_code: str | None = None,
    shared: bool | None = None,
    status: EntryStatus | None = None,
    tag: str | None = None,
    q: str | None = None,
) -> SelectOfScalar[KnowledgeEntry]:
    """The entries the principal may read that pass the filters (unordered).

    `shared` true: only entries of no unit; false: only units' entries. `q` looks in questions and
    answers; `tag` matches one tag exactly."""
    query = select(KnowledgeEntry)
    if principal.role not in READ_ALL_ROLES:
        visible: ColumnElement[bool] = col(KnowledgeEntry.status) == EntryStatus.published
        if principal.role == Role.leader and principal.units:
            visible = or_(visible, col(KnowledgeEntry.unit_code).in_(principal.units))
        query = query.where(visible)
    if unit_code:
        query = query.where(KnowledgeEntry.unit_code == unit_code)
    if shared is True:
        query = query.where(col(KnowledgeEntry.unit_code).is_(None))
    elif shared is False:
        query = query.where(col(KnowledgeEntry.unit_code).is_not(None))
    if status is not None:
        query = query.where(KnowledgeEntry.status == status)
    if tag and tag.strip():
        query = query.where(col(KnowledgeEntry.tag_text).contains(f"|{tag.strip()}|", autoescape=True))
    if q and q.strip():
        needle = q.strip()
        query = query.where(
            or_(
                col(KnowledgeEntry.question).contains(needle, autoescape=True),
                col(KnowledgeEntry.answer).contains(needle, autoescape=True),
            )
        )
    return query


def list_entries(
    *,
    session: Session,
    principal: Principal,
    limit: int = 50,
    cursor: str | None = None,
    **filters: Any,
) -> tuple[list[KnowledgeEntry], str | None]:
    """A page of `entries_query(**filters)`, newest first; returns (items, next cursor or None)."""
    query = entries_query(principal=principal, **filters).order_by(col(KnowledgeEntry.id).desc())
    if cursor:
        try:
            before = int(cursor)
        except ValueError:
            raise BadRequest("cursor 无效") from None
        query = query.where(col(KnowledgeEntry.id) < before)
    items = list(session.exec(query.limit(limit + 1)))
    next_cursor = None
    if len(items) > limit:
        items = items[:limit]
        next_cursor = str(items[-1].id)
    return items, next_cursor


def versions(*, session: Session, entry_id: int, principal: Principal) -> list[KnowledgeEntryVersion]:
    """The entry's versions, newest first."""
    get(session=session, entry_id=entry_id, principal=principal)
    return list(
        session.exec(
            select(KnowledgeEntryVersion)
            .where(KnowledgeEntryVersion.entry_id == entry_id)
            .order_by(col(KnowledgeEntryVersion.version).desc())
        )
    )


def get_version(
    *, session: Session, entry_id: int, version: int, principal: Principal
) -> KnowledgeEntryVersion:
    """One version of an entry (e.g. the one a reply used); 404 if there is no such version."""
    get(session=session, entry_id=entry_id, principal=principal)
    found = session.exec(
        select(KnowledgeEntryVersion).where(
            KnowledgeEntryVersion.entry_id == entry_id, KnowledgeEntryVersion.version == version
        )
    ).first()
    if found is None:
        raise NotFound(f"问答库条目 {entry_id} 没有第 {version} 版")
    return found


# --- changing -------------------------------------------------------------------------------------------------


def _utc(value: datetime | None) -> datetime | None:
    return value.astimezone(UTC) if value is not None else None


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value is not None else None


def _content(fields: EntryFields) -> dict[str, Any]:
    """The versioned fields as `content_of` shows them, times in UTC."""
    return {
        "unit_code": fields.unit_code,
        "question": fields.question,
        "answer": fields.answer,
        "alt_questions": list(fields.alt_questions),
        "tags": list(fields.tags),
        "channels": [c.value for c in fields.channels],
        "valid_from": _iso(fields.valid_from),
        "valid_to": _iso(fields.valid_to),
    }


def _audit_view(entry: KnowledgeEntry) -> dict[str, Any]:
    return {**content_of(entry), "status": entry.status, "version": entry.version}


def find_same(
    *, session: Session, unit_code: str | None, question: str, exclude_id: int | None = None
) -> KnowledgeEntry | None:
    """The entry of that unit with the same question (as `question_key` compares), if any."""
    query = select(KnowledgeEntry).where(
        KnowledgeEntry.scope_key == scope_key(unit_code),
        KnowledgeEntry.question_key == question_key(question),
    )
    if exclude_id is not None:
        query = query.where(KnowledgeEntry.id != exclude_id)
    return session.exec(query).first()


def save(
    *,
    session: Session,
    actor: Principal,
    entry: KnowledgeEntry | None,
    fields: EntryFields,
    status: EntryStatus | None,
    note: str | None,
    now: datetime,
    action: str | None = None,
    source_reply_id: int | None = None,
) -> tuple[KnowledgeEntry, Outcome]:
    """Creates (`entry` None) or changes an entry in the session, without committing: new content makes
    a new version; a status alone does not. Permission and unit checks are the caller's."""
    content = _content(fields)
    key = question_key(fields.question)
    if entry is None:
        entry = KnowledgeEntry(
            unit_code=fields.unit_code,
            scope_key=scope_key(fields.unit_code),
            question_key=key,
            status=(status or EntryStatus.published).value,
            version=1,
            revision=secrets.token_hex(16),
            question=fields.question,
            answer=fields.answer,
            alt_questions=content["alt_questions"],
            tags=content["tags"],
            tag_text=_tag_text(content["tags"]),
            channels=content["channels"],
            valid_from=_utc(fields.valid_from),
            valid_to=_utc(fields.valid_to),
            source_reply_id=source_reply_id,
            created_by=actor.name[:64],
            created_at=now,
            updated_by=actor.name[:64],
            updated_at=now,
        )
        session.add(entry)
        session.flush()
        _add_version(session, entry, note, actor, now)
        record(
            session=session,
            actor=actor,
            action=action or "kb.entry.create",
            entity_type="kb_entry",
            entity_id=entry.id,
            unit_code=entry.unit_code,
            after=_audit_view(entry),
            note=note,
            at=now,
        )
        return entry, "created"
    before = _audit_view(entry)
    content_changed = content != content_of(entry)
    status_changed = status is not None and status != entry.status
    if not content_changed and not status_changed:
        return entry, "unchanged"
    if content_changed:
        entry.unit_code = fields.unit_code
        entry.scope_key = scope_key(fields.unit_code)
        entry.question_key = key
        entry.question = fields.question
        entry.answer = fields.answer
        entry.alt_questions = content["alt_questions"]
        entry.tags = content["tags"]
        entry.tag_text = _tag_text(content["tags"])
        entry.channels = content["channels"]
        entry.valid_from = _utc(fields.valid_from)
        entry.valid_to = _utc(fields.valid_to)
        entry.version += 1
        _add_version(session, entry, note, actor, now)
    if status is not None:
        entry.status = status.value
    entry.revision = secrets.token_hex(16)
    entry.updated_by = actor.name[:64]
    entry.updated_at = now
    session.add(entry)
    record(
        session=session,
        actor=actor,
        action=action or ("kb.entry.update" if content_changed else "kb.entry.status"),
        entity_type="kb_entry",
        entity_id=entry.id,
        unit_code=entry.unit_code,
        before=before,
        after=_audit_view(entry),
        note=note,
        at=now,
    )
    return entry, "updated"


def _tag_text(tags: list[str]) -> str:
    return "|" + "|".join(tags) + "|" if tags else ""


def _add_version(
    session: Session, entry: KnowledgeEntry, note: str | None, actor: Principal, now: datetime
) -> None:
    assert entry.id is not None
    session.add(
        KnowledgeEntryVersion(
            entry_id=entry.id,
            version=entry.version,
            unit_code=entry.unit_code,
            question=entry.question,
            answer=entry.answer,
            alt_questions=list(entry.alt_questions),
            tags=list(entry.tags),
            channels=list(entry.channels),
            valid_from=entry.valid_from,
            valid_to=entry.valid_to,
            note=note,
            created_by=actor.name[:64],
            created_at=now,
        )
    )


def commit(*, session: Session, now: datetime) -> None:
    """Bumps the KB version, commits (409 if a concurrent change took the same question), and lets this
    process's index catch up."""
    state.bump(session=session, now=now)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise Conflict("同一单位已有相同问题的条目（可能刚被他人添加），请刷新后修改该条目") from None
    knowledge_index.after_change()


def _conflict(existing: KnowledgeEntry) -> Conflict:
    return Conflict(
        f"同一单位已有相同问题的条目（ID {existing.id}，{existing.status}），请修改该条目",
        details={"entry_id": existing.id},
    )


def create(*, session: Session, actor: Principal, data: EntryCreate) -> KnowledgeEntry:
    """Adds an entry (published unless `status` says draft); a leader's entry belongs to their unit
    unless another unit in their scope is named. 409 if the unit has the same question."""
    values = data.model_dump(exclude={"status", "note"})
    if values["unit_code"] is None and actor.role == Role.leader:
        values["unit_code"] = actor.unit_code
    fields = validated(values)
    require_write(actor, fields.unit_code, f"单位 {fields.unit_code} ")
    _require_unit_exists(session, fields.unit_code)
    existing = find_same(session=session, unit_code=fields.unit_code, question=fields.question)
    if existing is not None:
        raise _conflict(existing)
    now = clock.now()
    entry, _ = save(
        session=session, actor=actor, entry=None, fields=fields, status=data.status, note=data.note, now=now
    )
    commit(session=session, now=now)
    return entry


def update(*, session: Session, actor: Principal, entry_id: int, data: EntryUpdate) -> KnowledgeEntry:
    """Changes an entry: new content makes version n+1 (earlier versions stay, and the replies that used
    them keep pointing at them); `status` publishes, withdraws to draft or archives."""
    entry = get(session=session, entry_id=entry_id, principal=actor)
    what = f"问答库条目 {entry_id} "
    require_write(actor, entry.unit_code, what)
    changes = data.model_dump(exclude_unset=True, exclude={"status", "note"})
    merged = {**content_of(entry), **changes}
    fields = validated(merged)
    if "unit_code" in changes and fields.unit_code != entry.unit_code:
        require_write(actor, fields.unit_code, f"单位 {fields.unit_code} ")
        _require_unit_exists(session, fields.unit_code)
    existing = find_same(
        session=session, unit_code=fields.unit_code, question=fields.question, exclude_id=entry_id
    )
    if existing is not None:
        raise _conflict(existing)
    now = clock.now()
    _, outcome = save(
        session=session, actor=actor, entry=entry, fields=fields, status=data.status, note=data.note, now=now
    )
    if outcome != "unchanged":
        commit(session=session, now=now)
    return entry


def archive(*, session: Session, actor: Principal, entry_id: int) -> KnowledgeEntry:
    """Withdraws an entry from suggestions for good (status archived); its versions stay for the replies
    that used them. Archiving twice changes nothing."""
    entry = get(session=session, entry_id=entry_id, principal=actor)
    require_write(actor, entry.unit_code, f"问答库条目 {entry_id} ")
    if entry.status == EntryStatus.archived:
        return entry
    now = clock.now()
    save(
        session=session,
        actor=actor,
        entry=entry,
        fields=validated(content_of(entry)),
        status=EntryStatus.archived,
        note=None,
        now=now,
        action="kb.entry.archive",
    )
    commit(session=session, now=now)
    return entry


# --- proposing a reply ------------------------------------------------------------------------------------------


def propose_from_reply(
    *, session: Session, actor: Principal, reply_id: int, data: ProposeRequest
) -> KnowledgeEntry:
    """Turns a published answer into a draft entry of the message's unit (question: the message, masked;
    answer: the reply, personal data masked) for a leader to check and publish. 409 unless published, or if proposed before."""
    reply, message = replies.get(session=session, reply_id=reply_id, principal=actor)
    actor.require(*PROPOSE_ROLES)
    if reply.state != ReplyState.published:
        raise Conflict("只有已发布的答复可以提议为问答库条目")
    if reply.kind != ReplyKind.answer:
        raise Conflict("告知去处的答复（非本单位职责）不能提议为问答库条目")
    earlier = session.exec(select(KnowledgeEntry).where(KnowledgeEntry.source_reply_id == reply_id)).first()
    if earlier is not None:
        raise Conflict(f"该答复已提议为问答库条目 {earlier.id}", details={"entry_id": earlier.id})
    question = (data.question or "").strip() or masked(message.content).strip()[:MAX_QUESTION]
    fields = validated(
        {
            "question": question,
            # A published reply may name the citizen or quote a number: the KB is shared by every unit.
            "answer": masked(reply.text),
            "unit_code": message.unit_code,
            "alt_questions": data.alt_questions,
            "tags": data.tags,
        }
    )
    existing = find_same(session=session, unit_code=fields.unit_code, question=fields.question)
    if existing is not None:
        raise _conflict(existing)
    now = clock.now()
    entry, _ = save(
        session=session,
        actor=actor,
        entry=None,
        fields=fields,
        status=EntryStatus.draft,
        note=f"由答复 {reply_id} 提议",
        now=now,
        action="kb.entry.propose",
        source_reply_id=reply_id,
    )
    commit(session=session, now=now)
    return entry


# --- suggestions ------------------------------------------------------------------------------------------------


def suggest(
    *,
    text: str,
    unit_code: str | None = None,
    channel: str | None = None,
    limit: int = 5,
    now: datetime | None = None,
) -> list[Hit]:
    """Published entries valid now that best answer `text` (loads the index first if needed)."""
    snapshot = knowledge_index.current() or knowledge_index.refresh()
    moment = now or clock.now()
    knowledge_index.poke(moment)
    return snapshot.search(text, unit_code=unit_code, channel=channel, limit=limit, now=moment)


def index_status() -> IndexStatus:
    """What this process's index holds, without touching the database."""
    snapshot = knowledge_index.current()
    if snapshot is None:
        return IndexStatus(ready=False, entries=0, kb_version=None, built_at=None)
    return IndexStatus(
        ready=True,
        entries=len(snapshot.entries),
        kb_version=snapshot.key[0] if snapshot.key else None,
        built_at=snapshot.built_at,
    )
