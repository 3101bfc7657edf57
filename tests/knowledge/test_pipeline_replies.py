"""The KB in the message flow: the pipeline attaches suggestions (with the entry's version) and gives
the router its evidence; a reply keeps the version it used; a draft that departs from the KB answer
warns the reviewer; a published reply becomes a draft entry in one call."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import respx

from app.intake.pipeline import Pipeline
from app.replies import outbox
from connectors.base import InMemoryTokenStore
from tests.knowledge.conftest import Desk

BOARD = {"hmac_secret": "board-hmac-secret", "reply_url": "https://board.example.gov.cn/api/replies"}
ID_CARD = "居民身份证到期了怎么换领？"


@pytest.fixture
def flow(
    stocked: Desk, make_account: Callable[..., dict[str, Any]], make_user: Callable[..., dict[str, str]]
) -> Any:
    account = make_account("gaj", platform="generic", external_id="board-gaj", secrets=BOARD)
    reviewer = make_user("reviewer", "gaj", name="公安审核人")

    class Flow:
        desk = stocked

        def message(self, content: str, external_id: str = "m-1") -> int:
            body = {"account_id": account["id"], "external_id": external_id, "content": content}
            resp = stocked.post("/messages", stocked.operator_a, body)
            assert resp.status_code == 201, resp.text
            Pipeline().drain()
            return int(resp.json()["id"])

        def get_message(self, message_id: int) -> dict[str, Any]:
            result: dict[str, Any] = stocked.get(f"/messages/{message_id}", stocked.operator_a).json()
            return result

        def draft(self, message_id: int, **body: Any) -> dict[str, Any]:
            resp = stocked.post(f"/messages/{message_id}/replies", stocked.operator_a, body)
            assert resp.status_code == 201, resp.text
            result: dict[str, Any] = resp.json()
            return result

        def publish(self, reply_id: int, frozen_clock: Any) -> None:
            assert stocked.post(f"/replies/{reply_id}/submit", stocked.operator_a).status_code == 200
            assert stocked.post(f"/replies/{reply_id}/approve", reviewer).status_code == 200
            with respx.mock(assert_all_called=True) as board:
                route = board.post(BOARD["reply_url"]).mock(
                    return_value=httpx.Response(201, json={"id": "board-reply-1"})
                )
                outbox.drain(now=frozen_clock.at, tokens=InMemoryTokenStore())
                assert json.loads(route.calls[0].request.content)["text"]
            assert stocked.get(f"/replies/{reply_id}", stocked.operator_a).json()["state"] == "published"

    return Flow()


def test_pipeline_attaches_suggestions_with_versions(flow: Any) -> None:
    message_id = flow.message("请問我身份證下個月就過期了，現在能提前去換嗎？")
    suggestions = flow.get_message(message_id)["suggestions"]
    assert 1 <= len(suggestions) <= 3
    top = suggestions[0]
    assert top["entry_id"] == flow.desk.ids[ID_CARD]
    assert (top["version"], top["confident"], top["question"]) == (1, True, ID_CARD)
    assert set(top) >= {"entry_id", "version", "question", "answer", "score", "confident", "matched_terms"}


def test_confident_kb_match_is_evidence_for_the_router(flow: Any) -> None:
    # The message arrives on the police account, but the Q&A base knows social security cards.
    message_id = flow.message("我的社保卡丢了，怎么挂失补办？", external_id="m-2")
    full = flow.desk.get(f"/messages/{message_id}/full", flow.desk.admin).json()
    assert full["message"]["unit_code"] == "rsj"
    assert "问答库" in full["routing_detail"]["reason"]
    assert full["suggestions"][0]["unit_code"] == "rsj"


def test_reply_keeps_the_version_it_used(flow: Any) -> None:
    message_id = flow.message("身份证到期了怎么换？")
    entry_id = flow.desk.ids[ID_CARD]
    reply = flow.draft(message_id, kb_entry_id=entry_id)
    assert (reply["kb_entry_id"], reply["kb_entry_version"]) == (entry_id, 1)
    assert reply["text"].startswith("有效期满前三个月内")
    assert reply["warnings"] == []
    changed = flow.desk.patch(
        f"/kb/entries/{entry_id}", flow.desk.admin, {"answer": "可网上预约换领，现场拍照。"}
    )
    assert changed.json()["version"] == 2
    kept = flow.desk.get(f"/replies/{reply['id']}", flow.desk.operator_a).json()
    assert kept["kb_entry_version"] == 1
    used = flow.desk.get(
        f"/kb/entries/{entry_id}/versions/{kept['kb_entry_version']}", flow.desk.operator_a
    ).json()
    assert used["answer"] == reply["text"]


def test_draft_departing_from_the_kb_answer_warns_the_reviewer(flow: Any) -> None:
    message_id = flow.message("身份证到期了怎么换？")
    reply = flow.draft(message_id, text="您好，您反映的问题已转相关部门处理，请耐心等待。")
    assert any(w.startswith("与问答库口径不一致：") for w in reply["warnings"]), reply["warnings"]
    answer = flow.get_message(message_id)["suggestions"][0]["answer"]
    edited = flow.desk.patch(
        f"/replies/{reply['id']}", flow.desk.operator_a, {"text": f"您好！{answer}感谢您的留言。"}
    )
    assert edited.json()["warnings"] == []
    figures = flow.desk.patch(
        f"/replies/{reply['id']}", flow.desk.operator_a, {"text": answer.replace("20元", "50元")}
    ).json()["warnings"]
    assert len(figures) == 1 and "50元" in figures[0] and "20元" in figures[0]


def test_unrelated_message_gets_no_consistency_warning(flow: Any) -> None:
    message_id = flow.message("小区门口的路灯坏了好几天了，晚上走路很危险", external_id="m-3")
    reply = flow.draft(message_id, text="您好，已通知城管部门维修路灯。")
    assert not any(w.startswith("与问答库口径不一致") for w in reply["warnings"])


def test_published_reply_is_proposed_as_a_draft_entry(flow: Any, frozen_clock: Any, make_user: Any) -> None:
    message_id = flow.message("请问办理无犯罪记录证明需要带什么？13812345678", external_id="m-4")
    reply = flow.draft(message_id, text="您好，本人携带身份证到户籍地派出所申请，当场出具无犯罪记录证明。")
    early = flow.desk.post(f"/replies/{reply['id']}/propose-kb", flow.desk.operator_a)
    assert early.status_code == 409
    flow.publish(reply["id"], frozen_clock)
    stranger = make_user("operator", "rsj", name="人社经办人")
    assert flow.desk.post(f"/replies/{reply['id']}/propose-kb", stranger).status_code == 404
    resp = flow.desk.post(f"/replies/{reply['id']}/propose-kb", flow.desk.operator_a)
    assert resp.status_code == 201, resp.text
    entry = resp.json()
    assert entry["status"] == "draft"
    assert entry["unit_code"] == "gaj"
    assert entry["source_reply_id"] == reply["id"]
    assert entry["answer"] == reply["text"]
    assert "13812345678" not in entry["question"]  # personal data stays out of the KB
    assert flow.desk.post(f"/replies/{reply['id']}/propose-kb", flow.desk.operator_a).status_code == 409
    # The leader sees the draft and publishes it; then it is suggested.
    assert (
        flow.desk.patch(
            f"/kb/entries/{entry['id']}",
            flow.desk.leader_a,
            {"question": "办理无犯罪记录证明要带什么？", "status": "published"},
        ).status_code
        == 200
    )
    assert flow.desk.top("开无犯罪记录证明要带啥")["entry_id"] == entry["id"]


def test_batched_search_in_the_pipeline_equals_one_search_per_message(flow: Any) -> None:
    """The pipeline searches its whole batch at once; each message gets what its own search gives."""
    from app import clock
    from app.db import session_scope
    from app.knowledge.index import knowledge_index

    texts = [ID_CARD, "身份证丢了咋补办", "今天天气不错", "醫療保險怎麼報銷", "路灯坏了"]
    with session_scope() as session:
        snapshot = knowledge_index.sync(session=session, now=clock.now())
    batched = snapshot.search_many(texts, channels=["generic"] * len(texts), limit=4, explain=3)
    single = [snapshot.search(t, channel="generic", limit=4, explain=3) for t in texts]
    assert batched == single
    assert batched[0] and batched[0][0].confident
    ids = [flow.message(t, external_id=f"b-{i}") for i, t in enumerate(texts)]
    for message_id, hits in zip(ids, single, strict=True):
        shown = flow.get_message(message_id)["suggestions"]
        assert [s["entry_id"] for s in shown][:1] == [h.entry_id for h in hits][:1]


def test_batch_run_step_by_step_equals_message_by_message(flow: Any) -> None:
    """The optimistic batch runs step by step with each step's batch `prepare`; the fallback runs
    message by message with no preparing. Both leave every message exactly alike."""
    from sqlalchemy import update
    from sqlmodel import col, select

    from app import clock
    from app.db import session_scope
    from app.intake.steps import default_steps
    from app.messages.models import IntakeItem, IntakeState, Message

    texts = [ID_CARD, "身份证丢了咋补办", "社保卡丢了怎么补", "醫療保險怎麼報銷", "路灯坏了", "工资被拖欠了"]
    texts += ["派出所办身份证要带户口本吗", "超市卖过期食品怎么投诉", "失业金怎么领", "今天天气不错"]
    # The same question owned by two units: the routed unit's preference reorders them.
    for unit in ("gaj", "rsj"):
        flow.desk.create(
            question="单位拖欠工资怎么办？", answer=f"{unit}：请携带劳动合同反映。", unit_code=unit
        )
    texts.append("单位拖欠工资三个月了，欠薪怎么办")
    account_id = flow.desk.get("/accounts", flow.desk.admin).json()[0]["id"]
    for i, text in enumerate(texts):
        body = {"account_id": account_id, "external_id": f"s-{i}", "content": text}
        resp = flow.desk.post("/messages", flow.desk.operator_a, body)
        assert resp.status_code == 201, resp.text
    fields = (
        "unit_code",
        "routing",
        "suggestions",
        "due_at",
        "deadline_basis",
        "flags",
        "status",
        "sla_state",
    )

    def run(steps: Any) -> dict[int, tuple[Any, ...]]:
        with session_scope() as session:
            session.execute(
                update(IntakeItem).values(state=IntakeState.pending, available_at=clock.now(), attempts=0)
            )
        assert Pipeline(steps).drain().done == len(texts)
        with session_scope() as session:
            rows = session.exec(select(Message).order_by(col(Message.id))).all()
            return {m.id or 0: tuple(getattr(m, f, None) for f in fields) for m in rows}

    # Wrapped steps carry no `prepare`: every message does its own work, as in the fallback.
    one_by_one = run([(name, lambda ctx, step=step: step(ctx)) for name, step in default_steps()])
    batched = run(default_steps())
    assert batched == one_by_one
    assert sum(bool(v[2]) for v in batched.values()) >= len(texts) // 2  # suggestions were made
    wages = batched[max(batched)]
    assert wages[0] == "rsj" and wages[2][0]["unit_code"] == "rsj"


def test_suggestions_are_what_a_search_for_the_routed_unit_gives(flow: Any) -> None:
    """The routed unit's preference is ranked again from the candidates of the pipeline's one search:
    what each message shows is what a search with that unit gives (entries, scores, evidence)."""
    from app import clock
    from app.db import session_scope
    from app.knowledge.index import knowledge_index

    for unit in ("gaj", "rsj"):
        flow.desk.create(
            question="单位拖欠工资怎么办？", answer=f"{unit}：请携带劳动合同反映。", unit_code=unit
        )
        flow.desk.create(question="身份证丢了怎么办？", answer=f"{unit}：请到窗口挂失补办。", unit_code=unit)
    texts = [
        "单位拖欠工资三个月了，欠薪怎么办",
        "身份证丢了咋补办",
        ID_CARD,
        "社保卡丢了怎么补",
        "失业金怎么领",
    ]
    ids = [flow.message(t, external_id=f"u-{i}") for i, t in enumerate(texts)]
    with session_scope() as session:
        snapshot = knowledge_index.sync(session=session, now=clock.now())
    routed = 0
    for message_id, text in zip(ids, texts, strict=True):
        full = flow.desk.get(f"/messages/{message_id}/full", flow.desk.admin).json()
        unit = full["message"]["unit_code"]
        routed += unit is not None
        fresh = snapshot.search(text, unit_code=unit, channel="generic", limit=3)
        assert full["suggestions"] == [h.as_dict() for h in fresh], text
        assert all(s["answer"] != "gaj：微信上预约补办。" for s in full["suggestions"])
    assert routed >= 3
