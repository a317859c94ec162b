"""Row-wise reductions over a short last axis, and selection on the stored pool array.

``ndarray.max(axis=1)`` on an ``(n, C)`` array with C = 4 runs one tiny reduction per row
(about 85 ms at 1M rows). These kernels walk the pool in row blocks that stay in cache and
loop over the C columns with element-wise ufuncs writing in place, in the array's own
dtype. Every row's result comes from the same element-wise operations in the same order,
whatever the row's place in memory, so scoring the stored pool array and scoring a gathered
copy of its candidate rows give bit-identical scores (and so identical picks).
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from typing import Any

import numpy as np

#: bytes of input per row block: a block stays in L2 cache while its columns are read.
BLOCK_BYTES = 1 << 19
#: score the stored array in place (masking the rest) once candidates are this share of it.
IN_PLACE_SHARE = 0.5


#: while set to a list, map_rows checks each input block for NaN/inf while it is in cache
#: and appends the start row of every non-finite block (one pass over memory, not two).
INPUT_CHECK: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar("input_check", default=None)


def as_float(array: Any) -> np.ndarray:
    """``array`` as float32 or wider, copying only when it is not floating point."""
    array = np.asarray(array)
    if array.dtype.kind != "f" or array.dtype.itemsize < 4:
        array = array.astype(np.float32)
    return array


def _row_blocks(array: np.ndarray) -> range:
    row_bytes = max(1, array[:1].nbytes)
    return range(0, len(array), max(256, BLOCK_BYTES // row_bytes))


def map_rows(array: np.ndarray, kernel: Callable[[np.ndarray, np.ndarray], None]) -> np.ndarray:
    """``(n,)`` in ``array``'s dtype: ``kernel(block, out)`` fills ``out`` for each row block
    of the 2-D (or more) ``array``."""
    array = as_float(array)
    out = np.empty(len(array), dtype=array.dtype)
    step = _row_blocks(array).step
    checks = INPUT_CHECK.get()
    if checks is not None:
        from labelwise.strategies.base import _total
    for start in range(0, len(array), step):
        block = array[start : start + step]
        kernel(block, out[start : start + step])
        if checks is not None and not np.isfinite(_total(block)):
            checks.append(start)
    return out


def score_checked(outputs: Any, kind: str, stored: np.ndarray, score: Callable[[np.ndarray], np.ndarray]
                  ) -> np.ndarray:
    """``score(stored)`` with the non-finite check of the input fused into the row-block
    pass; a non-finite block makes ``outputs`` run its full check (which raises, naming the
    kind and the pool position)."""
    checks: list[int] = []
    token = INPUT_CHECK.set(checks)
    try:
        scores = score(stored)
    finally:
        INPUT_CHECK.reset(token)
    if checks:
        outputs.stored(kind)  # CheckedOutputs: raises SelectionError at the first bad row
    return scores


def _columns(block: np.ndarray) -> list[np.ndarray]:
    flat = block.reshape(len(block), -1)
    return [flat[:, column] for column in range(flat.shape[1])]


def max_kernel(block: np.ndarray, out: np.ndarray) -> None:
    columns = _columns(block)
    np.copyto(out, columns[0])
    for column in columns[1:]:
        np.maximum(out, column, out=out)


def least_confidence_kernel(block: np.ndarray, out: np.ndarray) -> None:
    """``out = 1 - max`` over the columns, while the block is in cache."""
    max_kernel(block, out)
    np.subtract(1, out, out=out)


def top_two_gap_kernel(block: np.ndarray, out: np.ndarray) -> None:
    """``out = -(best - second best)`` over the columns (NaN propagates)."""
    columns = _columns(block)
    best = np.maximum(columns[0], columns[1])
    second = np.minimum(columns[0], columns[1])
    scratch = np.empty_like(best)
    for column in columns[2:]:
        np.minimum(best, column, out=scratch)  # the loser of column vs best
        np.maximum(second, scratch, out=second)
        np.maximum(best, column, out=best)
    np.subtract(second, best, out=out)


def _xlogx_sum(block: np.ndarray, out: np.ndarray, scratch: np.ndarray) -> None:
    """``out = sum_j x_j log x_j`` over the flattened columns, ``0 log 0 = 0``."""
    tiny = np.finfo(block.dtype).tiny
    out.fill(0)
    for column in _columns(block):
        np.maximum(column, tiny, out=scratch)
        np.log(scratch, out=scratch)
        scratch *= column
        out += scratch


def entropy_kernel(block: np.ndarray, out: np.ndarray) -> None:
    _xlogx_sum(block, out, np.empty_like(out))
    np.negative(out, out=out)


def bald_kernel(block: np.ndarray, out: np.ndarray) -> None:
    """Mutual information from MC samples ``(b, T, C)``: H(mean_t p) - mean_t H(p_t)."""
    n_rows, n_samples, n_classes = block.shape
    scratch = np.empty(n_rows, dtype=block.dtype)
    mean_entropy = np.empty(n_rows, dtype=block.dtype)
    _xlogx_sum(block, mean_entropy, scratch)  # sum_t sum_c p log p
    mean = np.empty((n_classes, n_rows), dtype=block.dtype)
    for c in range(n_classes):
        np.copyto(mean[c], block[:, 0, c])
        for t in range(1, n_samples):
            mean[c] += block[:, t, c]
        mean[c] /= n_samples
    out.fill(0)
    tiny = np.finfo(block.dtype).tiny
    for c in range(n_classes):
        np.maximum(mean[c], tiny, out=scratch)
        np.log(scratch, out=scratch)
        scratch *= mean[c]
        out -= scratch
    mean_entropy /= n_samples
    out += mean_entropy  # H(mean) - mean H = -sum m log m + (sum p log p) / T


def binary_kernel(score: Callable[[np.ndarray, np.ndarray], None], reduction: str) -> Callable:
    """A kernel applying ``score(column, out_column)`` per label and reducing the labels
    by ``"mean"`` or ``"max"``."""

    def kernel(block: np.ndarray, out: np.ndarray) -> None:
        columns = _columns(block)
        scratch = np.empty_like(out)
        for index, column in enumerate(columns):
            target = out if index == 0 else scratch
            score(column, target)
            if index:
                (np.maximum if reduction == "max" else np.add)(out, scratch, out=out)
        if reduction != "max":
            out /= len(columns)

    return kernel


def binary_least_confidence(p: np.ndarray, out: np.ndarray) -> None:
    np.subtract(1, p, out=out)
    np.maximum(out, p, out=out)
    np.subtract(1, out, out=out)


def binary_entropy(p: np.ndarray, out: np.ndarray) -> None:
    tiny = np.finfo(out.dtype).tiny
    q = np.subtract(1, p, dtype=out.dtype)
    np.maximum(p, tiny, out=out)
    np.log(out, out=out)
    out *= p
    other = np.maximum(q, tiny)
    np.log(other, out=other)
    other *= q
    out += other
    np.negative(out, out=out)


def binary_margin(p: np.ndarray, out: np.ndarray) -> None:
    np.multiply(p, 2, out=out)
    out -= 1
    np.abs(out, out=out)
    np.negative(out, out=out)


def stored_rows(outputs: Any, kind: str, context: Any) -> np.ndarray | None:
    """The whole stored ``(n_pool, ...)`` array of ``kind`` without a copy, when the
    candidates are most of the pool and in increasing order (pool order then equals
    candidate order, so scoring in place picks exactly what scoring a gathered copy
    would); None otherwise (the caller gathers the candidate rows). The array is NOT yet
    checked for NaN/inf: score it through :func:`score_checked`."""
    candidates = context.candidate_indices
    n_pool = int(context.n_pool)
    if len(candidates) < IN_PLACE_SHARE * n_pool or not callable(getattr(outputs, "stored", None)):
        return None
    increasing = getattr(context, "candidates_increasing", None)
    if increasing is None:
        increasing = len(candidates) < 2 or bool((candidates[1:] > candidates[:-1]).all())
    if not increasing:
        return None
    unchecked = getattr(outputs, "stored_unchecked", None)
    array = unchecked(kind) if callable(unchecked) else outputs.stored(kind)
    if not isinstance(array, np.ndarray) or len(array) != n_pool or array.dtype.kind != "f":
        return None
    return array


def mask_non_candidates(pool_scores: np.ndarray, context: Any) -> None:
    """Set every pool position that is not a candidate to ``-inf``, in place."""
    candidates = context.candidate_indices
    labeled = context.labeled_indices
    if len(candidates) + len(labeled) == len(pool_scores):  # the rest is exactly the labeled
        pool_scores[labeled] = -np.inf
        return
    keep = np.zeros(len(pool_scores), dtype=bool)
    keep[candidates] = True
    pool_scores[~keep] = -np.inf


def select_from_pool_scores(name: str, pool_scores: np.ndarray, k: int, context: Any) -> Any:
    """The top-k Selection from scores of every pool row ``(n_pool,)`` (a buffer the caller
    owns: non-candidates are overwritten with ``-inf``). Picks, ties and generator draws
    equal those of :func:`~labelwise.strategies.base.top_k` over the candidates' scores,
    since the candidates are in increasing pool order and every other row ranks last."""
    from labelwise.errors import SelectionError
    from labelwise.strategies.base import Selection, top_k

    candidates = context.candidate_indices
    total = pool_scores.sum()
    if not np.isfinite(total) and not np.isfinite(pool_scores[candidates]).all():
        bad = int(np.flatnonzero(~np.isfinite(pool_scores[candidates]))[0])
        raise SelectionError(
            f"{name}: non-finite score at pool position {int(candidates[bad])}; "
            "check the model outputs for NaN."
        )
    candidate_scores = _candidate_scores(pool_scores, context)
    mask_non_candidates(pool_scores, context)
    chosen = top_k(pool_scores, k, context.rng)
    return Selection(chosen, pool_scores[chosen], candidates, candidate_scores)


def _candidate_scores(pool_scores: np.ndarray, context: Any) -> np.ndarray:
    """``pool_scores[candidates]`` as float64 (the Selection's dtype) in one pass: when the
    candidates are every unlabeled row, the runs between labeled positions are copied."""
    candidates = context.candidate_indices
    labeled = np.sort(context.labeled_indices)
    if len(candidates) + len(labeled) != len(pool_scores) or len(labeled) > 4096:
        return pool_scores[candidates].astype(np.float64)
    result = np.empty(len(candidates), dtype=np.float64)
    written = start = 0
    for stop in [*labeled.tolist(), len(pool_scores)]:
        size = stop - start
        if size:
            result[written : written + size] = pool_scores[start:stop]
            written += size
        start = stop + 1
    return result
