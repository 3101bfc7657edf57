"""Taking a citizen's message off its platform (illegal content, abuse): authorised roles only, with a
reason, audited; the message and its content stay in the service as evidence. The platform is asked
through the account's connector (WeChat comment/delete, Weibo comments/destroy); a platform without a
deletion API (Douyin, private messages, website boards) is refused with what to do instead."""

from __future__ import annotations

import httpx
from sqlmodel import Session, col, select

from app import clock
from app.accounts.models import Account
from app.audit.service import record
from app.auth import Principal
from app.channels.comment_admin import call_platform
from app.channels.context import account_context
from app.channels.models import PlatformRemoval, RemovalCreate, RemovalPublic
from app.errors import Conflict
from app.messages import service as messages
from app.users.models import Role
from connectors import registry

# Leaders for their units; supervisors and administrators everywhere (content-safety decisions).
REMOVE_ROLES = (Role.admin, Role.supervisor, Role.leader)
REMOVABLE_KINDS = frozenset({"comment", "mention"})


def public(row: PlatformRemoval) -> RemovalPublic:
    return RemovalPublic.model_validate(row, from_attributes=True)


def history(*, session: Session, actor: Principal, message_id: int) -> list[PlatformRemoval]:
    """The removal attempts for a message the actor may see, oldest first."""
    messages.get(session=session, message_id=message_id, principal=actor)
    return list(
        session.exec(
            select(PlatformRemoval)
            .where(PlatformRemoval.message_id == message_id)
            .order_by(col(PlatformRemoval.id))
        )
    )


def remove(
    *,
    session: Session,
    actor: Principal,
    message_id: int,
    data: RemovalCreate,
    http: httpx.Client | None = None,
) -> tuple[PlatformRemoval, bool]:
    """Asks the platform to delete the message; returns (the record, whether a new attempt was made).

    Idempotent: a message already removed returns that record without asking again. A refusal by the
    platform is recorded (outcome `failed`, with its reason) and raised as 409 after the commit.
    """
    actor.require(*REMOVE_ROLES)
    message = messages.get(session=session, message_id=message_id, principal=actor)
    assert message.id is not None
    done = session.exec(
        select(PlatformRemoval).where(
            PlatformRemoval.message_id == message.id, PlatformRemoval.outcome == "removed"
        )
    ).first()
    if done is not None:
        return done, False
    connector = registry.get(message.platform)
    if connector.remove is None or message.kind not in REMOVABLE_KINDS:
        raise Conflict(
            "该平台或该类消息没有可用的删除接口，请在平台后台人工删除或隐藏，并在处理记录中说明",
            code="not_removable",
        )
    account = session.get(Account, message.account_id)
    assert account is not None
    ctx = account_context(session=session, account=account, http=http)
    thread_ref = {k: str(v) for k, v in message.thread_ref.items()}
    reason = data.reason.strip()
    session.commit()  # no transaction held across the platform call
    now = clock.now()
    remove = connector.remove
    error = call_platform(lambda: remove(ctx, thread_ref=thread_ref, now=now))
    row = PlatformRemoval(
        message_id=message.id,
        account_id=message.account_id,
        reason=reason,
        outcome="failed" if error else "removed",
        error=error,
        actor_id=actor.user_id,
        actor_name=actor.name,
        created_at=now,
    )
    session.add(row)
    session.flush()
    record(
        session=session,
        actor=actor,
        action="message.removed_from_platform" if error is None else "message.remove_from_platform_failed",
        entity_type="message",
        entity_id=message.id,
        unit_code=message.unit_code,
        after={"platform": message.platform, "external_id": message.external_id, "outcome": row.outcome},
        note=reason if error is None else f"{reason}；平台未删除：{error}",
        at=now,
    )
    session.commit()
    session.refresh(row)
    if error is not None:
        raise Conflict(
            f"平台未删除该消息：{error}（已记录，可稍后重试或在平台后台人工处理）", code="platform_refused"
        )
    return row, True
