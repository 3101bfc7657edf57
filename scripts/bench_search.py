"""Keyword search cost: `GET /messages?q=` as the service runs it (`messages.service.list_messages`), over
many messages whose search terms come from the real board messages in data/wenzheng-2020.

    python -m scripts.bench_search                       # a temporary SQLite file, 200,000 messages
    python -m scripts.bench_search --pg                  # a temporary database on postgresql://postgres@127.0.0.1:5432
    python -m scripts.bench_search --pg --messages 1000000

Prints median and p99 for a frequent word, a rare word and two words together, newest first and by deadline.
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
from collections import Counter
from pathlib import Path

from scripts.bench_sweep import DEFAULT_PG, _bulk_insert, _time, prepare

DATA = Path(__file__).resolve().parents[1] / "data" / "wenzheng-2020" / "messages_with_replies.csv"
CHUNK = 20_000


def _texts() -> list[str]:
    with DATA.open(encoding="utf-8") as handle:
        return [f"{row['subject']} {row['content']}" for row in csv.DictReader(handle)]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pg", nargs="?", const=DEFAULT_PG, default=None, help="PostgreSQL server URL")
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()

    from sqlalchemy import text

    from app.auth import SYSTEM
    from app.db import get_engine, session_scope, set_engine
    from app.messages import search
    from app.messages.service import list_messages

    cleanup, account_id = prepare(args)
    engine = get_engine()
    try:
        print(f"database: {engine.dialect.name}; creating {args.messages:,} messages …", flush=True)
        _bulk_insert(engine, account_id, "bench", args.messages)
        terms = [search.terms_of(t, "市民") for t in _texts()]
        with engine.begin() as conn:
            for first in range(1, args.messages + 1, CHUNK):
                rows = [
                    {"message_id": i, "terms": terms[i % len(terms)]}
                    for i in range(first, min(first + CHUNK, args.messages + 1))
                ]
                conn.execute(search.SEARCH.insert(), rows)
            conn.execute(text("ANALYZE"))
        counts = Counter(word for line in terms for word in set(line.split()) if len(word) >= 2)
        common = next(w for w, _ in counts.most_common(30) if w != "市民")
        rare = next(
            w for w, n in sorted(counts.items(), key=lambda kv: (kv[1], kv[0])) if n == 1 and len(w) >= 3
        )
        pair = [w for w, _ in counts.most_common(40) if w not in (common, "市民")][5]
        print(
            f"{len(terms)} distinct texts; frequent word {common!r} ({counts[common]}/{len(terms)} texts), "
            f"rare word {rare!r}, pair {common!r}+{pair!r}"
        )
        for label, q in (("frequent", common), ("rare", rare), ("two words", f"{common} {pair}")):
            for sort in ("-id", "due_at"):

                def run(q: str = q, sort: str = sort) -> None:
                    with session_scope() as session:
                        list_messages(session=session, principal=SYSTEM, q=q, sort=sort, limit=50)

                run()  # warm-up
                times = sorted(_time(run, args.runs))
                p99 = times[min(len(times) - 1, int(0.99 * len(times)))]
                print(
                    f"q={label:<9} sort={sort:<6}: median {statistics.median(times):7.2f} ms, p99 {p99:7.2f} ms"
                )
    finally:
        set_engine(None)
        cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
