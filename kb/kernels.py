"""The scoring's inner loops, compiled with numba: walking postings, picking candidates, adding the
common terms of the candidates.

numpy needs a pass over a temporary array for each step of these loops (about ten for a walk of a
query's postings); one compiled loop reads each posting once, so a 100-character query against
10,000 entries is scored in a fraction of the time and with far less memory traffic (which is what
slows a shared machine down). A query's terms are added in the same order alone or in a batch, so
its scores do not depend on the batch.

Compiled code is cached next to this file (or in NUMBA_CACHE_DIR): only a process that finds no
cache compiles, once per function (the cost is in docs/knowledge.md).
"""

from __future__ import annotations

import numpy as np
from numba import njit


def _compiled(**options):  # type: ignore[no-untyped-def]
    """numba's njit without the GIL, cached on disk where a cache location is writable (an image run
    by a user who may not write next to the code: set NUMBA_CACHE_DIR), else compiled per process."""

    def wrap(function):  # type: ignore[no-untyped-def]
        try:
            return njit(cache=True, nogil=True, **options)(function)
        except RuntimeError:  # "cannot cache function …: no locator available"
            return njit(nogil=True, **options)(function)

    return wrap


# The best entries nearly always score above this share of the best one (scores are skewed).
FLOOR = 0.05


@_compiled()
def _walk(indptr, entry, value, rows, weights, lo, hi, out):  # type: ignore[no-untyped-def]
    """Adds weights[k] * the postings of term rows[k] to `out`, for k in lo..hi-1 in order, and returns
    the largest sum (every value added is positive, so no sum is larger than its last value)."""
    top = 0.0
    for k in range(lo, hi):
        r = rows[k]
        w = weights[k]
        for p in range(indptr[r], indptr[r + 1]):
            e = entry[p]
            v = out[e] + value[p] * w
            out[e] = v
            top = max(top, v)
    return top


@_compiled()
def _select(score, top, width, cand, best, places):  # type: ignore[no-untyped-def]
    """Puts the positions of the `width` best of `score` (`top`: its largest) into `cand` (among equal
    scores the lower positions) and returns True, or returns False when fewer than `width` score above
    zero.

    Scores are skewed, so the best few nearly always lie above a small share of the best score: the
    entries above it (else all above zero) are gathered into `places` without a branch, then one
    pass over them keeps the best so far in a min-heap (`best`: their scores). Positions ascend, so
    an entry replaces the worst kept one only when it scores strictly more.
    """
    if top <= 0.0:
        return False
    bar = top * FLOOR
    m = _gather(score, bar, places)
    if m < width:
        m = _gather(score, 0.0, places)
        if m < width:
            return False
    # The first `width` made into a heap (the worst on top), then each later one replaces the worst.
    for i in range(width):
        cand[i] = places[i]
        best[i] = score[places[i]]
    for i in range(width // 2 - 1, -1, -1):
        _sift_down(best[i], cand[i], i, width, cand, best)
    for i in range(width, m):
        e = places[i]
        s = score[e]
        if s > best[0]:
            _sift_down(s, e, 0, width, cand, best)
    return True


@_compiled(inline="always")
def _gather(score, bar, places):  # type: ignore[no-untyped-def]
    """Positions of the scores above `bar` into `places` (length n + 1), ascending; their number."""
    m = 0
    for e in range(score.shape[0]):
        places[m] = e
        m += score[e] > bar
    return m


@_compiled(inline="always")
def _sift_down(s, e, i, size, cand, best):  # type: ignore[no-untyped-def]
    """Puts (s, e) at place i of the heap of `size` members, moving the worse of its children up
    until both rank above it."""
    while True:
        child = 2 * i + 1
        if child >= size:
            break
        if child + 1 < size and _worse(best[child + 1], cand[child + 1], best[child], cand[child]):
            child += 1
        if not _worse(best[child], cand[child], s, e):
            break
        best[i] = best[child]
        cand[i] = cand[child]
        i = child
    best[i] = s
    cand[i] = e


@_compiled(inline="always")
def _worse(s, e, other_s, other_e):  # type: ignore[no-untyped-def]
    """Whether (score s, position e) ranks below (other_s, other_e): lower score, or equal score and
    higher position."""
    return s < other_s or (s == other_s and e > other_e)


@_compiled()
def _common(cand, common_tf, norm, ids, scale, chan, lo, hi, out):  # type: ignore[no-untyped-def]
    """out[i] = the weighted BM25 sum of the common terms lo..hi-1 for entry cand[i], recomputed from
    their term frequencies: scale * tf / (tf + norm)."""
    for i in range(cand.shape[0]):
        c = cand[i]
        total = 0.0
        for k in range(lo, hi):
            tf = common_tf[c, ids[k]]
            if tf:
                f = float(tf)
                total += f * scale[k] / (f + norm[c, chan[k]])
        out[i] = total


@_compiled()
def candidates(  # type: ignore[no-untyped-def]
    indptr,
    entry,
    value,
    rare_rows,
    rare_weights,
    rare_at,
    factor_of,
    factors,
    common_tf,
    norm,
    common_ids,
    common_scale,
    common_chan,
    common_at,
    n,
    width,
    cand_out,
    score_out,
):
    """For each query q of a batch: its rare terms (rare_at[q]..rare_at[q+1]-1) walked over all
    entries, scaled by factors[factor_of[q]] (none when -1), the `width` best entries picked, and
    their common terms (common_at[q]..) added, scaled likewise. Fills row q of `cand_out` and
    `score_out` and returns per query whether it was picked (it was not when fewer than `width`
    entries scored above zero)."""
    size = rare_at.shape[0] - 1
    picked = np.zeros(size, dtype=np.bool_)
    score = np.zeros(n)
    extra = np.empty(width)
    best = np.empty(width)
    places = np.empty(n + 1, dtype=np.int64)
    for q in range(size):
        score[:] = 0.0
        top = _walk(indptr, entry, value, rare_rows, rare_weights, rare_at[q], rare_at[q + 1], score)
        f = factor_of[q]
        if f >= 0:
            score *= factors[f]
            top = score.max()
        cand = cand_out[q]
        if _select(score, top, width, cand, best, places):
            picked[q] = True
            lo, hi = common_at[q], common_at[q + 1]
            _common(cand, common_tf, norm, common_ids, common_scale, common_chan, lo, hi, extra)
            for i in range(width):
                c = cand[i]
                add = extra[i] if f < 0 else extra[i] * factors[f, c]
                score_out[q, i] = score[c] + add
    return picked


@_compiled()
def walk(indptr, entry, value, rows, weights, n):  # type: ignore[no-untyped-def]
    """The weighted sum of the postings of `rows` for every entry (an array of n)."""
    out = np.zeros(n)
    _walk(indptr, entry, value, rows, weights, 0, rows.shape[0], out)
    return out


@_compiled()
def top(score, width):  # type: ignore[no-untyped-def]
    """The `width` best positions of `score` as `candidates` picks them, or an empty array when fewer
    than `width` score above zero."""
    cand = np.empty(width, dtype=np.int64)
    places = np.empty(score.shape[0] + 1, dtype=np.int64)
    if _select(score, max(0.0, score.max()), width, cand, np.empty(width), places):
        return cand
    return np.empty(0, dtype=np.int64)


@_compiled()
def common(cand, common_tf, norm, ids, scale, chan):  # type: ignore[no-untyped-def]
    """The weighted BM25 sums of the common terms (ids, scale, chan) for the entries `cand`."""
    out = np.empty(cand.shape[0])
    _common(cand, common_tf, norm, ids, scale, chan, 0, ids.shape[0], out)
    return out
