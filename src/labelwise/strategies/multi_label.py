"""Query strategies for multi-label classification (independent per-label probabilities).

Every strategy here reads ``probabilities`` ``(n, L)`` as L independent probabilities
``p_l = P(label l applies | x)`` (sigmoid outputs), whatever their row sums. Labels in
the context may be ``(n_labeled, L)`` 0/1 indicator rows (the multi-label form) or class
ids (a single-label task read as one-hot rows), so every strategy also runs on a
multi-class model. Throughout, ``f_l = 2 p_l - 1`` in ``[-1, 1]`` stands in for the
signed SVM output of the papers (positive = label predicted), and a row is predicted to
carry label ``l`` when ``p_l > threshold`` (0.5).

Binary relevance (BR) forms reduce per-label binary scores over the labels by ``mean``
(the default: every label's doubt counts) or ``max`` (the single most doubtful label):

* ``br_least_confidence``: per label ``1 - max(p, 1 - p)``.
* ``br_entropy``: per label the binary entropy ``H_b(p)`` (nats).
* ``br_margin``: per label ``1 - |2p - 1|`` (one minus the binary margin ``|p - (1 - p)|``).
* ``br_bald``: per label the binary mutual information ``H_b(mean_t p_t) - mean_t H_b(p_t)``
  over MC-dropout samples ``(n, T, L)``.
* ``br_badge``: BADGE's k-means++ on the gradient of the summed binary cross-entropy at
  the predicted label vector: ``(p - 1[p > threshold]) ⊗ h``.

References:
    Yang, Sun, Wang, Zhu & Chen (2009). Effective multi-label active learning for text
    classification. KDD. (MMC.)
    Li & Guo (2013). Active learning with multi-label SVM classification. IJCAI. (Adaptive.)
    Reyes, Morell & Ventura (2018). Effective active learning strategy for multi-label
    learning. Neurocomputing 273. (CVIRS.)
    Brinker (2006). On active learning in multi-label classification. (BR margin.)
    Ash, Zhang, Krishnamurthy, Langford & Agarwal (2020). Deep batch active learning by
    diverse, uncertain gradient lower bounds. ICLR. (BADGE.)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.special import xlogy

from labelwise.errors import ConfigError
from labelwise.strategies.base import QueryContext, QueryStrategy, ScoringStrategy, Selection
from labelwise.strategies.gradient import gradient_kmeans_pp
from labelwise.strategies.registry import register_strategy

#: candidate rows per block when comparing predicted label vectors with the labeled ones.
_BLOCK_ENTRIES = 1 << 22


# ---- shared helpers ----------------------------------------------------------------------------
def label_probabilities(outputs: Any, positions: np.ndarray) -> np.ndarray:
    """``(m, L)`` float64 per-label probabilities of ``positions``."""
    return np.asarray(outputs.get("probabilities", positions), dtype=np.float64)


def indicator_labels(labels: Any, n_labels: int) -> np.ndarray:
    """The context's labels as ``(n_labeled, n_labels)`` 0/1 rows: indicator rows as they
    are, class ids as one-hot rows (``-1`` = no label), nothing as ``(0, n_labels)``."""
    if labels is None:
        return np.zeros((0, n_labels), dtype=np.int8)
    array = np.asarray(labels)
    if array.size == 0:
        return np.zeros((0, n_labels), dtype=np.int8)
    if array.ndim == 2:
        if array.shape[1] != n_labels:
            raise ConfigError(f"the context's labels have {array.shape[1]} columns but the model outputs "
                              f"{n_labels} label probabilities; pass indicator rows of length {n_labels}.")
        return (array > 0).astype(np.int8)
    ids = array.astype(np.int64).reshape(-1)
    rows = np.zeros((len(ids), n_labels), dtype=np.int8)
    known = (ids >= 0) & (ids < n_labels)
    rows[np.flatnonzero(known), ids[known]] = 1
    return rows


def predicted_labels(probabilities: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """``(m, L)`` 0/1: the labels whose probability exceeds ``threshold``."""
    return (probabilities > threshold).astype(np.int8)


def _reduce(per_label: np.ndarray, reduction: str) -> np.ndarray:
    return per_label.max(axis=-1) if reduction == "max" else per_label.mean(axis=-1)


def _check_choice(name: str, value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ConfigError(f"{name}={value!r} is not one of {list(allowed)}.")
    return value


def binary_entropy(p: np.ndarray) -> np.ndarray:
    """``H_b(p) = -p log p - (1-p) log(1-p)`` in nats, element-wise, ``0 log 0 = 0``."""
    return -(xlogy(p, p) + xlogy(1.0 - p, 1.0 - p))


# ---- binary relevance forms --------------------------------------------------------------------
class _BinaryRelevance(ScoringStrategy):
    requires = ("probabilities",)

    def __init__(self, reduction: str = "mean") -> None:
        self.reduction = _check_choice("reduction", reduction, ("mean", "max"))

    def score(self, outputs: Any, context: QueryContext) -> np.ndarray:
        return _reduce(self.per_label(label_probabilities(outputs, context.candidate_indices)), self.reduction)

    @staticmethod
    def per_label(p: np.ndarray) -> np.ndarray:
        raise NotImplementedError


@register_strategy("br_least_confidence", "ml_least_confidence", "br_lc")
class BinaryRelevanceLeastConfidence(_BinaryRelevance):
    """Per label ``1 - max(p, 1 - p)``, reduced over labels by ``reduction``."""

    @staticmethod
    def per_label(p: np.ndarray) -> np.ndarray:
        return 1.0 - np.maximum(p, 1.0 - p)


@register_strategy("br_entropy", "ml_entropy")
class BinaryRelevanceEntropy(_BinaryRelevance):
    """Per label the binary entropy, reduced over labels by ``reduction``."""

    per_label = staticmethod(binary_entropy)


@register_strategy("br_margin", "ml_margin", "br_breaking_ties")
class BinaryRelevanceMargin(_BinaryRelevance):
    """Per label ``1 - |2p - 1|`` (small binary margin = informative; Brinker 2006), reduced
    over labels by ``reduction`` (``max`` = the label closest to its decision boundary)."""

    @staticmethod
    def per_label(p: np.ndarray) -> np.ndarray:
        return 1.0 - np.abs(2.0 * p - 1.0)


@register_strategy("br_bald", "ml_bald")
class BinaryRelevanceBALD(ScoringStrategy):
    """Per label the binary mutual information between the label and the weights,
    ``H_b(mean_t p_t) - mean_t H_b(p_t)`` over MC-dropout samples ``(n, T, L)``, reduced over
    labels by ``reduction``.

    References:
        Houlsby, Huszár, Ghahramani & Lengyel (2011). Bayesian active learning for
        classification and preference learning. arXiv:1112.5745.
    """

    requires = ("mc_probabilities",)

    def __init__(self, reduction: str = "mean") -> None:
        self.reduction = _check_choice("reduction", reduction, ("mean", "max"))

    def score(self, outputs: Any, context: QueryContext) -> np.ndarray:
        samples = np.asarray(outputs.get("mc_probabilities", context.candidate_indices), dtype=np.float64)
        information = binary_entropy(samples.mean(axis=1)) - binary_entropy(samples).mean(axis=1)
        return _reduce(np.maximum(information, 0.0), self.reduction)


@register_strategy("br_badge", "ml_badge")
class BinaryRelevanceBADGE(QueryStrategy):
    """BADGE with binary-relevance gradients: the last layer's gradient of the summed
    binary cross-entropy at the predicted label vector ``ŷ = 1[p > threshold]`` is
    ``(p - ŷ) ⊗ h``; a batch is chosen by k-means++ seeding on these embeddings (the first
    pick the longest gradient, then draws proportional to the squared distance to the
    nearest chosen one, from the context's generator). Distances use
    ``⟨a ⊗ h, b ⊗ g⟩ = ⟨a, b⟩·⟨h, g⟩``; nothing ``n × L·D`` is built.
    """

    requires = ("probabilities", "last_layer_features")

    def __init__(self, threshold: float = 0.5) -> None:
        self.threshold = threshold

    def _select(self, outputs: Any, k: int, context: QueryContext) -> Selection:
        candidates = context.candidate_indices
        probabilities = label_probabilities(outputs, candidates)
        coefficients = probabilities - predicted_labels(probabilities, self.threshold)
        features = outputs.get("last_layer_features", candidates)
        if not sp.issparse(features):
            features = np.asarray(features, dtype=np.float32)
        return gradient_kmeans_pp(coefficients, features, candidates, k, context.rng)


# ---- MMC ---------------------------------------------------------------------------------------
def mmc_features(probabilities: np.ndarray) -> np.ndarray:
    """MMC's input to the label-count predictor: each row's label probabilities normalised
    to sum to 1 and sorted in decreasing order, ``(m, L)``."""
    totals = probabilities.sum(axis=1, keepdims=True)
    normalised = probabilities / np.where(totals > 0, totals, 1.0)
    return -np.sort(-normalised, axis=1)


def predict_label_counts(labeled_probabilities: np.ndarray, labeled_rows: np.ndarray,
                         candidate_probabilities: np.ndarray) -> np.ndarray:
    """MMC's label-count predictor: a logistic regression from :func:`mmc_features` to the
    number of labels of each labeled row, ``(m,)`` ints in ``[1, L]``. With no labels it
    predicts 1; with a single label count among the labeled rows, that count."""
    n_labels = candidate_probabilities.shape[1]
    counts = labeled_rows.sum(axis=1).astype(np.int64)
    if len(counts) == 0:
        return np.ones(len(candidate_probabilities), dtype=np.int64)
    if len(np.unique(counts)) == 1:
        return np.full(len(candidate_probabilities), int(np.clip(counts[0], 1, n_labels)), dtype=np.int64)
    from sklearn.linear_model import LogisticRegression

    regression = LogisticRegression(max_iter=1000)  # lbfgs: deterministic, no random state
    regression.fit(mmc_features(labeled_probabilities), counts)
    predicted = regression.predict(mmc_features(candidate_probabilities))
    return np.clip(predicted.astype(np.int64), 1, n_labels)


@register_strategy("mmc", "maximum_loss_reduction", "max_loss_reduction_maximal_confidence")
class MMC(ScoringStrategy):
    """Maximum loss reduction with maximal confidence (Yang et al. 2009).

    1. A label-count predictor (logistic regression, :func:`predict_label_counts`) is fit
       on the labeled rows: input the row's label probabilities normalised and sorted in
       decreasing order, target its number of labels.
    2. Each candidate's label vector ``ŷ ∈ {-1, +1}^L`` is ``+1`` on its ``m`` most probable
       labels, ``m`` the predicted count.
    3. Score: the approximate expected loss reduction ``Σ_l (1 - ŷ_l f_l) / 2``.

    Deviation from the paper (documented): the paper's ``f_l`` is the raw output of the
    l-th binary SVM and the label-count predictor reads probabilities from Platt-scaled
    SVMs; here ``f_l = 2 p_l - 1`` and ``p_l`` are the model's own per-label
    probabilities, so any probabilistic model serves. No model is retrained.
    """

    requires = ("probabilities",)

    def score(self, outputs: Any, context: QueryContext) -> np.ndarray:
        probabilities = label_probabilities(outputs, context.candidate_indices)
        n_labels = probabilities.shape[1]
        labeled_rows = indicator_labels(context.labels, n_labels)
        labeled_probabilities = (label_probabilities(outputs, context.labeled_indices)
                                 if len(labeled_rows) else np.zeros((0, n_labels)))
        if len(labeled_probabilities) != len(labeled_rows):
            raise ConfigError(f"strategy 'mmc': {len(labeled_rows)} labels for {len(labeled_probabilities)} "
                              "labeled positions; pass one label row per labeled position.")
        counts = predict_label_counts(labeled_probabilities, labeled_rows, probabilities)
        return mmc_scores(probabilities, counts)


def mmc_scores(probabilities: np.ndarray, label_counts: np.ndarray) -> np.ndarray:
    """``Σ_l (1 - ŷ_l f_l) / 2`` with ``f = 2p - 1`` and ``ŷ = +1`` on each row's
    ``label_counts`` most probable labels (ties by label order), ``-1`` elsewhere."""
    order = np.argsort(-probabilities, axis=1, kind="stable")
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(probabilities.shape[1])[None, :], axis=1)
    signs = np.where(ranks < np.asarray(label_counts)[:, None], 1.0, -1.0)
    return ((1.0 - signs * (2.0 * probabilities - 1.0)) / 2.0).sum(axis=1)


# ---- Adaptive (Li & Guo 2013) and label cardinality inconsistency -------------------------------
def mean_label_cardinality(labeled_rows: np.ndarray, fallback: float) -> float:
    """Mean number of labels per labeled row; ``fallback`` when nothing is labeled."""
    return float(labeled_rows.sum(axis=1).mean()) if len(labeled_rows) else float(fallback)


def label_cardinality_inconsistency(probabilities: np.ndarray, labeled_rows: np.ndarray,
                                    threshold: float = 0.5) -> np.ndarray:
    """``|Σ_l ŷ_l - mean labeled cardinality|`` per row (Li & Guo 2013). Before any label
    the mean predicted cardinality of the rows stands in for the labeled one."""
    predicted = predicted_labels(probabilities, threshold).sum(axis=1).astype(np.float64)
    reference = mean_label_cardinality(labeled_rows, predicted.mean() if len(predicted) else 0.0)
    return np.abs(predicted - reference)


def separation_margin(probabilities: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """``min_{l ∈ ŷ+} f_l - max_{l ∈ ŷ-} f_l`` with ``f = 2p - 1`` (Li & Guo 2013). A row
    with no predicted label takes its most probable one as positive (every row carries a
    label); a row with every label predicted compares with ``-1``, the lowest ``f``."""
    f = 2.0 * probabilities - 1.0
    positive = probabilities > threshold
    none = ~positive.any(axis=1)
    if none.any():
        positive[np.flatnonzero(none), np.argmax(probabilities[none], axis=1)] = True
    lowest_positive = np.where(positive, f, np.inf).min(axis=1)
    highest_negative = np.where(positive, -np.inf, f).max(axis=1)
    return lowest_positive - np.maximum(highest_negative, -1.0)


@register_strategy("adaptive", "adaptive_active_learning", "li_guo")
class Adaptive(ScoringStrategy):
    """Adaptive active learning (Li & Guo 2013): ``u(x)^β · c(x)^(1-β)``, the max-margin
    uncertainty ``u = 1 / separation margin`` (:func:`separation_margin`) mixed with the label
    cardinality inconsistency ``c`` (:func:`label_cardinality_inconsistency`).

    Deviation from the paper (documented): the paper picks β per iteration from
    ``{0, 0.1, ..., 1}`` by retraining the classifier once per β and keeping the pick with
    the lowest approximate generalisation error; a strategy never trains a model, so β is
    a parameter here (default 0.5, the middle of that grid). ``f = 2p - 1`` stands in for
    the SVM outputs; the margin is floored at ``epsilon`` so ties give a finite score.
    """

    requires = ("probabilities",)

    def __init__(self, beta: float = 0.5, threshold: float = 0.5, epsilon: float = 1e-6) -> None:
        if not 0.0 <= beta <= 1.0:
            raise ConfigError(f"adaptive: beta={beta!r} must lie in [0, 1].")
        self.beta = beta
        self.threshold = threshold
        self.epsilon = epsilon

    def score(self, outputs: Any, context: QueryContext) -> np.ndarray:
        probabilities = label_probabilities(outputs, context.candidate_indices)
        labeled_rows = indicator_labels(context.labels, probabilities.shape[1])
        uncertainty = 1.0 / np.maximum(separation_margin(probabilities, self.threshold), self.epsilon)
        inconsistency = label_cardinality_inconsistency(probabilities, labeled_rows, self.threshold)
        return uncertainty**self.beta * inconsistency ** (1.0 - self.beta)


@register_strategy("lci", "label_cardinality_inconsistency")
class LabelCardinalityInconsistency(ScoringStrategy):
    """Label cardinality inconsistency alone (Li & Guo 2013; Adaptive with β = 0): rows
    whose predicted number of labels is furthest from the labeled rows' mean."""

    requires = ("probabilities",)

    def __init__(self, threshold: float = 0.5) -> None:
        self.threshold = threshold

    def score(self, outputs: Any, context: QueryContext) -> np.ndarray:
        probabilities = label_probabilities(outputs, context.candidate_indices)
        labeled_rows = indicator_labels(context.labels, probabilities.shape[1])
        return label_cardinality_inconsistency(probabilities, labeled_rows, self.threshold)


# ---- CVIRS (Reyes et al. 2018) -----------------------------------------------------------------
def margin_rank_scores(probabilities: np.ndarray) -> np.ndarray:
    """CVIRS's uncertainty: per label rank the rows by binary margin ``|2p - 1|`` (rank 1 =
    smallest margin; ties by position) and aggregate by Borda count,
    ``s(x) = Σ_l (n - τ_l(x)) / (L (n - 1))`` in ``[0, 1]``. 1 for a single row."""
    n, n_labels = probabilities.shape
    if n == 1:
        return np.ones(1)
    margins = np.abs(2.0 * probabilities - 1.0)
    order = np.argsort(margins, axis=0, kind="stable")
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(1, n + 1)[:, None], axis=0)
    return (n - ranks).sum(axis=1) / (n_labels * (n - 1))


def _entropy_of_counts(counts: list[np.ndarray], total: int) -> np.ndarray:
    """Entropy (bits) of the distribution ``counts / total``, element-wise over arrays."""
    result = np.zeros(np.shape(counts[0]))
    for count in counts:
        share = np.asarray(count, dtype=np.float64) / total
        result -= xlogy(share, share) / np.log(2.0)
    return result


def vector_inconsistency(predicted: np.ndarray, labeled_rows: np.ndarray) -> np.ndarray:
    """CVIRS's category vector inconsistency: the mean distance between each predicted
    label vector ``(m, L)`` and every labeled one ``(n_l, L)``. The distance is the
    normalised information distance ``(2 H(a, b) - H(a) - H(b)) / H(a, b)`` over the ``L``
    label positions (the joint entropy from the 2x2 contingency table of the two vectors),
    1 when the vectors disagree everywhere and 0 when both are identical constants.
    Computed in blocks of candidates: memory ``block × n_l``."""
    m, n_labels = predicted.shape
    labeled = labeled_rows.astype(np.float64)
    labeled_ones = labeled.sum(axis=1)
    labeled_entropy = _entropy_of_counts([labeled_ones, n_labels - labeled_ones], n_labels)
    result = np.empty(m)
    step = max(1, _BLOCK_ENTRIES // max(1, len(labeled)))
    for start in range(0, m, step):
        block = predicted[start : start + step].astype(np.float64)
        ones = block.sum(axis=1)
        block_entropy = _entropy_of_counts([ones, n_labels - ones], n_labels)
        both = block @ labeled.T  # a: 1 in both
        only_predicted = ones[:, None] - both  # 1 in the prediction, 0 in the label row
        only_labeled = labeled_ones[None, :] - both
        neither = n_labels - both - only_predicted - only_labeled
        joint = _entropy_of_counts([both, only_predicted, only_labeled, neither], n_labels)
        distance = np.divide(2.0 * joint - block_entropy[:, None] - labeled_entropy[None, :], joint,
                             out=np.zeros_like(joint), where=joint > 0)
        distance[(only_predicted + only_labeled) == n_labels] = 1.0  # Hamming distance 1
        result[start : start + step] = distance.mean(axis=1)
    return result


@register_strategy("cvirs", "category_vector_inconsistency_ranking")
class CVIRS(ScoringStrategy):
    """Category vector inconsistency and ranking of scores (Reyes et al. 2018): the Borda
    aggregation of the per-label margin ranks (:func:`margin_rank_scores`) times the
    inconsistency of the predicted label vector with the labeled ones
    (:func:`vector_inconsistency`). Before any label the inconsistency is 1 (ranks alone).

    Ranks are over the candidates scored, so the score of a row depends on the others
    (as in the paper); ties in margin rank by position.
    """

    requires = ("probabilities",)

    def __init__(self, threshold: float = 0.5) -> None:
        self.threshold = threshold

    def score(self, outputs: Any, context: QueryContext) -> np.ndarray:
        probabilities = label_probabilities(outputs, context.candidate_indices)
        labeled_rows = indicator_labels(context.labels, probabilities.shape[1])
        ranking = margin_rank_scores(probabilities)
        if not len(labeled_rows):
            return ranking
        return ranking * vector_inconsistency(predicted_labels(probabilities, self.threshold), labeled_rows)


__all__ = [
    "CVIRS",
    "MMC",
    "Adaptive",
    "BinaryRelevanceBADGE",
    "BinaryRelevanceBALD",
    "BinaryRelevanceEntropy",
    "BinaryRelevanceLeastConfidence",
    "BinaryRelevanceMargin",
    "LabelCardinalityInconsistency",
    "binary_entropy",
    "indicator_labels",
    "label_cardinality_inconsistency",
    "margin_rank_scores",
    "mmc_features",
    "mmc_scores",
    "predict_label_counts",
    "separation_margin",
    "vector_inconsistency",
]
