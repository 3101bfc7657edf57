"""Demo loader for the reports: the board's 5-working-day deadlines (real 2011–2020 holidays) on the real
messages, whose official replies and reply times the replies domain's loader records, and the board's
"hot" messages, which have no reply in the data. Idempotent."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from app.accounts.models import Account, Platform
from app.auth import SYSTEM
from app.config import DEFAULT_REPLY_WORKING_DAYS, get_settings
from app.demo_common import parse_local_time
from app.messages import service as messages
from app.messages.models import Author, Message, MessageCreate, MessageKind
from app.sla.service import apply_deadline

# The 2020 board's rule, whatever the demo unit's own setting: the standard reply limit.
BOARD_WORKING_DAYS = DEFAULT_REPLY_WORKING_DAYS
BOARD_ACCOUNT = (Platform.generic.value, "gov-board")


def _parse(value: str) -> Any:
    return parse_local_time(value, get_settings().tz)


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _board(session: Session) -> Account | None:
    return session.exec(
        select(Account).where(Account.platform == BOARD_ACCOUNT[0], Account.external_id == BOARD_ACCOUNT[1])
    ).first()


def _add_hot_messages(session: Session, board: Account, path: Path) -> int:
    added = 0
    assert board.id is not None
    for row in _rows(path):
        _, created = messages.ingest(
            session=session,
            actor=SYSTEM,
            account=board,
            data=MessageCreate(
                account_id=board.id,
                external_id=f"wzhot-{row['id']}",
                kind=MessageKind.comment,
                author=Author(id=row["user"], name=row["user"]),
                content=f"{row['subject']}。{row['content']}",
                received_at=_parse(row["posted_at"]),
            ),
        )
        added += int(created)
    return added


def load_hot_messages(session: Session, data_dir: Path, summary: dict[str, Any]) -> None:
    """EXTRA_LOADERS entry (after the replies' loader): the board's "hot" messages."""
    folder = data_dir / "wenzheng-2020"
    if not (folder / "messages_with_replies.csv").exists():
        return
    board = _board(session)
    hot_csv = folder / "messages_hot.csv"
    if board is not None and hot_csv.exists():
        summary["hot_messages"] = _add_hot_messages(session, board, hot_csv)


def apply_board_deadlines(session: Session, data_dir: Path, summary: dict[str, Any]) -> None:
    """EXTRA_LOADERS entry, after the demo has drained the intake queue (whose deadline step would
    otherwise replace the board's 5-day deadline with the routed unit's own): the board's deadlines."""
    replies_csv = data_dir / "wenzheng-2020" / "messages_with_replies.csv"
    if not replies_csv.exists():
        return
    ids = [f"wz-{row['id']}" for row in _rows(replies_csv)]
    for message in session.exec(select(Message).where(col(Message.external_id).in_(ids))):
        apply_deadline(session=session, message=message, working_days=BOARD_WORKING_DAYS)
    for message in session.exec(select(Message).where(col(Message.external_id).like("wzhot-%"))):
        apply_deadline(session=session, message=message, working_days=BOARD_WORKING_DAYS)
    session.commit()
