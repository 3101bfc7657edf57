"""Decide which unit handles a message, how sure we are and why; or that no unit here handles it.

Evidence, strongest first: explicit rules (highest priority wins), the units' keywords and names, words of
the unit's kind of department, the units of confidently matching KB entries, a model learned from past
assignments, and the account's owner unit. Pure computation: no database, no HTTP.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import ahocorasick

from app.routing.scope import OutOfScopeDetector, default_detector
from app.routing.vocabulary import DepartmentKind, default_departments, department_terms, name_terms
from kb.classifier import Model
from kb.normalise import normalise

RuleKind = Literal["keyword", "regex", "account"]

# Evidence weights: one own keyword or a unit name counts 1, a word of the unit's kind of department
# half as much; the model's probability and a KB match's score are scaled to be worth a few keywords.
OWN_WEIGHT = 1.0
NAME_WEIGHT = 1.0
DEPARTMENT_WEIGHT = 0.5
MODEL_WEIGHT = 2.5
KB_WEIGHT = 2.0
ACCOUNT_WEIGHT = 0.3
# Confidence = top / (top + runner-up + UNKNOWN): evidence must outweigh the rival and the unknown.
UNKNOWN = 0.5
DEFAULT_THRESHOLD = 0.4
RULE_CONFIDENCE = 0.95
# Out of scope only when that evidence reaches OUT_OF_SCOPE_MIN and beats the best unit's evidence by
# OUT_OF_SCOPE_MARGIN: a wrong "not ours" costs the citizen more than a manual assignment does. When it
# beats the unit's evidence by less, a person confirms (no unit, not out of scope). Calibrated on the dev
# set and the 2020 board messages: `python -m scripts.eval_routing --sweep` (figures in docs/routing.md).
OUT_OF_SCOPE_MIN = 1.0
OUT_OF_SCOPE_MARGIN = 0.5
# KB evidence is judged per unit, not per entry: a unit counts when its best entry among the top hits
# scores at least KB_UNIT_FLOOR and KB_UNIT_RATIO times the best entry of any other unit.
KB_UNIT_FLOOR = 0.1
KB_UNIT_RATIO = 1.5
KB_UNIT_DEPTH = 4
MODEL_CANDIDATES = 3  # units of the model's prediction that count as evidence


@dataclass(frozen=True, slots=True)
class UnitSpec:
    """A unit as routing sees it."""

    code: str
    name: str
    keywords: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RoutingRule:
    """An explicit rule: keyword (substring) or regex on the normalised text, or account id → unit."""

    id: int | str
    kind: RuleKind
    pattern: str
    unit_code: str
    priority: int = 0


@dataclass(frozen=True, slots=True)
class RoutingDecision:
    """The routing verdict. `unit_code` is None when nothing is confident (the caller falls back)."""

    unit_code: str | None
    confidence: float
    reason: str
    out_of_scope: bool = False
    pointer: str | None = None
    candidates: tuple[tuple[str, float], ...] = field(default=())  # (unit_code, evidence), best first
    rule_id: int | str | None = None

    @property
    def confident(self) -> bool:
        return self.unit_code is not None


def kb_unit_evidence(hits: Iterable[tuple[str | None, float]]) -> list[tuple[str, float]]:
    """[(unit_code, score)] that the KB's top hits (unit_code, score), best first, lend the router.

    An entry's confidence asks "is this the answer?"; routing asks "whose matter is this?". Two close
    entries of one unit leave the answer open but agree on the unit, so the ratio test is made between
    the units' best entries. Entries without a unit lend nothing and take nothing away.
    """
    best: dict[str, float] = {}
    for unit, score in list(hits)[:KB_UNIT_DEPTH]:
        if unit and score > best.get(unit, 0.0):
            best[unit] = score
    if not best:
        return []
    ranked = sorted(best.items(), key=lambda item: -item[1])
    unit, top = ranked[0]
    second = ranked[1][1] if len(ranked) > 1 else 0.0
    if top < KB_UNIT_FLOOR or top < KB_UNIT_RATIO * second:
        return []
    return [(unit, top)]


def _length_factor(term: str) -> float:
    # One character says little ("税"), four say a lot ("非洲猪瘟").
    n = len(term)
    return 0.3 if n == 1 else 0.8 if n == 2 else 1.0 if n == 3 else 1.2


def _quote(words: Iterable[str]) -> str:
    return "".join(f"“{w}”" for w in words)


class Router:
    """Routing over a fixed set of units, rules and an optional model; build once, call `decide` often."""

    def __init__(
        self,
        units: Iterable[UnitSpec],
        rules: Iterable[RoutingRule] = (),
        *,
        model: Model | None = None,
        detector: OutOfScopeDetector | None = None,
        local_places: Sequence[str] = (),
        departments: Sequence[DepartmentKind] | None = None,
        threshold: float = DEFAULT_THRESHOLD,
    ) -> None:
        self.units = {u.code: u for u in units}
        self.model = model
        self.threshold = threshold
        self.detector = detector if detector is not None else default_detector(local_places)
        kinds = tuple(departments) if departments is not None else default_departments()
        self._rules = sorted(rules, key=lambda r: -r.priority)
        self._keyword_rules = [(r, normalise(r.pattern)) for r in self._rules if r.kind == "keyword"]
        self._regex_rules = [(r, re.compile(r.pattern)) for r in self._rules if r.kind == "regex"]
        self._account_rules: dict[str, RoutingRule] = {}
        for rule in self._rules:
            if rule.kind == "account":
                self._account_rules.setdefault(rule.pattern.strip(), rule)
        self._automaton = self._build_automaton(kinds)

    def _build_automaton(self, kinds: tuple[DepartmentKind, ...]) -> ahocorasick.Automaton | None:
        # term → unit → (weight, source); a unit keeps the strongest source of a term.
        table: dict[str, dict[str, tuple[float, str]]] = {}

        def add(term: str, unit: str, weight: float, source: str) -> None:
            key = normalise(term)
            if not key:
                return
            held = table.setdefault(key, {})
            if unit not in held or held[unit][0] < weight:
                held[unit] = (weight, source)

        for spec in self.units.values():
            for word, factor in department_terms(spec.name, kinds):
                add(word, spec.code, DEPARTMENT_WEIGHT * factor, "department")
            for word in name_terms(spec.name):
                add(word, spec.code, NAME_WEIGHT, "name")
            for word in spec.keywords:
                add(word, spec.code, OWN_WEIGHT, "keyword")
        if not table:
            return None
        # A word several units claim is worth less to each of them.
        worth = {
            key: {u: (w * _length_factor(key) / len(held), s) for u, (w, s) in held.items()}
            for key, held in table.items()
        }
        automaton = ahocorasick.Automaton()
        for key in table:
            # Only the longest word at a place counts, so it carries what its known parts say too:
            # "工伤认定" is also evidence for whoever has "工伤" as a keyword.
            merged = dict(worth[key])
            for size in range(2, len(key)):
                for start in range(len(key) - size + 1):
                    for unit, (w, s) in worth.get(key[start : start + size], {}).items():
                        if w > merged.get(unit, (0.0, ""))[0]:
                            merged[unit] = (w, s)
            automaton.add_word(key, (len(key), tuple((u, w, s) for u, (w, s) in merged.items())))
        automaton.make_automaton()
        return automaton

    def _rule_for(self, text: str, normalised: str, account_id: int | None) -> RoutingRule | None:
        matched: list[RoutingRule] = []
        for rule, needle in self._keyword_rules:
            if needle and needle in normalised:
                matched.append(rule)
                break  # sorted by priority: the first keyword hit is the best keyword hit
        for rule, pattern in self._regex_rules:
            if pattern.search(normalised) or pattern.search(text):
                matched.append(rule)
                break
        if account_id is not None and (by_account := self._account_rules.get(str(account_id))):
            matched.append(by_account)
        return max(matched, key=lambda r: r.priority) if matched else None

    def _keyword_evidence(self, normalised: str) -> tuple[dict[str, float], dict[str, list[str]]]:
        """Score per unit from the leftmost-longest, non-overlapping known words in the text."""
        scores: dict[str, float] = {}
        words: dict[str, list[str]] = {}
        if self._automaton is None:
            return scores, words
        found = [
            (end - length + 1, end + 1, units) for end, (length, units) in self._automaton.iter(normalised)
        ]
        found.sort(key=lambda f: (f[0] - f[1], f[0]))
        taken = [False] * len(normalised)
        seen: set[tuple[str, str]] = set()
        for start, end, units in found:
            if any(taken[start:end]):
                continue
            for i in range(start, end):
                taken[i] = True
            term = normalised[start:end]
            for unit, weight, _source in units:
                if (unit, term) in seen:
                    continue
                seen.add((unit, term))
                scores[unit] = scores.get(unit, 0.0) + weight
                words.setdefault(unit, []).append(term)
        return scores, words

    def _name(self, code: str) -> str:
        unit = self.units.get(code)
        return unit.name if unit else code

    def decide(
        self,
        text: str,
        *,
        account_unit: str | None = None,
        account_id: int | None = None,
        kb_units: Sequence[tuple[str, float]] = (),
        normalised: str | None = None,
        predicted: Sequence[tuple[str, float]] | None = None,
    ) -> RoutingDecision:
        """Route `text`. `kb_units`: (unit_code, score 0..1) the KB lends (`kb_unit_evidence`);
        `normalised`: `kb.normalise.normalise(text)` if the caller has it already; `predicted`: the
        model's `predict(text, limit=MODEL_CANDIDATES)` if the caller made it for a whole batch."""
        plain = normalised if normalised is not None else normalise(text)
        rule = self._rule_for(text, plain, account_id)
        if rule is not None:
            how = {"keyword": f"关键词“{rule.pattern}”", "regex": "正则表达式", "account": "来源账号"}[
                rule.kind
            ]
            return RoutingDecision(
                unit_code=rule.unit_code,
                confidence=RULE_CONFIDENCE,
                reason=f"按分派规则#{rule.id}（{how}）交{self._name(rule.unit_code)}办理",
                candidates=((rule.unit_code, RULE_CONFIDENCE),),
                rule_id=rule.id,
            )

        scores, words = self._keyword_evidence(plain)
        model_probs: dict[str, float] = {}
        if self.model is not None:
            if predicted is None:
                predicted = self.model.predict(text, normalised=plain, limit=MODEL_CANDIDATES)
            for unit, prob in predicted:
                if unit in self.units and prob >= 0.05:
                    model_probs[unit] = prob
                    scores[unit] = scores.get(unit, 0.0) + MODEL_WEIGHT * prob
        kb_best: dict[str, float] = {}
        for unit, score in kb_units:
            if unit in self.units and score > kb_best.get(unit, 0.0):
                kb_best[unit] = score
        for unit, score in kb_best.items():
            scores[unit] = scores.get(unit, 0.0) + KB_WEIGHT * score
        if account_unit in self.units and scores:
            scores[account_unit] = scores.get(account_unit, 0.0) + ACCOUNT_WEIGHT

        ranked = sorted(scores.items(), key=lambda item: -item[1])
        top_unit, top = ranked[0] if ranked else (None, 0.0)
        second = ranked[1][1] if len(ranked) > 1 else 0.0
        confidence = round(top / (top + second + UNKNOWN), 3) if top else 0.0
        candidates = tuple((u, round(s, 3)) for u, s in ranked[:3])

        scope = self.detector.assess(plain)
        if scope.score >= OUT_OF_SCOPE_MIN and scope.score > top + OUT_OF_SCOPE_MARGIN:
            places = "、".join(term for _, term in scope.hits[:4])
            return RoutingDecision(
                unit_code=None,
                confidence=round(scope.score / (scope.score + top + UNKNOWN), 3),
                reason=f"疑似不属于本级政府职责范围（{scope.category}：{places}），未发现本级单位的办理依据",
                out_of_scope=True,
                pointer=scope.pointer,
                candidates=candidates,
            )
        if top_unit is None:
            return RoutingDecision(
                unit_code=None, confidence=0.0, reason="未找到任何单位的办理依据，请人工分派"
            )
        if scope.score >= OUT_OF_SCOPE_MIN and scope.score > top:
            places = "、".join(term for _, term in scope.hits[:4])
            return RoutingDecision(
                unit_code=None,
                confidence=confidence,
                reason=(
                    f"可能不属于本级政府职责范围（{scope.category}：{places}），"
                    f"但{self._name(top_unit)}也有办理依据，请人工确认后分派或告知"
                ),
                candidates=candidates,
            )

        evidence: list[str] = []
        if words.get(top_unit):
            evidence.append(f"关键词{_quote(words[top_unit][:5])}")
        if top_unit in kb_best:
            evidence.append(f"问答库相似条目属于该单位（相似度{kb_best[top_unit]:.2f}）")
        if top_unit in model_probs:
            evidence.append(f"历史分派模型判断概率{model_probs[top_unit]:.0%}")
        if top_unit == account_unit:
            evidence.append("留言来自该单位的账号")
        basis = "；".join(evidence)
        name = self._name(top_unit)
        if confidence >= self.threshold:
            return RoutingDecision(
                unit_code=top_unit,
                confidence=confidence,
                reason=f"建议交{name}办理（置信度{confidence:.2f}）：{basis}",
                candidates=candidates,
            )
        rival = f"，与{self._name(ranked[1][0])}难以区分" if len(ranked) > 1 and second > top / 2 else ""
        return RoutingDecision(
            unit_code=None,
            confidence=confidence,
            reason=f"依据不足，请人工分派（最可能为{name}，置信度{confidence:.2f}{rival}）：{basis}",
            candidates=candidates,
        )
