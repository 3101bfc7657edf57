"""Entries through the API: versions, permissions, visibility of drafts, filters, pages, the audit log."""

from __future__ import annotations

from tests.knowledge.conftest import Desk

QUESTION = "居民身份证到期了怎么换领？"
ANSWER = "有效期满前三个月内，本人携带户口簿到户籍地派出所办理换领，工本费20元。"


def test_an_edit_makes_a_new_version_and_keeps_the_old_one(desk: Desk) -> None:
    entry = desk.create(question=QUESTION, answer=ANSWER, unit_code="gaj")
    assert entry["version"] == 1 and entry["status"] == "published"
    resp = desk.patch(
        f"/kb/entries/{entry['id']}", desk.admin, {"answer": ANSWER + "可预约办理。", "note": "补充预约"}
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["version"] == 2
    versions = desk.get(f"/kb/entries/{entry['id']}/versions", desk.operator_a).json()
    assert [v["version"] for v in versions] == [2, 1]
    assert versions[0]["note"] == "补充预约"
    first = desk.get(f"/kb/entries/{entry['id']}/versions/1", desk.operator_a).json()
    assert first["answer"] == ANSWER
    assert desk.get(f"/kb/entries/{entry['id']}/versions/3", desk.operator_a).status_code == 404


def test_a_status_change_alone_makes_no_version_and_no_change_nothing(desk: Desk) -> None:
    entry = desk.create(question=QUESTION, answer=ANSWER, unit_code="gaj")
    path = f"/kb/entries/{entry['id']}"
    assert desk.patch(path, desk.admin, {"status": "draft"}).json()["version"] == 1
    unchanged = desk.patch(path, desk.admin, {"answer": ANSWER, "status": "draft"})
    assert unchanged.json()["version"] == 1
    events = desk.get("/audit/events", desk.admin, entity_type="kb_entry", entity_id=str(entry["id"])).json()
    actions = [e["action"] for e in events]
    assert sorted(actions) == ["kb.entry.create", "kb.entry.status"]


def test_leader_maintains_only_their_units_entries(desk: Desk) -> None:
    mine = desk.create(desk.leader_a, question=QUESTION, answer=ANSWER)
    assert mine["unit_code"] == "gaj"  # a leader's entry belongs to their unit by default
    sub = desk.create(
        desk.leader_a, question="派出所几点上班？", answer="工作日8:30至17:30。", unit_code="gaj1"
    )
    assert sub["unit_code"] == "gaj1"
    other = desk.create(question="失业保险金怎么申领？", answer="办理失业登记后申领。", unit_code="rsj")
    # Another unit's entry: 404 for changes, although the published entry can be read.
    assert desk.get(f"/kb/entries/{other['id']}", desk.leader_a).status_code == 200
    resp = desk.patch(f"/kb/entries/{other['id']}", desk.leader_a, {"answer": "改掉"})
    assert resp.status_code == 404
    assert resp.json()["error"]["code"] == "not_found"
    assert desk.client.delete(f"/api/v1/kb/entries/{other['id']}", headers=desk.leader_a).status_code == 404
    # Nor can a leader create an entry for another unit, move one there, or create a shared one.
    body = {"question": "社保卡怎么补办？", "answer": "到银行网点补卡。", "unit_code": "rsj"}
    assert desk.post("/kb/entries", desk.leader_a, body).status_code == 404
    assert desk.patch(f"/kb/entries/{mine['id']}", desk.leader_a, {"unit_code": "rsj"}).status_code == 404
    shared = {"question": "公积金怎么提取？", "answer": "到公积金中心办理。", "unit_code": None}
    shared_resp = desk.post("/kb/entries", desk.admin, shared)
    assert shared_resp.status_code == 201
    assert (
        desk.patch(f"/kb/entries/{shared_resp.json()['id']}", desk.leader_a, {"answer": "x"}).status_code
        == 403
    )
    assert (
        desk.patch(f"/kb/entries/{mine['id']}", desk.leader_a, {"answer": ANSWER + "（更新）"}).status_code
        == 200
    )


def test_operator_reads_published_entries_but_cannot_write(desk: Desk) -> None:
    body = {"question": QUESTION, "answer": ANSWER, "unit_code": "gaj"}
    resp = desk.post("/kb/entries", desk.operator_a, body)
    assert resp.status_code == 403
    assert resp.json()["error"]["code"] == "forbidden"
    draft = desk.create(
        question="新生儿怎么上户口？", answer="带出生证明到派出所。", unit_code="gaj", status="draft"
    )
    published = desk.create(question=QUESTION, answer=ANSWER, unit_code="gaj")
    assert desk.get(f"/kb/entries/{draft['id']}", desk.operator_a).status_code == 404
    assert desk.get(f"/kb/entries/{draft['id']}", desk.leader_a).status_code == 200
    assert desk.get(f"/kb/entries/{draft['id']}", desk.leader_b).status_code == 404
    assert desk.get(f"/kb/entries/{draft['id']}", desk.supervisor).status_code == 200
    listed = desk.get("/kb/entries", desk.operator_a).json()["items"]
    assert [e["id"] for e in listed] == [published["id"]]
    assert desk.patch(f"/kb/entries/{published['id']}", desk.operator_a, {"answer": "x"}).status_code == 403


def test_same_question_in_the_same_unit_is_a_conflict(desk: Desk) -> None:
    desk.create(question=QUESTION, answer=ANSWER, unit_code="gaj")
    twin = {"question": "居民身份证到期了怎么换领?", "answer": "另一种说法", "unit_code": "gaj"}
    resp = desk.post("/kb/entries", desk.admin, twin)
    assert resp.status_code == 409
    # The same question for another unit is another entry.
    assert desk.post("/kb/entries", desk.admin, {**twin, "unit_code": "rsj"}).status_code == 201


def test_bad_input_is_422_never_500(desk: Desk) -> None:
    cases = [
        {"question": "", "answer": ANSWER},
        {"question": QUESTION, "answer": "   "},
        {"question": QUESTION, "answer": ANSWER, "alt_questions": ["a|b"]},
        {"question": QUESTION, "answer": ANSWER, "channels": ["fax"]},
        {"question": QUESTION, "answer": ANSWER, "valid_from": "2026-03-01T00:00:00"},
        {
            "question": QUESTION,
            "answer": ANSWER,
            "valid_from": "2026-03-02T00:00:00+08:00",
            "valid_to": "2026-03-01T00:00:00+08:00",
        },
        {"question": QUESTION, "answer": ANSWER, "unit_code": "nosuchunit"},
    ]
    for body in cases:
        resp = desk.post("/kb/entries", desk.admin, body)
        assert resp.status_code == 422, (body, resp.text)
    entry = desk.create(question=QUESTION, answer=ANSWER, unit_code="gaj")
    resp = desk.patch(f"/kb/entries/{entry['id']}", desk.admin, {"tags": ["x" * 40]})
    assert resp.status_code == 422
    assert "标签" in resp.json()["error"]["message"]


def test_list_filters_and_pages(desk: Desk) -> None:
    desk.create(question=QUESTION, answer=ANSWER, unit_code="gaj", tags=["证件"])
    desk.create(
        question="新生儿怎么上户口？", answer="带出生医学证明到派出所。", unit_code="gaj", tags=["户籍"]
    )
    desk.create(
        question="失业保险金怎么申领？", answer="办理失业登记后申领。", unit_code="rsj", status="draft"
    )
    desk.create(question="住房公积金怎么提取？", answer="到公积金中心办理。")

    def questions(**params: object) -> list[str]:
        return [e["question"] for e in desk.get("/kb/entries", desk.admin, **params).json()["items"]]

    assert questions(unit_code="gaj") == ["新生儿怎么上户口？", QUESTION]
    assert questions(tag="证件") == [QUESTION]
    assert questions(status="draft") == ["失业保险金怎么申领？"]
    assert questions(shared=True) == ["住房公积金怎么提取？"]
    assert questions(q="出生医学") == ["新生儿怎么上户口？"]
    first = desk.get("/kb/entries", desk.admin, limit=3).json()
    second = desk.get("/kb/entries", desk.admin, limit=3, cursor=first["next_cursor"]).json()
    assert len(first["items"]) == 3 and len(second["items"]) == 1 and second["next_cursor"] is None
    assert desk.get("/kb/entries", desk.admin, cursor="abc").status_code == 400


def test_archive_keeps_the_entry_and_its_versions(desk: Desk) -> None:
    entry = desk.create(question=QUESTION, answer=ANSWER, unit_code="gaj")
    resp = desk.client.delete(f"/api/v1/kb/entries/{entry['id']}", headers=desk.leader_a)
    assert resp.status_code == 200 and resp.json()["status"] == "archived"
    assert desk.get(f"/kb/entries/{entry['id']}", desk.operator_a).status_code == 404
    assert desk.get(f"/kb/entries/{entry['id']}/versions", desk.admin).status_code == 200
    assert desk.suggest("身份证到期怎么换") == []
