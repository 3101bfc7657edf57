"""The replies' background job: publishing the approved replies that are due (every instance drains;
rows are claimed one by one, so no lease is needed)."""

from __future__ import annotations

from app.jobs import Job
from app.replies import outbox


def jobs() -> list[Job]:
    return [Job("replies-outbox", lambda: outbox.drain(max_batches=5), outbox.INTERVAL_SECONDS, False)]
