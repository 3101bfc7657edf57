"""HTTP routes for users and tokens."""

from __future__ import annotations

from fastapi import APIRouter, status

from app.deps import CurrentUser, SessionDep
from app.users import service
from app.users.models import UserCreate, UserPublic, UserWithToken

router = APIRouter(tags=["用户与令牌"])


@router.get("/me", summary="当前用户")
def me(user: CurrentUser) -> dict[str, object]:
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
