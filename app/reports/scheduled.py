"""The reports' background jobs: hot-topic alerts to the supervising office, and the report roll-ups."""

from __future__ import annotations

from app.jobs import Job
from app.reports import rollups
from app.reports.alerts import run

TOPIC_ALERT_SECONDS = 900.0
ROLLUP_SECONDS = 300.0


def jobs() -> list[Job]:
    return [
        Job("topic-alerts", run, TOPIC_ALERT_SECONDS, True),
        Job("report-rollups", rollups.run, ROLLUP_SECONDS, True),
    ]
