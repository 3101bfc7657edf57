"""Who is calling: a bearer token or a sign-in session cookie → principal with role and the set of units
it may see.

Unit-scoped roles (leader, reviewer, operator) see their unit and its sub-units; anything else is
reported as not found, so a caller cannot learn that another unit's message exists."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from threading import Lock

from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from app import clock
from app.config import Settings
from app.errors import Forbidden, NotFound, Unauthorized
from app.identity import UNIT_SCOPED_ROLES, ApiToken, Role, Unit, User, UserSession
from app.security import constant_time_equals, csrf_token_for, hash_token

SESSION_COOKIE = "hy_session"
CSRF_HEADER = "X-CSRF-Token"
LAST_SEEN_STEP = timedelta(seconds=30)  # do not write last_seen_at on every request


@dataclass(frozen=True)
class Principal:
    user_id: int | None
    name: str
    role: Role
    unit_code: str | None
    # None = every unit; otherwise the codes this principal may see.
    units: frozenset[str] | None

    def sees_unit(self, unit_code: str | None) -> bool:
        return self.units is None or (unit_code is not None and unit_code in self.units)

    def require(self, *roles: Role) -> None:
        if self.role not in roles:
            raise Forbidden("当前角色无权执行此操作")

    def require_unit(self, unit_code: str | None, what: str = "对象") -> None:
        """Raises NotFound (not Forbidden) for a unit outside the principal's scope."""
        if not self.sees_unit(unit_code):
            raise NotFound(f"{what}不存在")


SYSTEM = Principal(user_id=None, name="system", role=Role.admin, unit_code=None, units=None)


def subtree(units: Iterable[tuple[str, str | None]], root: str) -> frozenset[str]:
    """The codes of `root` and every unit below it."""
    children: dict[str | None, list[str]] = {}
    for code, parent in units:
        children.setdefault(parent, []).append(code)
    seen = {root}
    stack = [root]
    while stack:
        for child in children.get(stack.pop(), []):
            if child not in seen:
                seen.add(child)
                stack.append(child)
    return frozenset(seen)


def unit_scope(session: Session, unit_code: str) -> frozenset[str]:
    rows = session.execute(sa_select(Unit.code, Unit.parent_code)).all()  # type: ignore[call-overload]
    return subtree(((r[0], r[1]) for r in rows), unit_code)


class _TokenCache:
    """Short-lived cache so that each request does not look its token up again; revocation and
    unit changes reach other processes within `ttl` seconds, this process at once (`clear`)."""

    def __init__(self) -> None:
        self._lock = Lock()
        self._items: dict[str, tuple[float, Principal]] = {}

    def get(self, key: str) -> Principal | None:
        item = self._items.get(key)
        if item is None or item[0] < time.monotonic():
            return None
        return item[1]

    def put(self, key: str, principal: Principal, ttl: float) -> None:
        with self._lock:
            if len(self._items) > 10_000:
                self._items.clear()
            self._items[key] = (time.monotonic() + ttl, principal)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


token_cache = _TokenCache()


def principal_for(session: Session, user: User) -> Principal:
    role = Role(user.role)
    units: frozenset[str] | None = None
    if role in UNIT_SCOPED_ROLES:
        units = unit_scope(session, user.unit_code) if user.unit_code else frozenset()
    assert user.id is not None
    return Principal(user_id=user.id, name=user.name, role=role, unit_code=user.unit_code, units=units)


def cached_principal(authorization: str) -> Principal | None:
    """The principal of a bearer `Authorization` header from the token cache (no database), or None when
    the header is not a bearer token or the token is not cached: then `authenticate` decides."""
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return token_cache.get(hash_token(token))


def authenticate(session: Session, authorization: str | None, *, cache_ttl: float) -> Principal:
    if not authorization:
        raise Unauthorized("缺少访问令牌：请在请求头中提供 Authorization: Bearer <token>")
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("访问令牌格式错误，应为 Authorization: Bearer <token>")
    key = hash_token(token)
    cached = token_cache.get(key)
    if cached is not None:
        return cached
    row = session.exec(
        select(User)
        .join(ApiToken, col(ApiToken.user_id) == col(User.id))
        .where(ApiToken.token_hash == key, col(ApiToken.revoked_at).is_(None), col(User.active).is_(True))
    ).first()
    if row is None:
        raise Unauthorized("访问令牌无效或已被吊销")
    principal = principal_for(session, row)
    token_cache.put(key, principal, cache_ttl)
    return principal


CHANGE_FIRST_MESSAGE = "首次登录或密码被管理员重置后，须先修改密码"


def must_change_password(user: User, settings: Settings) -> bool:
    """Whether the user signs in with a password someone else set and must choose their own first."""
    return (
        settings.password_change_required
        and user.password_hash is not None
        and (user.password_changed_at is None)
    )


def authenticate_session(
    *,
    session: Session,
    settings: Settings,
    token: str,
    csrf: str | None,
    changes_state: bool,
    allow_initial_password: bool = False,
) -> Principal:
    """The principal of a session cookie; refuses expired sessions, for a state change a missing or wrong
    CSRF token, and — unless `allow_initial_password` (changing it, signing out, /me) — a user who must
    still replace an initial password."""
    now = clock.now()
    row = session.exec(select(UserSession).where(UserSession.token_hash == hash_token(token))).first()
    if row is None or row.revoked_at is not None:
        raise Unauthorized("未登录或会话已失效，请重新登录", code="session_invalid")
    idle_limit = row.last_seen_at + timedelta(minutes=settings.session_idle_minutes)
    if now >= row.expires_at or now >= idle_limit:
        row.revoked_at = now
        session.add(row)
        session.commit()
        raise Unauthorized("会话已过期，请重新登录", code="session_expired")
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        raise Unauthorized("未登录或会话已失效，请重新登录", code="session_invalid")
    if changes_state and not (csrf and constant_time_equals(csrf, csrf_token_for(token))):
        raise Forbidden(f"缺少或错误的 CSRF 令牌（请求头 {CSRF_HEADER}）", code="csrf_failed")
    if not allow_initial_password and must_change_password(user, settings):
        raise Forbidden(CHANGE_FIRST_MESSAGE, code="password_change_required")
    if now - row.last_seen_at >= LAST_SEEN_STEP:
        row.last_seen_at = now
        session.add(row)
        session.commit()
    return principal_for(session, user)
