"""Each platform declares its pushes once (`connectors.base.Webhook`), reachable through the registry:
the app's one push path and one verification path rely on these declarations."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest

from connectors import douyin, generic, registry, wechat, weibo
from connectors.base import InboundItem, MissingSecret, SignatureError, sorted_sha1

NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


def test_every_platform_declares_how_it_pushes() -> None:
    declared = {p: c.webhook for p, c in registry.CONNECTORS.items() if c.webhook is not None}
    assert set(declared) == {"wechat", "weibo", "douyin", "generic"}
    assert {p for p, hook in declared.items() if hook.handshake is not None} == {"wechat", "weibo"}
    assert {p for p, hook in declared.items() if hook.receive_post is not None} == {"generic"}


@pytest.mark.parametrize(
    ("hook", "secret"),
    [(douyin.WEBHOOK, "client_secret"), (generic.WEBHOOK, "hmac_secret")],
)
def test_a_push_to_an_account_without_its_signing_secret_names_the_secret(hook, secret) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(MissingSecret, match=secret):
        hook.receive(secrets={}, external_id="", query={}, headers={}, body=b"{}", now=NOW)


def test_the_handshakes_echo_only_what_the_account_signed() -> None:
    query = {"signature": sorted_sha1("tok", "1700000000", "n1"), "timestamp": "1700000000", "nonce": "n1"}
    assert wechat.WEBHOOK.handshake is not None and weibo.WEBHOOK.handshake is not None
    assert wechat.WEBHOOK.handshake(secrets={"token": "tok"}, query={**query, "echostr": "e1"}) == "e1"
    assert weibo.WEBHOOK.handshake(secrets={"app_secret": "tok"}, query={**query, "echostr": "e2"}) == "e2"
    with pytest.raises(SignatureError):
        wechat.WEBHOOK.handshake(secrets={"token": "other"}, query=query)
    with pytest.raises(MissingSecret, match="app_secret"):
        weibo.WEBHOOK.handshake(secrets={}, query=query)


def test_only_wechat_plain_mode_leaves_the_body_unsigned() -> None:
    unsigned = wechat.WEBHOOK.unsigned_body
    assert unsigned is not None
    assert unsigned({"token": "t"})
    assert not unsigned({"token": "t", "encoding_aes_key": "k" * 43})


def test_the_answers_are_what_each_platform_expects() -> None:
    assert (
        wechat.WEBHOOK.answer(secrets={"token": "t"}, message_id=1, created=True, now=NOW).body == "success"
    )
    assert weibo.WEBHOOK.answer(secrets={}, message_id=1, created=True, now=NOW).body == ""
    new = generic.WEBHOOK.answer(secrets={}, message_id=7, created=True, now=NOW)
    again = generic.WEBHOOK.answer(secrets={}, message_id=7, created=False, now=NOW)
    assert (new.status, again.status, new.media_type) == (201, 200, "application/json")
    assert orjson.loads(again.body) == {"id": 7, "status": "received", "duplicate": True}


def test_douyin_names_the_account_a_message_belongs_to() -> None:
    item = InboundItem(
        external_id="m1",
        kind="private",
        author_id="ou_citizen",
        author_name="",
        content="你好",
        received_at=NOW,
        thread_ref={"account_open_id": "ou_account"},
    )
    assert douyin.WEBHOOK.owner is not None and douyin.WEBHOOK.owner(item) == "ou_account"
    assert douyin.WEBHOOK.same_app == "client_secret"


def test_the_app_has_an_address_per_declared_platform_and_method(client) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/api/v1/webhooks/douyin/1").status_code == 405  # Douyin verifies by POST
    assert client.get("/api/v1/webhooks/generic/1").status_code == 405
    assert client.post("/api/v1/webhooks/toutiao/1", content=b"{}").status_code == 404
    assert client.get("/api/v1/webhooks/wechat/999999").status_code == 404  # no such account
