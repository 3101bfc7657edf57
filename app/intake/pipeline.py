"""The pipeline: drains the inbound queue in batches and runs each message through the intake steps
(`app.intake.steps.default_steps`: moderation → KB match → routing → … → deadline → search index).

Items are claimed by pushing their `available_at` forward by a lease (with `FOR UPDATE SKIP LOCKED`
on PostgreSQL), so several workers share the queue and a crashed worker's items come back. Each
item runs in its own savepoint: a failing item is rolled back, retried with backoff and, after
`max_attempts`, parked with its error; it never blocks the others."""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from app import clock
from app.accounts.models import Account
from app.config import Settings, get_settings
from app.db import session_scope
from app.intake.context import BatchState, PipelineContext
from app.intake.steps import BatchStep, Step, default_steps
from app.messages import storage
from app.messages.models import IntakeItem, IntakeState, Message, MessageStatus
from app.ops import metrics

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=2)


@dataclass
class BatchResult:
    claimed: int = 0
    done: int = 0
    retried: int = 0
    parked: int = 0


def backoff(attempts: int) -> timedelta:
    """Delay before the next try: 2, 4, 8 … seconds, at most 10 minutes."""
    return timedelta(seconds=min(2**attempts, 600))


class Pipeline:
    def __init__(
        self,
        steps: Sequence[tuple[str, Step]] | None = None,
        *,
        settings: Settings | None = None,
    ) -> None:
        self.steps = list(default_steps() if steps is None else steps)
        self.settings = settings or get_settings()
        # Seconds spent per step by this runner's step-by-step batches (also exported as a metric).
        self.step_seconds: dict[str, float] = {}

    def claim(self, *, now: datetime, limit: int) -> list[int]:
        """Leases up to `limit` due items to this worker; returns their ids."""
        with session_scope() as session:
            return storage.lease_due(session=session, now=now, until=now + LEASE, limit=limit)

    def run_once(self, *, now: datetime | None = None, limit: int | None = None) -> BatchResult:
        """Claims one batch and processes it; returns the counts.

        The batch first runs optimistically: every item in one transaction, no savepoints, one flush
        at the end, step by step (each step, after its batch `prepare`, over every message). Only if an
        item raises (or that flush fails) is the whole attempt rolled back and the batch run again
        message by message, each in its own savepoint, so that the failing item is retried or parked
        alone. Steps are idempotent, so running them again is safe."""
        now = now or clock.now()
        ids = self.claim(now=now, limit=limit or self.settings.pipeline_batch_size)
        result = BatchResult(claimed=len(ids))
        if not ids:
            return result
        try:
            with session_scope() as session:
                with session.no_autoflush:
                    pairs = session.execute(
                        select(IntakeItem.id, IntakeItem.message_id)
                        .where(col(IntakeItem.id).in_(ids))
                        .order_by(col(IntakeItem.id))
                    ).all()
                    batch = self._contexts(session, [message_id for _, message_id in pairs], now)
                    for name, step in self.steps:
                        started = time.perf_counter()
                        self._prepare(name, step, batch)
                        for ctx in batch:
                            step(ctx)
                        spent = time.perf_counter() - started
                        self.step_seconds[name] = self.step_seconds.get(name, 0.0) + spent
                        metrics.pipeline_step_seconds.labels(step=name).inc(spent)
                    for ctx in batch:
                        self._settle(ctx)
                    storage.write_back(session=session, messages=[ctx.message for ctx in batch])
                    storage.mark_done(session=session, item_ids=ids, now=now)
                result.done = len(ids)
            metrics.pipeline_items.labels(outcome="done").inc(len(ids))
            return result
        except Exception:  # some item failed: isolate it
            log.info("pipeline batch of %s failed; running it again item by item", len(ids))
        with session_scope() as session:
            items = session.exec(
                select(IntakeItem).where(col(IntakeItem.id).in_(ids)).order_by(col(IntakeItem.id))
            ).all()
            contexts = self._contexts(session, [item.message_id for item in items], now)
            for item, ctx in zip(items, contexts, strict=True):
                savepoint = session.begin_nested()
                try:
                    self._run_steps(ctx)
                    session.flush()
                    savepoint.commit()
                except Exception as exc:
                    savepoint.rollback()
                    session.expire(ctx.message)
                    self._failed(item, exc, now, result)
                    session.add(item)
                    continue
                item.state, item.updated_at, item.last_error = IntakeState.done, now, None
                result.done += 1
        for outcome in ("done", "retried", "parked"):
            metrics.pipeline_items.labels(outcome=outcome).inc(getattr(result, outcome))
        return result

    def _contexts(self, session: Session, message_ids: list[int], now: datetime) -> list[PipelineContext]:
        """A context per message id, in the given order, sharing one batch state."""
        messages = {m.id: m for m in session.exec(select(Message).where(col(Message.id).in_(message_ids)))}
        account_ids = {m.account_id for m in messages.values()}
        accounts = {a.id: a for a in session.exec(select(Account).where(col(Account.id).in_(account_ids)))}
        shared = BatchState()
        return [
            PipelineContext(
                session=session,
                message=messages[message_id],
                account=accounts[messages[message_id].account_id],
                now=now,
                settings=self.settings,
                batch=shared,
            )
            for message_id in message_ids
        ]

    @staticmethod
    def _prepare(name: str, step: Step, contexts: list[PipelineContext]) -> None:
        if not isinstance(step, BatchStep) or not contexts:
            return
        try:
            step.prepare(contexts)
        except Exception:
            log.exception("pipeline step %s could not prepare its batch; it runs per message", name)

    def _run_steps(self, ctx: PipelineContext) -> None:
        for _name, step in self.steps:
            step(ctx)
        self._settle(ctx)

    @staticmethod
    def _settle(ctx: PipelineContext) -> None:
        if ctx.message.status == MessageStatus.received:
            ctx.message.status = MessageStatus.open
        ctx.message.updated_at = ctx.now

    def _failed(self, item: IntakeItem, exc: Exception, now: datetime, result: BatchResult) -> None:
        item.attempts += 1
        item.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        item.updated_at = now
        if item.attempts >= self.settings.pipeline_max_attempts:
            item.state = IntakeState.parked
            result.parked += 1
            log.error("pipeline parked item %s after %s tries: %s", item.id, item.attempts, item.last_error)
            log.debug("%s", traceback.format_exception(exc))
        else:
            item.available_at = now + backoff(item.attempts)
            result.retried += 1
            log.warning("pipeline item %s failed (try %s): %s", item.id, item.attempts, item.last_error)

    def drain(self, *, now: datetime | None = None, max_batches: int = 1000) -> BatchResult:
        """Runs batches until nothing due is left (tests, CLI, demo)."""
        total = BatchResult()
        for _ in range(max_batches):
            result = self.run_once(now=now)
            if result.claimed == 0:
                break
            for name in ("claimed", "done", "retried", "parked"):
                setattr(total, name, getattr(total, name) + getattr(result, name))
        return total
