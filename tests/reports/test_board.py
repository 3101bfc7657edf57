"""The board page in headless Chromium against a real uvicorn server: every chart renders with data.
A screenshot is kept in test-artifacts/board.png (git-ignored)."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from app.accounts.models import Account
from app.db import session_scope
from app.registry.zombie import check_accounts
from tests.helpers import serving

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
NOW = datetime(2025, 3, 20, 2, 0, tzinfo=UTC)
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--window-size=1400,1900",
    "--virtual-time-budget=15000",
]

# (code, name, messages per week, every n-th answered late)
UNITS = [
    ("a", "县公安局", 4, 0),
    ("b", "县住建局", 3, 3),
    ("c", "县交通运输局", 3, 2),
    ("d", "县市场监管局", 2, 1),
]
STORY = [
    "魅力之城小区楼下烧烤店油烟扰民，晚上噪音很大",
    "魅力之城底层商铺油烟直排扰民，请联系我13812345678",
    "投诉魅力之城小区门面夜宵摊油烟扰民",
    "魅力之城小区一楼餐馆油烟太大，扰民严重",
    "魅力之城商铺油烟和噪音扰民",
]


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.skip(
            "未找到 chromium：`make test` 会用 apt-get install -y chromium 安装；无法安装时跳过看板测试"
        )
    return found


@pytest.fixture
def server(client) -> Iterator[str]:
    """The test app served by uvicorn in a thread (see tests.helpers.serving)."""
    with serving(client.app) as url:
        yield url


@pytest.fixture
def board_data(client, make_unit, make_account, make_user, add_message, frozen_clock):
    frozen_clock.set(NOW - timedelta(days=70))
    make_unit("zfb", "县政府办公室")
    accounts = {}
    for code, name, _, _ in UNITS:
        make_unit(code, name, parent_code="zfb", supervisor_code="zfb")
        accounts[code] = make_account(code, platform="wechat")
    frozen_clock.set(NOW)
    for week in range(8, 0, -1):
        for code, _, per_week, late_every in UNITS:
            for i in range(per_week):
                received = NOW - timedelta(weeks=week, hours=3 + 20 * i)
                late = late_every and (i + week) % late_every == 0
                add_message(
                    accounts[code],
                    received,
                    due_at=received + timedelta(days=7),
                    replied_at=received + timedelta(days=9 if late else 2),
                    transfer_count=1 if code == "c" and i == 0 else 0,
                    escalation_level=1 if late else 0,
                )
    # Overdue now, by different lengths of time.
    for code, days in (("c", 1), ("c", 4), ("d", 9), ("d", 20), ("b", 12)):
        received = NOW - timedelta(days=days + 7)
        add_message(accounts[code], received, due_at=received + timedelta(days=7))
    # A story that surges in the last week.
    for hour, text in enumerate(STORY, start=1):
        add_message(accounts["b" if hour % 2 else "c"], NOW - timedelta(hours=hour * 20), content=text)
    with session_scope() as session:
        stale = session.get(Account, accounts["d"]["id"])
        assert stale is not None
        stale.last_post_at = NOW - timedelta(days=23)
        session.add(stale)
        for code in ("a", "b", "c"):
            fresh = session.get(Account, accounts[code]["id"])
            assert fresh is not None
            fresh.last_post_at = NOW - timedelta(days=2)
            session.add(fresh)
    with session_scope() as session:
        check_accounts(session=session, now=NOW, tz=ZoneInfo("Asia/Shanghai"))
    return make_user("supervisor", name="督办科")


def run_chromium(binary: str, *args: str) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryDirectory(prefix="huiying-chromium-") as profile:
        return subprocess.run(
            [binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )


def test_board_renders_every_chart_with_data(server, board_data, client):
    binary = chromium()
    made = client.post("/api/v1/supervision/bulletins", json={"period_key": "2025-Q1"}, headers=board_data)
    assert made.status_code == 201, made.text
    token = board_data["Authorization"].removeprefix("Bearer ")
    url = f"{server}/board#token={token}"

    dom = run_chromium(binary, "--dump-dom", url).stdout
    assert 'data-ready="1"' in dom, dom[-2000:]
    assert '<div class="error">' not in dom, re.findall(r'<div class="error">[^<]*', dom)

    def svg(name: str) -> str:
        match = re.search(rf'<svg[^>]*data-chart="{name}".*?</svg>', dom, re.S)
        assert match, f"chart {name} missing"
        return match.group(0)

    unit_rate = svg("unit-rate")
    assert len(re.findall(r'<rect class="bar"', unit_rate)) == 4  # one bar per unit with due messages
    assert "县公安局" in unit_rate and "100%" in unit_rate
    overdue = svg("overdue")
    counts = [int(v) for v in re.findall(r'<rect class="bar"[^>]*data-value="(\d+)"', overdue)]
    assert sum(counts) == 5 and len(counts) == 5
    trend = svg("trend")
    assert len(re.findall(r'<rect class="bar"', trend)) >= 8
    assert "<polyline" in trend
    # d has not posted for 23 days; b, c and d leave messages unanswered past their deadlines.
    assert len(re.findall(r'<tr class="zombie"', dom)) == 3 and "23天未更新" in dom
    assert 'data-topic="' in dom and "魅力" in dom
    assert "13812345678" not in dom
    assert "按时答复率" in dom
    # No range given: the last 30 days up to the server's today (2025-03-20).
    assert "统计范围 2025-02-19 至 2025-03-20" in dom
    # The latest bulletin, and the separate flags of the account check.
    assert "政务新媒体留言办理情况通报（2025年第1季度）" in dom
    assert len(re.findall(r'data-bulletin="line"', dom)) == 3
    assert "回应不及时" in dom

    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "board.png"
    shot.unlink(missing_ok=True)
    result = run_chromium(binary, f"--screenshot={shot}", url)
    assert shot.exists() and shot.stat().st_size > 10_000, result.stderr[-2000:]


def test_board_keeps_a_given_range(server, board_data):
    binary = chromium()
    token = board_data["Authorization"].removeprefix("Bearer ")
    dom = run_chromium(binary, "--dump-dom", f"{server}/board?from=2025-01-01#token={token}").stdout
    assert 'data-ready="1"' in dom and '<div class="error">' not in dom
    assert "统计范围 2025-01-01 至 今天" in dom
    dom = run_chromium(binary, "--dump-dom", f"{server}/board?to=2025-03-01#token={token}").stdout
    assert "统计范围 2025-01-31 至 2025-03-01" in dom


def test_board_asks_for_a_token(client, server):
    binary = chromium()
    dom = run_chromium(binary, "--dump-dom", f"{server}/board").stdout
    assert "请输入访问令牌" in dom
    assert re.search(r'<main id="board" hidden', dom)
    bad = run_chromium(binary, "--dump-dom", f"{server}/board#token=hy_not_a_token").stdout
    assert "令牌无效" in bad


def test_board_page_is_served_with_a_strict_policy(client):
    resp = client.get("/board")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/html")
    assert "connect-src 'self'" in resp.headers["content-security-policy"]
    assert "留言办理督办看板" in resp.text
