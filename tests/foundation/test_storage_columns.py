"""The column lists `app.messages.storage` keeps by hand for its plain SQL match the models: a column
added to `Message`, `IntakeItem` or `AuditEvent` must be named there (written by the ingest insert, or
left to a default the database fills), or ingest would silently drop it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table
from sqlmodel import Session

from app.accounts.service import AccountRef
from app.audit.models import AuditEvent
from app.auth import SYSTEM
from app.db import JSONType, get_engine
from app.messages import storage
from app.messages.models import IntakeItem, Message, MessageCreate
from app.messages.service import prepare


def _table(model: Any) -> Table:
    return model.__table__  # type: ignore[no-any-return]


CASES = [
    (_table(Message), storage.MESSAGE_COLUMNS, storage.MESSAGE_COLUMNS_LEFT_UNSET),
    (_table(IntakeItem), storage.INBOUND_COLUMNS, storage.INBOUND_COLUMNS_LEFT_UNSET),
    (_table(AuditEvent), storage.AUDIT_COLUMNS, storage.AUDIT_COLUMNS_LEFT_UNSET),
]


def test_every_column_is_written_or_knowingly_left_unset() -> None:
    for table, written, unset in CASES:
        assert len(set(written)) == len(written), table.name
        assert not set(written) & unset, table.name
        assert set(written) | unset == set(table.columns.keys()), table.name


def test_the_columns_left_unset_may_be_left_unset() -> None:
    for table, _, unset in CASES:
        for name in unset:
            column = table.c[name]
            assert column.primary_key or column.nullable or column.server_default is not None, (
                f"{table.name}.{name} is NOT NULL without a server default: the ingest insert must write it"
            )


def test_the_json_columns_are_the_models_json_columns() -> None:
    json_columns = {c.name for table, _, _ in CASES for c in table.columns if isinstance(c.type, JSONType)}
    assert json_columns == storage.JSON_COLUMNS


def test_prepared_messages_carry_exactly_the_written_columns() -> None:
    account = AccountRef(id=1, platform="wechat", unit_code="ZW", active=True)
    data = MessageCreate(account_id=1, external_id="m-1", content="身份证到期了怎么换？")
    with Session(get_engine()) as session:
        prepared = prepare(session=session, actor=SYSTEM, data=data, account=account)
    assert set(prepared.values) == set(storage.MESSAGE_COLUMNS)
    assert set(prepared.audit) | {"entity_id"} == set(storage.AUDIT_COLUMNS)
