"""Word segmentation (jieba with a government-services dictionary), stop-words, synonyms, char n-grams.

Segmentation is jieba's dictionary algorithm as implemented by jieba-rs (`rjieba`): the same
dictionary and results as the Python `jieba`, in compiled code, so segmentation and dictionary loading
stay small beside the rest of the search (figures in docs/knowledge.md).
All functions expect text that already went through `kb.normalise.normalise`.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Sequence
from functools import cache, lru_cache
from pathlib import Path

import rjieba

_DATA = Path(__file__).resolve().parent / "data"
# A token is kept only if it carries a CJK character, a latin letter or a digit.
_CONTENT = re.compile(r"[0-9a-z\u3400-\u9fff]")
# Runs of matchable characters; n-grams never straddle punctuation or spaces.
_RUN = re.compile(r"[0-9a-z\u3400-\u9fff]+")

_lock = threading.Lock()
_tokenizer: rjieba.Jieba | None = None


def _read_list(name: str) -> list[str]:
    lines = (_DATA / name).read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


@cache
def stopwords() -> frozenset[str]:
    """Words that never count as evidence for a match."""
    return frozenset(_read_list("stopwords.txt"))


@cache
def _synonyms() -> dict[str, str]:
    mapping: dict[str, str] = {}
    for line in _read_list("synonyms.txt"):
        words = line.split()
        for word in words:
            mapping[word] = words[0]
    return mapping


def _get_tokenizer() -> rjieba.Jieba:
    global _tokenizer
    if _tokenizer is not None:
        return _tokenizer
    with _lock:
        if _tokenizer is None:
            # A private instance so that nobody else's add_word changes our segmentation. Without a
            # frequency, add_word picks one that keeps the word whole (jieba's suggest_freq).
            tk = rjieba.Jieba()
            for word in _read_list("user_dict.txt"):
                tk.add_word(word, None, None)
            # Synonym variants must come out of the cutter whole to be canonicalised.
            for word in _synonyms():
                tk.add_word(word, None, None)
            for line in _read_list("related.txt"):
                for word in line.split():
                    tk.add_word(word, None, None)
            _tokenizer = tk
    return _tokenizer


def warm_up() -> None:
    """Load the dictionary now instead of on the first message."""
    _get_tokenizer()


@lru_cache(maxsize=1024)
def _cut(text: str) -> tuple[str, ...]:
    # Dictionary-only segmentation: the HMM guesses at unknown words cost time and did not help
    # matching (character n-grams already cover unknown words). The cache lets the pipeline's
    # steps and a batch search segment one message once.
    return tuple(_get_tokenizer().cut(text, False))


def tokens(text: str) -> list[str]:
    """Words of normalised `text`, in order, without punctuation, spaces and stop-words."""
    if not text:
        return []
    stop = stopwords()
    return [w for w in _cut(text) if w not in stop and _is_content(w)]


def content(text: str) -> tuple[list[str], str]:
    """Words of normalised `text` (as `tokens`) and its content text.

    The content text keeps runs of adjacent content words, canonicalised and joined, separated by
    spaces where stop-words or punctuation stood: character n-grams taken from it ignore filler
    ("请问", "怎么") yet still span words that jieba split wrongly.
    """
    if not text:
        return [], ""
    words: list[str] = []
    parts: list[str] = []
    for w in _cut(text):
        form = _forms.get(w)
        if form is None:
            form = _form(w)
        if not form:
            if parts and parts[-1] != " ":
                parts.append(" ")
            continue
        words.append(w)
        parts.append(form)
    return words, "".join(parts).strip()


# Word → its canonical form, or "" for a stop-word or punctuation: one dict lookup per word of a
# message. Bounded: cleared when full (words come from citizens' messages).
_forms: dict[str, str] = {}
_FORMS_MAX = 200_000


def _form(word: str) -> str:
    form = "" if word in stopwords() or not _is_content(word) else _synonyms().get(word, word)
    if len(_forms) >= _FORMS_MAX:
        _forms.clear()
    _forms[word] = form
    return form


def _is_content(word: str) -> bool:
    # Most words start with a Chinese character: no regular expression needed for them.
    return "\u4e00" <= word[0] <= "\u9fff" or _CONTENT.search(word) is not None


def canonical(word: str) -> str:
    """The canonical member of `word`'s synonym set, or `word` itself."""
    return _synonyms().get(word, word)


def synonymous(words: Iterable[str]) -> dict[str, str]:
    """The words of `words` that may match a wording without being written in it, each with the
    word an entry carries for it: synonyms → the canonical member of their set, broader words
    (related.txt) → themselves."""
    table = _synonyms()
    general = _general()
    return {word: table.get(word, word) for word in words if word in table or word in general}


@cache
def _broader() -> dict[str, tuple[str, ...]]:
    """Canonical specific word → the canonical general words that cover it (related.txt)."""
    mapping: dict[str, list[str]] = {}
    for line in _read_list("related.txt"):
        general, *specific = (canonical(word) for word in line.split())
        for word in specific:
            mapping.setdefault(word, []).append(general)
    return {word: tuple(dict.fromkeys(found)) for word, found in mapping.items()}


@cache
def _general() -> frozenset[str]:
    return frozenset(g for found in _broader().values() for g in found)


def broader(words: Iterable[str]) -> list[str]:
    """The general words (related.txt) covering canonical `words` that are not among them, sorted:
    an entry worded "换领" also carries "补办" and "换", the words citizens use for it."""
    table = _broader()
    have = set(words)
    found = (general for word in have.intersection(table) for general in table[word])
    return sorted(set(found) - have)


def search_terms(text: str) -> list[str]:
    """Canonical words of normalised `text` plus dictionary sub-words of long words.

    "城乡居民养老保险" also yields "养老保险" and "养老", so a query that names the thing in
    fewer characters still meets it (jieba's search-engine mode, applied after stop-words).
    """
    return expand(tokens(text))


def expand(words: Iterable[str]) -> list[str]:
    """Canonical forms of `words` followed, for long words, by their dictionary sub-words."""
    table = _synonyms()
    out: list[str] = []
    for word in words:
        out.append(table.get(word, word))
        if len(word) > 2:
            out.extend(_sub_words(word))
    return out


# Bounded: the words come from citizens' messages.
@lru_cache(maxsize=65536)
def _sub_words(word: str) -> tuple[str, ...]:
    """Canonical dictionary words of 2-4 characters inside `word`, shorter first."""
    tk = _get_tokenizer()
    table = _synonyms()
    stop = stopwords()
    out: list[str] = []
    for n in (2, 3, 4):
        if len(word) <= n:
            break
        for i in range(len(word) - n + 1):
            sub = word[i : i + n]
            if sub not in stop and tk.has_word(sub):
                out.append(table.get(sub, sub))
    return tuple(out)


def char_ngrams(text: str, n: Sequence[int] = (2, 3)) -> list[str]:
    """Character n-grams of every run of letters, digits and CJK characters in `text`.

    A run shorter than the smallest n contributes itself, so a one-character query still matches.
    """
    return ngrams(_RUN.findall(text), n)


def ngrams(runs: Iterable[str], n: Sequence[int]) -> list[str]:
    """Character n-grams of each string in `runs`, never across two runs."""
    out: list[str] = []
    smallest = min(n)
    for run in runs:
        size = len(run)
        if size < smallest:
            out.append(run)
            continue
        for k in n:
            if k == 1:
                out.extend(run)
            elif k == 2:
                out.extend(map(str.__add__, run, run[1:]))
            elif size >= k:
                out.extend([run[i : i + k] for i in range(size - k + 1)])
    return out
