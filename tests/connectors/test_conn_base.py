"""Shared pieces: backoff arithmetic, quota reset times, replay window, and the connector registry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from connectors import registry
from connectors.base import (
    AfterUnknown,
    ReplayError,
    backoff,
    check_window,
    seconds_until_china_midnight,
    seconds_until_next_hour,
)


def test_backoff_doubles_caps_and_respects_retry_after() -> None:
    assert [backoff(n, base=30, cap=600) for n in range(1, 7)] == [30, 60, 120, 240, 480, 600]
    assert backoff(1, base=30, retry_after=900) == 900
    assert backoff(3, base=30, retry_after=5) == 120


def test_quota_reset_times() -> None:
    at = datetime(2024, 5, 6, 15, 30, tzinfo=UTC)  # 23:30 in Beijing
    assert seconds_until_china_midnight(at) == 30 * 60
    assert seconds_until_next_hour(at) == 30 * 60


def test_replay_window_accepts_seconds_and_milliseconds() -> None:
    now = datetime(2024, 5, 6, 2, 0, tzinfo=UTC)
    assert check_window(str(int(now.timestamp())), now=now) == now
    assert check_window(str(int(now.timestamp() * 1000)), now=now) == now
    with pytest.raises(ReplayError):
        check_window(str(int((now - timedelta(minutes=10)).timestamp())), now=now)
    with pytest.raises(ReplayError):
        check_window("not-a-number", now=now)


def test_registry_covers_every_platform_of_the_contract() -> None:
    assert set(registry.CONNECTORS) == {"wechat", "weibo", "douyin", "generic"}
    assert registry.get("weibo").max_reply_chars({"cid": "1", "status_id": "2"}) == 140
    assert registry.get("generic").after_unknown({"external_id": "x"}) is AfterUnknown.RETRY
    assert registry.get("wechat").after_unknown({"openid": "o"}) is AfterUnknown.HOLD
    assert registry.get("generic").poll is None and registry.get("douyin").poll is not None
    with pytest.raises(KeyError):
        registry.get("toutiao")
