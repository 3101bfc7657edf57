"""Notification channels of a unit (WeCom / DingTalk robots, signed webhooks): the URL and secret are
stored encrypted and never shown again; only a masked hint of the URL is."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import httpx
from sqlmodel import Session, col, select

from app import clock, outbound
from app.audit.service import record
from app.auth import Principal
from app.errors import Invalid, NotFound
from app.notifications.models import ChannelCreate, ChannelPublic, ChannelUpdate, NotificationChannel
from app.notifications.robots import ChannelConfig, Notification, SendResult, send
from app.security import decrypt_secrets, encrypt_secrets
from app.units import service as units
from app.users.models import Role

MANAGE_ROLES = (Role.admin, Role.leader)
READ_ROLES = (Role.admin, Role.supervisor, Role.auditor, Role.leader)
_LONG_PATH_PART = re.compile(r"^[A-Za-z0-9_\-]{16,}$")


def url_hint(url: str) -> str:
    """The URL with its credentials hidden: query values and long path tokens keep 4 characters."""
    parts = urlsplit(url)

    def hide(value: str) -> str:
        return value[:4] + "…" if len(value) > 4 else "…"

    query = "&".join(f"{k}={hide(v)}" for k, v in parse_qsl(parts.query, keep_blank_values=True))
    path = "/".join(hide(p) if _LONG_PATH_PART.match(p) else p for p in parts.path.split("/"))
    return urlunsplit((parts.scheme, parts.hostname or "", path, query, ""))[:300]


def public(channel: NotificationChannel) -> ChannelPublic:
    assert channel.id is not None
    return ChannelPublic(
        id=channel.id,
        unit_code=channel.unit_code,
        kind=channel.kind,  # type: ignore[arg-type]
        name=channel.name,
        audience=channel.audience,  # type: ignore[arg-type]
        url_hint=channel.url_hint,
        has_secret=channel.has_secret,
        active=channel.active,
        created_at=channel.created_at,
        updated_at=channel.updated_at,
    )


def config_of(channel: NotificationChannel) -> ChannelConfig:
    """Decrypted settings, for sending only."""
    values = decrypt_secrets(channel.secrets_encrypted)
    return ChannelConfig(kind=channel.kind, url=values["url"], secret=values.get("secret") or None)  # type: ignore[arg-type]


def _check_secret(kind: str, secret: str | None) -> None:
    if kind == "webhook" and not secret:
        raise Invalid("通用 Webhook 必须设置签名密钥 secret")


def _audit_view(channel: NotificationChannel) -> dict[str, Any]:
    return public(channel).model_dump(mode="json")


def get(*, session: Session, channel_id: int, principal: Principal) -> NotificationChannel:
    """The channel if the principal's units include its unit; otherwise 404."""
    channel = session.get(NotificationChannel, channel_id)
    if channel is None or not principal.sees_unit(channel.unit_code):
        raise NotFound(f"通知渠道 {channel_id} 不存在")
    return channel


def create(*, session: Session, actor: Principal, data: ChannelCreate) -> NotificationChannel:
    """Adds a channel to a unit (admin, or a leader of the unit)."""
    actor.require(*MANAGE_ROLES)
    units.require(session=session, code=data.unit_code, principal=actor)
    _check_secret(data.kind, data.secret)
    outbound.check_url(data.url)
    now = clock.now()
    channel = NotificationChannel(
        unit_code=data.unit_code,
        kind=data.kind,
        name=data.name,
        audience=data.audience,
        secrets_encrypted=encrypt_secrets({"url": data.url, "secret": data.secret or ""}),
        url_hint=url_hint(data.url),
        has_secret=bool(data.secret),
        active=data.active,
        created_at=now,
        updated_at=now,
    )
    session.add(channel)
    session.flush()
    record(
        session=session,
        actor=actor,
        action="sla.channel_create",
        entity_type="notification_channel",
        entity_id=channel.id,
        unit_code=channel.unit_code,
        after=_audit_view(channel),
    )
    session.commit()
    return channel


def update(
    *, session: Session, actor: Principal, channel_id: int, data: ChannelUpdate
) -> NotificationChannel:
    """Changes a channel; URL and secret are write-only (an empty secret clears it)."""
    actor.require(*MANAGE_ROLES)
    channel = get(session=session, channel_id=channel_id, principal=actor)
    before = _audit_view(channel)
    values = decrypt_secrets(channel.secrets_encrypted)
    if data.url is not None:
        values["url"] = outbound.check_url(data.url)
        channel.url_hint = url_hint(data.url)
    if data.secret is not None:
        values["secret"] = data.secret
    _check_secret(channel.kind, values.get("secret"))
    channel.secrets_encrypted = encrypt_secrets(values)
    channel.has_secret = bool(values.get("secret"))
    if data.name is not None:
        channel.name = data.name
    if data.audience is not None:
        channel.audience = data.audience
    if data.active is not None:
        channel.active = data.active
    channel.updated_at = clock.now()
    session.add(channel)
    record(
        session=session,
        actor=actor,
        action="sla.channel_update",
        entity_type="notification_channel",
        entity_id=channel_id,
        unit_code=channel.unit_code,
        before=before,
        after=_audit_view(channel),
    )
    session.commit()
    return channel


def delete(*, session: Session, actor: Principal, channel_id: int) -> None:
    actor.require(*MANAGE_ROLES)
    channel = get(session=session, channel_id=channel_id, principal=actor)
    before = _audit_view(channel)
    session.delete(channel)
    record(
        session=session,
        actor=actor,
        action="sla.channel_delete",
        entity_type="notification_channel",
        entity_id=channel_id,
        unit_code=before["unit_code"],
        before=before,
    )
    session.commit()


def list_channels(
    *, session: Session, principal: Principal, unit_code: str | None = None
) -> list[NotificationChannel]:
    """The channels of the units the principal may see (admin, supervisor, auditor: all)."""
    principal.require(*READ_ROLES)
    query = select(NotificationChannel).order_by(
        col(NotificationChannel.unit_code), col(NotificationChannel.id)
    )
    if principal.units is not None:
        query = query.where(col(NotificationChannel.unit_code).in_(principal.units))
    if unit_code is not None:
        query = query.where(NotificationChannel.unit_code == unit_code)
    return list(session.exec(query))


def for_target(session: Session, unit_code: str, target: str) -> list[NotificationChannel]:
    """Active channels that should carry a notice for `target`: "unit" uses the unit's general
    channels; "leaders" its leaders-only channels, else the general ones; "supervisor" the
    (supervisor) unit's general channels, else its leaders-only ones."""
    rows = list(
        session.exec(
            select(NotificationChannel)
            .where(NotificationChannel.unit_code == unit_code, col(NotificationChannel.active).is_(True))
            .order_by(col(NotificationChannel.id))
        )
    )
    general = [c for c in rows if c.audience == "all"]
    leaders = [c for c in rows if c.audience == "leaders"]
    if target == "unit":
        return general
    if target == "leaders":
        return leaders or general
    return general or leaders


def send_test(
    *, session: Session, actor: Principal, channel_id: int, client: httpx.Client | None = None
) -> SendResult:
    """Sends a test notice through the channel now and reports the platform's answer."""
    actor.require(*MANAGE_ROLES)
    channel = get(session=session, channel_id=channel_id, principal=actor)
    now = clock.now()
    note = Notification(
        title="回应：通知渠道测试",
        text=f"这是一条测试消息：{channel.name}（{channel.unit_code}）已能接收答复时限提醒。",
        urgent=False,
        dedupe_key=f"huiying:channel-test:{channel_id}:{int(now.timestamp())}",
    )
    result = send(config_of(channel), note, client=client, now=now)
    record(
        session=session,
        actor=actor,
        action="sla.channel_test",
        entity_type="notification_channel",
        entity_id=channel_id,
        unit_code=channel.unit_code,
        after={"ok": result.ok, "detail": result.detail},
    )
    session.commit()
    return result
