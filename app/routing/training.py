"""Learning from people's routing decisions: labelled examples (every transfer and assignment, plus
imported labelled files), training the model, and what model is in use."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import datetime

from sqlalchemy.orm import defer
from sqlmodel import Session, col, delete, select

from app import clock
from app.audit.service import record
from app.auth import Principal
from app.errors import BadRequest, Invalid, NotFound, uploaded_file
from app.messages.models import Message
from app.messages.present import masked
from app.routing.models import (
    ExampleCreate,
    ExampleSource,
    ImportReport,
    ModelInfo,
    RejectedRow,
    RoutingExample,
    RoutingModelRow,
)
from app.routing.service import bump_version
from app.units.models import Unit
from app.users.models import Role
from connectors.spreadsheet import read_spreadsheet
from kb import classifier
from kb.normalise import normalise

MAX_REJECTED_SHOWN = 100


def _hash(text: str) -> str:
    return hashlib.sha256(normalise(text).encode("utf-8")).hexdigest()[:40]


def record_example(
    *,
    session: Session,
    message: Message,
    unit_code: str,
    source: ExampleSource,
    actor: Principal,
    now: datetime,
) -> None:
    """Keeps the message (personal data masked) with the unit a person chose; the latest choice for a
    message replaces the earlier ones, so a message bounced A → B → C teaches only C."""
    assert message.id is not None
    session.execute(delete(RoutingExample).where(col(RoutingExample.message_id) == message.id))
    text = masked(message.content)
    session.add(
        RoutingExample(
            message_id=message.id,
            text=text,
            text_hash=_hash(text),
            unit_code=unit_code,
            source=source.value,
            created_by=actor.name[:64],
            created_at=now,
        )
    )


def _unit_lookup(session: Session) -> dict[str, str]:
    """Unit code or exact name → code."""
    lookup: dict[str, str] = {}
    for code, name in session.exec(select(Unit.code, Unit.name)):
        lookup.setdefault(name.strip(), code)
    for code, _ in session.exec(select(Unit.code, Unit.name)):
        lookup[code] = code
    return lookup


def add_examples(
    *,
    session: Session,
    actor: Principal,
    items: Iterable[ExampleCreate],
    first_row: int = 1,
    now: datetime | None = None,
) -> ImportReport:
    """Stores imported labelled examples (admin); the unit may be given by code or by exact name. The
    same text with the same unit is stored once, so importing a file twice adds nothing."""
    actor.require(Role.admin)
    now = now or clock.now()
    lookup = _unit_lookup(session)
    known = {
        (h, u)
        for h, u in session.exec(
            select(RoutingExample.text_hash, RoutingExample.unit_code).where(
                RoutingExample.source == ExampleSource.imported.value
            )
        )
    }
    imported, duplicates, rejected = 0, 0, []
    for row, item in enumerate(items, start=first_row):
        unit = lookup.get(item.unit_code.strip())
        text = masked(item.text.strip())
        if unit is None:
            rejected.append(RejectedRow(row=row, reason=f"单位“{item.unit_code}”不存在"))
            continue
        if not normalise(text):
            rejected.append(RejectedRow(row=row, reason="文本为空"))
            continue
        key = (_hash(text), unit)
        if key in known:
            duplicates += 1
            continue
        known.add(key)
        session.add(
            RoutingExample(
                text=text,
                text_hash=key[0],
                unit_code=unit,
                source=ExampleSource.imported.value,
                created_by=actor.name[:64],
                created_at=now,
            )
        )
        imported += 1
    record(
        session=session,
        actor=actor,
        action="routing.examples.import",
        entity_type="routing_examples",
        entity_id="import",
        after={"imported": imported, "duplicates": duplicates, "rejected": len(rejected)},
        at=now,
    )
    session.commit()
    return ImportReport(imported=imported, duplicates=duplicates, rejected=rejected[:MAX_REJECTED_SHOWN])


def read_labelled(
    data: bytes, *, filename: str, text_column: str, unit_column: str
) -> Iterator[ExampleCreate]:
    """(text, unit) rows of a CSV or XLSX file with a header row; BadRequest if a column is missing.
    The text column may name several columns joined with "+" ("subject+content")."""
    with uploaded_file():
        table = list(read_spreadsheet(data, filename=filename))
    rows = iter([["" if v is None else str(v) for v in values] for values in table])
    header = [h.strip() for h in next(rows, [])]
    text_parts = [part.strip() for part in text_column.split("+")]
    missing = [c for c in [*text_parts, unit_column] if c not in header]
    if missing:
        raise BadRequest(f"文件缺少列：{'、'.join(missing)}（表头：{'、'.join(header)}）")
    text_at = [header.index(c) for c in text_parts]
    unit_at = header.index(unit_column)
    for values in rows:
        if not any(v.strip() for v in values):
            continue
        cells = values + [""] * (len(header) - len(values))
        text = "。".join(cells[i].strip() for i in text_at if cells[i].strip())
        yield ExampleCreate.model_construct(text=text, unit_code=cells[unit_at].strip())


def import_file(
    *,
    session: Session,
    actor: Principal,
    data: bytes,
    filename: str,
    text_column: str = "text",
    unit_column: str = "unit",
) -> ImportReport:
    """Imports a labelled CSV/XLSX file (rows numbered as in a spreadsheet, the header being row 1)."""
    actor.require(Role.admin)
    items = list(read_labelled(data, filename=filename, text_column=text_column, unit_column=unit_column))
    return add_examples(session=session, actor=actor, items=items, first_row=2)


def train(*, session: Session, actor: Principal, now: datetime | None = None) -> RoutingModelRow:
    """Trains the model on every labelled example of an existing unit, stores it as the next version and
    puts it in force in every process (admin). 422 without examples."""
    actor.require(Role.admin)
    now = now or clock.now()
    units = set(session.exec(select(Unit.code)))
    examples: list[tuple[str, str]] = []
    sources: Counter[str] = Counter()
    for text, unit, source in session.exec(
        select(RoutingExample.text, RoutingExample.unit_code, RoutingExample.source)
    ):
        if unit in units:
            examples.append((text, unit))
            sources[source] += 1
    if not examples:
        raise Invalid("还没有标注样本：转办、分派留言或导入标注文件后再训练")
    model = classifier.train(examples)
    row = RoutingModelRow(
        trained_at=now,
        trained_by=actor.name[:64],
        example_count=len(examples),
        classes=dict(sorted(model.examples.items())),
        sources=dict(sources),
        data=model.to_json(),
    )
    session.add(row)
    session.flush()
    bump_version(session=session, now=now)
    record(
        session=session,
        actor=actor,
        action="routing.train",
        entity_type="routing_model",
        entity_id=row.id,
        after={"examples": len(examples), "classes": len(model.units), "sources": dict(sources)},
        at=now,
    )
    session.commit()
    return row


def info(row: RoutingModelRow) -> ModelInfo:
    assert row.id is not None
    return ModelInfo(
        version=row.id,
        trained_at=row.trained_at,
        trained_by=row.trained_by,
        example_count=row.example_count,
        classes=row.classes,
        sources=row.sources,
    )


def model_info(*, session: Session, actor: Principal) -> ModelInfo:
    """The model in use; 404 before the first training."""
    actor.require(Role.admin, Role.supervisor, Role.auditor)
    row = session.exec(
        select(RoutingModelRow)
        .options(defer(RoutingModelRow.data))  # type: ignore[arg-type]
        .order_by(col(RoutingModelRow.id).desc())
        .limit(1)
    ).first()
    if row is None:
        raise NotFound("尚未训练分派模型")
    return info(row)
