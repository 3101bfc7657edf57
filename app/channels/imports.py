"""Importing exported messages (12345 hotline, legacy message boards) into an account's queue: rows
validated one by one, rejected rows reported with their reasons, importing the same file twice adds
nothing. Rows already answered in the source system arrive answered (with the answer's time), so the
deadline statistics count them, and are not put in front of operators again."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import orjson
from sqlmodel import Session

from app import clock
from app.accounts import service as accounts
from app.audit.service import record
from app.auth import Principal
from app.channels.models import ImportReport, RejectedRowPublic
from app.channels.store import insert_batch, message_data
from app.config import get_settings
from app.errors import BadRequest, uploaded_file
from app.messages.models import MessageCreate, MessageKind, MessageStatus
from app.messages.service import INGEST_ROLES
from connectors.imports import DEFAULT_COLUMNS, ImportedMessage, parse_export

BATCH = 500


def parse_mapping(raw: str | None) -> dict[str, str] | None:
    """The column mapping given as JSON text (`{"content": "诉求内容"}`); BadRequest when unusable."""
    if raw is None or not raw.strip():
        return None
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BadRequest('列映射不是合法的 JSON，例如 {"content": "诉求内容"}') from exc
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise BadRequest("列映射应为 {字段: 列名} 形式的 JSON 对象")
    unknown = set(value) - set(DEFAULT_COLUMNS)
    if unknown:
        raise BadRequest(f"未知的字段：{'、'.join(sorted(unknown))}（可用：{'、'.join(DEFAULT_COLUMNS)}）")
    return value


def import_messages(
    *,
    session: Session,
    actor: Principal,
    account_id: int,
    data: bytes,
    filename: str,
    kind: MessageKind = MessageKind.comment,
    mapping: Mapping[str, str] | None = None,
    now: datetime | None = None,
) -> ImportReport:
    """Imports a CSV/XLSX export into the account; returns counts and the rejected rows.

    Commits in batches: a failure part-way leaves the committed batches, and importing the file again
    completes it without storing anything twice.
    """
    if actor.user_id is not None:
        actor.require(*INGEST_ROLES)
    account = accounts.get(session=session, account_id=account_id, principal=actor)
    if not account.active:
        raise BadRequest(f"账号 {account_id} 已停用，不再接收消息")
    now = now or clock.now()
    with uploaded_file():
        parsed = parse_export(
            data, filename=filename, now=now, tz=get_settings().tz, mapping=mapping, kind=kind.value
        )
    rejected = [RejectedRowPublic(row=r.row_number, reason=r.reason) for r in parsed.rejected]
    rows: list[tuple[ImportedMessage, MessageCreate]] = []
    for message in parsed.items:
        try:
            rows.append((message, message_data(account_id, message.item)))
        except BadRequest as exc:
            rejected.append(RejectedRowPublic(row=message.row_number, reason=exc.message))
    ref = accounts.get_cached(session=session, account_id=account_id)
    session.commit()  # end the read transaction before the writes
    imported = answered = 0
    for start in range(0, len(rows), BATCH):
        chunk = rows[start : start + BATCH]
        extra = {data.external_id: _answered(message) for message, data in chunk if message.replied_at}
        created = insert_batch(
            session=session,
            account=ref,
            items=[data for _, data in chunk],
            actor=actor,
            extra=extra,
        )
        imported += len(created)
        answered += sum(1 for external_id in created if external_id in extra)
        session.commit()
    report = ImportReport(
        imported=imported,
        duplicates=len(rows) - imported,
        answered=answered,
        rejected=sorted(rejected, key=lambda r: r.row),
    )
    record(
        session=session,
        actor=actor,
        action="messages.import",
        entity_type="account",
        entity_id=account_id,
        unit_code=account.unit_code,
        after={
            "filename": filename[:200],
            "kind": kind.value,
            "imported": report.imported,
            "duplicates": report.duplicates,
            "answered": report.answered,
            "rejected": len(report.rejected),
        },
        at=now,
    )
    session.commit()
    return report


def _answered(message: ImportedMessage) -> dict[str, Any]:
    """Columns of a message answered in the source system: answered at that time, the answer kept."""
    thread_ref = {
        **message.item.thread_ref,
        "source_reply": message.reply or "",
        "source_replied_at": message.replied_at.isoformat() if message.replied_at else "",
    }
    return {
        "status": MessageStatus.published.value,
        "first_replied_at": message.replied_at,
        "thread_ref": thread_ref,
    }
