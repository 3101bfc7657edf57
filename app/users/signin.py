"""Sign-in with a username and password: sessions in an HttpOnly cookie, idle and absolute expiry,
lock-out after repeated failures (each failure audited), change and reset of passwords.

A session token is random (256 bits) and only its SHA-256 is stored; its CSRF token is derived from it
(`app.security.csrf_token_for`), so cookie-authenticated changes need a value a foreign page cannot read.
Checking a session cookie on each request is authentication's job (`app.auth.authenticate_session`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from app import clock
from app.audit.service import record
from app.auth import CSRF_HEADER as CSRF_HEADER
from app.auth import SESSION_COOKIE as SESSION_COOKIE
from app.auth import Principal, must_change_password, principal_for
from app.config import Settings
from app.errors import Conflict, Forbidden, Invalid, NotFound, TooManyRequests, Unauthorized
from app.security import csrf_token_for, hash_token, new_token
from app.users import throttle
from app.users.models import Role, User, UserSession
from app.users.passwords import check_complexity, hash_password, needs_rehash, verify_password

BAD_CREDENTIALS = "用户名或密码错误"


@dataclass(frozen=True)
class SignedIn:
    user: User
    token: str
    csrf_token: str
    expires_at: datetime
    password_change_required: bool = False


def login(
    *, session: Session, settings: Settings, username: str, password: str, source: str | None = None
) -> SignedIn:
    """Checks the password and opens a session; wrong passwords count towards a lock-out of the account
    and, per source address (`source`), towards a pause for that address."""
    now = clock.now()
    limit = settings.login_source_max_failures
    window = timedelta(minutes=settings.login_source_window_minutes)
    if source is not None:
        until = throttle.failures.blocked_until(source, now=now, limit=limit, window=window)
        if until is not None:
            record(
                session=session,
                actor=None,
                action="auth.login_refused_source",
                entity_type="user",
                entity_id="-",
                note=f"source={source[:64]} username={username[:64]}",
            )
            session.commit()
            minutes = max(1, -(-int((until - now).total_seconds()) // 60))
            raise TooManyRequests(
                f"该地址登录失败次数过多，请 {minutes} 分钟后再试", code="too_many_attempts"
            )
    try:
        return _login(session=session, settings=settings, username=username, password=password, now=now)
    except (Unauthorized, Forbidden):
        if source is not None:
            throttle.failures.fail(source, now=now, limit=limit)
        raise


def _login(*, session: Session, settings: Settings, username: str, password: str, now: datetime) -> SignedIn:
    user = session.exec(select(User).where(User.username == username)).first()
    if user is None or not user.active:
        verify_password(None, password)  # same cost as a wrong password: do not reveal who exists
        record(
            session=session,
            actor=None,
            action="auth.login_failed",
            entity_type="user",
            entity_id=user.id if user else "-",
            note=f"username={username[:64]}" + ("" if user is None else " (inactive)"),
        )
        session.commit()
        raise Unauthorized(BAD_CREDENTIALS, code="bad_credentials")
    if user.locked_until is not None and user.locked_until > now:
        _audit(session, None, "auth.login_refused_locked", user)
        session.commit()
        raise Forbidden(_locked_message(user.locked_until, settings), code="account_locked")
    if not verify_password(user.password_hash, password):
        user.failed_logins += 1
        locked = user.failed_logins >= settings.login_max_failures
        if locked:
            user.locked_until = now + timedelta(minutes=settings.login_lock_minutes)
            user.failed_logins = 0
        session.add(user)
        _audit(session, None, "auth.login_failed", user, note=f"username={username}")
        if locked:
            _audit(
                session,
                None,
                "auth.locked",
                user,
                note=f"连续 {settings.login_max_failures} 次密码错误，锁定 {settings.login_lock_minutes} 分钟",
            )
        session.commit()
        if locked:
            assert user.locked_until is not None
            raise Forbidden(_locked_message(user.locked_until, settings), code="account_locked")
        raise Unauthorized(BAD_CREDENTIALS, code="bad_credentials")
    assert user.id is not None and user.password_hash is not None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.failed_logins = 0
    user.locked_until = None
    session.add(user)
    token = new_token()
    expires_at = now + timedelta(hours=settings.session_max_hours)
    session.add(
        UserSession(
            user_id=user.id,
            token_hash=hash_token(token),
            created_at=now,
            last_seen_at=now,
            expires_at=expires_at,
        )
    )
    _audit(session, principal_for(session, user), "auth.login", user)
    session.commit()
    return SignedIn(
        user=user,
        token=token,
        csrf_token=csrf_token_for(token),
        expires_at=expires_at,
        password_change_required=must_change_password(user, settings),
    )


def _audit(
    session: Session, actor: Principal | None, action: str, user: User, note: str | None = None
) -> None:
    """One sign-in event about `user` in the audit log (never a password, never a hash)."""
    record(
        session=session,
        actor=actor,
        action=action,
        entity_type="user",
        entity_id=user.id,
        unit_code=user.unit_code,
        note=note,
    )


def _locked_message(until: datetime, settings: Settings) -> str:
    local = until.astimezone(settings.tz).strftime("%H:%M")
    return f"密码连续错误次数过多，账户已锁定至 {local}；请稍后再试或请管理员重置密码"


def logout(*, session: Session, token: str) -> None:
    row = session.exec(select(UserSession).where(UserSession.token_hash == hash_token(token))).first()
    if row is None or row.revoked_at is not None:
        return
    row.revoked_at = clock.now()
    session.add(row)
    record(session=session, actor=None, action="auth.logout", entity_type="user", entity_id=row.user_id)
    session.commit()


def revoke_sessions(session: Session, user_id: int) -> None:
    """Ends every open session of the user (joins the caller's transaction)."""
    now = clock.now()
    for row in session.exec(
        select(UserSession).where(UserSession.user_id == user_id, col(UserSession.revoked_at).is_(None))
    ):
        row.revoked_at = now
        session.add(row)


def set_password(session: Session, user: User, password: str, *, chosen_by_user: bool = False) -> None:
    """Checks complexity and stores the new hash (joins the caller's transaction). A password someone
    else set (an administrator creating the user or resetting it) is an initial one: no change time is
    recorded, and the user must choose their own at the next sign-in (`password_change_required`)."""
    check_complexity(password, username=user.username)
    user.password_hash = hash_password(password)
    user.password_changed_at = clock.now() if chosen_by_user else None
    user.failed_logins = 0
    user.locked_until = None
    session.add(user)


def change_password(*, session: Session, actor: Principal, old_password: str, new_password: str) -> None:
    """The signed-in user's own change; the old password must be right, other sessions end."""
    user = session.get(User, actor.user_id) if actor.user_id is not None else None
    if user is None or user.password_hash is None:
        raise Forbidden("该用户未设置密码，请管理员设置")
    if not verify_password(user.password_hash, old_password):
        _audit(session, actor, "auth.password_change_failed", user)
        session.commit()
        raise Forbidden("原密码错误", code="bad_credentials")
    if verify_password(user.password_hash, new_password):
        raise Invalid("新密码不能与原密码相同", code="weak_password")
    set_password(session, user, new_password, chosen_by_user=True)
    assert user.id is not None
    revoke_sessions(session, user.id)
    _audit(session, actor, "auth.password_change", user)
    session.commit()


def reset_password(
    *, session: Session, actor: Principal, user_id: int, password: str, username: str | None = None
) -> User:
    """An administrator sets a user's password (and optionally username); unlocks, ends sessions."""
    actor.require(Role.admin)
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"用户 {user_id} 不存在")
    if username is not None and username != user.username:
        set_username(session, user, username)
    set_password(session, user, password)
    revoke_sessions(session, user_id)
    _audit(session, actor, "auth.password_reset", user)
    session.commit()
    return user


def set_username(session: Session, user: User, username: str) -> None:
    taken = session.exec(select(User).where(User.username == username, col(User.id) != user.id)).first()
    if taken is not None:
        raise Conflict(f"用户名 {username} 已被使用")
    user.username = username
    session.add(user)
