"""A property of the whole workflow: no sequence of API calls, by any role, gets a reply to the outbox
(approved, publishing, published, held, undeliverable, delivered manually) without the approvals it
needs by people other than those who wrote it — and the platform only ever receives the approved text.

Hypothesis drives random sequences of every reply endpoint by every person of the unit, with outbox runs
whose platform answers sent / retry / refused / timeout. The walk includes 提请领导复核 (escalate), after
which only a leader other than the escalator may approve, and edits to a text whose checks block it (a
citizen's mobile number in a public reply): approving that text is always 409. Bounded examples, no timing."""

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
ACTIONS = ("submit", "approve", "escalate", "reject", "withdraw", "retry", "confirm", "deliver", "edit")
# A public reply quoting a mobile number: its `checks` carry a `block`, so it can never be approved.
BLOCKED_TEXT = "您好，已记录您的手机13907351286，请等待回电。"
TEXTS = ("改稿甲", "改稿乙", BLOCKED_TEXT)
REVIEWING = ("reviewer", "reviewer2", "leader", "leader2")
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
    user_ids = {who: desk.get("/me", getattr(desk, who)).json()["user_id"] for who in PEOPLE}

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
            text=st.sampled_from(TEXTS),
        )
        def act(self, action: str, who: str, text: str) -> None:
            headers = getattr(desk, who)
            path = f"/replies/{self.reply_id}"
            if action == "edit":
                resp = desk.client.patch(f"/api/v1{path}", json={"text": text}, headers=headers)
            elif action == "reject":
                resp = desk.post(f"{path}/reject", headers, {"reason": "请修改"})
            elif action == "escalate":
                resp = desk.post(f"{path}/escalate", headers, {"reason": "请领导把关"})
            elif action == "confirm":
                resp = desk.post(f"{path}/confirm-published", headers, {"note": "平台上已看到"})
            elif action == "deliver":
                resp = desk.post(f"{path}/delivered-manually", headers, {"note": "已电话告知"})
            else:
                resp = desk.post(f"{path}/{action}", headers)
            assert resp.status_code < 500, resp.text
            if action == "approve":
                self.check_blocked_approval(who, resp)

        # Focused moves, so that short walks reach review often: a person rewrites the reply and
        # submits it (becoming one of its authors), and a reviewing person decides on it.
        @rule(who=st.sampled_from(PEOPLE), text=st.sampled_from(TEXTS))
        def rewrite_and_submit(self, who: str, text: str) -> None:
            self.act("edit", who, text)
            self.act("submit", who, text)

        @rule(decision=st.sampled_from(("approve", "escalate")), pick=st.integers(0, 3))
        def review(self, decision: str, pick: int) -> None:
            """Someone entitled to try reviews it: not an author, and a leader at the second level."""
            with session_scope() as session:
                reply = session.get(Reply, self.reply_id)
                assert reply is not None
                authors = set(reply.editor_ids or [])
                state = reply.state
            pool = ("leader", "leader2") if state == "leader_review" else REVIEWING
            others = [who for who in pool if user_ids[who] not in authors] or list(pool)
            self.act(decision, others[pick % len(others)], "")

        @rule(decision=st.sampled_from(("approve", "escalate", "reject")), pick=st.integers(0, 3))
        def review_own(self, decision: str, pick: int) -> None:
            """The attacker's move: someone who wrote or edited the reply tries to review it."""
            with session_scope() as session:
                reply = session.get(Reply, self.reply_id)
                assert reply is not None
                authors = set(reply.editor_ids or [])
            own = [who for who in REVIEWING if user_ids[who] in authors]
            if own:
                self.act(decision, own[pick % len(own)], "")

        def check_blocked_approval(self, who: str, resp: httpx.Response) -> None:
            """An approval of the blocked text never succeeds; by a reviewer who could otherwise take it,
            it is the checks' 409."""
            with session_scope() as session:
                reply = session.get(Reply, self.reply_id)
                assert reply is not None
                blocked = reply.text == BLOCKED_TEXT
                state = reply.state
                authors = set(reply.editor_ids or [])
                reviews = session.exec(
                    select(ReplyReview).where(ReplyReview.reply_id == reply.id).order_by(col(ReplyReview.id))
                ).all()
            if not blocked:
                return
            assert resp.status_code != 200, resp.text
            assert any(c["level"] == "block" for c in desk.reply(self.reply_id)["checks"])
            level1_by = reviews[-1].reviewer_id if state == "leader_review" and reviews else None
            eligible = (state == "in_review" and who in REVIEWING) or (
                state == "leader_review" and who in ("leader", "leader2")
            )
            if eligible and user_ids[who] not in authors and user_ids[who] != level1_by:
                assert resp.status_code == 409 and resp.json()["error"]["code"] == "blocked_by_checks"

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
                    assert reply.text != BLOCKED_TEXT
                    # Escalated by hand (提请领导复核): two levels, like a sensitive message.
                    escalated = len(reviews) >= 2 and reviews[-2].decision == "escalated"
                    if self.sensitive or escalated:
                        first = reviews[-2]
                        assert last.level == 2 and last.reviewer_role == "leader"
                        assert first.level == 1 and first.decision in ("approved", "escalated")
                        assert first.reviewer_id not in authors and first.reviewer_id != last.reviewer_id
                        assert first.text == reply.text
                    else:
                        assert last.level == 1 and last.reviewer_role in ("reviewer", "leader")
                    approved_texts.add(reply.text)
            # The outbox also sends replies approved in earlier examples (the database is shared).
            with session_scope() as session:
                earlier = session.exec(
                    select(Reply.text).where(
                        Reply.message_id != self.message_id, col(Reply.state).in_(list(APPROVED_STATES))
                    )
                ).all()
            assert set(board["texts"]) <= approved_texts | set(earlier)

    with respx.mock(assert_all_called=False) as router:
        router.post(GENERIC_SECRETS["reply_url"]).mock(side_effect=receive)
        run_state_machine_as_test(
            Workflow,
            settings=settings(
                max_examples=40,
                stateful_step_count=30,
                deadline=None,
                derandomize=True,
                suppress_health_check=list(HealthCheck),
            ),
        )
