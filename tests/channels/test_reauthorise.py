"""Re-authorising Weibo and Douyin accounts: the platform's authorisation page, the code exchanged for
new tokens stored (encrypted, audited) as the account's secrets, and the account checked at once."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

import httpx
import respx
from sqlmodel import select

from app.accounts.models import Account
from app.audit.models import AuditEvent
from app.db import session_scope
from app.security import decrypt_secrets
from tests.channels.conftest import DOUYIN_OPEN_ID, WEIBO_UID, Desk
from tests.connectors.documented import assert_documented, response

CALLBACK = "https://huiying.qinghe.gov.cn/oauth/callback"


def secrets(account_id: int) -> dict[str, str]:
    with session_scope() as session:
        account = session.get(Account, account_id)
        assert account is not None
        return decrypt_secrets(account.secrets_encrypted)


def test_weibo_authorisation_page_and_code_exchange(
    desk: Desk, make_user: Callable[..., dict[str, str]]
) -> None:
    account_id = desk.accounts["weibo"]
    start = desk.client.post(
        f"/api/v1/accounts/{account_id}/authorize-url", json={"redirect_uri": CALLBACK}, headers=desk.admin
    )
    assert start.status_code == 200, start.text
    url = urlsplit(start.json()["url"])
    assert (url.hostname, url.path) == ("api.weibo.com", "/oauth2/authorize")
    assert parse_qs(url.query) == {
        "client_id": ["2949572520"],
        "redirect_uri": [CALLBACK],
        "response_type": ["code"],
        "state": [str(account_id)],
    }
    body = {"redirect_uri": CALLBACK, "code": "c0de"}
    with respx.mock() as router:
        exchange = router.post("https://api.weibo.com/oauth2/access_token").mock(
            return_value=httpx.Response(
                200,
                json={
                    **response("weibo_oauth2_access_token").json(),
                    "uid": WEIBO_UID,
                    "access_token": "2.00NEW",
                },
            )
        )
        router.post("https://api.weibo.com/oauth2/get_token_info").mock(
            return_value=response("weibo_get_token_info")
        )
        assert (
            desk.client.post(
                f"/api/v1/accounts/{account_id}/authorize", json=body, headers=make_user("operator", "a")
            )
        ).status_code == 403
        done = desk.client.post(f"/api/v1/accounts/{account_id}/authorize", json=body, headers=desk.admin)
    assert done.status_code == 200, done.text
    form = assert_documented(exchange.calls[0].request, "weibo_oauth2_access_token")
    assert (form["code"], form["grant_type"], form["client_secret"]) == (
        "c0de",
        "authorization_code",
        "xyz123xyz",
    )
    assert secrets(account_id)["access_token"] == "2.00NEW"
    assert done.json()["capability"]["token_expires_at"] is not None
    with session_scope() as session:
        updates = session.exec(select(AuditEvent).where(AuditEvent.action == "account.update")).all()
    assert updates and "2.00NEW" not in str([u.after for u in updates])  # secrets never in the audit


def test_a_code_for_another_account_or_refused_changes_nothing(desk: Desk) -> None:
    account_id = desk.accounts["weibo"]
    body = {"redirect_uri": CALLBACK, "code": "c0de"}
    with respx.mock() as router:
        route = router.post("https://api.weibo.com/oauth2/access_token")
        route.mock(return_value=response("weibo_oauth2_access_token"))  # uid 12341234: someone else
        other = desk.client.post(f"/api/v1/accounts/{account_id}/authorize", json=body, headers=desk.admin)
        route.mock(return_value=httpx.Response(400, json={"error": "invalid_grant", "error_code": 21325}))
        refused = desk.client.post(f"/api/v1/accounts/{account_id}/authorize", json=body, headers=desk.admin)
    assert other.status_code == 409 and "不符" in other.json()["error"]["message"]
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "authorization_failed"
    assert secrets(account_id)["access_token"] == "2.00TOKEN"


def test_redirect_uri_must_be_https_and_wechat_needs_no_reauthorisation(desk: Desk) -> None:
    for bad in ("http://x.example.cn/cb", "javascript:alert(1)", "https://" + "a" * 600):
        answer = desk.client.post(
            f"/api/v1/accounts/{desk.accounts['weibo']}/authorize-url",
            json={"redirect_uri": bad},
            headers=desk.admin,
        )
        assert answer.status_code == 422, bad
    wechat = desk.client.post(
        f"/api/v1/accounts/{desk.accounts['wechat']}/authorize-url",
        json={"redirect_uri": CALLBACK},
        headers=desk.admin,
    )
    assert wechat.status_code == 409


def test_douyin_scan_stores_both_tokens_and_their_expiry(desk: Desk) -> None:
    account_id = desk.accounts["douyin"]
    start = desk.client.post(
        f"/api/v1/accounts/{account_id}/authorize-url", json={"redirect_uri": CALLBACK}, headers=desk.admin
    )
    query = parse_qs(urlsplit(start.json()["url"]).query)
    assert query["scope"] == ["user_info,video.comment,im.direct_message"] and query["client_key"] == [
        "tt10abc"
    ]
    granted = {
        "open_id": DOUYIN_OPEN_ID,
        "access_token": "act.new",
        "refresh_token": "rft.new",
        "expires_in": "1296000",
        "refresh_expires_in": "2592000",
        "scope": "user_info,im.direct_message",
    }
    with respx.mock() as router:
        exchange = router.post("https://open.douyin.com/oauth/access_token/").mock(
            return_value=response("douyin_oauth_access_token", **granted)
        )
        refresh = router.post("https://open.douyin.com/oauth/refresh_token/").mock(
            return_value=response("douyin_refresh_token", **{**granted, "access_token": "act.new"})
        )
        done = desk.client.post(
            f"/api/v1/accounts/{account_id}/authorize",
            json={"redirect_uri": CALLBACK, "code": "scan"},
            headers=desk.admin,
        )
    assert done.status_code == 200, done.text
    assert assert_documented(exchange.calls[0].request, "douyin_oauth_access_token")["code"] == "scan"
    assert assert_documented(refresh.calls[0].request, "douyin_refresh_token")["refresh_token"] == "rft.new"
    assert secrets(account_id)["refresh_token"] == "rft.new"
    capability = done.json()["capability"]
    assert capability["mode"] == "limited" and capability["refresh_expires_at"] is not None
