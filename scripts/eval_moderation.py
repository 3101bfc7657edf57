"""Evaluate moderation on the dev set: abuse recall and false flags, personal-data span recall and false masks.

Usage: python scripts/eval_moderation.py [--verbose]
Reads data/dev_eval.json (abuse[], pii[]) and prints the figures plus the time per check.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"
sys.path.insert(0, str(ROOT))

from app.moderation.check import check  # noqa: E402
from app.moderation.lexicon import default_lexicon  # noqa: E402
from kb.normalise import normalise  # noqa: E402


def eval_abuse(items: list[dict[str, object]], verbose: bool) -> dict[str, float]:
    abusive = [i for i in items if i["abusive"]]
    legitimate = [i for i in items if not i["abusive"]]
    caught = 0
    for item in abusive:
        hit = check(str(item["text"])).abusive
        caught += hit
        if verbose and not hit:
            print(f"  missed: {item['text']}")
    flagged = 0
    for item in legitimate:
        result = check(str(item["text"]))
        flagged += result.abusive
        if verbose and result.abusive:
            terms = [h.term for h in result.hits if h.kind == "abuse"]
            print(f"  false flag {terms}: {item['text']}")
    return {"abuse_recall": caught / len(abusive), "abuse_false_flag_rate": flagged / len(legitimate)}


def eval_pii(items: list[dict[str, object]], verbose: bool) -> dict[str, float]:
    expected = found = false_masks = 0
    for item in items:
        text = str(item["text"])
        want = [str(s) for s in item["spans"]]  # type: ignore[attr-defined]
        got = [span.text for span in check(text).pii]
        expected += len(want)
        found += sum(1 for s in want if s in got)
        extra = [s for s in got if s not in want]
        false_masks += len(extra)
        if verbose and (extra or any(s not in got for s in want)):
            print(f"  want={want} got={got}: {text}")
    return {"pii_span_recall": found / expected, "pii_false_masks": float(false_masks)}


def bench(texts: list[str], rounds: int = 20) -> None:
    """Microseconds per check() on 100-character messages (best of five runs)."""
    long = [(t * 4)[:100] for t in texts]
    plain = [normalise(t) for t in long]
    default_lexicon()
    raw = pre = math.inf
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(rounds):
            for text in long:
                check(text)
        raw = min(raw, (time.perf_counter() - started) / (rounds * len(long)) * 1e6)
        started = time.perf_counter()
        for _ in range(rounds):
            for text, norm in zip(long, plain, strict=True):
                check(text, normalised=norm)
        pre = min(pre, (time.perf_counter() - started) / (rounds * len(long)) * 1e6)
    print(f"  check(): {raw:.0f} µs per 100-char message ({pre:.0f} µs with the text already normalised)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--verbose", action="store_true", help="print misses and false flags")
    args = parser.parse_args()
    data = json.loads((DATA / "dev_eval.json").read_text(encoding="utf-8"))
    print("dev_eval.json abuse")
    for key, value in eval_abuse(data["abuse"], args.verbose).items():
        print(f"  {key}: {value:.3f}")
    print("dev_eval.json pii")
    for key, value in eval_pii(data["pii"], args.verbose).items():
        print(f"  {key}: {value:.3f}")
    print("speed")
    bench([str(i["text"]) for i in data["abuse"] + data["pii"]])


if __name__ == "__main__":
    main()
