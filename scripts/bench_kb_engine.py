"""Benchmark of the KB engine in-process: build time and suggest latency with 10,000 synthetic entries.

Entries are random recombinations of the development KB and real message-board subjects, contents
and replies (data/), so that term statistics look like real Chinese government text.
Wall-clock figures include time the process waited for a CPU; "cpu" is the thread's own CPU time.
`search_many` is measured per message over batches of `--batch` messages (the pipeline's batch),
on raw texts and on texts the pipeline already normalised. Median CPU figures are the ones to
compare on a shared machine.
Usage: python scripts/bench_kb_engine.py [--entries 10000] [--queries 2000] [--batch 200] [--seed 7]
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"
sys.path.insert(0, str(ROOT))

from kb.index import KBEntry, KBIndex  # noqa: E402
from kb.normalise import normalise  # noqa: E402
from kb.segment import warm_up  # noqa: E402


def _pieces() -> tuple[list[str], list[str], list[str]]:
    """Question-like texts, answer-like texts, and query-like texts from the shared data."""
    dev = json.loads((DATA / "dev_eval.json").read_text(encoding="utf-8"))
    questions = [k["question"] for k in dev["kb"]]
    answers = [k["answer"] for k in dev["kb"]]
    queries = [q["text"] for q in dev["queries"]]
    wz = DATA / "wenzheng-2020"
    for name in ("messages_labeled.csv", "messages_with_replies.csv", "messages_hot.csv"):
        with (wz / name).open(encoding="utf-8", newline="") as f:
            for row in csv.DictReader(f):
                questions.append(row["subject"])
                queries.append(row["content"])
                answers.append(row.get("reply") or row["content"])
    return questions, answers, queries


def _clauses(text: str) -> list[str]:
    out, cur = [], []
    for ch in text:
        cur.append(ch)
        if ch in "，。？！；,?!;":
            out.append("".join(cur))
            cur = []
    if cur:
        out.append("".join(cur))
    return [c for c in out if len(c) > 1]


def synthetic_entries(n: int, rng: random.Random) -> list[KBEntry]:
    """`n` entries: a subject or question, optionally joined with a clause of another, and an
    answer of 60-200 characters cut from a random reply or message."""
    questions, answers, _ = _pieces()
    clause_pool = [c for q in questions for c in _clauses(q)]
    units = [f"u{i:02d}" for i in range(40)]
    entries = []
    for i in range(n):
        q = rng.choice(questions)
        if rng.random() < 0.6:
            q = q.rstrip("？?。") + "，" + rng.choice(clause_pool)
        src = rng.choice(answers)
        length = rng.randint(60, 200)
        start = rng.randint(0, max(0, len(src) - length))
        alts = [rng.choice(questions)] if rng.random() < 0.2 else []
        entries.append(KBEntry(i + 1, q, src[start : start + length], alts, rng.choice(units)))
    return entries


def synthetic_queries(n: int, rng: random.Random, length: int = 100) -> list[str]:
    """`n` citizen-like texts of about `length` characters."""
    _, _, queries = _pieces()
    out = []
    for _ in range(n):
        text = ""
        while len(text) < length:
            text += rng.choice(queries)
        start = rng.randint(0, len(text) - length)
        out.append(text[start : start + length])
    return out


def _pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(p * len(values)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=2_000)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)

    t = time.perf_counter()
    warm_up()
    print(f"segmenter warm-up        {time.perf_counter() - t:8.3f} s")
    entries = synthetic_entries(args.entries, rng)
    index = KBIndex()
    t, cpu = time.perf_counter(), time.process_time()
    index.build(entries)
    print(
        f"build {len(index):>6} entries     {time.perf_counter() - t:8.3f} s"
        f"  (cpu {time.process_time() - cpu:.3f} s)"
    )

    t, cpu = time.perf_counter(), time.process_time()
    index.upsert(entry_id=1, question=entries[1].question, answer=entries[2].answer)
    index.compile()
    print(
        f"upsert + recompile       {time.perf_counter() - t:8.3f} s  (cpu {time.process_time() - cpu:.3f} s)"
    )

    for length in (100, 20, 4):
        for q in synthetic_queries(50, rng, length):
            index.search(q)  # warm caches with other texts than the measured ones
        qs = synthetic_queries(args.queries, rng, length)
        for explained in (True, False):
            times, cpu_times = [], []
            for q in qs:
                t0, c0 = time.perf_counter(), time.thread_time()
                index.search(q, limit=5, explain=explained)
                cpu_times.append((time.thread_time() - c0) * 1000)
                times.append((time.perf_counter() - t0) * 1000)
            print(
                f"search {length:>3}-char{'' if explained else ' unexplained':<12}"
                f" p50 {statistics.median(times):.3f} ms  p99 {_pct(times, 0.99):.3f} ms"
                f"  (cpu p50 {statistics.median(cpu_times):.3f} p99 {_pct(cpu_times, 0.99):.3f} ms;"
                f" {len(qs)} queries)"
            )

    # The pipeline's way: a batch of messages, already normalised by the pipeline (ctx.text).
    qs = synthetic_queries(max(args.queries, args.batch), rng, 100)
    batches = [qs[i : i + args.batch] for i in range(0, len(qs) - args.batch + 1, args.batch)]
    for normalised in (False, True):
        explains: tuple[bool | int, ...] = (True, 3, False)
        for explain in explains:
            per_message = []
            for texts in batches:
                if normalised:
                    texts = [normalise(t) for t in texts]
                c0 = time.thread_time()
                index.search_many(texts, limit=5, explain=explain, normalised=normalised)
                per_message.append((time.thread_time() - c0) * 1000 / len(texts))
            print(
                f"search_many 100-char{' normalised' if normalised else '':<11} explain={explain!s:<5}"
                f"  cpu per message: median {statistics.median(per_message):.3f} ms"
                f" over {len(batches)} batches of {args.batch}"
            )


if __name__ == "__main__":
    main()
