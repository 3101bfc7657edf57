"""The reports' background job: hot-topic alerts to the supervising office."""

from __future__ import annotations

from app.jobs import Job
from app.reports.alerts import run

TOPIC_ALERT_SECONDS = 900.0


def jobs() -> list[Job]:
    return [Job("topic-alerts", run, TOPIC_ALERT_SECONDS, True)]
