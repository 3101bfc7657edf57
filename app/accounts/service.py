"""Accounts: register a platform account for a unit, keep its secrets encrypted and never show them."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, select

from app import clock, outbound
from app.accounts.models import SECRET_KEYS, Account, AccountCreate, AccountPublic, AccountUpdate, Platform
from app.audit.service import record
from app.auth import Principal
from app.config import get_settings
from app.errors import Conflict, Invalid, NotFound
from app.security import decrypt_secrets, encrypt_secrets
from app.units import service as units
from app.users.models import Role


def public(account: Account) -> AccountPublic:
    """The API shape: secret names only, never values."""
    assert account.id is not None
    return AccountPublic(
        id=account.id,
        platform=Platform(account.platform),
        name=account.name,
        external_id=account.external_id,
        unit_code=account.unit_code,
        active=account.active,
        secret_keys=sorted(decrypt_secrets(account.secrets_encrypted)),
        last_post_at=account.last_post_at,
        created_at=account.created_at,
    )


def _audit_view(account: Account) -> dict[str, Any]:
    data = account.model_dump(mode="json", exclude={"secrets_encrypted"})
    data["secret_keys"] = sorted(decrypt_secrets(account.secrets_encrypted))
    return data


def _validate_secrets(platform: Platform, secrets: dict[str, str]) -> None:
    unknown = set(secrets) - SECRET_KEYS[platform]
    if unknown:
        allowed = "、".join(sorted(SECRET_KEYS[platform]))
        raise Invalid(f"{platform.value} 账号不支持的密钥：{'、'.join(sorted(unknown))}（可用：{allowed}）")
    if (
        platform == Platform.wechat
        and "encoding_aes_key" in secrets
        and len(secrets["encoding_aes_key"]) != 43
    ):
        raise Invalid("EncodingAESKey 应为43个字符")
    if platform == Platform.generic and "reply_url" in secrets:
        outbound.check_url(secrets["reply_url"])


def secrets_of(account: Account) -> dict[str, str]:
    """Decrypted secrets, for connectors only."""
    return decrypt_secrets(account.secrets_encrypted)


def create(*, session: Session, actor: Principal, data: AccountCreate) -> Account:
    """Registers an account (admin, or the owner unit's leader); 409 if platform + external id exists."""
    actor.require(Role.admin, Role.leader)
    units.require(session=session, code=data.unit_code, principal=actor)
    _validate_secrets(data.platform, data.secrets)
    existing = session.exec(
        select(Account).where(
            Account.platform == data.platform.value, Account.external_id == data.external_id
        )
    ).first()
    if existing is not None:
        raise Conflict(f"该平台账号已登记（ID {existing.id}）")
    now = clock.now()
    account = Account(
        platform=data.platform.value,
        name=data.name,
        external_id=data.external_id,
        unit_code=data.unit_code,
        secrets_encrypted=encrypt_secrets(data.secrets) if data.secrets else None,
        created_at=now,
        updated_at=now,
    )
    session.add(account)
    session.flush()
    record(
        session=session,
        actor=actor,
        action="account.create",
        entity_type="account",
        entity_id=account.id,
        unit_code=account.unit_code,
        after=_audit_view(account),
    )
    session.commit()
    return account


@dataclass(frozen=True)
class AccountRef:
    """What the ingest path needs of an account, cached for a few seconds."""

    id: int
    platform: str
    unit_code: str
    active: bool


_ref_cache: dict[int, tuple[float, AccountRef]] = {}


def get_cached(*, session: Session, account_id: int, principal: Principal | None = None) -> AccountRef:
    """Like `get`, from a short-lived per-process cache (changes reach other processes within
    the token cache time; this process at once)."""
    hit = _ref_cache.get(account_id)
    if hit is None or hit[0] < time.monotonic():
        account = get(session=session, account_id=account_id)
        assert account.id is not None
        ref = AccountRef(
            id=account.id, platform=account.platform, unit_code=account.unit_code, active=account.active
        )
        if len(_ref_cache) > 10_000:
            _ref_cache.clear()
        _ref_cache[account_id] = (time.monotonic() + get_settings().token_cache_seconds, ref)
    else:
        ref = hit[1]
    if principal is not None and not principal.sees_unit(ref.unit_code):
        raise NotFound(f"账号 {account_id} 不存在")
    return ref


def peek_cached(account_id: int) -> AccountRef | None:
    """The cached `AccountRef` if it is there and fresh (no database, no visibility check), else None."""
    hit = _ref_cache.get(account_id)
    if hit is None or hit[0] < time.monotonic():
        return None
    return hit[1]


def forget_cached() -> None:
    _ref_cache.clear()


def get(*, session: Session, account_id: int, principal: Principal | None = None) -> Account:
    """The account, visible to `principal` (None = system), or 404."""
    account = session.get(Account, account_id)
    if account is None or (principal is not None and not principal.sees_unit(account.unit_code)):
        raise NotFound(f"账号 {account_id} 不存在")
    return account


def update(*, session: Session, actor: Principal, account_id: int, data: AccountUpdate) -> Account:
    """Changes name, owner unit, secrets (merged, write-only) or the active flag."""
    actor.require(Role.admin, Role.leader)
    account = get(session=session, account_id=account_id, principal=actor)
    before = _audit_view(account)
    if data.unit_code is not None:
        units.require(session=session, code=data.unit_code, principal=actor)
        account.unit_code = data.unit_code
    if data.name is not None:
        account.name = data.name
    if data.active is not None:
        account.active = data.active
    if data.secrets is not None:
        _validate_secrets(Platform(account.platform), data.secrets)
        merged = {**secrets_of(account), **data.secrets}
        account.secrets_encrypted = encrypt_secrets(merged)
    account.updated_at = clock.now()
    session.add(account)
    record(
        session=session,
        actor=actor,
        action="account.update",
        entity_type="account",
        entity_id=account_id,
        unit_code=account.unit_code,
        before=before,
        after=_audit_view(account),
    )
    session.commit()
    forget_cached()
    return account


def list_accounts(
    *, session: Session, principal: Principal, platform: str | None = None, unit_code: str | None = None
) -> list[Account]:
    """Accounts the principal may see, filtered by platform and owner unit."""
    query = select(Account).order_by(col(Account.id))
    if principal.units is not None:
        query = query.where(col(Account.unit_code).in_(principal.units))
    if platform:
        query = query.where(Account.platform == platform)
    if unit_code:
        query = query.where(Account.unit_code == unit_code)
    return list(session.exec(query))
