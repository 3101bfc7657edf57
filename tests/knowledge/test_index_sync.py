"""The process-wide index follows the database: changes written by another process (rows and the KB
version row changed directly) are picked up when the version row says so, and only then."""

from __future__ import annotations

from sqlalchemy import text

from app.db import session_scope
from app.knowledge.index import KnowledgeIndex, clip, knowledge_index
from tests.knowledge.conftest import Desk

NEW_ANSWER = "即日起可在政务服务网上预约换领身份证，到派出所现场拍照即可。"


def _write_as_another_process(entry_id: int, *, bump: bool) -> None:
    """What another instance of the service writes for an edit: the entry's new version, and the
    KB version row in the same transaction (unless `bump` is off)."""
    with session_scope() as session:
        session.execute(
            text("UPDATE kb_entries SET answer = :a, version = version + 1, revision = 'r2' WHERE id = :i"),
            {"a": NEW_ANSWER, "i": entry_id},
        )
        if bump:
            session.execute(
                text("UPDATE kb_state SET version = version + 1, stamp = 'other-process' WHERE id = 1")
            )


def test_changes_of_another_process_arrive_with_the_version_row(stocked: Desk) -> None:
    entry_id = stocked.ids["居民身份证到期了怎么换领？"]
    before = knowledge_index.refresh()
    assert before.entries[entry_id].version == 1

    _write_as_another_process(entry_id, bump=False)
    same = knowledge_index.refresh()
    assert same is before  # the version row did not move: nothing is read again

    with session_scope() as session:
        session.execute(
            text("UPDATE kb_state SET version = version + 1, stamp = 'other-process' WHERE id = 1")
        )
    after = knowledge_index.refresh()
    assert after is not before
    assert after.entries[entry_id].version == 2
    top = stocked.top("身份证到期怎么换")
    assert (top["entry_id"], top["version"], top["answer"]) == (entry_id, 2, NEW_ANSWER)
    # Only the changed entry was read again; the others are the very same objects.
    other = stocked.ids["新生儿怎么上户口？"]
    assert after.entries[other] is before.entries[other]


def test_entries_removed_by_another_process_disappear(stocked: Desk) -> None:
    entry_id = stocked.ids["住房公积金怎么提取？"]
    knowledge_index.refresh()
    with session_scope() as session:
        session.execute(
            text("UPDATE kb_entries SET status = 'archived', revision = 'r3' WHERE id = :i"), {"i": entry_id}
        )
        session.execute(text("UPDATE kb_state SET version = version + 1, stamp = 'archived' WHERE id = 1"))
    snapshot = knowledge_index.refresh()
    assert entry_id not in snapshot.entries
    assert all(s["entry_id"] != entry_id for s in stocked.suggest("公积金怎么提取"))


def test_a_fresh_process_builds_the_same_index(stocked: Desk) -> None:
    fresh = KnowledgeIndex()
    assert fresh.current() is None and not fresh.active
    snapshot = fresh.refresh()
    assert fresh.active
    assert set(snapshot.entries) == set(stocked.ids.values())
    mine = knowledge_index.refresh()
    text_ = "社保卡丢了怎么补办"
    assert [h.entry_id for h in snapshot.search(text_)] == [h.entry_id for h in mine.search(text_)]


def test_local_changes_are_visible_at_once(desk: Desk) -> None:
    knowledge_index.refresh()
    entry = desk.create(
        question="低保怎么申请？", answer="向户籍所在地乡镇（街道）提出书面申请。", unit_code="rsj"
    )
    assert desk.top("低保如何申请")["entry_id"] == entry["id"]
    desk.patch(f"/kb/entries/{entry['id']}", desk.admin, {"answer": "可在网上提交低保申请。"})
    top = desk.top("低保如何申请")
    assert (top["version"], top["answer"]) == (2, "可在网上提交低保申请。")


def test_long_texts_are_matched_on_their_ends() -> None:
    body = "甲" * 5000
    clipped = clip("开头" + body + "结尾")
    assert clipped.startswith("开头") and clipped.endswith("结尾")
    assert len(clipped) == 2001
    assert clip("短文本") == "短文本"
