"""Follow-ups (追问): the same citizen in the same conversation after a published reply is linked to the
earlier message, goes to the unit that answered, has its own deadline and goes through the same review."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.intake.pipeline import Pipeline
from app.replies import outbox
from tests.helpers import ok_json, post_message
from tests.workbench.conftest import BOARD_SECRETS

MESSAGES = "/api/v1/messages"


@pytest.fixture
def desk(client, admin_headers, make_unit, make_account, make_user, frozen_clock, board):
    make_unit("police", "县公安局", keywords=["派出所", "户口", "身份证"])
    make_unit("water", "县水务局", keywords=["停水", "水费"])
    account = int(
        make_account("police", platform="generic", external_id="board", secrets=BOARD_SECRETS)["id"]
    )
    people = {
        "op": make_user("operator", "police"),
        "rev": make_user("reviewer", "police"),
        "water_op": make_user("operator", "water"),
    }
    counter = iter(range(1, 100))

    def ingest(content: str, *, author: str = "c1", thread: str = "t1") -> int:
        return post_message(
            client,
            admin_headers,
            {
                "account_id": account,
                "external_id": f"f{next(counter)}",
                "content": content,
                "author": {"id": author, "name": "网友"},
                "thread_ref": {"thread_id": thread},
            },
        )

    def answer(message_id: int) -> None:
        reply = ok_json(
            client.post(
                f"{MESSAGES}/{message_id}/replies",
                json={"text": "您好，已转派出所办理。"},
                headers=people["op"],
            ),
            201,
        )
        ok_json(client.post(f"/api/v1/replies/{reply['id']}/submit", headers=people["op"]))
        ok_json(client.post(f"/api/v1/replies/{reply['id']}/approve", headers=people["rev"]))
        outbox.drain()

    return {"ingest": ingest, "answer": answer, "people": people, "clock": frozen_clock, "board": board}


def _get(client, headers, path):
    return ok_json(client.get(path, headers=headers))


def test_a_follow_up_after_the_reply_is_linked_and_answered_through_review(client, desk):
    people, clock = desk["people"], desk["clock"]
    first = desk["ingest"]("派出所办户口要多久？")
    early = desk["ingest"]("补充一下，是户口迁入", thread="t1")  # before the reply: not a follow-up
    Pipeline().drain()
    desk["answer"](first)
    assert len(desk["board"]["requests"]) == 1
    clock.set(clock.at + timedelta(days=3))
    # Content that alone would go to the water bureau: the follow-up stays with the unit that answered.
    follow = desk["ingest"]("你们上次说的不对，而且我家停水了也没人管")
    stranger = desk["ingest"]("户口迁移怎么办", author="c2")  # same thread, another citizen
    elsewhere = desk["ingest"]("户口的事还没办好", thread="t2")  # same citizen, another thread
    Pipeline().drain()

    chain = _get(client, people["op"], f"{MESSAGES}/{follow}/conversation")
    assert [m["id"] for m in chain] == [first, follow]
    assert [m["id"] for m in _get(client, people["op"], f"{MESSAGES}/{first}/conversation")] == [
        first,
        follow,
    ]
    for lone in (early, stranger, elsewhere):
        assert [m["id"] for m in _get(client, people["op"], f"{MESSAGES}/{lone}/conversation")] == [lone]

    message = _get(client, people["op"], f"{MESSAGES}/{follow}")
    assert message["unit_code"] == "police" and str(first) in message["routing"]["reason"]
    original = _get(client, people["op"], f"{MESSAGES}/{first}")
    assert message["due_at"] > original["due_at"]  # its own deadline, counted from its own receipt
    # The water bureau does not get it, nor may it read the chain.
    assert client.get(f"{MESSAGES}/{follow}/conversation", headers=people["water_op"]).status_code == 404

    # Answered through the same review; the board receives it once.
    desk["answer"](follow)
    assert _get(client, people["op"], f"{MESSAGES}/{follow}")["status"] == "published"
    assert len(desk["board"]["requests"]) == 2


def test_the_console_shows_the_conversation_together(client, desk, make_login_user):
    from tests.workbench.conftest import sign_in

    first = desk["ingest"]("派出所办户口要多久？")
    Pipeline().drain()
    desk["answer"](first)
    follow = desk["ingest"]("还是没办好")
    Pipeline().drain()
    make_login_user("wang.op", "operator", "police")
    sign_in(client, "wang.op")
    page = client.get(f"/console/messages/{follow}").text
    assert (
        "同一会话（追问）" in page
        and f'data-chain-id="{first}"' in page
        and "已答复：您好，已转派出所办理。" in page
    )
