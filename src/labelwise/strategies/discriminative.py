"""Discriminative Active Learning (DAL).

References:
    Gissin & Shalev-Shwartz (2019). Discriminative active learning. arXiv:1907.06347.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from labelwise._random import derive_seed
from labelwise.errors import ConfigError
from labelwise.strategies.base import QueryContext, QueryStrategy, Selection, top_k
from labelwise.strategies.registry import register_strategy


@register_strategy("dal", "discriminative", "discriminative_active_learning")
class DiscriminativeAL(QueryStrategy):
    """DAL (Gissin & Shalev-Shwartz 2019): query the rows a labeled-vs-unlabeled
    classifier is most sure are *unlabeled*, i.e. the rows least like the labeled set.

    A small scikit-learn classifier (logistic regression by default, or a one-hidden-layer
    MLP) is trained on ``embeddings`` of the labeled rows (class 0) against the candidates
    (class 1), with balanced class weights. The batch is built in ``sub_rounds``
    sub-rounds: each takes the ``~k / sub_rounds`` remaining candidates with the highest
    ``P(unlabeled)``, moves them to the labeled side and retrains, so one batch does not
    pile up in one unrepresented region. Training this classifier is part of the method;
    the task model is never touched.

    With no labeled row at all, the first pick is a candidate drawn from the context's
    generator (there is nothing to discriminate against yet).

    Scores: a chosen row scores its ``P(unlabeled)`` at the sub-round it was picked;
    other candidates their ``P(unlabeled)`` under the classifier of the first sub-round.

    Args:
        sub_rounds: number of retraining sub-rounds per batch (at most ``k``).
        classifier: ``"logistic"`` or ``"mlp"``.
        hidden_size: MLP hidden units.
        max_iter: solver iterations.

    References:
        Gissin & Shalev-Shwartz (2019). Discriminative active learning. arXiv:1907.06347.
    """

    requires = ("embeddings",)
    tasks = ("classification", "tagging", "seq2seq")

    def __init__(self, sub_rounds: int = 10, classifier: str = "logistic", hidden_size: int = 64,
                 max_iter: int = 200) -> None:
        self.sub_rounds = sub_rounds
        self.classifier = classifier
        self.hidden_size = hidden_size
        self.max_iter = max_iter

    def check(self, outputs: Any, k: int, context: QueryContext) -> None:
        if self.classifier not in ("logistic", "mlp"):
            raise ConfigError(f"dal: classifier must be 'logistic' or 'mlp', got {self.classifier!r}.")
        if isinstance(self.sub_rounds, bool) or not isinstance(self.sub_rounds, int) or self.sub_rounds < 1:
            raise ConfigError(f"dal: sub_rounds must be a positive integer, got {self.sub_rounds!r}.")
        super().check(outputs, k, context)

    def _new_classifier(self, seed: int) -> Any:
        if self.classifier == "mlp":
            from sklearn.neural_network import MLPClassifier

            return MLPClassifier(hidden_layer_sizes=(self.hidden_size,), max_iter=self.max_iter, random_state=seed)
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(max_iter=self.max_iter, class_weight="balanced", random_state=seed)

    def _select(self, outputs: Any, k: int, context: QueryContext) -> Selection:
        candidates = context.candidate_indices
        pool_vectors = outputs.get("embeddings", candidates).astype(np.float32)
        labeled_vectors = (
            outputs.get("embeddings", context.labeled_indices).astype(np.float32)
            if len(context.labeled_indices) else np.empty((0, pool_vectors.shape[1]), dtype=np.float32)
        )
        n_rounds = min(self.sub_rounds, k)
        sizes = np.full(n_rounds, k // n_rounds)
        sizes[: k % n_rounds] += 1
        remaining = np.ones(len(candidates), dtype=bool)
        chosen: list[int] = []
        chosen_scores: list[float] = []
        first_scores: np.ndarray | None = None
        seed = derive_seed(context.rng)
        if len(labeled_vectors) == 0:
            start = int(context.rng.integers(len(candidates)))
            chosen.append(start)
            chosen_scores.append(1.0)
            remaining[start] = False
            sizes[0] -= 1
        for size in sizes:
            if size == 0:
                continue
            side = np.concatenate([labeled_vectors, pool_vectors[chosen]]) if chosen else labeled_vectors
            probability = self._p_unlabeled(side, pool_vectors[remaining], seed)
            rest = np.flatnonzero(remaining)
            if first_scores is None:
                first_scores = np.zeros(len(candidates))
                first_scores[rest] = probability
            picked = top_k(probability, int(size), context.rng)
            chosen.extend(rest[picked].tolist())
            chosen_scores.extend(probability[picked].tolist())
            remaining[rest[picked]] = False
        if first_scores is None:  # k == 1 with no labels: only the random start
            first_scores = np.zeros(len(candidates))
        rows = np.asarray(chosen, dtype=np.int64)
        return Selection(candidates[rows], np.asarray(chosen_scores), candidates, first_scores)

    def _p_unlabeled(self, labeled_side: np.ndarray, unlabeled_side: np.ndarray, seed: int) -> np.ndarray:
        features = np.concatenate([labeled_side, unlabeled_side])
        target = np.r_[np.zeros(len(labeled_side), dtype=np.int64), np.ones(len(unlabeled_side), dtype=np.int64)]
        model = self._new_classifier(seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # convergence warnings on tiny sub-rounds
            model.fit(features, target)
        return model.predict_proba(unlabeled_side)[:, 1].astype(np.float64)


__all__ = ["DiscriminativeAL"]
