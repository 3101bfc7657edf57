"""The SLA domain's background jobs: the sweep and the notification sender, both only on the lease holder."""

from __future__ import annotations

from functools import partial

from app.jobs import Job
from app.notifications.delivery import send_pending
from app.sla.escalation import delivery_rules
from app.sla.sweep import sweep

# Transitions happen at whole seconds of the local day; half a minute late is fine for a deadline.
SWEEP_SECONDS = 30.0
NOTIFY_SECONDS = 10.0


def jobs() -> list[Job]:
    return [
        Job("sla_sweep", sweep, SWEEP_SECONDS, True),
        Job("sla_notify", partial(send_pending, rules=delivery_rules), NOTIFY_SECONDS, True),
    ]
