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

from labelwise._random import RandomState, check_random_state
from labelwise.errors import SelectionError


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
    """

    n_pool: int
    labeled_indices: np.ndarray
    candidate_indices: np.ndarray
    rng: np.random.Generator
    labels: Any = None
    iteration: int = 0
    token_counts: np.ndarray | None = None
    n_classes: int | None = None

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
        labeled = np.asarray(labeled_indices, dtype=np.int64)
        if candidate_indices is None:
            mask = np.ones(n_pool, dtype=bool)
            mask[labeled] = False
            candidates = np.flatnonzero(mask)
        else:
            candidates = np.asarray(candidate_indices, dtype=np.int64)
        return cls(n_pool, labeled, candidates, check_random_state(random_state), **extra)

    @property
    def labeled_mask(self) -> np.ndarray:
        mask = np.zeros(self.n_pool, dtype=bool)
        mask[self.labeled_indices] = True
        return mask


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

    def select(self, outputs: Any, k: int, context: QueryContext) -> Selection:
        self.check(outputs, k, context)
        selection = self._select(outputs, int(k), context)
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
        chosen = top_k(scores, k)
        return Selection(context.candidate_indices[chosen], scores[chosen], context.candidate_indices, scores)


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Positions (into ``scores``) of the k largest, best first; ties go to the lower
    position so results never depend on sort stability. O(m + k log k)."""
    m = scores.shape[0]
    if k >= m:
        return np.lexsort((np.arange(m), -scores))
    # Partition so the k largest come last; resolve ties at the boundary by position.
    part = np.argpartition(scores, m - k)[m - k :]
    threshold = scores[part].min()
    if np.count_nonzero(scores >= threshold) == k:  # no tie crosses the boundary
        return part[np.lexsort((part, -scores[part]))]
    above = np.flatnonzero(scores > threshold)
    ties = np.flatnonzero(scores == threshold)[: k - len(above)]
    chosen = np.concatenate([above, ties])
    return chosen[np.lexsort((chosen, -scores[chosen]))]
