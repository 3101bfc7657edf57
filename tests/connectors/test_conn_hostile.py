"""Bounded parsers: absurd platform timestamps and deeply nested XML are PayloadError/ReplayError (4xx),
never an OverflowError or RecursionError (500)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from connectors import generic, wechat
from connectors.base import PayloadError, ReplayError, check_window, from_timestamp
from tests.connectors.test_conn_wechat import PLAIN, plain_request, text_xml


@pytest.mark.parametrize(
    "value", ["-1", "-100000000000", str(10**30), "1e9", "0", "946684799", "", " ", "４２"]
)
def test_absurd_timestamps_are_payload_errors(value: str) -> None:
    with pytest.raises(PayloadError):
        from_timestamp(value)


def test_timestamps_in_range_in_seconds_or_milliseconds() -> None:
    assert from_timestamp("946684800") == datetime(2000, 1, 1, tzinfo=UTC)
    assert from_timestamp(1767225600000) == datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize("value", [str(10**30), "-5", "99999999999999999999999"])
def test_replay_window_refuses_absurd_timestamps(value: str, now: datetime) -> None:
    with pytest.raises(ReplayError):
        check_window(value, now=now)


def test_deeply_nested_xml_is_refused(now: datetime) -> None:
    xml = "<xml>" + "<a>" * 2000 + "x" + "</a>" * 2000 + "</xml>"
    query, body = plain_request(xml, at=now)
    with pytest.raises(PayloadError):
        wechat.parse_push(secrets=PLAIN, query=query, body=body, now=now)


def test_wechat_create_time_out_of_range_is_refused(now: datetime) -> None:
    xml = text_xml(at=now).replace(
        f"<CreateTime>{int(now.timestamp())}</CreateTime>", "<CreateTime>-62135596800</CreateTime>"
    )
    query, body = plain_request(xml, at=now)
    with pytest.raises(PayloadError):
        wechat.parse_push(secrets=PLAIN, query=query, body=body, now=now)


@pytest.mark.parametrize("received_at", ["0001-01-01T00:00:00+08:00", "9999-12-31T23:00:00-05:00"])
def test_generic_webhook_received_at_is_bounded(received_at: str, now: datetime) -> None:
    body = (
        '{"external_id":"x1","kind":"comment","author":{"id":"a","name":"b"},"content":"c",'
        f'"received_at":"{received_at}"}}'
    ).encode()
    with pytest.raises(PayloadError):
        generic.parse(body, now=now)
