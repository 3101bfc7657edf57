"""Putting what a platform delivered into the inbound queue: one item (webhooks, through the messages
service), or a batch inside the caller's transaction (polls and imports, so a cursor or an import
commits together with the messages it covered)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select, update
from sqlmodel import Session, col

from app.accounts import service as accounts
from app.accounts.models import Account
from app.accounts.service import AccountRef
from app.auth import Principal
from app.errors import BadRequest, NotFound
from app.messages import service as messages
from app.messages.models import Author, Message, MessageCreate, MessageKind
from app.messages.service import PreparedMessage
from app.messages.storage import insert_message
from app.security import decrypt_secrets
from app.users.models import Role
from connectors.base import InboundItem

EMPTY_CONTENT = "[无文字内容]"
PLATFORM_NAMES = {"wechat": "微信公众号", "weibo": "微博", "douyin": "抖音", "generic": "网站/APP"}


def platform_actor(platform: str) -> Principal:
    """The system principal a platform's deliveries are recorded under (audit: who brought it in)."""
    return Principal(user_id=None, name=platform, role=Role.admin, unit_code=None, units=None)


@dataclass(frozen=True)
class ChannelAccount:
    """An account as the channels need it: its identity, owner unit, state and decrypted secrets."""

    id: int
    platform: str
    external_id: str
    unit_code: str
    active: bool
    secrets: Mapping[str, str]

    @property
    def ref(self) -> AccountRef:
        return AccountRef(id=self.id, platform=self.platform, unit_code=self.unit_code, active=self.active)


_COLUMNS = (
    col(Account.id),
    col(Account.platform),
    col(Account.external_id),
    col(Account.unit_code),
    col(Account.active),
    col(Account.secrets_encrypted),
)


# account id -> (the accounts service's cached ref it was read with, the account)
_accounts: dict[int, tuple[AccountRef, ChannelAccount]] = {}


def load_account(*, session: Session, account_id: int, platform: str) -> ChannelAccount:
    """The account for a platform's delivery; 404 when there is none on that platform.

    Pushes are a hot path: the account is cached for as long as the accounts service caches its ref
    (a few seconds; an account change in this process drops it at once), so a push costs no query.
    """
    ref = accounts.get_cached(session=session, account_id=account_id)
    if ref.platform != platform:
        # The account exists but the push came to another platform's address: say so (the address
        # is configured by hand in the platform's console, and "not found" would send people looking
        # for a missing account).
        raise BadRequest(
            f"账号 {account_id} 不是{PLATFORM_NAMES.get(platform, platform)}账号，"
            f"请在平台后台填写该账号所属平台的推送地址（{PLATFORM_NAMES.get(ref.platform, ref.platform)}）",
            code="wrong_platform",
        )
    hit = _accounts.get(account_id)
    if hit is not None and hit[0] is ref:
        return hit[1]
    row = session.execute(select(*_COLUMNS).where(col(Account.id) == account_id)).first()
    if row is None:
        raise NotFound(f"账号 {account_id} 不存在")
    account = _channel_account(row)
    if len(_accounts) > 10_000:
        _accounts.clear()
    _accounts[account_id] = (ref, account)
    return account


def find_account(*, session: Session, platform: str, external_id: str) -> ChannelAccount | None:
    """The account registered with that platform identity (Douyin routes pushes by open_id)."""
    row = session.execute(
        select(*_COLUMNS).where(col(Account.platform) == platform, col(Account.external_id) == external_id)
    ).first()
    return _channel_account(row) if row is not None else None


def _channel_account(row: Any) -> ChannelAccount:
    return ChannelAccount(
        id=row[0],
        platform=row[1],
        external_id=row[2],
        unit_code=row[3],
        active=bool(row[4]),
        secrets=_secrets(row[5] or ""),
    )


@lru_cache(maxsize=1024)
def _secrets(blob: str) -> Mapping[str, str]:
    # Keyed by the ciphertext, so a change of secrets is seen at once; decrypting costs more than the push.
    return decrypt_secrets(blob) if blob else {}


def message_data(account_id: int, item: InboundItem) -> MessageCreate:
    """The item as `POST /messages` would take it; BadRequest when a field cannot be stored."""
    try:
        return MessageCreate(
            account_id=account_id,
            external_id=item.external_id,
            kind=MessageKind(item.kind),
            author=Author(id=item.author_id[:128], name=item.author_name[:128]),
            content=item.content if item.content.strip() else EMPTY_CONTENT,
            received_at=item.received_at,
            thread_ref=dict(item.thread_ref),
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise BadRequest(f"消息字段不合法：{where} {first.get('msg', '')}", code="malformed") from exc


def prepare_item(*, session: Session, account: ChannelAccount, item: InboundItem) -> PreparedMessage:
    """The pushed message checked and built for the inbound queue (nothing written yet)."""
    return messages.prepare(
        session=session,
        actor=platform_actor(account.platform),
        data=message_data(account.id, item),
        account=account.ref,
    )


def insert_batch(
    *,
    session: Session,
    account: ChannelAccount | AccountRef,
    items: list[MessageCreate],
    actor: Principal,
    extra: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, int]:
    """Inserts messages in the caller's transaction (no commit); returns {external_id: id} of the new
    ones — the others were already stored. `extra` sets more columns of a new message by external id."""
    ref = account.ref if isinstance(account, ChannelAccount) else account
    created: dict[str, int] = {}
    for data in items:
        prepared = messages.prepare(session=session, actor=actor, data=data, account=ref)
        message_id = insert_message(session, prepared.values, prepared.audit, prepared.now)
        if message_id is not None:
            created[data.external_id] = message_id
    if extra:
        _apply_extra(session, created, extra)
    return created


def _apply_extra(session: Session, created: dict[str, int], extra: Mapping[str, Mapping[str, Any]]) -> None:
    for external_id, values in extra.items():
        message_id = created.get(external_id)
        if message_id is not None and values:
            session.execute(update(Message).where(col(Message.id) == message_id).values(**values))
