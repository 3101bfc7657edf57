"""On the real 2020 board data loaded by `huiying demo`, the report says what the data says: 75 of the
120 answered messages were answered later than 5 working days."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.demo import load_demo

DATA = Path(__file__).resolve().parents[2] / "data"


@pytest.fixture
def demo(frozen_clock):
    if not (DATA / "wenzheng-2020" / "messages_with_replies.csv").exists():
        pytest.skip("data/wenzheng-2020 not present")
    return load_demo(data_dir=DATA)


def test_demo_report_shows_75_of_120_answered_late(client, admin_headers, demo):
    body = client.get("/api/v1/reports/units", headers=admin_headers).json()
    total = body["total"]
    assert total["answered"] == 120
    assert total["answered_late"] == 75
    assert total["answered_on_time"] == 45
    # Nearest rank: half of the answers came within 7 working days, 90% within 26.
    assert (total["reply_days_median"], total["reply_days_p90"]) == (7, 26)
    # The board's 30 "hot" messages have no reply in the data: they are overdue.
    assert total["received"] == 150
    assert total["overdue_now"] == 30
    # Loading again adds nothing.
    load_demo(data_dir=DATA)
    again = client.get("/api/v1/reports/units", headers=admin_headers).json()["total"]
    assert (again["received"], again["answered"], again["answered_late"]) == (150, 120, 75)


def test_demo_registry_shows_flags_and_zombies(client, admin_headers, demo):
    assert demo["registrations"] == 6
    registrations = client.get("/api/v1/registry/accounts", headers=admin_headers).json()
    flags = {r["account_name"]: {f["code"] for f in r["flags"]} for r in registrations}
    assert "late_registration" in flags["青禾发布微博"]
    assert "duplicate_platform" in flags["青禾发布"] and "duplicate_platform" in flags["青禾政务服务"]
    assert "short_notice" in flags["青禾发布头条号"]
    zombies = {
        z["account_name"] for z in client.get("/api/v1/registry/zombies", headers=admin_headers).json()
    }
    # Weibo and Douyin have not posted for 40 and 20 days; the board leaves the hot messages unanswered.
    assert zombies == {"青禾发布微博", "青禾发布抖音号", "县政府网站留言板"}
