"""HTTP routes for users and tokens, and the password sign-in (`/auth`)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from app.deps import CurrentUser, SessionDep, SettingsDep, SigningInUser
from app.users import service, signin
from app.users.models import (
    LoginRequest,
    LoginResult,
    PasswordChange,
    PasswordReset,
    UserCreate,
    UserPublic,
    UserWithToken,
)

router = APIRouter(tags=["用户与令牌"])
auth_router = APIRouter(prefix="/auth", tags=["登录"])


@auth_router.post("/login", response_model=LoginResult, summary="用户名密码登录")
def login(
    data: LoginRequest, request: Request, response: Response, session: SessionDep, settings: SettingsDep
) -> object:
    """校验用户名和密码，设置会话 Cookie（HttpOnly、SameSite=Strict，HTTPS 下加 Secure）。

    连续 5 次密码错误锁定账户 30 分钟（每次失败都记入审计日志）；同一地址 15 分钟内登录失败 20 次后须等待（429）；会话空闲 30 分钟或登录 12 小时后失效。
    以 Cookie 调用修改类接口时须在请求头 `X-CSRF-Token` 中带上返回的 `csrf_token`；用访问令牌调用的接口不受影响。"""
    signed = signin.login(
        session=session,
        settings=settings,
        username=data.username,
        password=data.password,
        source=request.client.host if request.client else None,
    )
    response.set_cookie(
        signin.SESSION_COOKIE,
        signed.token,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    user = signed.user
    assert user.id is not None
    return LoginResult(
        password_change_required=signed.password_change_required,
        user_id=user.id,
        name=user.name,
        role=user.role,
        unit_code=user.unit_code,
        csrf_token=signed.csrf_token,
        expires_at=signed.expires_at,
    )


@auth_router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, summary="退出登录")
def logout(request: Request, response: Response, session: SessionDep, user: SigningInUser) -> Response:
    """结束当前会话并清除 Cookie。"""
    token = request.cookies.get(signin.SESSION_COOKIE)
    if token:
        signin.logout(session=session, token=token)
    out = Response(status_code=status.HTTP_204_NO_CONTENT)
    out.delete_cookie(signin.SESSION_COOKIE, path="/")
    return out


@auth_router.post("/password", status_code=status.HTTP_204_NO_CONTENT, summary="修改本人密码")
def change_password(data: PasswordChange, session: SessionDep, user: SigningInUser) -> Response:
    """须提供原密码；新密码至少 10 位且含大写、小写、数字、符号中的三类，不得包含用户名。修改后所有会话失效，请重新登录。"""
    signin.change_password(
        session=session, actor=user, old_password=data.old_password, new_password=data.new_password
    )
    out = Response(status_code=status.HTTP_204_NO_CONTENT)
    out.delete_cookie(signin.SESSION_COOKIE, path="/")
    return out


@router.get("/me", summary="当前用户")
def me(user: SigningInUser) -> dict[str, object]:
    """当前令牌对应的用户、角色和可见单位。"""
    return {
        "user_id": user.user_id,
        "name": user.name,
        "role": user.role.value,
        "unit_code": user.unit_code,
        "units": sorted(user.units) if user.units is not None else None,
    }


@router.post("/users", response_model=UserWithToken, status_code=status.HTTP_201_CREATED, summary="新建用户")
def create_user(data: UserCreate, session: SessionDep, user: CurrentUser) -> UserWithToken:
    """新建用户并签发访问令牌（仅管理员）。令牌只在此处显示一次。"""
    created, token = service.create(session=session, actor=user, data=data)
    return UserWithToken.model_validate(created, update={"token": token})


@router.get("/users", response_model=list[UserPublic], summary="用户列表")
def list_users(session: SessionDep, user: CurrentUser) -> object:
    return service.list_users(session=session, principal=user)


@router.post("/users/{user_id}/tokens", summary="签发新令牌")
def issue_token(
    user_id: int, session: SessionDep, user: CurrentUser, revoke_others: bool = False
) -> dict[str, str]:
    """为用户签发新令牌；`revoke_others=true` 同时吊销旧令牌。令牌只显示一次。"""
    return {
        "token": service.issue_token(
            session=session, actor=user, user_id=user_id, revoke_others=revoke_others
        )
    }


@router.post("/users/{user_id}/deactivate", response_model=UserPublic, summary="停用用户")
def deactivate(user_id: int, session: SessionDep, user: CurrentUser) -> object:
    """停用用户并吊销其全部令牌。最后一个启用的管理员不能停用（409 last_admin），以免无人能管理系统。"""
    return service.deactivate(session=session, actor=user, user_id=user_id)


@router.post("/users/{user_id}/password", response_model=UserPublic, summary="重置用户密码")
def reset_password(user_id: int, data: PasswordReset, session: SessionDep, user: CurrentUser) -> object:
    """管理员为用户设置新密码（可同时设置用户名），解除锁定并结束其全部会话。"""
    return signin.reset_password(
        session=session, actor=user, user_id=user_id, password=data.password, username=data.username
    )
