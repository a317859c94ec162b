"""The query-strategy interface.

A strategy is a small object with ``requires`` (the outputs it reads) and
``select(outputs, k, context) -> Selection``. It never trains a model and never
tokenizes: everything it needs is in :class:`~labelwise.outputs.ModelOutputs`, so
inference runs once per iteration and strategies test on plain arrays.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

from labelwise._random import RandomState, check_random_state
from labelwise.errors import CapabilityError, SelectionError

#: rows inspected to tell softmax rows (sum 1) from independent per-label probabilities.
MULTI_LABEL_CHECK_ROWS = 4096
#: output kinds whose last axis is a distribution over classes.
PROBABILITY_KINDS = ("probabilities", "mc_probabilities")
#: output kinds holding log probabilities, where -inf (probability 0) is a valid value.
LOG_PROBABILITY_KINDS = ("sequence_scores", "mc_sequence_scores", "best_path_log_probability")


@dataclass(frozen=True)
class Selection:
    """The result of a query.

    Attributes:
        indices: chosen pool positions, ``(k,)`` int64, in the order they were picked.
        scores: the strategy's score of each chosen position, ``(k,)`` float64; higher
            means more informative.
        candidate_indices: every position the strategy scored, ``(m,)``.
        candidate_scores: their scores, ``(m,)`` (used by UPS and to rank the annotation
            queue). Batch strategies that pick jointly report a per-row score where one
            exists (e.g. distance to the chosen set) and the pick order otherwise.
    """

    indices: np.ndarray
    scores: np.ndarray
    candidate_indices: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    candidate_scores: np.ndarray = field(default_factory=lambda: np.empty(0))

    def __post_init__(self) -> None:
        object.__setattr__(self, "indices", np.asarray(self.indices, dtype=np.int64))
        object.__setattr__(self, "scores", np.asarray(self.scores, dtype=np.float64))
        object.__setattr__(self, "candidate_indices", np.asarray(self.candidate_indices, dtype=np.int64))
        object.__setattr__(self, "candidate_scores", np.asarray(self.candidate_scores, dtype=np.float64))
        if self.indices.shape != self.scores.shape:
            raise ValueError("Selection needs one score per index.")

    def __len__(self) -> int:
        return len(self.indices)

    def pool_scores(self, n_pool: int) -> np.ndarray:
        """Scores over the whole pool, ``(n_pool,)``, NaN where not scored."""
        scores = np.full(n_pool, np.nan)
        scores[self.candidate_indices] = self.candidate_scores
        scores[self.indices] = self.scores
        return scores


@dataclass
class QueryContext:
    """What a strategy may know beyond the model outputs.

    Attributes:
        n_pool: size of the pool.
        labeled_indices: positions already labeled, ``(n_labeled,)``.
        candidate_indices: positions the strategy may choose from (unlabeled, possibly
            subsampled), ``(m,)``.
        labels: annotations of ``labeled_indices`` in the task's form (class ids for
            classification), or None.
        rng: the generator every random choice draws from.
        iteration: number of the AL iteration (0 = first query).
        token_counts: tokens per pool position ``(n_pool,)`` for token budgets, or None.
        n_classes: number of classes for classification, or None.
        multi_label: True when each row may carry several labels (independent sigmoid
            probabilities), False when the classes are exclusive (softmax), None when the
            caller does not say (the pool's ``multi_label`` flag, 2-D labels or the row sums
            of the probabilities then decide).

    Construction validates the positions: candidates must be unique pool positions that
    are not labeled, so a strategy can never return a row twice or re-query a label.
    """

    n_pool: int
    labeled_indices: np.ndarray
    candidate_indices: np.ndarray
    rng: np.random.Generator
    labels: Any = None
    iteration: int = 0
    token_counts: np.ndarray | None = None
    n_classes: int | None = None
    multi_label: bool | None = None

    def __post_init__(self) -> None:
        self.labeled_indices = _positions(self.labeled_indices, "labeled_indices", self.n_pool)
        self.candidate_indices = _positions(self.candidate_indices, "candidate_indices", self.n_pool)
        candidates = self.candidate_indices
        #: whether the validated candidates are in increasing pool order (read by the
        #: in-place scoring path; None after candidate_indices is reassigned)
        self._increasing = (candidates, len(candidates) < 2 or bool((candidates[1:] > candidates[:-1]).all()))
        for field_name in ("labeled_indices", "candidate_indices"):
            if field_name == "candidate_indices" and self._increasing[1]:
                continue  # increasing positions are unique
            repeated = _first_repeat(getattr(self, field_name))
            if repeated is not None:
                raise SelectionError(
                    f"QueryContext: {field_name} lists pool position {repeated} more than once; "
                    "pass each position once (e.g. np.unique(positions))."
                )
        if len(self.labeled_indices) and len(self.candidate_indices):
            labeled = np.zeros(int(self.n_pool), dtype=bool)
            labeled[self.labeled_indices] = True
            overlap = self.candidate_indices[labeled[self.candidate_indices]]
            if len(overlap):
                raise SelectionError(
                    f"QueryContext: pool position {int(overlap[0])} is both labeled and a candidate "
                    f"({len(overlap)} such positions); candidates must be unlabeled positions "
                    "(e.g. np.setdiff1d(candidates, labeled_indices))."
                )

    @classmethod
    def build(
        cls,
        n_pool: int,
        labeled_indices: Sequence[int] | np.ndarray = (),
        candidate_indices: Sequence[int] | np.ndarray | None = None,
        random_state: RandomState = None,
        **extra: Any,
    ) -> QueryContext:
        """A context with every unlabeled position as a candidate unless told otherwise."""
        labeled = _positions(labeled_indices, "labeled_indices", n_pool)
        if candidate_indices is None:
            mask = np.ones(n_pool, dtype=bool)
            mask[labeled] = False
            candidates = np.flatnonzero(mask)
        else:
            candidates = np.asarray(candidate_indices)  # validated (not cast) by __post_init__
        return cls(n_pool, labeled, candidates, check_random_state(random_state), **extra)

    @property
    def candidates_increasing(self) -> bool | None:
        """True when the candidates are in increasing pool order (known from validation),
        None when ``candidate_indices`` was replaced since."""
        cached = getattr(self, "_increasing", None)
        return cached[1] if cached is not None and cached[0] is self.candidate_indices else None

    @property
    def labeled_mask(self) -> np.ndarray:
        mask = np.zeros(self.n_pool, dtype=bool)
        mask[self.labeled_indices] = True
        return mask


def _positions(values: Any, field_name: str, n_pool: int) -> np.ndarray:
    """``values`` as a 1-D int64 array of positions in ``[0, n_pool)``, or SelectionError."""
    array = np.asarray(values)
    if array.size == 0:
        return np.empty(0, dtype=np.int64)
    if array.ndim != 1 or array.dtype.kind not in "iu":
        raise SelectionError(
            f"QueryContext: {field_name} must be a 1-D array of integer pool positions, "
            f"got shape {array.shape} of {array.dtype}."
        )
    array = array.astype(np.int64, copy=False)
    low, high = int(array.min()), int(array.max())
    if low < 0 or high >= n_pool:
        bad = low if low < 0 else high
        raise SelectionError(
            f"QueryContext: {field_name} holds position {bad}, outside the pool [0, {n_pool}); "
            "positions index the pool the outputs were computed on."
        )
    return array


def _first_repeat(positions: np.ndarray) -> int | None:
    """A position listed twice, or None. Increasing positions (the usual case) cost one
    comparison pass; anything else one sort."""
    if len(positions) < 2 or (positions[1:] > positions[:-1]).all():
        return None
    ordered = np.sort(positions)
    repeats = ordered[1:][ordered[1:] == ordered[:-1]]
    return int(repeats[0]) if len(repeats) else None


def multi_label_signal(outputs: Any, context: QueryContext) -> bool | None:
    """Whether the task is multi-label, from the most explicit signal there is: the
    context's ``multi_label``, then the pool's ``multi_label`` flag (a classification
    dataset), then the model's fitted ``multi_label_``, then 2-D (indicator) labels.
    None when nothing says; the probabilities' row sums then
    decide (:func:`looks_multi_label`)."""
    if context.multi_label is not None:
        return bool(context.multi_label)
    for owner, attribute in ((getattr(outputs, "pool", None), "multi_label"),
                             (getattr(outputs, "model", None), "multi_label_")):
        flag = getattr(owner, attribute, None) if owner is not None else None
        if isinstance(flag, (bool, np.bool_)):
            return bool(flag)
    labels = context.labels
    if isinstance(labels, np.ndarray) and labels.ndim == 2 and labels.size and labels.dtype != object:
        return True  # indicator rows; 1-D labels say nothing (tests and tools pass them freely)
    return None


def looks_multi_label(probabilities: np.ndarray) -> bool:
    """True when rows of ``probabilities`` ``(n, ..., C)`` do not sum to 1 (independent
    sigmoids). An evenly spaced sample of at most ``MULTI_LABEL_CHECK_ROWS`` rows decides, so
    the check costs O(1) on a million-row pool."""
    if len(probabilities) == 0:
        return False
    step = max(1, len(probabilities) // MULTI_LABEL_CHECK_ROWS)
    sums = np.asarray(probabilities[::step], dtype=np.float32).sum(axis=-1)
    return not np.allclose(sums, 1.0, atol=1e-2)


def _first_non_finite(values: Any, allow_minus_infinity: bool = False) -> tuple[int, float] | None:
    """``(row, value)`` of the first NaN or infinite entry of a float array (dense or
    sparse), or None. One reduction over the data; the element-wise scan runs only when
    that reduction is not finite. ``allow_minus_infinity`` accepts ``-inf`` (a log
    probability of 0)."""
    if sp.issparse(values):
        data = values.data
        if data.dtype.kind != "f" or np.isfinite(data.sum()):
            return None
        bad_entries = np.flatnonzero(~np.isfinite(data))
        if not len(bad_entries):
            return None
        row = int(np.searchsorted(values.tocsr().indptr, bad_entries[0], side="right") - 1)
        return row, float(data[bad_entries[0]])
    if not isinstance(values, np.ndarray) or values.dtype.kind != "f" or values.size == 0:
        return None  # texts and per-sentence object rows are not checked here
    if np.isfinite(_total(values)):
        return None
    bad = np.isnan(values) | (values == np.inf) if allow_minus_infinity else ~np.isfinite(values)
    rows = bad.reshape(len(values), -1).any(axis=1)
    if not rows.any():  # the sum overflowed, or -inf is allowed here
        return None
    row = int(np.flatnonzero(rows)[0])
    entries = np.atleast_1d(values[row])
    return row, float(entries[np.atleast_1d(bad[row])][0])


#: row length of the 2-D view whose product with a vector of ones sums an array (BLAS).
_SUM_ROW = 1024


def _total(values: np.ndarray) -> Any:
    """The sum of every entry (NaN or infinite when one is), by one BLAS matrix-vector
    product over a 2-D view of contiguous data: about 2.5x faster than ``values.sum()``."""
    if not values.flags.c_contiguous or values.size < 16 * _SUM_ROW or values.dtype not in (np.float32, np.float64):
        return values.sum()
    flat = values.reshape(-1)
    head = len(flat) // _SUM_ROW * _SUM_ROW
    return (flat[:head].reshape(-1, _SUM_ROW) @ np.ones(_SUM_ROW, dtype=values.dtype)).sum() + flat[head:].sum()


_STORED: Any = object()  # CheckedOutputs.get's marker for "the stored array, uncopied"


class CheckedOutputs:
    """The view of :class:`~labelwise.outputs.ModelOutputs` a strategy selects from: every
    array it reads is checked once, where it is read, so no strategy can choose a NaN row
    or fail deep inside scikit-learn. Non-finite values raise :class:`SelectionError`
    naming the output kind and the pool position; sigmoid rows handed to a softmax-only
    strategy raise :class:`CapabilityError`. Everything else is delegated unchanged; the
    arrays are never copied."""

    def __init__(self, outputs: Any, strategy: QueryStrategy, multi_label: bool | None) -> None:
        self.outputs = outputs
        self.strategy = strategy
        self.multi_label = multi_label

    def stored(self, kind: str) -> Any:
        """The whole stored array of ``kind`` (read-only, no copy), checked like ``get``."""
        return self.get(kind, _STORED)

    def stored_unchecked(self, kind: str) -> Any:
        """``stored`` without the NaN/inf scan, for a caller that fuses that scan into its
        own pass over the rows (``_rowwise.score_checked``) and calls ``stored`` on a hit."""
        stored = getattr(self.outputs, "stored", None)
        if not callable(stored):
            return None
        values = stored(kind)
        if (kind in PROBABILITY_KINDS and not self.strategy.supports_multi_label and self.multi_label is None
                and isinstance(values, np.ndarray) and values.dtype.kind == "f" and looks_multi_label(values)):
            return self.stored(kind)  # the full check: a NaN row first, else the multi-label error
        return values

    def get(self, kind: str, positions: Sequence[int] | np.ndarray | None = None) -> Any:
        if positions is _STORED:
            stored = getattr(self.outputs, "stored", None)
            if not callable(stored):
                return None
            values, positions = stored(kind), None
        else:
            values = self.outputs.get(kind, positions)
        bad = _first_non_finite(values, allow_minus_infinity=kind in LOG_PROBABILITY_KINDS)
        if bad is not None:
            row, value = bad
            position = row if positions is None else int(np.asarray(positions).reshape(-1)[row])
            raise SelectionError(
                f"strategy {self.strategy.name!r}: output {kind!r} holds {value} at pool position {position}. "
                "Fix: the model produced non-finite values (a diverged fit, an overflow in float16, an empty "
                "input); retrain it, or leave that position out of the candidates."
            )
        if (kind in PROBABILITY_KINDS and not self.strategy.supports_multi_label and self.multi_label is None
                and isinstance(values, np.ndarray) and values.dtype.kind == "f" and looks_multi_label(values)):
            raise _multi_label_error(self.strategy, f"the rows of {kind!r} do not sum to 1")
        return values

    def __getattr__(self, name: str) -> Any:
        return getattr(self.outputs, name)

    def __repr__(self) -> str:
        return f"CheckedOutputs({self.outputs!r})"


def _multi_label_error(strategy: QueryStrategy, evidence: str) -> CapabilityError:
    return CapabilityError(
        f"strategy {strategy.name!r} needs exclusive classes (softmax probabilities), but this task is "
        f"multi-label ({evidence}). Fix: use an uncertainty strategy that handles independent labels "
        "('least_confidence', 'entropy', 'breaking_ties'), 'random', or an embedding strategy "
        "('coreset', 'bert_km')."
    )


class QueryStrategy(ABC):
    """Base class. Subclasses set ``name`` and ``requires`` and implement ``_select``.

    ``select`` checks everything that can be checked before work (k, candidates,
    outputs) and then calls ``_select``, which must return exactly ``k`` unique
    candidate positions.
    """

    name: ClassVar[str] = ""
    requires: ClassVar[tuple[str, ...]] = ()
    #: True when the strategy can run before any label exists (cold start).
    cold_start: ClassVar[bool] = False
    #: the tasks whose outputs the strategy understands.
    tasks: ClassVar[tuple[str, ...]] = ("classification",)
    #: False for strategies whose math assumes one label per row (a softmax over exclusive
    #: classes): they refuse multi-label (independent sigmoid) outputs with CapabilityError.
    supports_multi_label: ClassVar[bool] = True

    def select(self, outputs: Any, k: int, context: QueryContext) -> Selection:
        if isinstance(outputs, CheckedOutputs):  # a strategy delegating to another one
            outputs = outputs.outputs
        multi_label = multi_label_signal(outputs, context) if outputs is not None else context.multi_label
        if multi_label and not self.supports_multi_label:
            raise _multi_label_error(self, "the pool or the context says multi_label=True")
        if outputs is not None:
            outputs = CheckedOutputs(outputs, self, multi_label)
        self.check(outputs, k, context)
        selection = self._select(outputs, int(k), context)
        indices = selection.indices
        if len(indices) != k or len(np.unique(indices)) != k:
            raise SelectionError(
                f"strategy {self.name!r} returned {len(np.unique(indices))} unique of {len(indices)} rows "
                f"for k={k}; this is a bug in the strategy, please report it."
            )
        return selection

    def check(self, outputs: Any, k: int, context: QueryContext) -> None:
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise SelectionError(f"k must be a positive integer, got {k!r}.")
        n_candidates = len(context.candidate_indices)
        if n_candidates == 0:
            raise SelectionError("there are no unlabeled candidates left to query.")
        if k > n_candidates:
            raise SelectionError(
                f"asked for k={k} but only {n_candidates} unlabeled candidates remain; lower k."
            )
        if outputs is not None:
            outputs.require(self.requires, who=f"strategy {self.name!r}")

    @abstractmethod
    def _select(self, outputs: Any, k: int, context: QueryContext) -> Selection: ...

    def get_params(self) -> dict[str, Any]:
        return {key: value for key, value in vars(self).items() if not key.startswith("_")}

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({params})"


class ScoringStrategy(QueryStrategy):
    """A strategy that scores each candidate independently and takes the top k."""

    @abstractmethod
    def score(self, outputs: Any, context: QueryContext) -> np.ndarray:
        """Scores of ``context.candidate_indices``, ``(m,)``, higher = more informative."""

    def _select(self, outputs: Any, k: int, context: QueryContext) -> Selection:
        scores = np.asarray(self.score(outputs, context), dtype=np.float64)
        if scores.shape != context.candidate_indices.shape:
            raise ValueError(f"{self.name}: score() returned {scores.shape}, expected {context.candidate_indices.shape}.")
        # One fast reduction; the element-wise scan only runs when something is off.
        if not np.isfinite(scores.sum()) and not np.isfinite(scores).all():
            bad = int(np.flatnonzero(~np.isfinite(scores))[0])
            raise SelectionError(
                f"{self.name}: non-finite score at pool position {int(context.candidate_indices[bad])}; "
                "check the model outputs for NaN."
            )
        chosen = top_k(scores, k, context.rng)
        return Selection(context.candidate_indices[chosen], scores[chosen], context.candidate_indices, scores)


def top_k(scores: np.ndarray, k: int, rng: np.random.Generator | None = None) -> np.ndarray:
    """Positions (into ``scores``) of the k largest, best first. O(m + k log k).

    Ties are broken by ``rng`` (the run's generator), so an untrained model whose scores
    are all equal does not always query positions 0..k-1; the same generator state gives
    the same result. Only the group tied at the boundary of the top k is drawn from, and
    equal scores inside the result are ordered at random. Without ``rng`` ties go to the
    lower position.
    """
    m = scores.shape[0]
    if k >= m:
        return _best_first(np.arange(m), scores, rng)
    shortlist = _block_shortlist(scores, k)
    if shortlist is not None and len(shortlist) < m:  # all scores >= the k-th largest, in order
        return shortlist[_top_k_partition(scores[shortlist], k, rng)]
    return _top_k_partition(scores, k, rng)


def argmax_ties_drawn(values: np.ndarray, rng: np.random.Generator | None) -> int:
    """The position of the largest value; several equal largest values (duplicate rows,
    an untrained model) are drawn from with ``rng``, the way :func:`top_k` breaks ties,
    instead of always going to the lowest position. No draw is made without a tie."""
    best = int(np.argmax(values))
    if rng is None:
        return best
    tied = np.flatnonzero(values == values[best])
    return best if len(tied) == 1 else int(rng.choice(tied))


def _top_k_partition(scores: np.ndarray, k: int, rng: np.random.Generator | None) -> np.ndarray:
    m = scores.shape[0]
    if k >= m:
        return _best_first(np.arange(m), scores, rng)
    # Partition so the k largest come last; resolve ties at the boundary.
    part = np.sort(np.argpartition(scores, m - k)[m - k :])  # position order: ties drawn alike
    threshold = scores[part].min()
    if np.count_nonzero(scores >= threshold) == k:  # no tie crosses the boundary
        return _best_first(part, scores, rng)
    above = np.flatnonzero(scores > threshold)
    tied = np.flatnonzero(scores == threshold)
    needed = k - len(above)
    tied = tied[:needed] if rng is None else rng.choice(tied, needed, replace=False)
    return _best_first(np.concatenate([above, tied]), scores, rng)


#: rows per block of the two-pass top k (block maxima, then the best blocks' rows).
TOP_K_BLOCK = 64


def _block_shortlist(scores: np.ndarray, k: int) -> np.ndarray | None:
    """Increasing positions of every score in the blocks whose maximum is at least the
    k-th largest block maximum: a superset of all scores >= the k-th largest score (k
    blocks hold k scores >= that threshold), found in one pass over block maxima. None when
    it would not be much shorter than ``scores``."""
    block = TOP_K_BLOCK
    m = scores.shape[0]
    n_blocks = m // block
    if n_blocks < 8 * k or scores.dtype.kind != "f":
        return None
    # reduceat over block starts: about twice as fast as reshape(...).max(axis=1).
    maxima = np.maximum.reduceat(scores[: n_blocks * block], np.arange(0, n_blocks * block, block))
    threshold = np.partition(maxima, n_blocks - k)[n_blocks - k]
    if np.isnan(threshold):
        return None
    best = np.flatnonzero(maxima >= threshold)
    rows = (best[:, None] * block + np.arange(block)).reshape(-1)
    tail = np.arange(n_blocks * block, m)
    return np.concatenate([rows, tail]) if len(tail) else rows


def _best_first(chosen: np.ndarray, scores: np.ndarray, rng: np.random.Generator | None) -> np.ndarray:
    """``chosen`` ordered by decreasing score; equal scores by position, or at random."""
    values = scores[chosen]
    tie_order = chosen
    if rng is not None:
        ordered = np.sort(values)
        if len(ordered) > 1 and (ordered[1:] == ordered[:-1]).any():
            tie_order = rng.permutation(len(chosen))
    return chosen[np.lexsort((tie_order, -values))]
