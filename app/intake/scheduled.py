"""The intake pipeline's background job: draining the messages that wait for moderation, KB matching and
routing (every instance drains; batches are claimed, so no lease is needed)."""

from __future__ import annotations

from app.config import Settings
from app.intake.pipeline import Pipeline
from app.jobs import Job


def jobs(settings: Settings) -> list[Job]:
    pipeline = Pipeline(settings=settings)
    return [
        Job("pipeline", lambda: pipeline.drain(max_batches=20), settings.pipeline_interval_seconds, False)
    ]
