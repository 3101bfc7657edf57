"""Engine-level evaluation of KB suggestions on the development set (data/dev_eval.json).

Reused by the HTTP-level `scripts/eval_kb.py`: anything with `search(text, *, unit_code=None, limit=5)`
returning items with `entry_id` and `confident` can be evaluated; `with_ids` maps the expected
development keys to the ids an API assigned. `python scripts/kb_eval_lib.py [-v] [--distractors N]`
prints the engine and the plain baseline (`scripts/kb_baseline.py`) side by side; -v lists the
engine's misses; --distractors adds N off-topic entries from the real message board.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


class Hit(Protocol):
    @property
    def entry_id(self) -> int: ...
    @property
    def confident(self) -> bool: ...


class Searcher(Protocol):
    def search(self, text: str, *, unit_code: str | None = None, limit: int = 5) -> Sequence[Hit]: ...


@dataclass(frozen=True)
class EvalEntry:
    entry_id: int
    key: str
    unit_code: str
    question: str
    answer: str


@dataclass(frozen=True)
class EvalQuery:
    text: str
    expect: int | None  # entry id of the expected answer, None when the KB has none
    style: str
    expect_key: str | None = None  # the development-set key ("d001")


def entry_number(key: str) -> int:
    """d001 → 1: the integer id used for a development-set KB key."""
    return int(key.lstrip("d"))


def load_dev(path: Path | None = None) -> tuple[list[EvalEntry], list[EvalQuery]]:
    """KB entries and KB queries of dev_eval.json, with integer entry ids."""
    raw = json.loads((path or DATA / "dev_eval.json").read_text(encoding="utf-8"))
    entries = [
        EvalEntry(entry_number(k["id"]), k["id"], k["unit"], k["question"], k["answer"]) for k in raw["kb"]
    ]
    queries = [
        EvalQuery(q["text"], entry_number(q["expect"]) if q["expect"] else None, q["style"], q["expect"])
        for q in raw["queries"]
    ]
    return entries, queries


def with_ids(queries: Iterable[EvalQuery], ids: Mapping[str, int]) -> list[EvalQuery]:
    """The queries expecting the ids an API gave the entries (`ids`: development key → entry id)."""
    return [replace(q, expect=ids[q.expect_key] if q.expect_key else None) for q in queries]


def evaluate(index: Searcher, queries: Iterable[EvalQuery]) -> dict[str, Any]:
    """top1, top3, MRR over answerable queries; share of no-match queries answered `confident`."""
    n = hits1 = hits3 = 0
    rr = 0.0
    nomatch = nomatch_conf = 0
    by_style: dict[str, list[int]] = {}
    misses: list[tuple[str, int | None, list[int]]] = []
    for q in queries:
        results = list(index.search(q.text, limit=10))
        ids = [r.entry_id for r in results]
        if q.expect is None:
            nomatch += 1
            confident = bool(results) and results[0].confident
            nomatch_conf += confident
            if confident:
                misses.append((q.text, None, ids[:3]))
            continue
        n += 1
        top1 = bool(ids) and ids[0] == q.expect
        hits1 += top1
        hits3 += q.expect in ids[:3]
        if q.expect in ids:
            rr += 1.0 / (ids.index(q.expect) + 1)
        style = by_style.setdefault(q.style, [0, 0])
        style[0] += top1
        style[1] += 1
        if not top1:
            misses.append((q.text, q.expect, ids[:3]))
    return {
        "top1": hits1 / n if n else 0.0,
        "top3": hits3 / n if n else 0.0,
        "mrr": rr / n if n else 0.0,
        "nomatch_confident": nomatch_conf / nomatch if nomatch else 0.0,
        "answerable": n,
        "nomatch": nomatch,
        "top1_by_style": {k: v[0] / v[1] for k, v in sorted(by_style.items())},
        "misses": misses,
    }


def distractors(count: int, *, seed: int = 7, first_id: int = 100_000) -> list[EvalEntry]:
    """`count` off-topic entries from the real message board: a message subject as the question and
    60-200 characters of an official reply or message as the answer (never a development entry)."""
    subjects: list[str] = []
    texts: list[str] = []
    for name in ("messages_labeled.csv", "messages_with_replies.csv", "messages_hot.csv"):
        with (DATA / "wenzheng-2020" / name).open(encoding="utf-8", newline="") as f:
            for row in csv.DictReader(f):
                subjects.append(row["subject"])
                texts.append(row.get("reply") or row["content"])
    rng = random.Random(seed)
    out = []
    for i in range(count):
        text = rng.choice(texts)
        length = rng.randint(60, 200)
        start = rng.randint(0, max(0, len(text) - length))
        out.append(
            EvalEntry(first_id + i, f"x{i}", "board", rng.choice(subjects), text[start : start + length])
        )
    return out


def engine_index(entries: Iterable[EvalEntry]) -> Any:
    """A `kb.KBIndex` loaded with the given entries."""
    from kb.index import KBEntry, KBIndex

    index = KBIndex()
    index.build(KBEntry(e.entry_id, e.question, e.answer, (), e.unit_code) for e in entries)
    return index


def format_table(rows: dict[str, dict[str, Any]]) -> str:
    """Metrics side by side, one column per system."""
    names = list(rows)
    lines = ["metric".ljust(20) + "".join(n.rjust(12) for n in names)]
    for key in ("top1", "top3", "mrr", "nomatch_confident"):
        lines.append(key.ljust(20) + "".join(f"{rows[n][key]:12.3f}" for n in names))
    return "\n".join(lines)


def main() -> None:
    from scripts.kb_baseline import BaselineBM25

    parser = argparse.ArgumentParser(description="KB engine vs baseline on dev_eval.json")
    parser.add_argument("-v", action="store_true", help="list the engine's misses")
    parser.add_argument(
        "--distractors", type=int, default=0, help="add this many off-topic real entries (robustness)"
    )
    args = parser.parse_args()
    entries, queries = load_dev()
    entries += distractors(args.distractors)
    engine = evaluate(engine_index(entries), queries)
    baseline = evaluate(BaselineBM25(entries), queries)
    print(f"{len(entries)} entries, {len(queries)} queries")
    print(format_table({"engine": engine, "baseline": baseline}))
    print("engine top1 by style:", {k: round(v, 2) for k, v in engine["top1_by_style"].items()})
    print("baseline top1 by style:", {k: round(v, 2) for k, v in baseline["top1_by_style"].items()})
    if args.v:
        for text, expect, got in engine["misses"]:
            print(f"  miss expect={expect} got={got} {text}")


if __name__ == "__main__":
    main()
