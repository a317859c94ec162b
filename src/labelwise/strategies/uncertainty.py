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

    def score(self, outputs: Any, context: QueryContext) -> np.ndarray:
        probabilities = outputs.get("probabilities", context.candidate_indices)
        if self._is_multi_label(outputs, context, probabilities):
            per_label = self.score_binary(np.asarray(probabilities, dtype=np.float32))
            return per_label.max(axis=1) if self.multi_label_reduction == "max" else per_label.mean(axis=1)
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
        raise NotImplementedError


@register_strategy("least_confidence", "lc", "least_confident")
class LeastConfidence(_ProbabilityStrategy):
    """Score ``1 - max_c p(c|x)`` (Lewis & Gale 1994). Multi-label: per label
    ``1 - max(p, 1-p)``, averaged over labels."""

    def score_probabilities(self, probabilities: np.ndarray) -> np.ndarray:
        return heuristics.least_confidence(probabilities)

    def score_binary(self, probabilities: np.ndarray) -> np.ndarray:
        return 1.0 - np.maximum(probabilities, 1.0 - probabilities)


@register_strategy("entropy", "max_entropy", "prediction_entropy")
class Entropy(_ProbabilityStrategy):
    """Score the predictive entropy ``-sum_c p log p`` (Settles 2009). Multi-label: mean
    binary entropy over labels."""

    def score_probabilities(self, probabilities: np.ndarray) -> np.ndarray:
        return heuristics.entropy(probabilities)

    def score_binary(self, probabilities: np.ndarray) -> np.ndarray:
        return heuristics.binary_entropy(probabilities)


@register_strategy("breaking_ties", "margin", "bt", "smallest_margin")
class BreakingTies(_ProbabilityStrategy):
    """Score ``-(p_1 - p_2)``: the smallest margin between the two most probable classes is
    the most informative (Scheffer et al. 2001). Multi-label: per label ``-|2p - 1|``
    (distance of each label from its decision boundary), averaged."""

    def score_probabilities(self, probabilities: np.ndarray) -> np.ndarray:
        return heuristics.margin(probabilities)

    def score_binary(self, probabilities: np.ndarray) -> np.ndarray:
        return -np.abs(2.0 * probabilities - 1.0)


__all__ = ["MULTI_LABEL_CHECK_ROWS", "BreakingTies", "Entropy", "LeastConfidence", "RandomSampling", "Selection"]
