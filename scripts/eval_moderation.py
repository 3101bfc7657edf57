"""Evaluate moderation: abuse recall and criticism false flags (separately), prohibited-content recall,
rumour flags, personal-data span recall and false masks.

Usage: python -m scripts.eval_moderation [--verbose]
Reads data/dev_eval.json (abuse[], pii[]), data/dev_criticism.json (criticism[], abuse[]), the
hand-written data/moderation_handmade.json and the real 2020 board messages (flag rates); each set is
reported on its own, then the time per check.
"""

from __future__ import annotations

import argparse
import csv
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


def eval_split(
    positives: list[str], negatives: list[str], flag: str, verbose: bool, *, names: tuple[str, str]
) -> dict[str, float]:
    """Recall of `flag` on `positives` and its false-flag rate on `negatives`."""
    hits = 0
    for text in positives:
        on = bool(getattr(check(text), flag))
        hits += on
        if verbose and not on:
            print(f"  missed: {text}")
    false = 0
    for text in negatives:
        result = check(text)
        on = bool(getattr(result, flag))
        false += on
        if verbose and on:
            why = [(h.term, h.why) for h in result.hits if h.kind in ("abuse", "prohibited", "rumour")]
            print(f"  false flag {why}: {text}")
    recall, false_rate = names
    return {
        recall: hits / len(positives) if positives else math.nan,
        false_rate: false / len(negatives) if negatives else math.nan,
        "n_positive": float(len(positives)),
        "n_negative": float(len(negatives)),
    }


def eval_real(verbose: bool) -> dict[str, float]:
    """Share of the 645 real 2020 board messages (citizens' requests and complaints, none of them
    illegal content) that each flag catches: an upper bound of its false flags on real traffic."""
    real: list[str] = []
    for name in ("messages_labeled.csv", "messages_with_replies.csv", "messages_hot.csv"):
        with (DATA / "wenzheng-2020" / name).open(encoding="utf-8") as fh:
            real += [f"{r['subject']}。{r['content']}" for r in csv.DictReader(fh)]
    counts = dict.fromkeys(("abusive", "prohibited", "rumour_check", "intense"), 0)
    for text in real:
        result = check(text)
        for flag in counts:
            if getattr(result, flag):
                counts[flag] += 1
                if verbose and flag != "intense":
                    print(f"  {flag}: {text[:80]}")
    return {f"{flag}_rate": n / len(real) for flag, n in counts.items()} | {"n_messages": float(len(real))}


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
    clean = sum(1 for item in items if not item["spans"])
    return {
        "pii_span_recall": found / expected,
        "pii_false_masks": float(false_masks),
        "n_spans": float(expected),
        "n_clean_texts": float(clean),
    }


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
    criticism = json.loads((DATA / "dev_criticism.json").read_text(encoding="utf-8"))
    own = json.loads((DATA / "moderation_handmade.json").read_text(encoding="utf-8"))
    abuse = ("abuse_recall", "criticism_false_flag_rate")
    sections: list[tuple[str, dict[str, float]]] = [
        ("dev_eval.json abuse", eval_abuse(data["abuse"], args.verbose)),
        (
            "dev_criticism.json abuse vs criticism",
            eval_split(criticism["abuse"], criticism["criticism"], "abusive", args.verbose, names=abuse),
        ),
        (
            "moderation_handmade.json abuse vs criticism",
            eval_split(own["abuse"], own["criticism"], "abusive", args.verbose, names=abuse),
        ),
        (
            "moderation_handmade.json prohibited vs reports of it",
            eval_split(
                own["prohibited"],
                own["not_prohibited"],
                "prohibited",
                args.verbose,
                names=("prohibited_recall", "report_false_flag_rate"),
            ),
        ),
        (
            "moderation_handmade.json rumour_check",
            eval_split(
                own["rumour"],
                own["not_rumour"] + criticism["criticism"],
                "rumour_check",
                args.verbose,
                names=("rumour_recall", "rumour_false_flag_rate"),
            ),
        ),
        ("wenzheng-2020 real board messages (flag rates)", eval_real(args.verbose)),
        ("dev_eval.json pii", eval_pii(data["pii"], args.verbose)),
        ("moderation_handmade.json pii (near-misses, landlines)", eval_pii(own["pii"], args.verbose)),
    ]
    for title, figures in sections:
        print(title)
        for key, value in figures.items():
            print(f"  {key}: {value:.0f}" if key.startswith("n_") else f"  {key}: {value:.3f}")
    print("speed")
    bench([str(i["text"]) for i in data["abuse"] + data["pii"]])


if __name__ == "__main__":
    main()
