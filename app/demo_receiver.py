"""The demo receiver (演示接收端): stands in for the county website that the demo website account
(`gov-board`) publishes to, so that draft → review → publish can be seen end to end on a machine with no
real website. On only in demo mode (`HUIYING_DEMO_RECEIVER=on`, which `make run` sets).

It checks each delivery as a real receiver must (the account's HMAC signature, the 5-minute window),
keeps the first delivery of each idempotency key and counts repeats, and lists what arrived at
`GET /demo/receiver`. Deliveries are kept in this process's memory only (latest `KEEP`)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import orjson
from fastapi import APIRouter, FastAPI, Request
from sqlmodel import Session, select

from app import clock
from app.accounts.models import Account, Platform
from app.accounts.service import secrets_of
from app.db import session_scope
from app.errors import BadRequest, Unauthorized
from app.replies.demo import BOARD_ACCOUNT
from connectors import generic
from connectors.base import ConnectorError

PATH = "/demo/receiver"
LABEL = "演示接收端：模拟县政府网站，接收“县政府网站留言板”账号审核通过后发布的答复（仅演示模式，重启即清空）"
KEEP = 1000

router = APIRouter(tags=["演示接收端（仅演示模式）"])


@dataclass(frozen=True)
class Delivery:
    id: str
    idempotency_key: str
    external_id: str
    text: str
    published_at: str
    received_at: datetime


class Inbox:
    """What the demo website received: first delivery per idempotency key, plus counts of all POSTs."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: OrderedDict[str, Delivery] = OrderedDict()
        self.posts = 0
        self.duplicates = 0
        self._next = 0

    def receive(
        self, *, idempotency_key: str, external_id: str, text: str, published_at: str
    ) -> tuple[Delivery, bool]:
        """Records one delivery and says whether it is new; a repeated key returns the first one."""
        with self._lock:
            self.posts += 1
            existing = self._items.get(idempotency_key)
            if existing is not None:
                self.duplicates += 1
                return existing, False
            self._next += 1
            item = Delivery(
                id=f"demo-{self._next}",
                idempotency_key=idempotency_key,
                external_id=external_id,
                text=text,
                published_at=published_at,
                received_at=clock.now(),
            )
            self._items[idempotency_key] = item
            while len(self._items) > KEEP:
                self._items.popitem(last=False)
            return item, True

    def deliveries(self) -> list[Delivery]:
        with self._lock:
            return list(reversed(self._items.values()))


def install(app: FastAPI) -> None:
    """Adds the receiver's two routes to `app`, with an empty inbox."""
    app.state.demo_inbox = Inbox()
    app.include_router(router)


def board_secret(session: Session) -> str:
    """The demo website account's hmac_secret ('' when the demo is not loaded)."""
    account = session.exec(
        select(Account).where(
            Account.platform == Platform.generic.value, Account.external_id == BOARD_ACCOUNT
        )
    ).first()
    return secrets_of(account).get("hmac_secret", "") if account else ""


def _field(data: dict[str, Any], name: str) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value.strip():
        raise BadRequest(f"{name} 必须是非空字符串")
    return value


@router.post(PATH, summary="演示接收端：接收已发布的答复（模拟县政府网站）")
async def receive(request: Request) -> dict[str, Any]:
    """按网站/APP 接口约定验签（X-Huiying-Signature，5 分钟时间窗），同一 Idempotency-Key 只收一次。"""
    body = await request.body()
    with session_scope() as session:
        secret = board_secret(session)
    try:
        generic.verify(secret, request.headers, body, now=clock.now())
    except ConnectorError as exc:
        raise Unauthorized(f"演示接收端拒收：{exc.message}") from exc
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise BadRequest("请求体不是合法的 JSON", code="malformed_json") from None
    if not isinstance(data, dict):
        raise BadRequest("请求体必须是 JSON 对象")
    inbox: Inbox = request.app.state.demo_inbox
    item, new = inbox.receive(
        idempotency_key=_field(data, "idempotency_key"),
        external_id=_field(data, "external_id"),
        text=_field(data, "text"),
        published_at=str(data.get("published_at") or ""),
    )
    return {"id": item.id, "duplicate": not new}


@router.get(PATH, summary="演示接收端：查看收到的答复")
def inbox(request: Request) -> dict[str, Any]:
    """演示模式下，“县政府网站留言板”账号发布的答复会出现在这里（最新在前）。"""
    box: Inbox = request.app.state.demo_inbox
    return {
        "label": LABEL,
        "posts": box.posts,
        "duplicates": box.duplicates,
        "deliveries": [asdict(item) for item in box.deliveries()],
    }
