"""WeChat plain mode: the signature covers the query string only, so a captured query string cannot carry
a forged body — every (timestamp, nonce) is remembered with its body in the database, for every instance."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from app.channels.models import PushNonce
from app.db import session_scope

from .conftest import Desk, wechat_plain, wechat_text
from .test_webhook_wechat import post


def test_a_captured_query_string_cannot_carry_a_forged_body(desk: Desk) -> None:
    query, body = wechat_plain(wechat_text(at=desk.now, msg_id="81", content="正常留言"), at=desk.now)
    assert post(desk, "wechat_plain", query, body).text == "success"
    _, forged = wechat_plain(wechat_text(at=desk.now, msg_id="82", content="伪造的留言"), at=desk.now)
    refused = post(desk, "wechat_plain", query, forged)
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "replay"
    assert [m.external_id for m in desk.messages()] == ["81"]


def test_the_same_push_again_is_a_retry_stored_once(desk: Desk) -> None:
    query, body = wechat_plain(wechat_text(at=desk.now, msg_id="83"), at=desk.now)
    for _ in range(3):
        assert post(desk, "wechat_plain", query, body).text == "success"
    assert [m.external_id for m in desk.messages()] == ["83"]


def test_the_cache_forgets_after_the_window_and_stays_bounded(desk: Desk, frozen_clock) -> None:  # type: ignore[no-untyped-def]
    for n in range(5):
        query, body = wechat_plain(wechat_text(at=desk.now, msg_id=f"9{n}"), at=desk.now, nonce=f"n{n}")
        assert post(desk, "wechat_plain", query, body).text == "success"
    later = desk.now + timedelta(minutes=20)
    frozen_clock.set(later)
    query, body = wechat_plain(wechat_text(at=later, msg_id="99"), at=later, nonce="late")
    assert post(desk, "wechat_plain", query, body).text == "success"
    with session_scope() as session:
        assert [row.nonce for row in session.exec(select(PushNonce))] == ["late"]


def test_create_time_far_from_now_is_refused(desk: Desk) -> None:
    xml = wechat_text(at=desk.now - timedelta(days=3), msg_id="84")
    query, body = wechat_plain(xml, at=desk.now)
    resp = post(desk, "wechat_plain", query, body)
    assert resp.status_code in (400, 422), resp.text
    assert desk.messages() == []
