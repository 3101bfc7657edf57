"""Settings: one pydantic-settings class, read from the environment with the HUIYING_ prefix."""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DB_PATH = Path("var") / "huiying.db"
# The reply limit of the rules (原则上5个工作日内予以答复): the default of `reply_working_days`, and the
# standard that reports call out any other limit against.
DEFAULT_REPLY_WORKING_DAYS = 5


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HUIYING_", env_file=".env", extra="ignore")

    database_url: str = Field(
        default=f"sqlite:///{DEFAULT_DB_PATH}",
        description="SQLAlchemy URL; SQLite file under ./var/ by default, postgresql+psycopg://… for PostgreSQL",
    )
    admin_token: str | None = Field(
        default=None, description="if set, an admin with this bearer token exists"
    )
    secret_key: str | None = Field(
        default=None,
        description="key that encrypts account secrets at rest; any string (derived with HKDF). "
        "Without it a key is generated once into ./var/secret.key",
    )
    timezone: str = "Asia/Shanghai"
    serve_header_timeout: float = Field(
        default=10.0, gt=0, description="huiying serve: seconds a client has to send its request headers"
    )
    serve_body_timeout: float = Field(
        default=30.0,
        gt=0,
        description="huiying serve: seconds a client has to send its body after the headers",
    )
    serve_limit_concurrency: int = Field(
        default=500, ge=1, description="huiying serve: connections and requests per worker before 503"
    )
    outbound_allowed_networks: str = Field(
        default="",
        description="comma-separated CIDRs the service may call besides the public internet "
        "(e.g. the unit's own website on 10.1.0.0/16); default none",
    )
    scheduler: str = Field(default="on", description="on|off: run the background jobs in this process")
    serve_worker: str = Field(
        default="process",
        description="process|inline: `huiying serve` runs the background jobs in a worker process of their "
        "own beside the API (process), or inside the API process (inline). Ignored with scheduler=off",
    )
    access_log: bool = Field(default=True, description="`huiying serve` writes one log line per request")
    forwarded_allow_ips: str | None = Field(
        default=None,
        description="addresses of trusted reverse proxies (e.g. 127.0.0.1); only then are "
        "X-Forwarded-For/-Proto honoured",
    )
    max_body_bytes: int = 1_000_000
    reply_working_days: int = Field(
        default=DEFAULT_REPLY_WORKING_DAYS, ge=1, le=15, description="default reply limit in working days"
    )
    zombie_days: int = Field(
        default=14,
        ge=1,
        le=90,
        description="an account not updated for more than this many calendar days is a zombie",
    )
    zombie_warning_days: int = Field(
        default=10,
        ge=1,
        le=89,
        description="early warning to the unit after this many days without an update",
    )
    zombie_rectify_days: int = Field(
        default=5,
        ge=1,
        le=60,
        description="calendar days a notified zombie account has before it is escalated",
    )
    pipeline_batch_size: int = 200
    pipeline_max_attempts: int = 5
    pipeline_interval_seconds: float = 1.0
    sqlite_busy_timeout_ms: int = 5000
    token_cache_seconds: float = 10.0
    session_idle_minutes: int = Field(
        default=30, ge=1, description="browser sessions end after this idle time"
    )
    session_max_hours: int = Field(
        default=12, ge=1, description="browser sessions end this long after sign-in"
    )
    login_max_failures: int = Field(default=5, ge=1, description="wrong passwords in a row before lock-out")
    login_lock_minutes: int = Field(default=30, ge=1, description="how long a locked account stays locked")
    password_change_required: bool = Field(
        default=True,
        description="a password set by an administrator (new user, reset) must be replaced at the next sign-in",
    )
    login_source_max_failures: int = Field(
        default=20, ge=1, description="failed sign-ins from one address within the window before it must wait"
    )
    login_source_window_minutes: int = Field(
        default=15, ge=1, description="the window for login_source_max_failures"
    )
    docs_title: str = "回应 Huiying"
    demo_receiver: bool = Field(
        default=False,
        description="on: serve the demo receiver at /demo/receiver (demo mode only; `make run` turns it on)",
    )
    demo_receiver_url: str = Field(
        default="http://127.0.0.1:8000/demo/receiver",
        description="where `huiying demo` points the demo website account's reply_url",
    )

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @field_validator("outbound_allowed_networks")
    @classmethod
    def _cidrs(cls, value: str) -> str:
        for part in value.split(","):
            if part.strip():
                ipaddress.ip_network(part.strip(), strict=False)  # ValueError: refuse to start
        return value


@lru_cache
def get_settings() -> Settings:
    return Settings()
