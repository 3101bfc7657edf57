"""`huiying worker` runs the background jobs in its own process; `huiying serve` starts one beside the API
by default, keeps the jobs out of the API process, and stops the worker when it stops."""

from __future__ import annotations

import os
import threading
from typing import Any

import pytest
import uvicorn

from app import cli, worker
from app.config import get_settings
from app.db import session_scope
from app.messages.models import Message
from tests.helpers import post_message


@pytest.fixture
def settings_env(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Environment changes seen by `get_settings()`; the cached settings are restored afterwards."""
    get_settings.cache_clear()
    yield monkeypatch
    monkeypatch.undo()
    get_settings.cache_clear()


@pytest.fixture
def served(settings_env: pytest.MonkeyPatch) -> dict[str, Any]:
    """`huiying serve` with uvicorn and the child process replaced by recorders."""
    seen: dict[str, Any] = {"spawned": 0, "stopped": 0}

    def fake_run(app: str, **kwargs: Any) -> None:
        seen["app"], seen["kwargs"] = app, kwargs
        seen["scheduler_in_api"] = os.environ.get("HUIYING_SCHEDULER", "on")

    def fake_spawn(settings: Any) -> str:
        seen["spawned"] += 1
        return "child"

    def fake_stop(child: Any, timeout: float = 15.0) -> None:
        assert child == "child"
        seen["stopped"] += 1

    settings_env.setattr(uvicorn, "run", fake_run)
    settings_env.setattr(worker, "spawn", fake_spawn)
    settings_env.setattr(worker, "stop_child", fake_stop)
    settings_env.delenv("HUIYING_SCHEDULER", raising=False)
    return seen


def test_serve_starts_a_worker_and_keeps_jobs_out_of_the_api(served: dict[str, Any]) -> None:
    assert cli.main(["serve", "--port", "8123"]) == 0
    assert served["spawned"] == 1 and served["stopped"] == 1
    assert served["scheduler_in_api"] == "off"
    assert served["app"] == "app.asgi:app" and served["kwargs"]["port"] == 8123
    assert served["kwargs"]["proxy_headers"] is False  # no proxy configured: X-Forwarded-* ignored
    assert served["kwargs"]["access_log"] is True


def test_serve_inline_or_without_jobs_starts_no_worker(served: dict[str, Any], settings_env: Any) -> None:
    settings_env.setenv("HUIYING_SERVE_WORKER", "inline")
    get_settings.cache_clear()
    cli.main(["serve"])
    assert served["spawned"] == 0 and served["scheduler_in_api"] == "on"
    settings_env.setenv("HUIYING_SCHEDULER", "off")
    settings_env.setenv("HUIYING_SERVE_WORKER", "process")
    get_settings.cache_clear()
    cli.main(["serve"])
    assert served["spawned"] == 0 and served["scheduler_in_api"] == "off"


def test_serve_honours_proxy_headers_only_from_configured_proxies(
    served: dict[str, Any], settings_env: Any
) -> None:
    settings_env.setenv("HUIYING_FORWARDED_ALLOW_IPS", "10.0.0.5")
    settings_env.setenv("HUIYING_ACCESS_LOG", "false")
    get_settings.cache_clear()
    cli.main(["serve"])
    assert served["kwargs"]["proxy_headers"] is True
    assert served["kwargs"]["forwarded_allow_ips"] == "10.0.0.5"
    assert served["kwargs"]["access_log"] is False


def test_one_worker_round_runs_the_pipeline(client, make_unit, make_account, make_user) -> None:
    make_unit("a", "甲单位", keywords=["路灯"])
    account = make_account("a")
    operator = make_user("operator", "a")
    mid = post_message(
        client, operator, {"account_id": account["id"], "external_id": "w1", "content": "路灯坏了"}
    )
    with session_scope() as session:
        assert session.get(Message, mid).status == "received"  # the API ran no job
    worker.run_once(get_settings())
    with session_scope() as session:
        message = session.get(Message, mid)
        assert message.status == "open" and message.due_at is not None


def test_the_worker_stops_when_asked() -> None:
    stop = threading.Event()
    stop.set()
    thread = threading.Thread(target=worker.run, args=(get_settings(),), kwargs={"stop": stop})
    thread.start()
    thread.join(timeout=30)
    assert not thread.is_alive()


def test_the_worker_command_is_registered() -> None:
    args = cli.build_parser().parse_args(["worker"])
    assert args.func is cli._worker
