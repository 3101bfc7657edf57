"""Engine-level evaluation of KB suggestions on the development set, and a plain jieba + BM25 baseline.

Reused by the HTTP-level `scripts/eval_kb.py`; `python scripts/kb_eval_lib.py` prints both side by side.
"""

from __future__ import annotations

import json
import math
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / ".." / "shared" / "data"


class Hit(Protocol):
    entry_id: int
    confident: bool


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
    expect: int | None
    style: str


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
        EvalQuery(q["text"], entry_number(q["expect"]) if q["expect"] else None, q["style"])
        for q in raw["queries"]
    ]
    return entries, queries


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


@dataclass(frozen=True)
class BaselineHit:
    entry_id: int
    score: float
    confident: bool


class BaselineBM25:
    """Plain jieba (global dictionary) + Okapi BM25 over standard questions only.

    It has no notion of confidence: whatever it ranks first counts as its answer.
    """

    def __init__(self, entries: Iterable[EvalEntry], *, k1: float = 1.5, b: float = 0.75) -> None:
        import jieba

        self._cut = jieba.lcut
        self.k1, self.b = k1, b
        self.ids: list[int] = []
        self.docs: list[Counter[str]] = []
        self.lengths: list[int] = []
        for e in entries:
            words = [w for w in self._cut(e.question) if w.strip()]
            self.ids.append(e.entry_id)
            self.docs.append(Counter(words))
            self.lengths.append(len(words))
        n = len(self.docs)
        self.avgdl = sum(self.lengths) / n if n else 1.0
        df: Counter[str] = Counter()
        for d in self.docs:
            df.update(d.keys())
        self.idf = {t: math.log(1 + (n - f + 0.5) / (f + 0.5)) for t, f in df.items()}

    def search(self, text: str, *, unit_code: str | None = None, limit: int = 5) -> list[BaselineHit]:
        words = [w for w in self._cut(text) if w.strip()]
        scored = []
        for entry_id, doc, dl in zip(self.ids, self.docs, self.lengths, strict=True):
            s = 0.0
            for w in words:
                tf = doc.get(w, 0)
                if tf:
                    s += self.idf[w] * tf * (self.k1 + 1) / (tf + self.k1 * (1 - self.b + self.b * dl / self.avgdl))
            if s > 0:
                scored.append((s, entry_id))
        scored.sort(key=lambda x: (-x[0], x[1]))
        return [BaselineHit(i, s, True) for s, i in scored[:limit]]


def engine_index(entries: Iterable[EvalEntry]) -> Any:
    """A `kb.KBIndex` loaded with the development entries."""
    sys.path.insert(0, str(ROOT))
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
    entries, queries = load_dev()
    engine = evaluate(engine_index(entries), queries)
    baseline = evaluate(BaselineBM25(entries), queries)
    print(format_table({"engine": engine, "baseline": baseline}))
    print("engine top1 by style:", {k: round(v, 2) for k, v in engine["top1_by_style"].items()})
    print("baseline top1 by style:", {k: round(v, 2) for k, v in baseline["top1_by_style"].items()})
    if "-v" in sys.argv:
        for text, expect, got in engine["misses"]:
            print(f"  miss expect={expect} got={got} {text}")


if __name__ == "__main__":
    main()
