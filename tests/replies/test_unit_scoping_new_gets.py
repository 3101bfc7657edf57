"""Hostile: the GETs added this round that return a unit's data (inbox, extensions, inspections,
evidence export, account health, conversation, platform removals) never show one unit's data to a
unit-scoped person of another unit: per-object reads are 404/403, lists leave the other unit's items out."""

from __future__ import annotations

import pytest

from tests.replies.conftest import EXTERNAL_IDS, Desk

CONTENT = "我家门口的路灯坏了三天了，请尽快修理"
STRANGERS = ("operator_b", "reviewer_b")


@pytest.fixture
def seeded(desk: Desk) -> dict[str, int]:
    message_id = desk.message(external_id="scope-1", content=CONTENT, author_id="citizen-scope")
    reply_id = desk.draft(message_id, "您好，已安排维修。")
    # The owner unit sees its own data (so the refusals below are about the unit, not the route).
    assert desk.get(f"/messages/{message_id}/conversation", desk.operator).status_code == 200
    assert desk.get(f"/accounts/{desk.accounts['generic']}/health", desk.reviewer).status_code == 200
    return {"message": message_id, "reply": reply_id, "account": desk.accounts["generic"]}


OBJECT_PATHS = [
    "/messages/{message}/conversation",
    "/messages/{message}/platform-removals",
    "/accounts/{account}/health",
    "/replies/{reply}",
    "/messages/{message}/full",
]


@pytest.mark.parametrize("who", STRANGERS)
@pytest.mark.parametrize("template", OBJECT_PATHS)
def test_another_units_objects_are_not_found(desk: Desk, seeded: dict[str, int], who: str, template: str):
    resp = desk.get(template.format(**seeded), getattr(desk, who))
    assert resp.status_code in (403, 404), resp.text
    assert CONTENT not in resp.text and "citizen-scope" not in resp.text


LIST_PATHS = [
    "/inbox",
    "/extensions",
    "/supervision/inspections",
    "/moderation/evidence",
    "/channels/health",
    "/messages",
    "/replies",
]


@pytest.mark.parametrize("who", STRANGERS)
@pytest.mark.parametrize("path", LIST_PATHS)
def test_another_units_data_is_left_out_of_lists(desk: Desk, seeded: dict[str, int], who: str, path: str):
    resp = desk.get(path, getattr(desk, who))
    assert resp.status_code in (200, 403, 404), resp.text
    assert CONTENT not in resp.text and "citizen-scope" not in resp.text
    assert "您好，已安排维修" not in resp.text
    for external_id in EXTERNAL_IDS.values():
        assert f'"{external_id}"' not in resp.text, (path, external_id)


@pytest.mark.parametrize(("path", "marker"), [("/messages", CONTENT), ("/replies", "您好，已安排维修")])
def test_the_owner_unit_does_see_it_in_the_lists(desk: Desk, seeded: dict[str, int], path: str, marker: str):
    """So that the absence above is the scoping, not an empty list."""
    resp = desk.get(path, desk.operator)
    assert resp.status_code == 200 and marker in resp.text, resp.text[:300]
