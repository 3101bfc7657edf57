"""Hot topics count both windows from the daily per-term counts and, where a day is not counted, message
by message (per-term counts and "messages holding any of these terms"); on random data (stored, stale
and missing term lists, several units, instants on the window edges), before and after the days are
counted, every figure equals counting the messages one by one."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from app.db import session_scope
from app.reports import topics
from app.reports.models import MessageTerms

AT = datetime(2026, 3, 20, 9, 30, tzinfo=UTC)
WORDS = ["路灯", "油烟", "扰民", "噪音", "停车", "物业", "供暖", "学校", "公交", "垃圾", "施工", "漏水"]


def _seed(
    add_message: Any, accounts: dict[str, dict[str, Any]], rng: random.Random, window: timedelta, n: int
) -> None:
    edges = [AT - window * k for k in range(0, n + 2)]
    for _ in range(160):
        unit = rng.choice(list(accounts))
        if rng.random() < 0.2:
            received = rng.choice(edges) + timedelta(microseconds=rng.choice([-1, 0, 0, 1]))
        else:
            received = AT - window * (n + 1.5) * rng.random()
        text = "，".join(rng.sample(WORDS, rng.randrange(1, 5))) + "的问题请处理"
        message_id = add_message(accounts[unit], received, content=text)
        kind = rng.choice(["stored", "stored", "stale", "missing"])
        with session_scope() as session:
            if kind == "stored":
                terms = topics.message_terms(text)
                session.add(MessageTerms(message_id=message_id, version=topics.TERMS_VERSION, terms=terms))
            elif kind == "stale":
                session.add(MessageTerms(message_id=message_id, version=0, terms=["旧词", "路灯"]))


@pytest.mark.parametrize("seed", range(3))
def test_sql_baseline_equals_counting_row_by_row(
    client, make_unit, make_account, add_message, seed: int
) -> None:
    rng = random.Random(seed)
    for code in ("a", "b", "c"):
        make_unit(code, f"单位{code}")
    accounts = {code: make_account(code) for code in ("a", "b", "c")}
    window, n = timedelta(hours=rng.choice([6, 24, 36])), rng.choice([1, 3, 7])
    _seed(add_message, accounts, rng, window, n)
    start = AT - window * (n + 1)
    tz = ZoneInfo("Asia/Shanghai")
    for unit_code, counted in ((None, False), ("b", False), (None, True), ("b", True)):
        if counted:
            with session_scope() as session:
                topics.count_days(session=session, now=AT, tz=tz, max_days=None)
        scope = topics._scope(None, start, AT, unit_code)
        with session_scope() as session:
            rows = topics._load(session, scope, store=False)  # every message's terms, one by one
            baseline_rows = [
                set(terms) for _, received_at, _, terms in rows if int((AT - received_at) / window) > 0
            ]
            current_rows = {
                mid: set(terms)
                for mid, received_at, _, terms in rows
                if int((AT - received_at) / window) == 0
            }
            windows = topics._Windows(session, None, unit_code, start, AT - window, AT, tz)
            expected: Counter[str] = Counter()
            for terms in baseline_rows:
                expected.update(terms)
            now_expected: Counter[str] = Counter()
            for terms in current_rows.values():
                now_expected.update(terms)
            assert windows.sizes == {True: len(current_rows), False: len(baseline_rows)}
            assert windows.counts(False) == expected
            assert windows.counts(True) == now_expected
            assert windows.holding(True, WORDS) == {
                w: {mid for mid, terms in current_rows.items() if w in terms} for w in WORDS
            }
            for _ in range(20):
                chosen = set(rng.sample(WORDS, rng.randrange(1, 4)))
                assert windows.holding_any(chosen) == sum(1 for terms in baseline_rows if terms & chosen)
