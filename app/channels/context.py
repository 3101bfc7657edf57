"""What the app hands a connector: `account_context` (an account's secrets, the HTTP client, the token
store) and `DbTokenStore`, platform tokens kept encrypted in the database and shared by all processes.

Refreshes are serialised by a lease on the token's row: a reader that finds the token stale claims
the lease with one conditional UPDATE (a row lock) and refreshes; everyone else waits briefly for the
new token instead of refreshing too (WeChat and Douyin invalidate the old token on refresh and cap how
often it may be done)."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta

import httpx
from sqlalchemy import Engine, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col

from app import clock, outbound
from app.accounts.models import Account
from app.accounts.service import secrets_of
from app.channels.models import ChannelToken
from app.db import get_engine
from app.security import decrypt_secrets, encrypt_secrets
from connectors.base import AccountContext, StoredToken

# Longer than one token request can take (timeout 10 s); a refresher that died frees the row after it.
REFRESH_LEASE = timedelta(seconds=30)
# Tokens closer than this to expiry count as stale (as in `StoredToken.fresh`).
FRESH_MARGIN = timedelta(minutes=1)
HTTP_TIMEOUT = httpx.Timeout(10.0, connect=5.0)

_http: httpx.Client | None = None
_http_guard = threading.Lock()


def shared_http() -> httpx.Client:
    """The process's one HTTP client for platform calls (connection pooling; thread-safe)."""
    global _http
    with _http_guard:
        if _http is None:
            _http = outbound.client(timeout=HTTP_TIMEOUT, headers={"User-Agent": "huiying/0.1"})
        return _http


def account_context(
    *, session: Session, account: Account, http: httpx.Client | None = None
) -> AccountContext:
    """The connector's view of `account`: decrypted secrets, an HTTP client, the database token store.

    `session` only tells which database holds the tokens; no query runs on it, so a caller may pass a
    session whose transaction is already over. Do not hold a transaction open across a platform call.
    """
    assert account.id is not None
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    return AccountContext(
        key=str(account.id),
        external_id=account.external_id,
        secrets=secrets_of(account),
        http=http or shared_http(),
        tokens=DbTokenStore(engine=engine),
    )


class DbTokenStore:
    """A `connectors.base.TokenStore` backed by the `channel_tokens` table (tokens Fernet-encrypted).

    `get` returns the stored token when it is fresh, None when none was ever stored. When it is stale,
    `get` claims the row's refresh lease and returns the stale token (the caller refreshes and calls
    `set`, which frees the lease); if another process holds the lease, `get` waits (`wait`, up to
    `max_wait` seconds) for that process's `set` and returns the new token. A lease left by a process
    that died runs out after `lease` and is taken over.
    """

    def __init__(
        self,
        *,
        engine: Engine | None = None,
        lease: timedelta = REFRESH_LEASE,
        max_wait: float = 12.0,
        poll_every: float = 0.2,
        wait: Callable[[float], None] = time.sleep,
        owner: str | None = None,
    ) -> None:
        self._engine = engine
        self.lease = lease
        self.max_wait = max_wait
        self.poll_every = poll_every
        self.wait = wait
        # The name on the leases this store takes: the process, so that its next call may go on.
        self.owner = (owner or f"{socket.gethostname()}:{os.getpid()}")[:64]

    @property
    def engine(self) -> Engine:
        return self._engine or get_engine()

    def get(self, key: str) -> StoredToken | None:
        stored = self._read(key)
        if stored is None:
            # Never stored: nothing to invalidate, so no lease (WeChat's stable_token hands concurrent
            # first callers the same token; Douyin seeds the user token from the account's secrets).
            return None
        if stored.fresh(clock.now(), margin=FRESH_MARGIN):
            return stored
        for _ in range(max(1, int(self.max_wait / self.poll_every))):
            if self._claim(key, now=clock.now()):
                return self._read(key)
            # Someone else is refreshing (or just did): use theirs once it is there.
            current = self._read(key)
            if current is not None and current.fresh(clock.now(), margin=FRESH_MARGIN):
                return current
            self.wait(self.poll_every)
        # Waited long enough: let the caller refresh rather than fail the platform call.
        return self._read(key)

    def set(self, key: str, token: StoredToken) -> None:
        now = clock.now()
        secret = {"access_token": token.access_token}
        if token.refresh_token:
            secret["refresh_token"] = token.refresh_token
        if token.refresh_expires_at is not None:
            secret["refresh_expires_at"] = token.refresh_expires_at.isoformat()
        blob = encrypt_secrets(secret)
        values = {
            "token_encrypted": blob,
            "expires_at": token.expires_at,
            "lease_owner": None,
            "lease_until": None,
            "updated_at": now,
        }
        with self.engine.begin() as conn:
            insert = _insert(conn.dialect.name).values(key=key, **values)
            conn.execute(insert.on_conflict_do_update(index_elements=["key"], set_=values))

    # --- rows ------------------------------------------------------------------------------------------

    def _read(self, key: str) -> StoredToken | None:
        with self.engine.begin() as conn:
            row = conn.execute(
                select(col(ChannelToken.token_encrypted), col(ChannelToken.expires_at)).where(
                    col(ChannelToken.key) == key
                )  # type: ignore[arg-type]
            ).first()
        if row is None or not row[0] or row[1] is None:
            return None
        values = decrypt_secrets(row[0])
        refresh_expires = values.get("refresh_expires_at")
        return StoredToken(
            values["access_token"],
            row[1],
            values.get("refresh_token"),
            datetime.fromisoformat(refresh_expires) if refresh_expires else None,
        )

    def _claim(self, key: str, *, now: datetime) -> bool:
        """Takes the refresh lease if the token is still stale and nobody else holds a live lease."""
        lease_until = now + self.lease
        with self.engine.begin() as conn:
            taken = conn.execute(
                update(ChannelToken)
                .where(
                    col(ChannelToken.key) == key,
                    or_(
                        col(ChannelToken.expires_at).is_(None),
                        col(ChannelToken.expires_at) <= now + FRESH_MARGIN,
                    ),
                    or_(
                        col(ChannelToken.lease_until).is_(None),
                        col(ChannelToken.lease_until) < now,
                        col(ChannelToken.lease_owner) == self.owner,
                    ),
                )
                .values(lease_owner=self.owner, lease_until=lease_until)
            )
            return bool(taken.rowcount == 1)


def _insert(dialect: str) -> postgresql.Insert | sqlite.Insert:
    table = ChannelToken.__table__  # type: ignore[attr-defined]
    return postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)
