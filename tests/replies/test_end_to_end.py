"""End to end through HTTP: a WeChat push comes in, is routed and suggested by the pipeline, drafted
from the suggestion, reviewed, published through the (mocked) WeChat API, and the SLA is met."""

from __future__ import annotations

import hashlib
import json

import httpx
import respx

from app.intake.pipeline import Pipeline
from app.replies import outbox
from connectors.base import InMemoryTokenStore

WX = "https://api.weixin.qq.com/cgi-bin"
TOKEN = "wechat-token"
OPENID = "oK3Yp5yVbG8xq-citizen"
QUESTION = "我身份证下个月就过期了，现在能提前去换吗？"
ANSWER = "居民身份证有效期满前三个月内，可到户籍所在地派出所申请换领，请携带原证件。"


def _push(client, account_id: int, at: int):  # type: ignore[no-untyped-def]
    timestamp, nonce = str(at), "1320562132"
    signature = hashlib.sha1("".join(sorted([TOKEN, timestamp, nonce])).encode()).hexdigest()
    body = (
        "<xml><ToUserName><![CDATA[gh_3ab1c2d3e4f5]]></ToUserName>"
        f"<FromUserName><![CDATA[{OPENID}]]></FromUserName>"
        f"<CreateTime>{at}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{QUESTION}]]></Content><MsgId>24518925163452316</MsgId></xml>"
    )
    return client.post(
        f"/api/v1/webhooks/wechat/{account_id}",
        params={"signature": signature, "timestamp": timestamp, "nonce": nonce, "openid": OPENID},
        content=body.encode(),
        headers={"Content-Type": "text/xml"},
    )


def test_wechat_message_in_to_reply_published_and_sla_met(  # type: ignore[no-untyped-def]
    client, admin_headers, make_unit, make_user, make_account, frozen_clock
) -> None:
    make_unit("zfb", "县政府办公室")
    make_unit("gaj", "县公安局", keywords=["身份证", "户口", "派出所"], supervisor_code="zfb")
    make_unit("ybj", "县医保局", keywords=["医保", "报销"], supervisor_code="zfb")
    account = make_account(
        "zfb",
        platform="wechat",
        external_id="gh_3ab1c2d3e4f5",
        secrets={"app_id": "wx1234567890abcdef", "app_secret": "wechat-app-secret", "token": TOKEN},
    )
    entry = client.post(
        "/api/v1/kb/entries",
        json={
            "question": "身份证到期前多久可以换领？",
            "answer": ANSWER,
            "unit_code": "gaj",
            "alt_questions": [],
        },
        headers=admin_headers,
    )
    assert entry.status_code == 201, entry.text
    operator = make_user("operator", "gaj", name="公安经办人")
    reviewer = make_user("reviewer", "gaj", name="公安审核人")

    pushed = _push(client, int(account["id"]), int(frozen_clock.at.timestamp()))
    assert pushed.status_code == 200 and pushed.text == "success"
    Pipeline().drain(now=frozen_clock.at)

    queue = client.get("/api/v1/queue", headers=operator).json()["items"]
    assert len(queue) == 1
    message_id = queue[0]["id"]
    full = client.get(f"/api/v1/messages/{message_id}/full", headers=operator).json()
    assert full["routing"]["unit_code"] == "gaj" and full["routing"]["reason"]
    assert full["deadline"]["due_at"] and full["message"]["sla_state"] == "on_track"
    suggestion = full["suggestions"][0]
    assert suggestion["entry_id"] == entry.json()["id"]

    draft = client.post(
        f"/api/v1/messages/{message_id}/replies",
        json={"kb_entry_id": suggestion["entry_id"]},
        headers=operator,
    )
    assert draft.status_code == 201, draft.text
    reply_id = draft.json()["id"]
    assert draft.json()["text"] == ANSWER
    assert draft.json()["kb_entry_version"] == suggestion["version"]
    assert draft.json()["warnings"] == []  # it says what the Q&A base says
    assert client.post(f"/api/v1/replies/{reply_id}/submit", headers=operator).status_code == 200
    approved = client.post(f"/api/v1/replies/{reply_id}/approve", headers=reviewer)
    assert approved.json()["state"] == "approved", approved.text

    with respx.mock() as platform:
        platform.post(f"{WX}/stable_token").mock(
            return_value=httpx.Response(200, json={"access_token": "ACCESS_TOKEN_1", "expires_in": 7200})
        )
        send = platform.post(f"{WX}/message/custom/send").mock(
            return_value=httpx.Response(200, json={"errcode": 0, "errmsg": "ok"})
        )
        result = outbox.drain(now=frozen_clock.at, tokens=InMemoryTokenStore())
    assert result.published == 1
    assert json.loads(send.calls[0].request.content) == {
        "touser": OPENID,
        "msgtype": "text",
        "text": {"content": ANSWER},
    }
    message = client.get(f"/api/v1/messages/{message_id}", headers=operator).json()
    assert message["status"] == "published"
    assert message["sla_state"] == "met"
    assert client.get("/api/v1/queue", headers=operator).json()["items"] == []
