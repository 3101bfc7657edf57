"""The replay cache of signed pushes whose signature does not cover the body (WeChat plain mode): each
(account, timestamp, nonce) is remembered with the hash of its body for the replay window, in the database
so that every instance agrees. The same push again (a platform retry) passes — deduplication stores it
once; the same signature with another body is a forgery and is refused."""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.channels.models import PushNonce
from connectors.base import REPLAY_WINDOW, PayloadError, ReplayError

# Kept a little longer than a timestamp is accepted (now ± REPLAY_WINDOW).
KEEP = REPLAY_WINDOW * 2 + REPLAY_WINDOW // 5


def remember_push(
    *, session: Session, account_id: int, timestamp: str, nonce: str, body: bytes, now: datetime
) -> None:
    """Records the push; raises ReplayError if this timestamp and nonce came before with another body.
    Commits (the record must outlive this request for other instances to see it)."""
    if not timestamp or not nonce or len(timestamp) > 16 or len(nonce) > 64:
        raise PayloadError("推送的 timestamp 或 nonce 缺失或过长")
    digest = hashlib.sha256(body).hexdigest()
    session.execute(
        delete(PushNonce).where(col(PushNonce.account_id) == account_id, col(PushNonce.seen_at) < now - KEEP)
    )
    seen = _seen(session, account_id, timestamp, nonce)
    if seen is None:
        try:
            with session.begin_nested():
                session.add(
                    PushNonce(
                        account_id=account_id,
                        timestamp=timestamp,
                        nonce=nonce,
                        body_sha256=digest,
                        seen_at=now,
                    )
                )
        except IntegrityError:  # another instance recorded it first
            seen = _seen(session, account_id, timestamp, nonce)
    session.commit()
    if seen is not None and seen != digest:
        raise ReplayError("同一签名（timestamp、nonce）已用于另一条推送内容，疑似重放伪造")


def _seen(session: Session, account_id: int, timestamp: str, nonce: str) -> str | None:
    return session.exec(
        select(PushNonce.body_sha256).where(
            PushNonce.account_id == account_id, PushNonce.timestamp == timestamp, PushNonce.nonce == nonce
        )
    ).first()
