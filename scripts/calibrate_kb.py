"""Calibrates the KB's `confident` rule (`kb.index.ConfidenceRule`) on the development set.

Every development query is searched once in the development base, and once more in the same base with
`--distractors` off-topic real entries added (a base of realistic size, where a runner-up is often an
unrelated entry); the best entry's `Margin` over the runner-up is kept. Then every rule of a grid is
judged on those margins: questions the base cannot answer (`nomatch`) that look confident must stay
at or below `--budget` (5%) in both bases, and among the rules that keep to it the one
that leaves the most right answers confident wins (then the fewest wrong ones; then the strictest
score and ratio, which guard against unanswerable questions unlike any in the set, and the loosest
word test, which the set rarely reaches and which is what lets a fully worded question beat an
entry that only shares its subject).
The ranking itself does not depend on the rule: top-1 and top-3 stay what they are.

As a held-out check, the real board messages of data/wenzheng-2020 (complaints and requests of a
province, none written for the development base) are searched against the same base: the share that
looks confident is reported for the rule in use and for the calibrated one. A few of them may ask
something the base answers, so this share is an upper bound of false confidence there.

    python -m scripts.calibrate_kb [--budget 0.05] [--board 2000] [--distractors 2000]
"""

from __future__ import annotations

import argparse
import csv
import itertools
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from kb.index import CONFIDENCE, ConfidenceRule, KBIndex, Margin  # noqa: E402
from scripts.kb_eval_lib import DATA, distractors, engine_index, load_dev  # noqa: E402

SCORES = [round(0.10 + 0.05 * i, 2) for i in range(9)]
RATIOS = [round(1.3 + 0.1 * i, 1) for i in range(28)]
WORDS = [0.8, 0.9, 1.0]
GAPS = [0.3, 0.4, 0.5, 0.6]
# The rule before calibration (score and ratio test only), for comparison.
PREVIOUS = ConfidenceRule(score=0.15, ratio=2.0, words=2.0, word_gap=1.0)


@dataclass(frozen=True)
class Case:
    margin: Margin
    answerable: bool
    right: bool  # the best entry is the expected one


@dataclass(frozen=True)
class Judged:
    rule: ConfidenceRule
    right: int  # answerable queries confidently right
    wrong: int  # answerable queries confidently wrong
    nomatch: int  # unanswerable queries that look confident


def cases(index: KBIndex) -> list[Case]:
    """The development queries with a hit, as margins."""
    _, queries = load_dev()
    out = []
    for q in queries:
        margin = index.margin(q.text)
        hits = index.search(q.text, limit=1, explain=False)
        if margin is not None and hits:
            out.append(Case(margin, q.expect is not None, hits[0].entry_id == q.expect))
    return out


def judge(rule: ConfidenceRule, found: list[Case]) -> Judged:
    right = wrong = nomatch = 0
    for case in found:
        if not rule.confident(case.margin):
            continue
        if not case.answerable:
            nomatch += 1
        elif case.right:
            right += 1
        else:
            wrong += 1
    return Judged(rule, right, wrong, nomatch)


def calibrate(bases: list[list[Case]], unanswerable: int, budget: float) -> list[Judged]:
    """The best rule of the grid that keeps unanswerable confident ≤ `budget` on every base (the same
    queries searched in bases of different sizes), judged on each."""
    best: tuple[tuple[float, ...], list[Judged]] | None = None
    for score, ratio, words, gap in itertools.product(SCORES, RATIOS, WORDS, GAPS):
        rule = ConfidenceRule(score, ratio, words, gap)
        judged = [judge(rule, found) for found in bases]
        if any(j.nomatch > budget * unanswerable for j in judged):
            continue
        right = sum(j.right for j in judged)
        wrong = sum(j.wrong for j in judged)
        nomatch = sum(j.nomatch for j in judged)
        key = (right, -wrong, -nomatch, score, ratio, -words, -gap)
        if best is None or key > best[0]:
            best = (key, judged)
    if best is None:
        raise SystemExit("no rule of the grid keeps to the budget")
    return best[1]


def board_texts(limit: int) -> list[str]:
    """Subjects and contents of real board messages (the held-out no-answer check)."""
    texts: list[str] = []
    for name in ("messages_labeled.csv", "messages_with_replies.csv", "messages_hot.csv"):
        with (DATA / "wenzheng-2020" / name).open(encoding="utf-8", newline="") as f:
            texts.extend(f"{row['subject']} {row['content']}"[:300] for row in csv.DictReader(f))
    return texts[:limit]


def board_share(index: KBIndex, texts: list[str], rules: list[ConfidenceRule]) -> list[float]:
    margins = [m for m in map(index.margin, texts) if m is not None]
    return [sum(rule.confident(m) for m in margins) / max(1, len(texts)) for rule in rules]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--budget", type=float, default=0.05, help="largest share of no-match confident")
    parser.add_argument("--board", type=int, default=2000, help="board messages for the held-out check")
    parser.add_argument(
        "--distractors", type=int, default=2000, help="off-topic entries of the second base (0: none)"
    )
    args = parser.parse_args()
    entries, queries = load_dev()
    index = engine_index(entries)
    bases = [cases(index)]
    if args.distractors:
        bases.append(cases(engine_index(entries + distractors(args.distractors))))
    answerable = sum(q.expect is not None for q in queries)
    unanswerable = len(queries) - answerable
    chosen = calibrate(bases, unanswerable, args.budget)
    board = board_texts(args.board)
    rules = {"ratio only": PREVIOUS, "in use": CONFIDENCE, "calibrated": chosen[0].rule}
    shares = board_share(index, board, list(rules.values()))
    print(f"{len(entries)} entries, {answerable} answerable and {unanswerable} no-match queries")
    print(f"bases: the development entries, then with {args.distractors} off-topic entries added")
    for (name, rule), share in zip(rules.items(), shares, strict=True):
        print(
            f"{name:10} score≥{rule.score} ratio≥{rule.ratio} words≥{rule.words} gap≥{rule.word_gap}: "
            f"board confident {share:.3f} of {len(board)}"
        )
        for judged in (judge(rule, found) for found in bases):
            print(
                f"{'':10} confident right {judged.right}/{answerable}, wrong {judged.wrong}, "
                f"no-match confident {judged.nomatch}/{unanswerable} ({judged.nomatch / unanswerable:.3f})"
            )


if __name__ == "__main__":
    main()
