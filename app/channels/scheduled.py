"""The channels' background jobs: polling the accounts that are due, and re-checking their capabilities."""

from __future__ import annotations

from app.channels import capabilities, polling
from app.jobs import Job


def jobs() -> list[Job]:
    return [
        Job("channel-polls", lambda: polling.run_due(), polling.JOB_SECONDS, True),
        Job("channel-capabilities", lambda: capabilities.run_due(), capabilities.JOB_SECONDS, True),
    ]
