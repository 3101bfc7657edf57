"""The compiled loops of the scoring give what the plain numpy arithmetic gives."""

from __future__ import annotations

import numba
import numpy as np
import pytest

from kb import kernels

N = 500  # entries
WIDTH = 16


def _postings(rng: np.random.Generator, terms: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """indptr, entry (int32, ascending within a term) and value (float32) of random postings."""
    sizes = rng.integers(1, 60, terms)
    indptr = np.zeros(terms + 1, dtype=np.int64)
    np.cumsum(sizes, out=indptr[1:])
    entry = np.concatenate([np.sort(rng.choice(N, s, replace=False)) for s in sizes]).astype(np.int32)
    value = rng.random(int(indptr[-1])).astype(np.float32)
    return indptr, entry, value


def _bincount(indptr, entry, value, rows, weights) -> np.ndarray:  # type: ignore[no-untyped-def]
    positions = np.concatenate([np.arange(indptr[r], indptr[r + 1]) for r in rows])
    lens = indptr[rows + 1] - indptr[rows]
    weighted = value[positions].astype(np.float64) * np.repeat(weights, lens)
    return np.bincount(entry[positions], weights=weighted, minlength=N)


def _best(score: np.ndarray, width: int) -> list[int]:
    """The `width` best positions, the lower position first among equal scores."""
    order = np.lexsort((np.arange(len(score)), -score))
    return sorted(order[:width].tolist())


def test_walk_adds_the_postings_bit_for_bit_as_bincount_does() -> None:
    rng = np.random.default_rng(1)
    indptr, entry, value = _postings(rng, 200)
    for _ in range(20):
        rows = rng.choice(200, 30, replace=False).astype(np.int64)
        weights = rng.random(30)
        got = kernels.walk(indptr, entry, value, rows, weights, N)
        assert np.array_equal(got, _bincount(indptr, entry, value, rows, weights))


@pytest.mark.parametrize("skew", [False, True])
def test_top_keeps_the_best_and_the_lower_positions_among_equals(skew: bool) -> None:
    rng = np.random.default_rng(2)
    for _ in range(50):
        # Few distinct values: many ties, also at the edge of the chosen ones.
        score = rng.integers(0, 6, N).astype(np.float64)
        if skew:  # a handful far above the rest: chosen among those above the floor share
            score[rng.choice(N, 40, replace=False)] += 1000.0
        got = kernels.top(score, WIDTH)
        assert sorted(got.tolist()) == _best(score, WIDTH)


def test_top_needs_enough_entries_scoring_above_zero() -> None:
    score = np.zeros(N)
    assert len(kernels.top(score, WIDTH)) == 0
    score[: WIDTH - 1] = 1.0
    assert len(kernels.top(score, WIDTH)) == 0
    score[400] = 0.5
    assert sorted(kernels.top(score, WIDTH).tolist()) == [*range(WIDTH - 1), 400]


def _common_reference(cand, tf, norm, ids, scale, chan) -> np.ndarray:  # type: ignore[no-untyped-def]
    cells = tf[cand][:, ids].astype(np.float64)
    return (cells * scale / (cells + norm[cand][:, chan])).sum(axis=1)


def test_common_terms_are_bm25_recomputed_from_term_frequencies() -> None:
    rng = np.random.default_rng(3)
    tf = rng.integers(0, 4, (N, 40)).astype(np.uint8)
    norm = rng.random((N, 4)) + 0.5
    ids = rng.choice(40, 12, replace=False).astype(np.int64)
    scale, chan = rng.random(12), rng.integers(0, 4, 12).astype(np.int64)
    cand = rng.choice(N, WIDTH, replace=False).astype(np.int64)
    got = kernels.common(cand, tf, norm, ids, scale, chan)
    assert np.allclose(got, _common_reference(cand, tf, norm, ids, scale, chan), rtol=1e-12, atol=0)


def test_candidates_of_a_batch_are_those_of_each_query_alone() -> None:
    rng = np.random.default_rng(4)
    indptr, entry, value = _postings(rng, 300)
    tf = rng.integers(0, 3, (N, 20)).astype(np.uint8)
    norm = rng.random((N, 4)) + 0.5
    factors = np.stack([np.where(rng.random(N) < 0.3, 1.1, 1.0)])
    sparse = int(np.argmin(np.diff(indptr)))  # a term in fewer than WIDTH entries
    queries = []
    for q in range(5):
        rare = rng.choice(300, 40, replace=False).astype(np.int64) if q != 3 else np.array([sparse])
        common = rng.choice(20, 6, replace=False).astype(np.int64)
        queries.append((rare, rng.random(len(rare)), common, rng.random(6), rng.integers(0, 4, 6), q % 2 - 1))

    def run(batch):  # type: ignore[no-untyped-def]
        cat = np.concatenate
        rare_at = np.cumsum([0] + [len(q[0]) for q in batch])
        common_at = np.cumsum([0] + [len(q[2]) for q in batch])
        cand = np.zeros((len(batch), WIDTH), dtype=np.int64)
        score = np.zeros((len(batch), WIDTH))
        picked = kernels.candidates(
            indptr, entry, value,
            cat([q[0] for q in batch]), cat([q[1] for q in batch]), rare_at,
            np.array([q[5] for q in batch], dtype=np.int64), factors,
            tf, norm,
            cat([q[2] for q in batch]), cat([q[3] for q in batch]), cat([q[4] for q in batch]).astype(np.int64),
            common_at, N, WIDTH, cand, score,
        )  # fmt: skip
        return picked, cand, score

    picked, cand, score = run(queries)
    assert picked.tolist() == [True, True, True, False, True]  # one rare term hits too few entries
    for q, query in enumerate(queries):
        alone = run([query])
        assert alone[0][0] == picked[q]
        if picked[q]:
            assert np.array_equal(alone[1][0], cand[q]) and np.array_equal(alone[2][0], score[q])
            # The rare terms' sum (scaled), plus the common terms' sum (scaled) for each candidate.
            rare = _bincount(indptr, entry, value, query[0], query[1])
            factor = factors[0] if query[5] == 0 else np.ones(N)
            rare *= factor
            assert sorted(cand[q].tolist()) == _best(rare, WIDTH)
            extra = _common_reference(cand[q], tf, norm, query[2], query[3], query[4].astype(np.int64))
            assert np.allclose(score[q], rare[cand[q]] + extra * factor[cand[q]], rtol=1e-12, atol=0)


def test_without_a_writable_cache_the_loops_compile_in_each_process(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_cache(**options):  # type: ignore[no-untyped-def]
        if options.get("cache"):
            raise RuntimeError("cannot cache function 'f': no locator available for file 'kernels.py'")
        return numba.njit(**options)

    monkeypatch.setattr(kernels, "njit", no_cache)

    @kernels._compiled()
    def plus_one(x):  # type: ignore[no-untyped-def]
        return x + 1

    assert plus_one(1) == 2


def test_searches_from_several_threads_at_once_give_what_one_thread_gives() -> None:
    """The compiled loops run without the GIL (an API worker and the pipeline search at the same time):
    each call keeps its scratch arrays to itself."""
    from concurrent.futures import ThreadPoolExecutor

    from kb.index import KBEntry, KBIndex

    topics = ["身份证", "社保卡", "公积金", "营业执照", "户口", "医保", "低保", "宅基地", "驾驶证", "护照"]
    actions = ["怎么办理", "丢了怎么补办", "到期怎么换", "在哪里查询", "需要什么材料", "多久能办好", "收费吗"]
    entries = [
        KBEntry(i + 1, f"{t}{a}？", f"请到窗口办理{t}业务，带好本人证件。", (), f"u{i % 3}")
        for i, (t, a) in enumerate((t, a) for t in topics for a in actions)
    ]
    index = KBIndex()
    index.build(entries)
    queries = [f"我的{t}{a}" for t in topics for a in actions[:3]] * 3
    alone = [index.search_many(queries[i::4], limit=5) for i in range(4)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        together = list(pool.map(lambda i: index.search_many(queries[i::4], limit=5), range(4)))
    assert together == alone
