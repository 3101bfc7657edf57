"""Comment administration on the platform for government accounts: mark a citizen's comment 精选 or
undo it, delete the account's own reply, open or close an article's comments (WeChat). Admins,
supervisors and the unit's leaders; every action audited. Removing a citizen's comment is
`removals` (it keeps a record per attempt as evidence)."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from sqlmodel import Session

from app import clock
from app.accounts import service as accounts
from app.accounts.models import Account
from app.audit.service import record
from app.auth import Principal
from app.channels.context import account_context
from app.channels.targets import validate_target
from app.errors import Conflict
from app.messages import service as messages
from app.users.models import Role
from connectors import registry
from connectors.base import AccountContext, ConnectorError

ADMIN_ROLES = (Role.admin, Role.supervisor, Role.leader)
ACTION_LABELS = {"elect": "标记精选", "unelect": "取消精选", "delete_reply": "删除本账号的回复"}


def call_platform(call: Callable[[], None]) -> str | None:
    """Runs one platform call; the platform's (or the network's) reason when it failed, else None."""
    try:
        call()
    except ConnectorError as exc:
        return exc.message
    except httpx.HTTPError as exc:
        return f"连接平台失败：{type(exc).__name__}"
    return None


def _context(session: Session, account_id: int, http: httpx.Client | None) -> AccountContext:
    account = session.get(Account, account_id)
    assert account is not None
    ctx = account_context(session=session, account=account, http=http)
    session.commit()  # no transaction held across the platform call
    return ctx


def act_on_message(
    *, session: Session, actor: Principal, message_id: int, action: str, http: httpx.Client | None = None
) -> None:
    """Applies `action` (elect / unelect / delete_reply) to the message's comment on its platform.
    409 when the platform has no such action or refuses it (with its reason)."""
    actor.require(*ADMIN_ROLES)
    message = messages.get(session=session, message_id=message_id, principal=actor)
    connector = registry.get(message.platform)
    manage = connector.manage
    if manage is None or action not in connector.manage_actions or message.kind != "comment":
        raise Conflict("该平台或该类消息不支持此操作，请在平台后台处理", code="not_supported")
    unit_code, entity_id = message.unit_code, message.id
    thread_ref = {k: str(v) for k, v in message.thread_ref.items()}
    ctx = _context(session, message.account_id, http)
    now = clock.now()
    error = call_platform(lambda: manage(ctx, action=action, thread_ref=thread_ref, now=now))
    record(
        session=session,
        actor=actor,
        action=f"message.platform_{action}" if error is None else f"message.platform_{action}_failed",
        entity_type="message",
        entity_id=entity_id,
        unit_code=unit_code,
        note=ACTION_LABELS.get(action, action) if error is None else error,
        at=now,
    )
    session.commit()
    if error is not None:
        raise Conflict(f"平台未完成“{ACTION_LABELS.get(action, action)}”：{error}", code="platform_refused")


def switch_comments(
    *,
    session: Session,
    actor: Principal,
    account_id: int,
    target: str,
    open_: bool,
    http: httpx.Client | None = None,
) -> None:
    """Opens or closes the comments of one article of the account (`target` = msg_data_id:index)."""
    actor.require(*ADMIN_ROLES)
    account = accounts.get(session=session, account_id=account_id, principal=actor)
    switch = registry.get(account.platform).switch_comments
    if switch is None:
        raise Conflict("该平台不支持通过接口开关留言，请在平台后台操作", code="not_supported")
    target = validate_target(account.platform, target)
    unit_code = account.unit_code
    ctx = _context(session, account_id, http)
    now = clock.now()
    error = call_platform(lambda: switch(ctx, target=target, open_=open_, now=now))
    label = "开启留言" if open_ else "关闭留言"
    record(
        session=session,
        actor=actor,
        action=f"account.comments_{'opened' if open_ else 'closed'}" + ("" if error is None else "_failed"),
        entity_type="account",
        entity_id=account_id,
        unit_code=unit_code,
        after={"target": target},
        note=label if error is None else error,
        at=now,
    )
    session.commit()
    if error is not None:
        raise Conflict(f"平台未完成“{label}”：{error}", code="platform_refused")
