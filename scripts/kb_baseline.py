"""Plain baseline for KB suggestions: jieba (default dictionary) + Okapi BM25 over standard questions only.

`python scripts/kb_baseline.py` prints its figures on the development set; `kb_eval_lib` compares.
"""

from __future__ import annotations

import math
import sys
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from scripts.kb_eval_lib import EvalEntry, evaluate, format_table, load_dev  # noqa: E402


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
                    s += (
                        self.idf[w]
                        * tf
                        * (self.k1 + 1)
                        / (tf + self.k1 * (1 - self.b + self.b * dl / self.avgdl))
                    )
            if s > 0:
                scored.append((s, entry_id))
        scored.sort(key=lambda x: (-x[0], x[1]))
        return [BaselineHit(i, s, True) for s, i in scored[:limit]]


def main() -> None:
    entries, queries = load_dev()
    result = evaluate(BaselineBM25(entries), queries)
    print(format_table({"baseline": result}))


if __name__ == "__main__":
    main()
