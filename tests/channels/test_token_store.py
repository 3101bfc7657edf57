"""The database token store: shared by processes, encrypted at rest, refreshed by one process at a time
(the others wait for its token), and a refresher that died does not block the rest for long."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx
import respx
from sqlmodel import select

from app import clock
from app.accounts.models import Account
from app.channels.context import DbTokenStore, account_context, shared_http
from app.channels.models import ChannelToken
from app.db import session_scope
from connectors import wechat
from connectors.base import AccountContext, StoredToken

from .conftest import WECHAT_APP_ID, WECHAT_SAFE, Desk

API = "https://api.weixin.qq.com/cgi-bin"
KEY = f"wechat:{WECHAT_APP_ID}"
REF = {"openid": "oAbC-openid-123"}


def context(desk: Desk, store: DbTokenStore) -> AccountContext:
    with session_scope() as session:
        account = session.get(Account, desk.accounts["wechat"])
        assert account is not None
        ctx = account_context(session=session, account=account)
    return AccountContext(
        key=ctx.key, external_id=ctx.external_id, secrets=ctx.secrets, http=ctx.http, tokens=store
    )


def mock_wechat(router: respx.MockRouter, *tokens: str) -> tuple[respx.Route, respx.Route]:
    token = router.post(f"{API}/stable_token").mock(
        side_effect=[httpx.Response(200, json={"access_token": t, "expires_in": 7200}) for t in tokens]
    )
    send = router.post(f"{API}/message/custom/send").mock(
        return_value=httpx.Response(200, json={"errcode": 0, "errmsg": "ok"})
    )
    return token, send


def publish(ctx: AccountContext, now: datetime) -> str:
    return wechat.publish(
        ctx, thread_ref=REF, text="您好，已转交医保局办理", idempotency_key="k", now=now
    ).outcome


def test_account_context_carries_the_accounts_secrets_and_the_database_store(desk: Desk) -> None:
    with session_scope() as session:
        account = session.get(Account, desk.accounts["wechat"])
        assert account is not None
        ctx = account_context(session=session, account=account)
    assert ctx.key == str(desk.accounts["wechat"])
    assert ctx.external_id == "gh_7f083739789a"
    assert dict(ctx.secrets) == WECHAT_SAFE
    assert isinstance(ctx.tokens, DbTokenStore)
    assert ctx.http is shared_http()


def test_a_token_fetched_by_one_process_is_used_by_another(desk: Desk) -> None:
    process_a = context(desk, DbTokenStore(owner="host:1"))
    process_b = context(desk, DbTokenStore(owner="host:2"))
    with respx.mock() as router:
        token, send = mock_wechat(router, "ACCESS_1")
        assert publish(process_a, desk.now) == "sent"
        assert publish(process_b, desk.now + timedelta(minutes=5)) == "sent"
    assert token.call_count == 1
    assert [c.request.url.params["access_token"] for c in send.calls] == ["ACCESS_1", "ACCESS_1"]
    with session_scope() as session:
        row = session.exec(select(ChannelToken)).one()
    assert row.token_encrypted is not None and "ACCESS_1" not in row.token_encrypted
    assert row.lease_owner is None


def test_an_expired_token_is_refreshed_once_while_the_other_process_waits(
    desk: Desk, frozen_clock: Any
) -> None:
    later = desk.now + timedelta(hours=3)  # the stored token (2 hours) has expired
    DbTokenStore().set(KEY, StoredToken("OLD", desk.now + timedelta(hours=2)))
    frozen_clock.set(later)
    store_a = DbTokenStore(owner="host:1")
    process_a = context(desk, store_a)
    waits: list[float] = []

    def while_b_waits(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == 1:
            assert publish(process_a, later) == "sent"  # A finishes its refresh meanwhile

    process_b = context(desk, DbTokenStore(owner="host:2", wait=while_b_waits))
    with respx.mock() as router:
        token, send = mock_wechat(router, "NEW_1", "NEW_2")
        assert store_a.get(KEY) == StoredToken("OLD", desk.now + timedelta(hours=2))  # A takes the lease
        assert publish(process_b, later) == "sent"  # B finds A refreshing and waits for A's token
    assert token.call_count == 1
    assert len(waits) == 1
    assert [c.request.url.params["access_token"] for c in send.calls] == ["NEW_1", "NEW_1"]


def test_a_refresher_that_died_is_taken_over_after_its_lease(desk: Desk, frozen_clock: Any) -> None:
    DbTokenStore().set(KEY, StoredToken("OLD", desk.now - timedelta(minutes=5)))
    dead = DbTokenStore(owner="host:dead")
    assert dead.get(KEY) is not None  # takes the lease, then the process dies

    def time_passes(seconds: float) -> None:
        frozen_clock.set(clock.now() + timedelta(seconds=seconds))

    survivor = context(desk, DbTokenStore(owner="host:2", wait=time_passes, poll_every=5.0, max_wait=60.0))
    with respx.mock() as router:
        token, _ = mock_wechat(router, "NEW")
        assert publish(survivor, desk.now) == "sent"
    assert token.call_count == 1
    assert clock.now() - desk.now >= timedelta(seconds=30)  # waited for the lease to run out, no longer
    assert clock.now() - desk.now < timedelta(seconds=45)


def test_refresh_tokens_round_trip_encrypted(desk: Desk) -> None:
    store = DbTokenStore()
    expires = desk.now + timedelta(days=15)
    store.set("douyin:tt10abc:open", StoredToken("act.new", expires, "rft.new"))
    assert store.get("douyin:tt10abc:open") == StoredToken("act.new", expires, "rft.new")
    assert store.get("douyin:unknown") is None
