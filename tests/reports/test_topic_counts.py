"""Hot topics from the daily per-term counts equal the computation they replaced (every message of both
windows read and counted one by one, kept below as the reference): on random messages over three weeks,
random windows (edges on and off local midnights), scopes and zones (one with summer time), before the
days are counted, after, after messages are added to counted days, moved to another unit or deleted, and
after counting again; and the same for windows of weeks over months of messages, read from the sums of
whole weeks and months where a request has no unit scope."""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, func, select, update

from app.auth import Principal
from app.db import session_scope
from app.messages.models import Message
from app.reports import topics
from app.reports.models import (
    MessageTerms,
    TopicDay,
    TopicDayTerm,
    TopicReport,
    TopicSpan,
    TopicSpanTerm,
    TopicTerm,
)
from app.users.models import Role

AT = datetime(2026, 3, 30, 9, 30, tzinfo=UTC)
WORDS = ["路灯", "油烟", "扰民", "噪音", "停车", "物业", "供暖", "学校", "公交", "垃圾", "施工", "漏水"]
STORY = ["魅力之城", "油烟", "扰民"]


def reference_hot_topics(
    session: Any,
    principal: Principal | None,
    at: datetime,
    settings: topics.TopicSettings,
    unit_code: str | None,
) -> TopicReport:
    """The former computation: both windows' messages read one by one, counted and clustered in Python."""
    window, n = settings.window, settings.baseline_windows
    split = at - window
    rows = topics._load(session, topics._scope(principal, at - window * (n + 1), at, unit_code), store=False)
    current = [topics._Item(i, r, u, 0, frozenset(t)) for i, r, u, t in rows if r > split]
    baseline = [frozenset(t) for _, r, _, t in rows if r <= split]
    now_counts: Counter[str] = Counter()
    for item in current:
        now_counts.update(item.terms)
    before_counts: Counter[str] = Counter()
    for terms in baseline:
        before_counts.update(terms)
    hot: list[TopicTerm] = []
    for term, count in now_counts.items():
        expected = before_counts[term] / n
        lift = (count + 1) / (expected + 1)
        if count >= settings.min_count and lift >= settings.min_lift:
            score = (count - expected) / math.sqrt(expected + 1)
            hot.append(
                TopicTerm(
                    term=term,
                    count=count,
                    baseline=round(expected, 2),
                    lift=round(lift, 2),
                    score=round(score, 2),
                )
            )
    hot.sort(key=lambda t: (-t.score, -t.count, t.term))
    clusters = _reference_clusters(hot, current, lambda ts: sum(1 for t in baseline if t & ts), settings, n)
    names = topics._unit_names(session, {i.unit_code for c in clusters for i in c[1] if i.unit_code})
    return TopicReport(
        window_start=split,
        window_end=at,
        window_hours=window.total_seconds() / 3600,
        baseline_windows=n,
        min_count=settings.min_count,
        min_lift=settings.min_lift,
        messages_in_window=len(current),
        messages_in_baseline=len(baseline),
        terms=hot[: settings.max_terms],
        clusters=[topics._cluster_public(session, t, m, b, settings, names) for t, m, b in clusters],
    )


def _reference_clusters(
    hot: Sequence[TopicTerm],
    current: Sequence[topics._Item],
    holding_any: Callable[[set[str]], int],
    settings: topics.TopicSettings,
    n: int,
) -> list[tuple[list[str], list[topics._Item], float]]:
    groups: list[tuple[list[str], set[int]]] = []
    by_term: dict[str, set[int]] = {t.term: set() for t in hot}
    for item in current:
        for term in item.terms & by_term.keys():
            by_term[term].add(item.id)
    for topic in hot:
        ids = by_term[topic.term]
        for terms, members in groups:
            if len(ids & members) * 2 >= len(ids):
                terms.append(topic.term)
                members |= ids
                break
        else:
            groups.append(([topic.term], set(ids)))
    out = []
    for terms, members in groups:
        count = len(members)
        if count < settings.min_count:
            continue
        before = holding_any(set(terms)) / n
        if (count + 1) / (before + 1) < settings.min_lift:
            continue
        items = sorted(
            (i for i in current if i.id in members), key=lambda i: (i.received_at, i.id), reverse=True
        )
        out.append((sorted(terms, key=lambda t: -len(by_term[t])), items, before))
    out.sort(key=lambda c: (-len(c[1]), c[0][0]))
    return out[: settings.max_clusters]


def _text(rng: random.Random, received: datetime) -> str:
    if AT - received < timedelta(days=3) and rng.random() < 0.4:
        words = [*STORY, *rng.sample(WORDS, rng.randrange(0, 2))]
    else:
        words = rng.sample(WORDS, rng.randrange(1, 4))
    return "，".join(words) + "的问题请处理"


def _add(add_message: Any, accounts: dict[str, Any], rng: random.Random, count: int, days: int = 21) -> None:
    for _ in range(count):
        received = AT - timedelta(days=days) * rng.random()
        if rng.random() < 0.15:  # on a local midnight of either zone, or a microsecond off it
            day = (AT - timedelta(days=rng.randrange(days))).astimezone(rng.choice(ZONES)).date()
            midnight = datetime.combine(day, datetime.min.time(), rng.choice(ZONES)).astimezone(UTC)
            received = midnight + timedelta(microseconds=rng.choice([-1, 0, 1]))
        message_id = add_message(accounts[rng.choice(list(accounts))], received, content=_text(rng, received))
        if rng.random() < 0.6:  # the rest have no stored terms: segmented when read or counted
            with session_scope() as session:
                text = session.get(Message, message_id).content  # type: ignore[union-attr]
                session.add(
                    MessageTerms(
                        message_id=message_id, version=topics.TERMS_VERSION, terms=topics.message_terms(text)
                    )
                )


ZONES = [ZoneInfo("Asia/Shanghai"), ZoneInfo("Europe/Berlin")]  # Berlin: summer time from 2026-03-29


def _compare(rng: random.Random, tz: ZoneInfo, hours: Sequence[int] = (6, 24, 30, 48, 72)) -> int:
    """Random requests; returns how many clusters the reference found in all (the test must see some)."""
    principals = [
        None,
        Principal(user_id=None, name="甲", role=Role.operator, unit_code="a", units=frozenset({"a", "b"})),
    ]
    clusters = 0
    for _ in range(12):
        choice = rng.random()
        if choice < 0.3:
            at = AT
        elif choice < 0.6:  # a local midnight
            day = (AT - timedelta(days=rng.randrange(3))).astimezone(tz).date()
            at = datetime.combine(day, datetime.min.time(), tz).astimezone(UTC)
        else:
            at = AT - timedelta(hours=rng.randrange(0, 72), minutes=rng.randrange(60))
        settings = topics.TopicSettings(
            window=timedelta(hours=rng.choice(hours)),
            baseline_windows=rng.choice([1, 2, 3, 7]),
            min_count=rng.choice([2, 3]),
            min_lift=rng.choice([1.5, 3.0]),
        )
        principal = rng.choice(principals)
        unit_code = rng.choice([None, None, "b"])
        with session_scope() as session:
            expected = reference_hot_topics(session, principal, at, settings, unit_code)
            got = topics.hot_topics(
                session=session, principal=principal, at=at, settings=settings, unit_code=unit_code, tz=tz
            )
        assert got.model_dump() == expected.model_dump(), (at, settings, principal, unit_code)
        clusters += len(expected.clusters)
    return clusters


@pytest.mark.parametrize("seed", range(4))
def test_counts_give_the_same_topics_as_reading_every_message(
    client, make_unit, make_account, add_message, monkeypatch, seed: int
) -> None:
    # Few terms always summed, so that the others' bound on messages read one by one is exercised.
    monkeypatch.setattr(topics, "_ALWAYS_SUMMED", seed % 3)
    # Past this many candidates, the terms read one by one are counted exactly (seeds 0 and 1 get there).
    monkeypatch.setattr(topics, "_NAMED_AT_ONCE", (0, 3, 500, 500)[seed])
    rng = random.Random(seed)
    tz = ZONES[seed % 2]
    for code in ("a", "b", "c"):
        make_unit(code, f"单位{code}")
    accounts = {code: make_account(code) for code in ("a", "b", "c")}
    _add(add_message, accounts, rng, 220)
    clusters = _compare(rng, tz)  # nothing counted yet: every day message by message

    with session_scope() as session:
        assert topics.count_days(session=session, now=AT, tz=tz, max_days=None) >= 20
        assert topics.count_days(session=session, now=AT, tz=tz, max_days=None) == 0  # idempotent
        assert session.execute(select(func.count()).select_from(TopicDayTerm)).scalar_one() > 0
    clusters += _compare(rng, tz)

    # Counted days change: messages added to them, moved to another unit, deleted.
    _add(add_message, accounts, rng, 40)
    with session_scope() as session:
        ids = list(session.execute(select(Message.id)).scalars())
        moved, gone = rng.sample(ids, 15), rng.sample(ids, 5)
        session.execute(
            update(Message).where(Message.id.in_(moved)).values(unit_code=rng.choice(["a", "b", "c"]))
        )  # type: ignore[union-attr]
        session.execute(delete(MessageTerms).where(MessageTerms.message_id.in_(gone)))  # type: ignore[attr-defined]
        session.execute(delete(Message).where(Message.id.in_(gone)))  # type: ignore[union-attr]
    clusters += _compare(rng, tz)

    with session_scope() as session:
        assert topics.count_days(session=session, now=AT, tz=tz, max_days=None) > 0
    clusters += _compare(rng, tz)
    assert clusters > 0


def test_the_job_counts_whole_days_before_today_newest_first_a_bounded_number(
    client, make_unit, make_account, add_message
) -> None:
    make_unit("a", "甲局")
    account = make_account("a")
    tz = ZONES[0]
    for days in range(6):
        add_message(account, AT - timedelta(days=days), content="噪音扰民")
    with session_scope() as session:
        assert topics.count_days(session=session, now=AT, tz=tz, max_days=2) == 2
        today = AT.astimezone(tz).date()
        counted = sorted(session.execute(select(TopicDay.day)).scalars())
        assert counted == [today - timedelta(days=2), today - timedelta(days=1)]
        assert topics.count_days(session=session, now=AT, tz=tz, max_days=None) == 3
        rows = session.execute(
            select(TopicDayTerm.count, TopicDayTerm.ids).where(
                TopicDayTerm.term == "噪音扰民", TopicDayTerm.day == today - timedelta(days=1)
            )
        ).all()
        assert [(count, len(ids)) for count, ids in rows] == [(1, 1)]
        # A day counted in another zone is counted again.
        assert topics.count_days(session=session, now=AT, tz=ZONES[1], max_days=None) == 5


@pytest.mark.parametrize("seed", range(2))
def test_week_and_month_sums_give_the_same_topics(
    client, make_unit, make_account, add_message, seed: int
) -> None:
    rng = random.Random(100 + seed)
    tz = ZONES[seed % 2]
    for code in ("a", "b", "c"):
        make_unit(code, f"单位{code}")
    accounts = {code: make_account(code) for code in ("a", "b", "c")}
    _add(add_message, accounts, rng, 260, days=75)
    first = AT - timedelta(days=1)
    with session_scope() as session:
        assert topics.count_days(session=session, now=first, tz=tz, max_days=None) >= 70
        spans = Counter(session.execute(select(TopicSpan.kind)).scalars())
        assert spans["month"] >= 1 and spans["week"] >= 9, spans
        # Nothing changed: neither days nor spans are counted again.
        assert topics.count_days(session=session, now=first + timedelta(hours=1), tz=tz, max_days=None) == 0
        assert set(session.execute(select(TopicSpan.counted_at)).scalars()) == {first}
        # A request without a unit scope over February reads its month's sums.
        feb = datetime(2026, 3, 1, tzinfo=tz).astimezone(UTC)
        windows = topics._Windows(session, None, None, feb - timedelta(days=35), feb, AT, tz)
        assert ("month", datetime(2026, 2, 1).date()) in windows._spans[False]
        assert windows._spans[True]  # whole weeks of March
    hours = (24 * 7, 24 * 10, 24 * 14)
    clusters = _compare(rng, tz, hours)

    # Messages of summed spans change: their sums are not used until summed again.
    _add(add_message, accounts, rng, 30, days=75)
    with session_scope() as session:
        ids = list(session.execute(select(Message.id)).scalars())
        gone = rng.sample(ids, 5)
        session.execute(delete(MessageTerms).where(MessageTerms.message_id.in_(gone)))  # type: ignore[attr-defined]
        session.execute(delete(Message).where(Message.id.in_(gone)))  # type: ignore[union-attr]
    clusters += _compare(rng, tz, hours)
    with session_scope() as session:
        assert topics.count_days(session=session, now=AT, tz=tz, max_days=None) > 0
        assert AT in set(session.execute(select(TopicSpan.counted_at)).scalars())
    clusters += _compare(rng, tz, hours)
    assert clusters > 0


def test_a_span_is_summed_only_from_days_counted_in_its_zone(
    client, make_unit, make_account, add_message
) -> None:
    make_unit("a", "甲局")
    account = make_account("a")
    tz = ZONES[0]
    for days in range(20):
        add_message(account, AT - timedelta(days=days), content="噪音扰民")
    with session_scope() as session:
        topics.count_days(session=session, now=AT, tz=tz, max_days=None)
        assert set(session.execute(select(TopicSpan.kind, TopicSpan.start)).tuples()) == {
            ("week", date(2026, 3, 16)),
            ("week", date(2026, 3, 23)),
        }
        week = topics._span_days("week", date(2026, 3, 16))
        session.execute(update(TopicDay).where(TopicDay.day == week[3]).values(zone="Europe/Berlin"))  # type: ignore[arg-type]
        assert topics._sum_span(session, "week", week[0], week, tz, AT) == 0
        session.execute(delete(TopicDay).where(TopicDay.day == week[3]))  # type: ignore[arg-type]
        assert topics._sum_span(session, "week", week[0], week, tz, AT) == 0
        last = topics._span_days("week", date(2026, 3, 23))
        assert topics._sum_span(session, "week", last[0], last, tz, AT) == 1
        rows = session.execute(
            select(TopicSpanTerm.count, TopicSpanTerm.ids).where(TopicSpanTerm.start == last[0])
        ).all()
        assert [(count, len(ids)) for count, ids in rows] == [(7, 7)]
