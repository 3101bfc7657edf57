"""Group commit for HTTP ingest: the messages of concurrent requests are written in one transaction,
and each request is answered only after that transaction has committed (durable before acknowledged,
as one at a time would be). One writer runs at a time, off the event loop; while it writes, the
next batch gathers. A failing batch is written again one message at a time, so one bad message
fails alone."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import anyio.to_thread
from sqlmodel import Session

from app.db import get_engine
from app.messages.service import PreparedMessage
from app.messages.storage import existing_ids, insert_message

MAX_BATCH = 200


@dataclass
class GroupCommit:
    pending: list[tuple[PreparedMessage, asyncio.Future[tuple[int, bool]]]] = field(default_factory=list)
    running: bool = False

    async def store(self, prepared: PreparedMessage) -> tuple[int, bool]:
        """Writes the message (with its queue item and audit event); returns (id, created)."""
        future: asyncio.Future[tuple[int, bool]] = asyncio.get_running_loop().create_future()
        self.pending.append((prepared, future))
        if not self.running:
            self.running = True
            asyncio.get_running_loop().create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        try:
            while self.pending:
                batch, self.pending = self.pending[:MAX_BATCH], self.pending[MAX_BATCH:]
                results: list[tuple[int, bool] | BaseException]
                try:
                    results = list(await anyio.to_thread.run_sync(_write_batch, [p for p, _ in batch]))
                except Exception:
                    results = [await _write_one_safely(p) for p, _ in batch]
                for (_, future), result in zip(batch, results, strict=True):
                    if future.done():
                        continue
                    if isinstance(result, BaseException):
                        future.set_exception(result)
                    else:
                        future.set_result(result)
        finally:
            self.running = False


def _write_batch(batch: list[PreparedMessage]) -> list[tuple[int, bool]]:
    with Session(get_engine(), expire_on_commit=False) as session:
        ids = [insert_message(session, p.values, p.audit, p.now) for p in batch]
        session.commit()
        missing = [p.key for p, i in zip(batch, ids, strict=True) if i is None]
        existing = existing_ids(session=session, keys=missing) if missing else {}
    return [(i, True) if i is not None else (existing[p.key], False) for p, i in zip(batch, ids, strict=True)]


async def _write_one_safely(prepared: PreparedMessage) -> tuple[int, bool] | BaseException:
    try:
        return (await anyio.to_thread.run_sync(_write_batch, [prepared]))[0]
    except Exception as exc:
        return exc


group_commit = GroupCommit()
