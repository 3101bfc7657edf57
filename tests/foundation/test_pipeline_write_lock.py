"""The pipeline keeps a batch's CPU work ahead of its first write: on SQLite that write takes the one
write lock until the batch commits, and ingest in the API process waits for it meanwhile."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event
from sqlmodel import select

from app.db import get_engine, session_scope
from app.intake.pipeline import Pipeline
from app.messages import search
from app.messages.search import MessageSearch
from tests.helpers import post_message

WRITES = ("INSERT", "UPDATE", "DELETE")


def test_search_terms_are_segmented_before_the_batch_writes(
    client, make_unit, make_account, make_user, monkeypatch: pytest.MonkeyPatch
):  # type: ignore[no-untyped-def]
    make_unit("a")
    account = make_account("a")
    operator = make_user("operator", "a")
    texts = ["路灯坏了两个星期", "小区门口垃圾没人清运", "公交站台的广告牌松动了"]
    ids = [
        post_message(client, operator, {"account_id": account["id"], "external_id": f"w{i}", "content": t})
        for i, t in enumerate(texts)
    ]
    events: list[str] = []
    segment = search.terms_of

    def terms_of(content: str, author_name: str) -> str:
        events.append("segment")
        return segment(content, author_name)

    def statement(_conn: Any, _cursor: Any, sql: str, *_: Any) -> None:
        if sql.lstrip().upper().startswith(WRITES):
            events.append("write")

    monkeypatch.setattr(search, "terms_of", terms_of)
    event.listen(get_engine(), "before_cursor_execute", statement)
    try:
        Pipeline().run_once()
    finally:
        event.remove(get_engine(), "before_cursor_execute", statement)

    assert events.count("segment") == len(texts)
    claim = events.index("write")  # the claim, in a transaction of its own
    batch = events[claim + 1 :]
    assert batch[: len(texts) + 1] == ["segment"] * len(texts) + ["write"]
    with session_scope() as session:
        rows = session.exec(select(MessageSearch.message_id)).all()
    assert sorted(rows) == sorted(ids)
