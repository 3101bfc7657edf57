"""Hot-topic alerts to the supervising office: a topic that crosses the thresholds is recorded once per
window and sent to the office's notification channels (WeCom / DingTalk / webhook), with retries."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import httpx
from sqlmodel import Session, col, select

from app import clock
from app.audit.service import record
from app.config import get_settings
from app.db import session_scope
from app.notifications import channels
from app.notifications.robots import Notification, backoff
from app.reports.models import TopicAlert, TopicCluster
from app.reports.topics import TopicSettings, cache_terms, count_days, hot_topics
from app.supervision.notices import fan_out, supervising_units

log = logging.getLogger(__name__)

# Alerts are louder than the board: a day against the week before, at least five messages.
ALERT_SETTINGS = TopicSettings(window=timedelta(hours=24), baseline_windows=7, min_count=5, min_lift=3.0)
MAX_ATTEMPTS = 8


def _note_text(cluster: TopicCluster, settings: TopicSettings) -> str:
    hours = int(settings.window.total_seconds() // 3600)
    span = f"{hours // 24}天" if hours % 24 == 0 and hours >= 24 else f"{hours}小时"
    units = "、".join(f"{u.unit_name or u.unit_code or '未分办'}（{u.count}）" for u in cluster.units[:5])
    lines = [
        f"最近{span}有 **{cluster.count}** 条留言涉及「{cluster.label}」，此前平均每{span} {cluster.baseline:g} 条。",
        f"涉及单位：{units}",
        "留言示例：",
        *(f"> #{s.id} {s.text}" for s in cluster.samples),
        "请关注并督促相关单位及时回应。",
    ]
    return "\n".join(lines)


def raise_alerts(
    *, session: Session, now: datetime, settings: TopicSettings = ALERT_SETTINGS
) -> list[TopicAlert]:
    """Records an alert for each hot cluster not already alerted within the last window (a cluster
    whose terms overlap a recent alert's is the same topic); returns the new alerts."""
    report = hot_topics(session=session, principal=None, at=now, settings=settings)
    if not report.clusters:
        return []
    recent = list(session.exec(select(TopicAlert).where(col(TopicAlert.created_at) > now - settings.window)))
    recipients = supervising_units(session=session)
    bucket = int(now.timestamp() // settings.window.total_seconds())
    created: list[TopicAlert] = []
    for cluster in report.clusters:
        for unit_code in recipients:
            if any(a.unit_code == unit_code and set(a.terms) & set(cluster.terms) for a in recent):
                continue
            alert = TopicAlert(
                dedupe_key=f"{unit_code}:{cluster.terms[0]}:{bucket}"[:200],
                unit_code=unit_code,
                label=cluster.label[:200],
                terms=cluster.terms,
                count=cluster.count,
                baseline=cluster.baseline,
                window_start=report.window_start,
                window_end=report.window_end,
                text=_note_text(cluster, settings),
                next_attempt_at=now,
                created_at=now,
            )
            session.add(alert)
            session.flush()
            record(
                session=session,
                actor=None,
                action="topic.alert",
                entity_type="topic_alert",
                entity_id=alert.id,
                unit_code=unit_code,
                after={"label": alert.label, "count": alert.count, "baseline": alert.baseline},
                at=now,
            )
            recent.append(alert)
            created.append(alert)
    session.commit()
    return created


def send_pending(*, session: Session, now: datetime, client: httpx.Client | None = None) -> int:
    """Sends the alerts that are due; returns how many were fully delivered."""
    due = session.exec(
        select(TopicAlert)
        .where(TopicAlert.state == "pending", col(TopicAlert.next_attempt_at) <= now)
        .order_by(col(TopicAlert.id))
    )
    delivered = 0
    for alert in due:
        targets = channels.for_target(session, alert.unit_code, "supervisor")
        if not targets:
            alert.state, alert.detail = "skipped", "督办单位未配置通知渠道"
            session.add(alert)
            continue
        note = Notification(
            title=f"舆情热点：{alert.label}",
            text=alert.text,
            urgent=False,
            dedupe_key=f"topic-alert-{alert.id}",
        )
        alert.deliveries, errors, retry = fan_out(targets, note, alert.deliveries, now=now, client=client)
        alert.attempts += 1
        if not errors:
            alert.state, alert.sent_at, alert.detail = "sent", now, None
            delivered += 1
        elif retry and alert.attempts < MAX_ATTEMPTS:
            alert.next_attempt_at = now + backoff(alert.attempts)
            alert.detail = "；".join(errors)[:500]
        else:
            alert.state, alert.detail = "failed", "；".join(errors)[:500]
        session.add(alert)
    session.commit()
    return delivered


def run(*, now: datetime | None = None, client: httpx.Client | None = None) -> int:
    """The scheduler's entry: refresh the term cache for the alert windows and the daily per-term
    counts (a bounded number of days a run), raise and send alerts."""
    now = now or clock.now()
    settings = ALERT_SETTINGS
    with session_scope() as session:
        cache_terms(session=session, since=now - settings.window * (settings.baseline_windows + 1), until=now)
        count_days(session=session, now=now, tz=get_settings().tz)
        raise_alerts(session=session, now=now, settings=settings)
        return send_pending(session=session, now=now, client=client)


def list_alerts(*, session: Session, limit: int = 50) -> list[TopicAlert]:
    """The newest alerts first."""
    return list(session.exec(select(TopicAlert).order_by(col(TopicAlert.id).desc()).limit(limit)))
