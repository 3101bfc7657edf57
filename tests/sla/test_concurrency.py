"""Two schedulers sweeping and sending at the same time (threads, each with its own engine) still send
each notification exactly once: row claims with SKIP LOCKED and the unique (message, step) record."""

from __future__ import annotations

import json
import threading
from collections import Counter

import httpx
import pytest
import respx

from app.config import get_settings
from app.db import get_engine, is_postgres, make_engine
from app.notifications.delivery import send_pending
from app.sla.escalation import delivery_rules
from app.sla.sweep import sweep
from tests.sla.conftest import local

pytestmark = pytest.mark.skipif(
    not is_postgres(get_engine()),
    reason="needs PostgreSQL: on SQLite the service is one process with one writer, so no second "
    "scheduler can race it (set HUIYING_TEST_DATABASE_URL to run this)",
)

UNIT_HOOK = "https://unit.example.gov.cn/hook"
SUPERVISOR_HOOK = "https://dban.example.gov.cn/hook"
MESSAGES = 30


def test_two_schedulers_send_each_notification_once(
    client, admin_headers, make_unit, make_account, ingest, frozen_clock
):
    make_unit("zfb")
    make_unit("a", supervisor_code="zfb")
    for unit, url in (("a", UNIT_HOOK), ("zfb", SUPERVISOR_HOOK)):
        resp = client.post(
            "/api/v1/notification-channels",
            json={"unit_code": unit, "kind": "webhook", "name": unit, "url": url, "secret": f"{unit}-secret"},
            headers=admin_headers,
        )
        assert resp.status_code == 201
    frozen_clock.set(local(2026, 3, 2, 9, 30))
    acc = make_account("a")
    for i in range(MESSAGES):
        ingest(acc["id"], local(2026, 3, 2, 9, i))

    # due_soon (recorded at night, sent at 08:30), breach, then the supervisor a working day later.
    steps = [
        local(2026, 3, 9, 0, 1),
        local(2026, 3, 9, 8, 31),
        local(2026, 3, 10, 0, 1),
        local(2026, 3, 10, 8, 31),
        local(2026, 3, 11, 0, 1),
        local(2026, 3, 11, 8, 31),
    ]
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def scheduler() -> None:
        engine = make_engine(get_settings())
        try:
            with httpx.Client() as http:
                for at in steps:
                    barrier.wait(timeout=30)
                    for _ in range(2):
                        sweep(now=at, engine=engine, batch_size=7)
                        send_pending(rules=delivery_rules, now=at, engine=engine, client=http)
        except BaseException as exc:
            errors.append(exc)
            barrier.abort()
        finally:
            engine.dispose()

    with respx.mock() as mock:
        unit_route = mock.post(UNIT_HOOK).mock(return_value=httpx.Response(200))
        supervisor_route = mock.post(SUPERVISOR_HOOK).mock(return_value=httpx.Response(200))
        threads = [threading.Thread(target=scheduler) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    assert not errors, errors
    keys = Counter(
        json.loads(call.request.content)["dedupe_key"]
        for call in [*unit_route.calls, *supervisor_route.calls]
    )
    assert len(keys) == MESSAGES * 3
    assert set(keys.values()) == {1}, [k for k, n in keys.items() if n > 1]
    assert unit_route.call_count == MESSAGES * 2 and supervisor_route.call_count == MESSAGES
