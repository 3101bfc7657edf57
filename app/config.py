"""Settings: one pydantic-settings class, read from the environment with the HUIYING_ prefix."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DB_PATH = Path("var") / "huiying.db"


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
    reply_working_days: int = 5
    pipeline_batch_size: int = 200
    pipeline_max_attempts: int = 5
    pipeline_interval_seconds: float = 1.0
    sqlite_busy_timeout_ms: int = 5000
    token_cache_seconds: float = 10.0
    docs_title: str = "回应 Huiying"

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    return Settings()
