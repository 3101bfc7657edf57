"""Users as the API shows and takes them. The tables (users, API tokens, sign-in sessions) and the roles are
defined below authentication, in `app.identity`, and importable from here too."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from app.identity import UNIT_SCOPED_ROLES as UNIT_SCOPED_ROLES
from app.identity import ApiToken as ApiToken
from app.identity import Role as Role
from app.identity import User as User
from app.identity import UserBase
from app.identity import UserSession as UserSession


class UserCreate(UserBase):
    username: str | None = Field(
        default=None,
        min_length=3,
        max_length=64,
        regex=r"^[A-Za-z0-9_.@-]+$",
        description="登录用户名（字母、数字、_.@-）；不填则只能用访问令牌",
        schema_extra={"examples": ["zhangsan"]},
    )
    password: str | None = Field(
        default=None, max_length=128, description="初始密码（只写，不回显；须满足复杂度要求）"
    )


class UserPublic(UserBase):
    id: int
    username: str | None = None
    active: bool
    locked_until: datetime | None = None
    created_at: datetime


class UserWithToken(UserPublic):
    token: str = Field(description="只显示这一次，请妥善保存")


class LoginRequest(SQLModel):
    username: str = Field(min_length=1, max_length=64, schema_extra={"examples": ["zhangsan"]})
    password: str = Field(min_length=1, max_length=128)


class LoginResult(SQLModel):
    user_id: int
    name: str
    role: str
    unit_code: str | None
    csrf_token: str = Field(description="以 Cookie 登录后，每个修改请求须在请求头 X-CSRF-Token 中带上")
    expires_at: datetime
    password_change_required: bool = Field(
        default=False,
        description="初始密码（管理员创建或重置）须先修改：为 true 时除修改密码、退出和 /me 外的请求均返回 403",
    )


class PasswordChange(SQLModel):
    old_password: str = Field(min_length=1, max_length=128)
    new_password: str = Field(min_length=1, max_length=128)


class PasswordReset(SQLModel):
    password: str = Field(min_length=1, max_length=128, description="新密码（只写）")
    username: str | None = Field(
        default=None, min_length=3, max_length=64, regex=r"^[A-Za-z0-9_.@-]+$", description="同时设置用户名"
    )
