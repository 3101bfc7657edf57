"""Demo data: the official replies of the 2020 message board, recorded as replies delivered outside the
service at their real times, so that on-time figures in the demo are the real ones. Idempotent."""

from __future__ import annotations

import csv
import uuid
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, select

from app.accounts.models import Account
from app.audit.service import record
from app.demo_common import parse_local_time
from app.messages.models import Message, MessageStatus
from app.replies.models import Delivery, Reply
from app.replies.workflow import ReplyState
from app.sla import service as sla

BOARD_ACCOUNT = "gov-board"  # the demo's website message board (app/demo.py)
NOTE = "留言板官方答复（演示数据导入，未经本系统审核发布）"


def load(session: Session, data_dir: Path, summary: dict[str, Any]) -> None:
    """Adds each answered board message's official reply, once."""
    path = data_dir / "wenzheng-2020" / "messages_with_replies.csv"
    board = session.exec(select(Account).where(Account.external_id == BOARD_ACCOUNT)).first()
    summary.setdefault("replies", 0)
    if board is None or not path.exists():
        return
    tz = ZoneInfo("Asia/Shanghai")
    with path.open(encoding="utf-8") as fh:
        rows = [
            r
            for r in csv.DictReader(fh)
            if (r.get("reply") or "").strip() and (r.get("replied_at") or "").strip()
        ]
    for row in rows:
        message = session.exec(
            select(Message).where(Message.account_id == board.id, Message.external_id == f"wz-{row['id']}")
        ).first()
        if message is None or message.id is None or message.status == MessageStatus.published:
            continue
        if session.exec(select(Reply.id).where(Reply.message_id == message.id)).first() is not None:
            continue
        replied_at = parse_local_time(row["replied_at"], tz)
        reply = Reply(
            message_id=message.id,
            text=row["reply"].strip(),
            author_name="留言板",
            state=ReplyState.published,
            idempotency_key=f"hy-{uuid.uuid4().hex}",
            delivery=Delivery.manual.value,
            delivery_note=NOTE,
            published_at=replied_at,
            created_at=replied_at,
            updated_at=replied_at,
        )
        session.add(reply)
        session.flush()
        message.status = MessageStatus.published
        sla.mark_replied(session=session, message=message, replied_at=replied_at)
        record(
            session=session,
            actor=None,
            action="reply.imported",
            entity_type="reply",
            entity_id=reply.id,
            unit_code=message.unit_code,
            after={"message_id": message.id, "published_at": replied_at.isoformat()},
            note=NOTE,
        )
        summary["replies"] += 1
