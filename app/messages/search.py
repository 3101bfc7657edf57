"""Keyword search over messages (content and author name), Chinese-aware.

Each message gets one row of search terms — the normalised text segmented by the KB engine's jieba
(`kb.segment.search_terms`: canonical words plus dictionary sub-words), written by the intake's last
step. SQLite searches them with an FTS5 table kept in step by triggers; PostgreSQL with a GIN index on
`to_tsvector('simple', terms)`. A query is segmented the same way and every word must match."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Column, ForeignKey, Index, Integer, Text, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Field, Session, SQLModel, col, select

from app.db import session_scope
from app.errors import Invalid
from app.messages.models import Message
from kb.normalise import normalise
from kb.segment import search_terms

MAX_QUERY_WORDS = 12


class MessageSearch(SQLModel, table=True):
    __tablename__ = "message_search"
    # PostgreSQL only; SQLite searches its FTS5 table instead.
    __table_args__ = (
        Index("ix_message_search_tsv", text("to_tsvector('simple', terms)"), postgresql_using="gin").ddl_if(
            dialect="postgresql"
        ),
    )

    message_id: int = Field(
        sa_column=Column(Integer, ForeignKey("messages.id"), primary_key=True, autoincrement=False)
    )
    terms: str = Field(sa_column=Column(Text, nullable=False))


SEARCH = MessageSearch.__table__  # type: ignore[attr-defined]


def _words(value: str) -> list[str]:
    flat = normalise(value).lower()
    return [w.lower() for w in search_terms(flat)] or ([flat.strip()] if flat.strip() else [])


def terms_of(content: str, author_name: str) -> str:
    """The space-separated search words of a message (order and repeats do not matter)."""
    words = dict.fromkeys([*_words(content), *_words(author_name)])
    return " ".join(w.replace(" ", "") for w in words if w.strip())


def store(session: Session, *, message_id: int, content: str, author_name: str) -> None:
    """Writes (or rewrites) the message's search terms in the caller's transaction."""
    row = {"message_id": message_id, "terms": terms_of(content, author_name)}
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(SEARCH).values(**row)
    session.execute(
        statement.on_conflict_do_update(index_elements=["message_id"], set_={"terms": row["terms"]})
    )


def query_words(q: str) -> list[str]:
    words = [w.replace(" ", "") for w in _words(q)]
    words = [w for w in dict.fromkeys(words) if w]
    if not words:
        raise Invalid("搜索关键词为空（只含标点或停用词）")
    return words[:MAX_QUERY_WORDS]


def matching_ids(session: Session, q: str) -> Any:
    """A subquery of the ids of messages whose terms contain every word of `q`."""
    words = query_words(q)
    if session.get_bind().dialect.name == "postgresql":
        # OFFSET 0 keeps the planner from folding the search into a walk over messages that computes
        # to_tsvector row by row (seconds for a rare word); the GIN index finds the ids first.
        return (
            text(
                "SELECT message_id FROM message_search WHERE to_tsvector('simple', terms) @@ plainto_tsquery('simple', :q) OFFSET 0"
            )
            .bindparams(q=" ".join(words))
            .columns(message_id=Integer)
        )
    # FTS5 query syntax: each word a quoted string (quotes doubled), all of them required.
    match = " AND ".join('"' + w.replace('"', '""') + '"' for w in words)
    return (
        text("SELECT rowid AS message_id FROM message_fts WHERE message_fts MATCH :q")
        .bindparams(q=match)
        .columns(message_id=Integer)
    )


def index_message(*, session: Session, message: Message) -> None:
    """Writes the message's keyword-search terms (intake; `reindex` for every message)."""
    assert message.id is not None
    store(session, message_id=message.id, content=message.content, author_name=message.author_name)


def index_messages(*, session: Session, messages: Sequence[Message]) -> None:
    """Writes the keyword-search terms of several messages: every message is segmented first, then the
    rows are written by one statement (intake, a batch at a time)."""
    rows = [{"message_id": m.id, "terms": terms_of(m.content, m.author_name)} for m in messages]
    if not rows:
        return
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(SEARCH)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["message_id"], set_={"terms": statement.excluded.terms}
        ),
        rows,
    )


def reindex(*, session: Session, batch: int = 1000) -> int:
    """Writes the search terms of every message (after an upgrade, or to repair); returns the count.
    Runs in batches by id, committing each, so it can be stopped and run again."""
    done, last = 0, 0
    while True:
        rows = session.exec(
            select(Message.id, Message.content, Message.author_name)
            .where(col(Message.id) > last)
            .order_by(col(Message.id))
            .limit(batch)
        ).all()
        if not rows:
            return done
        for message_id, content, author_name in rows:
            assert message_id is not None
            store(session, message_id=message_id, content=content, author_name=author_name)
        session.commit()
        done += len(rows)
        last = rows[-1][0] or last


def register_cli(sub: Any) -> None:
    """`huiying messages reindex`: the keyword-search terms of every stored message."""
    messages = sub.add_parser("messages", help="messages").add_subparsers(
        dest="messages_command", required=True
    )
    command = messages.add_parser("reindex", help="rebuild the keyword-search terms of every message")
    command.set_defaults(func=_reindex_command)


def _reindex_command(_: Any) -> int:
    with session_scope() as session:
        count = reindex(session=session)
    print(f"已为 {count} 条留言重建搜索词")
    return 0
