"""A property of the whole workflow: no sequence of API calls, by any role, gets a reply to the outbox
(approved, publishing, published, held, undeliverable, delivered manually) without the approvals it
needs by people other than those who wrote it — and the platform only ever receives the approved text.

Hypothesis drives random sequences of every reply endpoint by every person of the unit, with outbox runs
whose platform answers sent / retry / refused / timeout. Bounded examples, no timing."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import httpx
import respx
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test
from sqlmodel import col, select

from app.db import session_scope
from app.replies import outbox
from app.replies.models import Reply, ReplyReview
from app.replies.workflow import APPROVED_STATES, TRANSITIONS, ReplyState
from app.users.models import Role
from connectors.base import InMemoryTokenStore
from tests.replies.conftest import GENERIC_SECRETS, Desk

PEOPLE = ("operator", "operator2", "reviewer", "reviewer2", "leader", "leader2", "reviewer_b")
ACTIONS = ("submit", "approve", "reject", "withdraw", "retry", "confirm", "deliver", "edit")
OUTCOMES = ("sent", "retry", "refused", "timeout")


def test_the_table_lets_only_reviewers_bring_a_reply_to_approval() -> None:
    """Every row entering an approved state from an unapproved one is a review decision."""
    for name, row in TRANSITIONS.items():
        if row.target in APPROVED_STATES and not row.sources <= APPROVED_STATES:
            assert row.roles and row.roles <= {Role.reviewer, Role.leader}, name
            assert row.sources <= {ReplyState.in_review, ReplyState.leader_review}, name


def test_no_api_sequence_publishes_without_review(desk: Desk, frozen_clock: Any) -> None:
    board: dict[str, Any] = {"outcome": "sent", "texts": []}

    def receive(request: httpx.Request) -> httpx.Response:
        board["texts"].append(json.loads(request.content)["text"])
        outcome = board["outcome"]
        if outcome == "timeout":
            raise httpx.ReadTimeout("timed out", request=request)
        status = {"sent": 201, "retry": 503, "refused": 400}[outcome]
        return httpx.Response(status, json={"id": "board-reply"})

    counter = {"n": 0}

    class Workflow(RuleBasedStateMachine):
        @initialize(sensitive=st.booleans())
        def start(self, sensitive: bool) -> None:
            counter["n"] += 1
            self.sensitive = sensitive
            self.message_id = desk.message(
                external_id=f"prop-{counter['n']}", flags=["sensitive"] if sensitive else []
            )
            self.reply_id = desk.draft(self.message_id, f"初稿 {counter['n']}")
            self.tokens = InMemoryTokenStore()
            board["texts"] = []

        @rule(
            action=st.sampled_from(ACTIONS),
            who=st.sampled_from(PEOPLE),
            text=st.sampled_from(["改稿甲", "改稿乙"]),
        )
        def act(self, action: str, who: str, text: str) -> None:
            headers = getattr(desk, who)
            path = f"/replies/{self.reply_id}"
            if action == "edit":
                resp = desk.client.patch(f"/api/v1{path}", json={"text": text}, headers=headers)
            elif action == "reject":
                resp = desk.post(f"{path}/reject", headers, {"reason": "请修改"})
            elif action == "confirm":
                resp = desk.post(f"{path}/confirm-published", headers, {"note": "平台上已看到"})
            elif action == "deliver":
                resp = desk.post(f"{path}/delivered-manually", headers, {"note": "已电话告知"})
            else:
                resp = desk.post(f"{path}/{action}", headers)
            assert resp.status_code < 500, resp.text

        @rule()
        def redraft(self) -> None:
            resp = desk.post(f"/messages/{self.message_id}/replies", desk.operator2, {"text": "另起一稿"})
            if resp.status_code == 201:
                self.reply_id = int(resp.json()["id"])

        @rule(outcome=st.sampled_from(OUTCOMES))
        def run_outbox(self, outcome: str) -> None:
            board["outcome"] = outcome
            frozen_clock.set(frozen_clock.at + timedelta(hours=6))
            outbox.drain(now=frozen_clock.at, tokens=self.tokens)

        @invariant()
        def only_reviewed_text_leaves(self) -> None:
            if not hasattr(self, "message_id"):
                return
            approved_texts: set[str] = set()
            with session_scope() as session:
                replies = session.exec(select(Reply).where(Reply.message_id == self.message_id)).all()
                for reply in replies:
                    reviews = session.exec(
                        select(ReplyReview)
                        .where(ReplyReview.reply_id == reply.id)
                        .order_by(col(ReplyReview.id))
                    ).all()
                    if reply.state not in APPROVED_STATES:
                        continue
                    authors = set(reply.editor_ids or [])
                    last = reviews[-1]
                    assert last.decision == "approved" and last.text == reply.text
                    assert last.reviewer_id not in authors
                    if self.sensitive:
                        first = reviews[-2]
                        assert last.level == 2 and last.reviewer_role == "leader"
                        assert first.level == 1 and first.decision == "approved"
                        assert first.reviewer_id not in authors and first.reviewer_id != last.reviewer_id
                        assert first.text == reply.text
                    else:
                        assert last.level == 1 and last.reviewer_role in ("reviewer", "leader")
                    approved_texts.add(reply.text)
            assert set(board["texts"]) <= approved_texts

    with respx.mock(assert_all_called=False) as router:
        router.post(GENERIC_SECRETS["reply_url"]).mock(side_effect=receive)
        run_state_machine_as_test(
            Workflow,
            settings=settings(
                max_examples=30,
                stateful_step_count=30,
                deadline=None,
                derandomize=True,
                suppress_health_check=list(HealthCheck),
            ),
        )
