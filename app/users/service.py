"""Users and their tokens: a token is shown once when issued; only its hash is kept."""

from __future__ import annotations

from sqlmodel import Session, col, select

from app import clock
from app.audit.service import record
from app.auth import Principal, token_cache
from app.errors import Conflict, Invalid, NotFound
from app.security import hash_token, new_token
from app.units import service as units
from app.users import signin
from app.users.models import UNIT_SCOPED_ROLES, ApiToken, Role, User, UserCreate


def create(*, session: Session, actor: Principal, data: UserCreate) -> tuple[User, str]:
    """Creates a user with a first token; returns (user, token) — the token is not stored."""
    actor.require(Role.admin)
    if data.unit_code is not None and not data.unit_code.strip():
        raise Invalid("unit_code 不能为空字符串：不属于任何单位时请省略该字段")
    if data.role in UNIT_SCOPED_ROLES and not data.unit_code:
        raise Invalid(f"角色 {data.role.value} 必须指定所属单位 unit_code")
    if data.unit_code:
        units.require(session=session, code=data.unit_code)
    if data.password is not None and data.username is None:
        raise Invalid("设置密码时须同时指定登录用户名 username")
    user = User(name=data.name, role=data.role.value, unit_code=data.unit_code, created_at=clock.now())
    if data.username is not None:
        signin.set_username(session, user, data.username)
    if data.password is not None:
        signin.set_password(session, user, data.password)
    session.add(user)
    session.flush()
    token = _issue(session, user)
    record(
        session=session,
        actor=actor,
        action="user.create",
        entity_type="user",
        entity_id=user.id,
        unit_code=user.unit_code,
        after=public_view(user),
    )
    session.commit()
    return user, token


def public_view(user: User) -> dict[str, object]:
    """What the audit log may keep of a user: never the password hash."""
    return user.model_dump(mode="json", exclude={"password_hash"})


def _issue(session: Session, user: User) -> str:
    assert user.id is not None
    token = new_token()
    session.add(ApiToken(user_id=user.id, token_hash=hash_token(token), created_at=clock.now()))
    return token


def issue_token(*, session: Session, actor: Principal, user_id: int, revoke_others: bool) -> str:
    """A new token for the user, optionally revoking the old ones."""
    actor.require(Role.admin)
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"用户 {user_id} 不存在")
    if revoke_others:
        _revoke_all(session, user_id)
    token = _issue(session, user)
    record(
        session=session,
        actor=actor,
        action="user.token_issue",
        entity_type="user",
        entity_id=user_id,
        unit_code=user.unit_code,
        note="revoke_others" if revoke_others else None,
    )
    session.commit()
    token_cache.clear()
    return token


def _revoke_all(session: Session, user_id: int) -> None:
    now = clock.now()
    for row in session.exec(
        select(ApiToken).where(ApiToken.user_id == user_id, col(ApiToken.revoked_at).is_(None))
    ):
        row.revoked_at = now
        session.add(row)


def require_another_admin(*, session: Session, user: User) -> None:
    """409 if `user` is the last active admin: deactivating or demoting them would lock everyone out.

    The active admins are locked (PostgreSQL) so that two admins cannot remove each other at once."""
    if user.role != Role.admin or not user.active:
        return
    admins = session.exec(
        select(User.id).where(User.role == Role.admin.value, col(User.active).is_(True)).with_for_update()
    ).all()
    if all(admin_id == user.id for admin_id in admins):
        raise Conflict("这是最后一个启用的管理员，不能停用或降级；请先新建另一名管理员", code="last_admin")


def deactivate(*, session: Session, actor: Principal, user_id: int) -> User:
    """Disables the user and revokes every token."""
    actor.require(Role.admin)
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"用户 {user_id} 不存在")
    require_another_admin(session=session, user=user)
    user.active = False
    session.add(user)
    _revoke_all(session, user_id)
    signin.revoke_sessions(session, user_id)
    record(
        session=session,
        actor=actor,
        action="user.deactivate",
        entity_type="user",
        entity_id=user_id,
        unit_code=user.unit_code,
    )
    session.commit()
    token_cache.clear()
    return user


def list_users(*, session: Session, principal: Principal) -> list[User]:
    principal.require(Role.admin, Role.supervisor, Role.auditor, Role.leader)
    query = select(User).order_by(col(User.id))
    if principal.units is not None:
        query = query.where(col(User.unit_code).in_(principal.units))
    return list(session.exec(query))


def ensure_admin_token(session: Session, token: str) -> None:
    """Makes sure an active admin owning `token` exists (HUIYING_ADMIN_TOKEN bootstrap). A revoked
    bootstrap token, or its deactivated or demoted user, is restored: restarting with the variable set
    is the way back in after a lock-out."""
    key = hash_token(token)
    row = session.exec(select(ApiToken).where(ApiToken.token_hash == key)).first()
    if row is not None:
        user = session.get(User, row.user_id)
        if user is not None and (row.revoked_at is not None or not user.active or user.role != Role.admin):
            before = {"token_revoked": row.revoked_at is not None, "active": user.active, "role": user.role}
            row.revoked_at = None
            user.active, user.role = True, Role.admin.value
            session.add(row)
            session.add(user)
            record(
                session=session,
                actor=None,
                action="user.bootstrap_restore",
                entity_type="user",
                entity_id=user.id,
                unit_code=user.unit_code,
                before=before,
                after={"token_revoked": False, "active": True, "role": user.role},
                note="HUIYING_ADMIN_TOKEN",
            )
            token_cache.clear()
        return
    now = clock.now()
    user = User(name="admin", role=Role.admin, unit_code=None, created_at=now)
    session.add(user)
    session.flush()
    assert user.id is not None
    session.add(ApiToken(user_id=user.id, token_hash=key, created_at=now))
