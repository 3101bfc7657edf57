"""Government new-media accounts (政务新媒体账号): one account on one platform, owned by one unit."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, ForeignKey, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.db import UTCDateTime


class Platform(StrEnum):
    wechat = "wechat"
    weibo = "weibo"
    douyin = "douyin"
    generic = "generic"


# The keys each platform's secrets may carry (DESIGN contract); anything else is refused.
SECRET_KEYS: dict[Platform, frozenset[str]] = {
    Platform.wechat: frozenset({"app_id", "app_secret", "token", "encoding_aes_key"}),
    Platform.weibo: frozenset({"app_key", "app_secret", "access_token", "reply_ip"}),
    Platform.douyin: frozenset({"client_key", "client_secret", "access_token", "refresh_token"}),
    Platform.generic: frozenset({"hmac_secret", "reply_url"}),
}


class AccountBase(SQLModel):
    platform: Platform = Field(schema_extra={"examples": ["wechat"]})
    name: str = Field(min_length=1, max_length=128, schema_extra={"examples": ["青禾发布"]})
    external_id: str = Field(
        min_length=1, max_length=128, description="平台上的账号标识（如微信原始ID gh_…、微博 uid）"
    )


class AccountCreate(AccountBase):
    unit_code: str = Field(description="主办单位代码")
    secrets: dict[str, str] = Field(
        default_factory=dict,
        description="平台密钥，只写不读。wechat: app_id, app_secret, token, encoding_aes_key；"
        "weibo: app_key, app_secret, access_token, reply_ip（回复评论时上报的操作者公网 IP）；douyin: client_key, client_secret；"
        "generic: hmac_secret, reply_url（只允许 http(s) 公网地址；内网地址须由部署方在 "
        "HUIYING_OUTBOUND_ALLOWED_NETWORKS 中放行，否则 422）。微信建议使用安全模式（填写 encoding_aes_key）",
    )


class AccountUpdate(SQLModel):
    name: str | None = Field(default=None, min_length=1, max_length=128)
    unit_code: str | None = None
    secrets: dict[str, str] | None = Field(default=None, description="给出的键会被替换；只写不读")
    active: bool | None = None


class Account(AccountBase, table=True):
    __tablename__ = "accounts"
    __table_args__ = (UniqueConstraint("platform", "external_id", name="uq_accounts_platform_external_id"),)

    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(sa_column=Column(String(16), nullable=False))  # type: ignore[assignment]
    unit_code: str = Field(sa_column=Column(String(64), ForeignKey("units.code"), nullable=False, index=True))
    secrets_encrypted: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    active: bool = True
    last_post_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class AccountPublic(AccountBase):
    id: int
    unit_code: str
    active: bool
    secret_keys: list[str] = Field(description="已配置的密钥名（值永不返回）")
    last_post_at: datetime | None
    created_at: datetime
