"""Demo data: the development Q&A set (dev_eval.json `kb`) as published entries of their units. Idempotent."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlmodel import Session

from app import clock
from app.auth import SYSTEM
from app.knowledge import service
from app.knowledge.models import EntryStatus
from app.units import service as units


def load(session: Session, data_dir: Path, summary: dict[str, Any]) -> None:
    """Adds each development KB entry whose unit exists, once (runs after the base demo made the units)."""
    path = data_dir / "dev_eval.json"
    summary.setdefault("kb_entries", 0)
    if not path.exists():
        return
    items = json.loads(path.read_text(encoding="utf-8")).get("kb", [])
    now = clock.now()
    added = 0
    for item in items:
        unit_code = item.get("unit")
        if unit_code and units.get_by_code(session=session, code=unit_code) is None:
            continue
        if service.find_same(session=session, unit_code=unit_code, question=item["question"]) is not None:
            continue
        fields = service.validated(
            {"question": item["question"], "answer": item["answer"], "unit_code": unit_code}
        )
        service.save(
            session=session,
            actor=SYSTEM,
            entry=None,
            fields=fields,
            status=EntryStatus.published,
            note="演示数据",
            now=now,
        )
        added += 1
    if added:
        service.commit(session=session, now=now)
    summary["kb_entries"] = added
