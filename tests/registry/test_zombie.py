"""Zombie-account check: no post for two weeks (zombie), messages left unanswered past their deadline
(unresponsive, a separate flag); checked
once a day by the job, with the clock injected; visible in the registry, the list and the account report."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from app.accounts.models import Account
from app.audit.models import AuditEvent
from app.db import session_scope
from app.registry.zombie import run_daily

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2025, 3, 20, 2, 0, tzinfo=UTC)  # Thursday 20 March 2025, 10:00 local


def set_last_post(account_id: int, at: datetime | None) -> None:
    with session_scope() as session:
        account = session.get(Account, account_id)
        assert account is not None
        account.last_post_at = at
        session.add(account)


@pytest.fixture
def accounts(client, make_unit, make_account, frozen_clock):
    frozen_clock.set(NOW - timedelta(days=30))
    make_unit("a", "甲局")
    make_unit("b", "乙局")
    made = {
        "stale": make_account("a", platform="wechat"),
        "fresh": make_account("a", platform="weibo"),
        "never": make_account("b", platform="douyin"),
        "silent": make_account("b", platform="wechat"),
    }
    frozen_clock.set(NOW)
    set_last_post(made["stale"]["id"], NOW - timedelta(days=16))
    set_last_post(made["fresh"]["id"], NOW - timedelta(days=14))
    set_last_post(made["silent"]["id"], NOW - timedelta(days=1))
    return made


def checks(client, headers, **params):
    return {
        c["account_id"]: c
        for c in client.get("/api/v1/registry/zombies", params=params, headers=headers).json()
    }


def test_daily_check_flags_no_post_and_unanswered(client, admin_headers, accounts, add_message):
    from tests.reports.conftest import end_of, local

    # The "silent" account posts but leaves a message unanswered past its deadline.
    add_message(accounts["silent"], local(2025, 3, 3, 9), due_at=end_of(2025, 3, 10))
    summary = run_daily(tz=TZ, now=NOW)
    assert (summary.checked, summary.zombies, summary.newly_flagged, summary.skipped) == (4, 2, 2, False)
    assert (summary.unresponsive, summary.warnings) == (1, 1)
    got = checks(client, admin_headers)
    ids = {name: acc["id"] for name, acc in accounts.items()}
    assert set(got) == {ids["stale"], ids["never"], ids["silent"]}
    assert got[ids["stale"]]["reasons"] == ["16天未更新（超过14天）"]
    assert got[ids["stale"]]["days_since_post"] == 16
    assert got[ids["never"]]["reasons"] == ["开设14天以上未见更新"]
    # Posting but not answering is a separate failing, not a zombie.
    assert got[ids["silent"]]["reasons"] == ["1条留言超期未答复"]
    assert (got[ids["silent"]]["zombie"], got[ids["silent"]]["unresponsive"]) == (False, True)
    assert (got[ids["stale"]]["zombie"], got[ids["stale"]]["unresponsive"]) == (True, False)
    assert got[ids["silent"]]["unit_name"] == "乙局"
    everything = checks(client, admin_headers, all="true")
    # 14 days without a post: not yet a zombie, but warned.
    assert everything[ids["fresh"]]["zombie"] is False and everything[ids["fresh"]]["warning"] is True


def test_job_runs_once_a_day(client, admin_headers, accounts):
    assert run_daily(tz=TZ, now=NOW).checked == 4
    assert run_daily(tz=TZ, now=NOW + timedelta(hours=5)).skipped is True
    forced = run_daily(tz=TZ, now=NOW + timedelta(hours=5), force=True)
    # Five hours later the "fresh" account's two weeks (14 × 24 h) are over.
    assert (forced.checked, forced.newly_flagged) == (4, 1)
    # The next local day (00:30 local on Friday 21 March), the job checks again: "fresh" has aged.
    next_day = datetime(2025, 3, 20, 16, 30, tzinfo=UTC)
    summary = run_daily(tz=TZ, now=next_day)
    assert summary.skipped is False
    assert (summary.newly_flagged, summary.zombies) == (0, 3)


def test_reported_post_clears_the_flag(client, admin_headers, make_user, accounts):
    run_daily(tz=TZ, now=NOW)
    stale = accounts["stale"]["id"]
    operator_a = make_user("operator", "a")
    resp = client.post(
        f"/api/v1/accounts/{stale}/posts", json={"posted_at": "2025-03-19T20:00:00+08:00"}, headers=operator_a
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["last_post_at"].startswith("2025-03-19T12:00:00")
    # An older post does not move it back.
    client.post(
        f"/api/v1/accounts/{stale}/posts", json={"posted_at": "2025-03-01T08:00:00+08:00"}, headers=operator_a
    )
    assert (
        client.get(f"/api/v1/accounts/{stale}", headers=operator_a)
        .json()["last_post_at"]
        .startswith("2025-03-19")
    )
    summary = client.post("/api/v1/registry/zombie-check", headers=make_user("supervisor")).json()
    assert summary["cleared"] == 1
    assert stale not in checks(client, admin_headers)
    with session_scope() as session:
        actions = [
            e.action for e in session.exec(select(AuditEvent).where(AuditEvent.entity_id == str(stale)))
        ]
    assert (
        "account.post" in actions and "account.zombie_flag" in actions and "account.zombie_clear" in actions
    )


def test_post_reports_are_checked(client, make_user, accounts):
    stale = accounts["stale"]["id"]
    operator_a, operator_b = make_user("operator", "a"), make_user("operator", "b")
    naive = client.post(
        f"/api/v1/accounts/{stale}/posts", json={"posted_at": "2025-03-19T20:00:00"}, headers=operator_a
    )
    assert naive.status_code == 422
    future = client.post(
        f"/api/v1/accounts/{stale}/posts", json={"posted_at": "2025-04-19T20:00:00+08:00"}, headers=operator_a
    )
    assert future.status_code == 422
    other = client.post(
        f"/api/v1/accounts/{stale}/posts", json={"posted_at": "2025-03-19T20:00:00+08:00"}, headers=operator_b
    )
    assert other.status_code == 404
    assert client.post("/api/v1/registry/zombie-check", headers=operator_a).status_code == 403


def test_closed_accounts_are_not_checked_and_flags_show_everywhere(
    client, admin_headers, make_user, accounts
):
    stale, never = accounts["stale"]["id"], accounts["never"]["id"]
    registrations = {}
    for name, account_id, unit in (("stale", stale, "a"), ("never", never, "b")):
        resp = client.post(
            "/api/v1/registry/accounts",
            json={
                "unit_code": unit,
                "platform": "wechat" if name == "stale" else "douyin",
                "opened_on": "2025-02-17",
                "registered_on": "2025-02-18",
                "account_id": account_id,
                "person_in_charge": "张三",
                "account_name": name,
            },
            headers=admin_headers,
        )
        assert resp.status_code == 201, resp.text
        registrations[name] = resp.json()["id"]
    for registration_id in registrations.values():
        event = client.get(
            f"/api/v1/registry/accounts/{registration_id}/events", headers=admin_headers
        ).json()[0]
        client.post(f"/api/v1/registry/events/{event['id']}/approve", json={}, headers=admin_headers)
    close = client.post(
        f"/api/v1/registry/accounts/{registrations['never']}/events",
        json={"kind": "closed", "effective_on": "2025-03-14", "filed_on": "2025-03-03"},
        headers=admin_headers,
    ).json()
    client.post(
        f"/api/v1/registry/events/{close['id']}/approve",
        json={"decided_on": "2025-03-04"},
        headers=admin_headers,
    )

    summary = run_daily(tz=TZ, now=NOW)
    assert summary.checked == 3  # the closed account is no longer watched
    assert set(checks(client, admin_headers)) == {stale}
    registry = client.get(f"/api/v1/registry/accounts/{registrations['stale']}", headers=admin_headers).json()
    assert [f["code"] for f in registry["flags"]] == ["zombie"]
    report = client.get("/api/v1/reports/accounts", headers=admin_headers).json()
    rows = {r["account_id"]: r for r in report["rows"]}
    assert rows[stale]["zombie"] is True and rows[stale]["zombie_reasons"] == ["16天未更新（超过14天）"]
    assert rows[accounts["fresh"]["id"]]["zombie"] is False
    # Unit roles see their own zombies only.
    assert checks(client, make_user("operator", "b")) == {}
