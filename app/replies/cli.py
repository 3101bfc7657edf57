"""`huiying outbox`: publish the replies that are due now (when the scheduler is off, or to drain by hand)."""

from __future__ import annotations

import argparse
from typing import Any

from app.replies import outbox


def _outbox(args: argparse.Namespace) -> int:
    result = outbox.drain(max_batches=args.batches)
    print(
        f"recovered: {result.recovered}  claimed: {result.claimed}  published: {result.published}  "
        f"retried: {result.retried}  held: {result.held}  undeliverable: {result.undeliverable}"
    )
    return 0


def register(sub: Any) -> None:
    """Adds `outbox` to the `huiying` parser."""
    command = sub.add_parser("outbox", help="publish approved replies that are due (答复发布队列)")
    command.add_argument("--batches", type=int, default=50, help="at most this many batches of 20")
    command.set_defaults(func=_outbox)
