"""Embedding-space strategies: Coreset (greedy k-center) and CAL (contrastive AL)."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import xlogy

from labelwise.errors import SelectionError
from labelwise.strategies import _rowwise as rowwise
from labelwise.strategies._geometry import min_squared_distances, nearest_neighbours, squared_norms
from labelwise.strategies.base import (
    QueryContext,
    QueryStrategy,
    ScoringStrategy,
    Selection,
    argmax_ties_drawn,
)
from labelwise.strategies.registry import register_strategy

EMBEDDING_TASKS = ("classification", "tagging", "seq2seq")
#: the running distance of a row already in the batch: below any real squared distance.
TAKEN = -1.0


@register_strategy("coreset", "core_set", "k_center_greedy")
class Coreset(QueryStrategy):
    """Greedy k-center: repeatedly pick the candidate farthest from everything labeled or
    already picked, so the batch covers the embedding space. A running minimum-distance
    vector makes each pick one pass over the candidates (O(k·n·D) in all, n floats of
    memory). With no labeled rows the first centre is drawn at random from the seed.

    Scores are each pick's distance to the covered set when it was picked; other
    candidates score their final distance.

    References:
        Sener & Savarese (2018). Active learning for convolutional neural networks: a
        core-set approach. ICLR.
    """

    requires = ("embeddings",)
    tasks = EMBEDDING_TASKS

    def _select(self, outputs: Any, k: int, context: QueryContext) -> Selection:
        candidates = context.candidate_indices
        labeled = context.labeled_indices
        stored = rowwise.stored_rows(outputs, "embeddings", context)
        if stored is not None and stored.dtype == np.float32 and stored.flags.c_contiguous:
            # Candidates are most of the pool, in pool order: run over the stored array where
            # it lies, every non-candidate pinned at TAKEN, instead of copying the candidates.
            return self._select_in_pool(outputs.stored("embeddings"), k, context)  # checked for NaN
        points = np.ascontiguousarray(outputs.get("embeddings", candidates), dtype=np.float32)
        norms = squared_norms(points)
        if len(labeled):
            centres = np.asarray(outputs.get("embeddings", labeled), dtype=np.float32)
            nearest = min_squared_distances(points, centres, norms)
        else:
            nearest = np.full(len(points), np.inf, dtype=np.float32)
        return self._greedy(points, norms, nearest, k, context, candidates)

    def _select_in_pool(self, pool: np.ndarray, k: int, context: QueryContext) -> Selection:
        candidates = context.candidate_indices
        labeled = context.labeled_indices
        norms = squared_norms(pool)
        if len(labeled):
            nearest = min_squared_distances(pool, pool[labeled], norms)
        else:
            nearest = np.full(len(pool), np.inf, dtype=np.float32)
        keep = np.zeros(len(pool), dtype=bool)
        keep[candidates] = True
        nearest[~keep] = TAKEN
        selection = self._greedy(pool, norms, nearest, k, context, None)
        # _greedy drew the random first centre over candidate positions; map picks back.
        return Selection(selection.indices, selection.scores, candidates,
                         selection.candidate_scores[candidates])

    @staticmethod
    def _greedy(points: np.ndarray, norms: np.ndarray, nearest: np.ndarray, k: int, context: QueryContext,
                candidates: np.ndarray | None) -> Selection:
        """Greedy k-center over ``points`` from the running minimum ``nearest`` (float32,
        TAKEN where a row may not be picked). ``candidates``: the pool position of each row
        of ``points``, or None when ``points`` is the pool itself."""
        chosen: list[int] = []
        scores: list[float] = []
        scratch = np.empty(len(points), dtype=np.float32)
        if not len(context.labeled_indices):
            first = int(context.rng.integers(len(context.candidate_indices)))
            if candidates is None:
                first = int(context.candidate_indices[first])
            chosen.append(first)
            scores.append(float("inf"))
            _lower_to(nearest, points, norms, first, scratch)
        while len(chosen) < k:
            # A picked row is marked TAKEN (below every distance), so once every remaining
            # row sits at distance 0 (duplicates, collapsed embeddings) argmax still finds a
            # new one instead of returning an earlier pick.
            pick = argmax_ties_drawn(nearest, context.rng)
            chosen.append(pick)
            scores.append(float(np.sqrt(max(float(nearest[pick]), 0.0))))
            _lower_to(nearest, points, norms, pick, scratch)
        if np.isinf(scores[0]):  # the random first centre: rank it above every later pick
            scores[0] = (max(scores[1:]) if len(scores) > 1 else 0.0) + 1.0
        indices = np.asarray(chosen) if candidates is None else candidates[chosen]
        pool = np.arange(len(points)) if candidates is None else candidates
        return Selection(indices, scores, pool, np.sqrt(np.maximum(nearest, 0.0)))


def _lower_to(nearest: np.ndarray, points: np.ndarray, norms: np.ndarray, pick: int,
              scratch: np.ndarray) -> None:
    """``nearest = min(nearest, |points - points[pick]|^2)`` in place (one float32 GEMV,
    no temporaries), then mark ``pick`` TAKEN."""
    np.matmul(points, points[pick], out=scratch)
    scratch *= -2.0
    scratch += norms
    scratch += norms[pick]
    np.minimum(nearest, scratch, out=nearest)
    nearest[pick] = TAKEN


@register_strategy("cal", "contrastive_active_learning")
class CAL(ScoringStrategy):
    """Contrastive Active Learning: a candidate is informative when its prediction
    differs from those of its nearest LABELED neighbours in embedding space. Score = mean
    over its ``n_neighbors`` nearest labeled rows of ``KL(p_neighbour ‖ p_candidate)``.
    Neighbours come only from the labeled set, computed blockwise (O(n·L·D), never n²).

    References:
        Margatina, Vernikos, Barrault & Aletras (2021). Active learning by acquiring
        contrastive examples. EMNLP.
    """

    requires = ("embeddings", "probabilities")
    supports_multi_label = False

    def __init__(self, n_neighbors: int = 10) -> None:
        self.n_neighbors = n_neighbors

    def score(self, outputs: Any, context: QueryContext) -> np.ndarray:
        labeled = context.labeled_indices
        if not len(labeled):
            raise SelectionError("CAL needs labeled examples (their neighbours); start with a cold-start strategy.")
        candidates = context.candidate_indices
        candidate_embeddings = np.asarray(outputs.get("embeddings", candidates), dtype=np.float32)
        labeled_embeddings = np.asarray(outputs.get("embeddings", labeled), dtype=np.float32)
        neighbours = nearest_neighbours(candidate_embeddings, labeled_embeddings, self.n_neighbors)
        candidate_probabilities = np.asarray(outputs.get("probabilities", candidates), dtype=np.float64)
        labeled_probabilities = np.asarray(outputs.get("probabilities", labeled), dtype=np.float64)
        neighbour_probabilities = labeled_probabilities[neighbours]  # (n, k, C)
        log_candidate = np.log(np.maximum(candidate_probabilities, 1e-12))[:, None, :]
        divergence = (xlogy(neighbour_probabilities, neighbour_probabilities)
                      - neighbour_probabilities * log_candidate).sum(axis=2)
        return divergence.mean(axis=1)


__all__ = ["CAL", "Coreset", "squared_norms"]
