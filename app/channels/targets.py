"""Poll targets per account (an article's comments, a video's comments, the Weibo comment inbox) and
the account's polling schedule; changed by the account's managers, every change audited."""

from __future__ import annotations

import re

from sqlmodel import Session, col, select

from app import clock
from app.accounts import service as accounts
from app.accounts.models import Account
from app.audit.service import record
from app.auth import Principal
from app.channels import health as health_records
from app.channels.models import ChannelHealth, PollingUpdate, PollTarget, PollTargetCreate, PollTargetUpdate
from app.errors import Conflict, Invalid, NotFound
from app.users.models import Role
from connectors import registry, weibo

MANAGER_ROLES = (Role.admin, Role.leader)
_WECHAT_TARGET = re.compile(r"^[0-9A-Za-z_]{1,64}:\d{1,3}$")
_DOUYIN_TARGET = re.compile(r"^[0-9A-Za-z_@.=+/-]{1,160}$")


def validate_target(platform: str, target: str) -> str:
    """The target normalised for the platform, or Invalid with what the platform expects."""
    target = target.strip()
    connector = registry.CONNECTORS.get(platform)
    if connector is None or connector.poll is None:
        raise Invalid("该平台的消息通过推送接收，无需轮询")
    if platform == "wechat" and not _WECHAT_TARGET.match(target):
        raise Invalid("微信公众号的轮询目标应为图文的 msg_data_id:index，例如 2247483714:0")
    if platform == "douyin" and not _DOUYIN_TARGET.match(target):
        raise Invalid("抖音的轮询目标应为视频的 item_id")
    if platform == "weibo" and target and target not in weibo.MENTION_TARGETS:
        raise Invalid(
            "微博轮询目标：留空为收到的评论，mentions 为评论中@本账号，status_mentions 为微博中@本账号"
        )
    return target


def _account(session: Session, actor: Principal, account_id: int) -> Account:
    actor.require(*MANAGER_ROLES)
    return accounts.get(session=session, account_id=account_id, principal=actor)


def add(*, session: Session, actor: Principal, account_id: int, data: PollTargetCreate) -> PollTarget:
    """Adds a target; polling of the account starts at the next scheduler run. 409 if it exists."""
    account = _account(session, actor, account_id)
    target = validate_target(account.platform, data.target)
    existing = session.exec(
        select(PollTarget).where(PollTarget.account_id == account_id, PollTarget.target == target)
    ).first()
    if existing is not None:
        raise Conflict(f"该轮询目标已存在（ID {existing.id}）")
    now = clock.now()
    row = PollTarget(account_id=account_id, target=target, label=data.label, created_at=now, updated_at=now)
    session.add(row)
    health = health_records.ensure(session=session, account_id=account_id, now=now)
    health.next_poll_at = now
    session.add(health)
    session.flush()
    record(
        session=session,
        actor=actor,
        action="poll_target.create",
        entity_type="poll_target",
        entity_id=row.id,
        unit_code=account.unit_code,
        after={"account_id": account_id, "target": target, "label": data.label},
    )
    session.commit()
    return row


def list_targets(*, session: Session, actor: Principal, account_id: int) -> list[PollTarget]:
    accounts.get(session=session, account_id=account_id, principal=actor)
    return list(
        session.exec(
            select(PollTarget).where(PollTarget.account_id == account_id).order_by(col(PollTarget.id))
        )
    )


def _target(session: Session, account_id: int, target_id: int) -> PollTarget:
    row = session.get(PollTarget, target_id)
    if row is None or row.account_id != account_id:
        raise NotFound(f"轮询目标 {target_id} 不存在")
    return row


def update(
    *, session: Session, actor: Principal, account_id: int, target_id: int, data: PollTargetUpdate
) -> PollTarget:
    """Renames, pauses/resumes, or restarts a target from the beginning (nothing is stored twice)."""
    account = _account(session, actor, account_id)
    row = _target(session, account_id, target_id)
    before = row.model_dump(mode="json")
    if data.label is not None:
        row.label = data.label
    if data.active is not None:
        row.active = data.active
    if data.restart:
        row.cursor = None
        row.scan_started_at = None
    row.updated_at = clock.now()
    session.add(row)
    record(
        session=session,
        actor=actor,
        action="poll_target.update",
        entity_type="poll_target",
        entity_id=target_id,
        unit_code=account.unit_code,
        before=before,
        after=row.model_dump(mode="json"),
    )
    session.commit()
    return row


def delete(*, session: Session, actor: Principal, account_id: int, target_id: int) -> None:
    account = _account(session, actor, account_id)
    row = _target(session, account_id, target_id)
    record(
        session=session,
        actor=actor,
        action="poll_target.delete",
        entity_type="poll_target",
        entity_id=target_id,
        unit_code=account.unit_code,
        before=row.model_dump(mode="json"),
    )
    session.delete(row)
    session.commit()


def set_polling(*, session: Session, actor: Principal, account_id: int, data: PollingUpdate) -> ChannelHealth:
    """Turns polling of the account on or off and sets its interval; the next run is due at once."""
    account = _account(session, actor, account_id)
    now = clock.now()
    health = health_records.ensure(session=session, account_id=account_id, now=now)
    before = {"enabled": health.polling_enabled, "interval_seconds": health.poll_interval_seconds}
    if data.enabled is not None:
        health.polling_enabled = data.enabled
    if data.interval_seconds is not None:
        health.poll_interval_seconds = data.interval_seconds
    health.next_poll_at = now
    health.updated_at = now
    session.add(health)
    record(
        session=session,
        actor=actor,
        action="channel.polling",
        entity_type="account",
        entity_id=account_id,
        unit_code=account.unit_code,
        before=before,
        after={"enabled": health.polling_enabled, "interval_seconds": health.poll_interval_seconds},
    )
    session.commit()
    return health
