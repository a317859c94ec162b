"""Uncertainty sampling: Random, Least Confidence, Entropy, Breaking Ties.

References:
    Lewis & Gale (1994). A sequential algorithm for training text classifiers. SIGIR.
    Settles (2009). Active Learning Literature Survey. (Least confidence, entropy.)
    Scheffer, Decomain & Wrobel (2001). Active hidden Markov models for information
    extraction. (Breaking ties / margin.)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from labelwise.strategies import _rowwise as rowwise
from labelwise.strategies import scores as heuristics
from labelwise.strategies.base import (
    MULTI_LABEL_CHECK_ROWS,
    QueryContext,
    ScoringStrategy,
    Selection,
    looks_multi_label,
    multi_label_signal,
)
from labelwise.strategies.registry import register_strategy

ALL_TASKS = ("classification", "tagging", "seq2seq")


@register_strategy("random", "random_sampling", "rand")
class RandomSampling(ScoringStrategy):
    """Uniform sampling without replacement from the candidates (the baseline).

    Scores are uniform draws, so the order is random and reproducible from the context's
    generator.
    """

    requires = ()
    cold_start = True
    tasks = ALL_TASKS

    def score(self, outputs: Any, context: QueryContext) -> np.ndarray:
        return context.rng.random(len(context.candidate_indices))


class _ProbabilityStrategy(ScoringStrategy):
    requires = ("probabilities",)
    #: how a multi-label (independent sigmoid) row is reduced: "mean" or "max" over labels.
    multi_label_reduction = "mean"

    def __init__(self, multi_label: bool | None = None) -> None:
        self.multi_label = multi_label

    def _select(self, outputs: Any, k: int, context: QueryContext) -> Selection:
        # Candidates that are most of the pool: score the stored array where it lies and
        # mask the rest, instead of copying every candidate row out of the outputs.
        stored = rowwise.stored_rows(outputs, "probabilities", context)
        if stored is None:
            return super()._select(outputs, k, context)
        scores = rowwise.score_checked(outputs, "probabilities", stored,
                                       lambda rows: self._score_rows(outputs, context, rows))
        return rowwise.select_from_pool_scores(self.name, scores, k, context)

    def score(self, outputs: Any, context: QueryContext) -> np.ndarray:
        return self._score_rows(outputs, context, outputs.get("probabilities", context.candidate_indices))

    def _score_rows(self, outputs: Any, context: QueryContext, probabilities: np.ndarray) -> np.ndarray:
        if self._is_multi_label(outputs, context, probabilities):
            kernel = rowwise.binary_kernel(self.binary_kernel, self.multi_label_reduction)
            return rowwise.map_rows(probabilities, kernel)
        return self.score_probabilities(probabilities)

    def _is_multi_label(self, outputs: Any, context: QueryContext, probabilities: np.ndarray) -> bool:
        if self.multi_label is not None:
            return self.multi_label
        signal = multi_label_signal(outputs, context)  # the pool's flag, the context, 2-D labels
        return signal if signal is not None else looks_multi_label(np.asarray(probabilities))

    def score_probabilities(self, probabilities: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def score_binary(self, probabilities: np.ndarray) -> np.ndarray:
        """Per-label scores for ``(n, L)`` independent label probabilities."""
        p = rowwise.as_float(probabilities)
        out = np.empty_like(p)
        self.binary_kernel(p, out)
        return out

    @staticmethod
    def binary_kernel(probabilities: np.ndarray, out: np.ndarray) -> None:
        """Per-label scores of independent label probabilities, written into ``out``."""
        raise NotImplementedError


@register_strategy("least_confidence", "lc", "least_confident")
class LeastConfidence(_ProbabilityStrategy):
    """Score ``1 - max_c p(c|x)`` (Lewis & Gale 1994). Multi-label: per label
    ``1 - max(p, 1-p)``, averaged over labels."""

    def score_probabilities(self, probabilities: np.ndarray) -> np.ndarray:
        return heuristics.least_confidence(probabilities)

    binary_kernel = staticmethod(rowwise.binary_least_confidence)


@register_strategy("entropy", "max_entropy", "prediction_entropy")
class Entropy(_ProbabilityStrategy):
    """Score the predictive entropy ``-sum_c p log p`` (Settles 2009). Multi-label: mean
    binary entropy over labels."""

    def score_probabilities(self, probabilities: np.ndarray) -> np.ndarray:
        return heuristics.entropy(probabilities)

    binary_kernel = staticmethod(rowwise.binary_entropy)


@register_strategy("breaking_ties", "margin", "bt", "smallest_margin")
class BreakingTies(_ProbabilityStrategy):
    """Score ``-(p_1 - p_2)``: the smallest margin between the two most probable classes is
    the most informative (Scheffer et al. 2001). Multi-label: per label ``-|2p - 1|``
    (distance of each label from its decision boundary), averaged."""

    def score_probabilities(self, probabilities: np.ndarray) -> np.ndarray:
        return heuristics.margin(probabilities)

    binary_kernel = staticmethod(rowwise.binary_margin)


__all__ = ["MULTI_LABEL_CHECK_ROWS", "BreakingTies", "Entropy", "LeastConfidence", "RandomSampling", "Selection"]
