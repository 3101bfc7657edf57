"""Evaluate routing: (1) the dev set's routing items, (2) a learned router on the labelled 2020 messages.

Usage: python scripts/eval_routing.py [--verbose]
(1) accuracy among in-scope items, out-of-scope recall and false out-of-scope rate on
    data/dev_eval.json with its units[] (keywords, names) and its kb[] searched the way the
    pipeline's KB step does it (the KB's unit evidence); no training data. The same figures without
    the KB are printed beside them.
    With --sweep, the same dev figures (and the real messages' false out-of-scope rate) for a grid of
    the out-of-scope thresholds (OUT_OF_SCOPE_MIN × OUT_OF_SCOPE_MARGIN): the calibration behind the
    engine's values, which favour "ask a person" over a wrong "not ours".
(2) one unit per category of data/wenzheng-2020/messages_labeled.csv, a fixed seeded stratified
    70/30 split, macro-F1 on the 30% for the learned model alone and for the full router (model + the
    category tree of categories.csv as unit keywords + department words).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import random
import re
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"
sys.path.insert(0, str(ROOT))

from app.routing import engine  # noqa: E402
from app.routing.engine import KB_UNIT_DEPTH, Router, UnitSpec, kb_unit_evidence  # noqa: E402
from kb.classifier import train  # noqa: E402
from kb.index import KBEntry, KBIndex  # noqa: E402
from kb.normalise import normalise  # noqa: E402

SEED = 20240601


def eval_dev(verbose: bool) -> dict[str, float]:
    data = json.loads((DATA / "dev_eval.json").read_text(encoding="utf-8"))
    units = [UnitSpec(u["code"], u["name"], tuple(u["keywords"])) for u in data["units"]]
    router = Router(units)
    index = KBIndex()
    entries = [
        KBEntry(i + 1, k["question"], k["answer"], (), k.get("unit")) for i, k in enumerate(data["kb"])
    ]
    index.build(entries)
    owner = {e.entry_id: e.unit_code for e in entries}

    def kb_units(text: str) -> list[tuple[str, float]]:
        hits = index.search(text, limit=KB_UNIT_DEPTH, explain=False)
        return kb_unit_evidence((owner[h.entry_id], h.score) for h in hits)

    in_scope = correct = decided = keywords_only = 0
    oos_total = oos_hit = false_oos = 0
    for item in data["routing"]:
        decision = router.decide(item["text"], kb_units=kb_units(item["text"]))
        expect = item["expect_unit"]
        keywords_only += expect is not None and router.decide(item["text"]).unit_code == expect
        if expect is None:
            oos_total += 1
            oos_hit += decision.out_of_scope
            ok = decision.out_of_scope
        else:
            in_scope += 1
            decided += decision.unit_code is not None
            correct += decision.unit_code == expect
            false_oos += decision.out_of_scope
            ok = decision.unit_code == expect
        if verbose and not ok:
            print(
                f"  ✗ expect={expect} got={decision.unit_code} oos={decision.out_of_scope} {decision.candidates}"
            )
            print(f"    {item['text']}\n    {decision.reason}")
    # Every message on the provincial board was handled by some department: none is out of scope.
    real = []
    for name in ("messages_labeled.csv", "messages_with_replies.csv", "messages_hot.csv"):
        with (DATA / "wenzheng-2020" / name).open(encoding="utf-8") as fh:
            real += [f"{r['subject']}。{r['content']}" for r in csv.DictReader(fh)]
    real_oos = sum(router.decide(t).out_of_scope for t in real)
    return {
        "in_scope_accuracy": correct / in_scope,
        "in_scope_accuracy_without_kb": keywords_only / in_scope,
        "in_scope_coverage": decided / in_scope,
        "out_of_scope_recall": oos_hit / oos_total,
        "false_out_of_scope_rate": false_oos / in_scope,
        "false_out_of_scope_rate_real_messages": real_oos / len(real),
    }


def _split(rows: list[dict[str, str]]) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """Fixed stratified 70/30 split: per category, rows sorted by id, shuffled with one seeded RNG."""
    rng = random.Random(SEED)
    by_category: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in rows:
        by_category[row["category"]].append(row)
    train_rows: list[dict[str, str]] = []
    test_rows: list[dict[str, str]] = []
    for category in sorted(by_category):
        group = sorted(by_category[category], key=lambda r: int(r["id"]))
        rng.shuffle(group)
        cut = round(len(group) * 0.7)
        train_rows += group[:cut]
        test_rows += group[cut:]
    return train_rows, test_rows


def _macro_f1(gold: Sequence[str], predicted: Sequence[str | None]) -> float:
    scores = []
    for label in sorted(set(gold)):
        tp = sum(g == label and p == label for g, p in zip(gold, predicted, strict=True))
        fp = sum(g != label and p == label for g, p in zip(gold, predicted, strict=True))
        fn = sum(g == label and p != label for g, p in zip(gold, predicted, strict=True))
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        scores.append(2 * precision * recall / (precision + recall) if precision + recall else 0.0)
    return sum(scores) / len(scores)


def _category_keywords(path: Path) -> dict[str, list[str]]:
    """The board's own category tree as unit keywords: level-2/3 names, split at 和/与/及/、."""
    words: dict[str, list[str]] = defaultdict(list)
    with path.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            for name in (row["level2"], row["level3"]):
                for part in re.split(r"[和与及、，,/]", name):
                    if len(part) >= 2 and part != "其他" and part not in words[row["level1"]]:
                        words[row["level1"]].append(part)
    return words


def eval_wenzheng() -> dict[str, float]:
    folder = DATA / "wenzheng-2020"
    with (folder / "messages_labeled.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    train_rows, test_rows = _split(rows)

    def text(row: dict[str, str]) -> str:
        return f"{row['subject']}。{row['content']}"

    started = time.perf_counter()
    model = train([(text(r), r["category"]) for r in train_rows])
    trained_in = time.perf_counter() - started
    gold = [r["category"] for r in test_rows]
    model_only = [model.predict(text(r))[0][0] for r in test_rows]

    tree = _category_keywords(folder / "categories.csv")
    units = [UnitSpec(c, c, tuple(tree.get(c, ()))) for c in sorted(set(gold))]
    router = Router(units, model=model)
    decisions = [router.decide(text(r)) for r in test_rows]
    routed = [d.unit_code for d in decisions]
    best_guess = [d.unit_code or (d.candidates[0][0] if d.candidates else None) for d in decisions]
    return {
        "train_examples": len(train_rows),
        "test_examples": len(test_rows),
        "train_seconds": round(trained_in, 2),
        "model_macro_f1": _macro_f1(gold, model_only),
        "router_macro_f1": _macro_f1(gold, routed),
        "router_coverage": sum(u is not None for u in routed) / len(routed),
        "router_best_guess_macro_f1": _macro_f1(gold, best_guess),
    }


SWEEP_MIN = (0.5, 1.0, 1.5, 2.0, 3.0)
SWEEP_MARGIN = (0.0, 0.5, 1.0, 1.5, 2.0)


def sweep() -> None:
    """Dev figures per (OUT_OF_SCOPE_MIN, OUT_OF_SCOPE_MARGIN); the engine reads them at each decision."""
    chosen = (engine.OUT_OF_SCOPE_MIN, engine.OUT_OF_SCOPE_MARGIN)
    print("  min  margin  in_scope_acc  oos_recall  false_oos  false_oos_real")
    try:
        for floor in SWEEP_MIN:
            for margin in SWEEP_MARGIN:
                engine.OUT_OF_SCOPE_MIN, engine.OUT_OF_SCOPE_MARGIN = floor, margin
                f = eval_dev(False)
                mark = "  <- in force" if (floor, margin) == chosen else ""
                print(
                    f"  {floor:<4} {margin:<7} {f['in_scope_accuracy']:<13.3f} {f['out_of_scope_recall']:<11.3f}"
                    f" {f['false_out_of_scope_rate']:<10.3f} {f['false_out_of_scope_rate_real_messages']:.3f}{mark}"
                )
    finally:
        engine.OUT_OF_SCOPE_MIN, engine.OUT_OF_SCOPE_MARGIN = chosen


def bench(router: Router, text: str, rounds: int = 500) -> float:
    """Microseconds per decide(): the best of five runs, so other load on the machine does not count."""
    plain = normalise(text)
    best = math.inf
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(rounds):
            router.decide(text, normalised=plain)
        best = min(best, (time.perf_counter() - started) / rounds * 1e6)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--verbose", action="store_true", help="print every wrong dev decision")
    parser.add_argument(
        "--sweep", action="store_true", help="dev figures over a grid of out-of-scope thresholds"
    )
    args = parser.parse_args()
    if args.sweep:
        print("dev_eval.json routing, out-of-scope threshold sweep")
        sweep()
        return
    print("dev_eval.json routing")
    for key, value in eval_dev(args.verbose).items():
        print(f"  {key}: {value:.3f}")
    print("wenzheng-2020 labelled messages (7 units, 70/30 split)")
    for key, value in eval_wenzheng().items():
        print(f"  {key}: {value:.3f}" if isinstance(value, float) else f"  {key}: {value}")
    data = json.loads((DATA / "dev_eval.json").read_text(encoding="utf-8"))
    units = [UnitSpec(u["code"], u["name"], tuple(u["keywords"])) for u in data["units"]]
    text = (data["routing"][0]["text"] * 4)[:100]
    print("speed (100-char message, normalised once by the caller)")
    print(f"  decide(), 10 units, keywords only: {bench(Router(units), text):.0f} µs")
    model = train([(f"{e['question']}。{e['answer']}", e["unit"]) for e in data["kb"]])
    print(f"  decide(), 10 units + learned model: {bench(Router(units, model=model), text):.0f} µs")


if __name__ == "__main__":
    main()
