"""Gradient-based strategies on the last layer: EGL, BADGE, BAIT.

They read ``probabilities`` ``(n, C)`` and ``last_layer_features`` ``(n, D)`` (dense, or
scipy-sparse for TF-IDF models). The gradient of the cross-entropy loss with respect to
the last layer's weights, for label ``y``, is the outer product ``(p − e_y) ⊗ h``; these
strategies exploit that structure instead of materialising ``n × C·D`` matrices:
``‖a ⊗ h‖ = ‖a‖·‖h‖`` and ``⟨a ⊗ h, b ⊗ g⟩ = ⟨a, b⟩·⟨h, g⟩``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from labelwise.strategies.base import (
    QueryContext,
    QueryStrategy,
    ScoringStrategy,
    Selection,
    argmax_ties_drawn,
)
from labelwise.strategies.registry import register_strategy


def _dense(matrix: Any) -> np.ndarray:
    return np.asarray(matrix.toarray() if sp.issparse(matrix) else matrix, dtype=np.float64)


def _row_norms(features: Any) -> np.ndarray:
    if sp.issparse(features):
        return np.sqrt(np.asarray(features.multiply(features).sum(axis=1)).ravel())
    features = np.asarray(features, dtype=np.float64)
    return np.sqrt(np.einsum("ij,ij->i", features, features))


def _dot_with_row(features: Any, row: Any) -> np.ndarray:
    """``features @ row`` for one row, dense or sparse."""
    if sp.issparse(features):
        return np.asarray(features @ row.T.toarray() if sp.issparse(row) else features @ np.ravel(row)).ravel()
    features = np.asarray(features)
    return (features @ np.ravel(row).astype(features.dtype)).astype(np.float64)


def gradient_coefficients(probabilities: np.ndarray) -> np.ndarray:
    """``p − onehot(argmax p)``: the class part of the gradient embedding at the predicted
    label, ``(n, C)``. The one-hot term matters: without it confident rows score high."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    coefficients = probabilities.copy()
    coefficients[np.arange(len(probabilities)), probabilities.argmax(axis=1)] -= 1.0
    return coefficients


@register_strategy("egl", "expected_gradient_length")
class ExpectedGradientLength(ScoringStrategy):
    """Expected length of the last-layer gradient over the model's own label distribution:
    ``Σ_c p_c ‖(p − e_c) ⊗ h‖ = ‖h‖ · Σ_c p_c √(‖p‖² − 2 p_c + 1)``.

    References:
        Settles, Craven & Ray (2008). Multiple-instance active learning. NeurIPS.
        Zhang, Lease & Wallace (2017). Active discriminative text representation learning. AAAI.
    """

    requires = ("probabilities", "last_layer_features")
    supports_multi_label = False

    def score(self, outputs: Any, context: QueryContext) -> np.ndarray:
        probabilities = np.asarray(outputs.get("probabilities", context.candidate_indices), dtype=np.float64)
        features = outputs.get("last_layer_features", context.candidate_indices)
        squared = (probabilities**2).sum(axis=1, keepdims=True)
        lengths = np.sqrt(np.maximum(squared - 2.0 * probabilities + 1.0, 0.0))
        return _row_norms(features) * (probabilities * lengths).sum(axis=1)


@register_strategy("badge")
class BADGE(QueryStrategy):
    """Batch Active learning by Diverse Gradient Embeddings: k-means++ seeding on the
    gradient embeddings ``g = (p − onehot(ŷ)) ⊗ h``, so the batch is both uncertain (long
    gradients) and diverse. The first centre is the longest gradient; each next one is
    sampled with probability proportional to the SQUARED distance to the nearest chosen
    centre. Distances use ``‖g_i − g_j‖² = ‖a_i‖²‖h_i‖² + ‖a_j‖²‖h_j‖² − 2⟨a_i,a_j⟩⟨h_i,h_j⟩``,
    so memory is O(n) and each pick costs one pass over the candidates.

    The score of each pick is its squared distance to the earlier picks at the moment it
    was chosen (its gradient norm² for the first); other candidates score their final
    squared distance to the batch.

    References:
        Ash, Zhang, Krishnamurthy, Langford & Agarwal (2020). Deep batch active learning
        by diverse, uncertain gradient lower bounds. ICLR.
    """

    requires = ("probabilities", "last_layer_features")
    supports_multi_label = False

    def _select(self, outputs: Any, k: int, context: QueryContext) -> Selection:
        candidates = context.candidate_indices
        coefficients = gradient_coefficients(outputs.get("probabilities", candidates))
        features = outputs.get("last_layer_features", candidates)
        if not sp.issparse(features):
            # float32 halves the memory traffic of the one n×D product per pick.
            features = np.asarray(features, dtype=np.float32)
        return gradient_kmeans_pp(coefficients, features, candidates, k, context.rng)

    @staticmethod
    def _distances_to(centre: int, coefficients: np.ndarray, features: Any, squared_norms: np.ndarray) -> np.ndarray:
        class_products = coefficients @ coefficients[centre]
        feature_products = _dot_with_row(features, features[centre])
        distances = squared_norms + squared_norms[centre] - 2.0 * class_products * feature_products
        return np.maximum(distances, 0.0)


@register_strategy("bait")
class BAIT(QueryStrategy):
    """Batch active learning via information matrices: greedily choose the rows whose
    Fisher information ``I_S`` minimises ``tr((I_S + I_L + λI)⁻¹ F)``, ``F`` the Fisher of
    the whole pool, forward for ``2k`` picks then backward-pruned to ``k`` as in the paper.
    Each row's Fisher is ``V_iᵀV_i`` with ``V_i[c] = √p_c · (p − e_c) ⊗ h_i``; inverse
    updates use the Woodbury identity, so each step costs C×C solves per candidate.

    For tractability the features are projected onto their top ``feature_dim`` principal
    directions (randomised SVD over the pool) and only the ``candidate_pool_size``
    candidates with the longest expected gradients are considered.

    References:
        Ash, Goel, Krishnamurthy & Kakade (2021). Gone fishing: Neural active learning
        with Fisher embeddings. NeurIPS.
    """

    requires = ("probabilities", "last_layer_features")
    supports_multi_label = False

    def __init__(self, feature_dim: int = 16, regularisation: float = 1.0, oversampling: float = 2.0,
                 candidate_pool_size: int = 2000) -> None:
        self.feature_dim = feature_dim
        self.regularisation = regularisation
        self.oversampling = oversampling
        self.candidate_pool_size = candidate_pool_size

    def _select(self, outputs: Any, k: int, context: QueryContext) -> Selection:
        from sklearn.utils.extmath import randomized_svd

        candidates = context.candidate_indices
        labeled = context.labeled_indices
        everything = np.concatenate([candidates, labeled])
        probabilities = np.asarray(outputs.get("probabilities", everything), dtype=np.float64)
        features = outputs.get("last_layer_features", everything)
        rank = max(1, min(self.feature_dim, features.shape[1], len(everything) - 1))
        seed = int(context.rng.integers(0, 2**31 - 1))
        _, _, components = randomized_svd(features if sp.issparse(features) else np.asarray(features, np.float64),
                                          n_components=rank, random_state=seed)
        projected = _dense(features @ components.T)  # (n, d)
        n_candidates = len(candidates)
        # The pool's Fisher is accumulated block by block from its Kronecker structure;
        # per-row Fisher embeddings (n x C x C*d) exist only for the shortlist.
        pool_fisher = self._fisher_sum(probabilities, projected) / len(everything)
        information = self.regularisation * np.eye(pool_fisher.shape[0])
        if len(labeled):
            information += self._fisher_sum(probabilities[n_candidates:], projected[n_candidates:])
        inverse = np.linalg.inv(information)
        # Shortlist by expected gradient length: the trace of each row's Fisher,
        # tr((diag(p) - p pᵀ) ⊗ h hᵀ) = (1 - ‖p‖²)·‖h‖².
        candidate_probabilities = probabilities[:n_candidates]
        trace = (1.0 - (candidate_probabilities**2).sum(axis=1)) * (projected[:n_candidates] ** 2).sum(axis=1)
        shortlist = np.argsort(-trace, kind="stable")[: max(self.candidate_pool_size, k)]
        rows = self._fisher_embeddings(candidate_probabilities[shortlist], projected[shortlist])  # (s, C, C*d)
        forward = min(len(shortlist), int(np.ceil(self.oversampling * k)))
        chosen: list[int] = []
        gains: dict[int, float] = {}
        available = np.ones(len(shortlist), dtype=bool)
        for _ in range(forward):
            gain = self._gains(rows, inverse, pool_fisher, sign=1.0)
            gain[~available] = -np.inf
            best = argmax_ties_drawn(gain, context.rng)
            chosen.append(best)
            gains[best] = float(gain[best])
            available[best] = False
            inverse = self._update(inverse, rows[best], sign=1.0)
        while len(chosen) > k:  # backward pruning: drop the pick whose removal costs least
            picked = rows[chosen]
            loss = self._gains(picked, inverse, pool_fisher, sign=-1.0)
            drop = argmax_ties_drawn(-loss, context.rng)
            inverse = self._update(inverse, picked[drop], sign=-1.0)
            chosen.pop(drop)
        scores = np.array([gains[c] for c in chosen])
        order = np.argsort(-scores, kind="stable")
        picked_positions = candidates[shortlist[np.array(chosen)[order]]]
        return Selection(picked_positions, scores[order], candidates, trace)

    @staticmethod
    def _fisher_sum(probabilities: np.ndarray, features: np.ndarray, block_bytes: int = 32 << 20) -> np.ndarray:
        """``Σ_i V_iᵀV_i`` ``(C·d, C·d)`` without materialising ``V``: each row's Fisher is
        ``(diag(p_i) − p_i p_iᵀ) ⊗ h_i h_iᵀ``, so a block of rows is one matrix product of
        their class parts ``(b, C²)`` with their feature parts ``(b, d²)``. Memory: one
        block of about ``block_bytes``, never ``n × C × C·d``."""
        n, n_classes = probabilities.shape
        dim = features.shape[1]
        total = np.zeros((n_classes * n_classes, dim * dim))
        rows_per_block = max(1, block_bytes // (8 * (n_classes * n_classes + dim * dim)))
        for start in range(0, n, rows_per_block):
            p = probabilities[start : start + rows_per_block]
            h = features[start : start + rows_per_block]
            class_part = -p[:, :, None] * p[:, None, :]
            class_part[:, np.arange(n_classes), np.arange(n_classes)] += p
            feature_part = h[:, :, None] * h[:, None, :]
            total += class_part.reshape(len(p), -1).T @ feature_part.reshape(len(p), -1)
        return (total.reshape(n_classes, n_classes, dim, dim).transpose(0, 2, 1, 3)
                .reshape(n_classes * dim, n_classes * dim))

    @staticmethod
    def _fisher_embeddings(probabilities: np.ndarray, features: np.ndarray) -> np.ndarray:
        n, n_classes = probabilities.shape
        # V[i, c] = sqrt(p_ic) * (p_i - e_c) ⊗ h_i  -> (n, C, C*d)
        differences = probabilities[:, None, :] - np.eye(n_classes)[None, :, :]  # (n, C, C)
        weighted = np.sqrt(probabilities)[:, :, None] * differences
        return (weighted[:, :, :, None] * features[:, None, None, :]).reshape(n, n_classes, -1)

    @staticmethod
    def _gains(rows: np.ndarray, inverse: np.ndarray, fisher: np.ndarray, sign: float) -> np.ndarray:
        """Change of ``tr(M⁻¹F)`` when adding (sign=+1: decrease) or removing (sign=−1:
        increase) each row, by Woodbury: ``tr((I ± V M⁻¹ Vᵀ)⁻¹ V M⁻¹ F M⁻¹ Vᵀ)``."""
        gains = np.empty(len(rows))
        for start in range(0, len(rows), 256):  # chunks bound the (m, C, P) temporaries
            chunk = rows[start : start + 256]
            projected = chunk @ inverse  # (b, C, P)
            inner = sign * projected @ np.swapaxes(chunk, 1, 2) + np.eye(chunk.shape[1])[None]
            outer = projected @ fisher @ np.swapaxes(projected, 1, 2)
            gains[start : start + 256] = np.trace(np.linalg.solve(inner, outer), axis1=1, axis2=2)
        return gains

    @staticmethod
    def _update(inverse: np.ndarray, row: np.ndarray, sign: float) -> np.ndarray:
        """``(M ± VᵀV)⁻¹`` from ``M⁻¹`` (Woodbury)."""
        projected = row @ inverse  # (C, P)
        inner = np.eye(row.shape[0]) + sign * projected @ row.T
        return inverse - sign * projected.T @ np.linalg.solve(inner, projected)


def gradient_kmeans_pp(coefficients: np.ndarray, features: Any, candidates: np.ndarray, k: int,
                       rng: np.random.Generator) -> Selection:
    """k-means++ seeding over gradient embeddings ``coefficients ⊗ features`` (never formed):
    the longest gradient first, then rows drawn in proportion to their squared distance to
    the nearest centre. ``coefficients`` ``(n, C)``, ``features`` ``(n, D)`` (dense or sparse)."""
    squared_norms = (coefficients**2).sum(axis=1) * _row_norms(features) ** 2
    first = argmax_ties_drawn(squared_norms, rng)
    chosen, chosen_scores = [first], [float(squared_norms[first])]
    nearest = BADGE._distances_to(first, coefficients, features, squared_norms)
    for _ in range(1, k):
        weights = nearest.copy()
        weights[chosen] = 0.0
        total = weights.sum()
        if total <= 0:  # every remaining row duplicates a centre: take the next longest gradient
            remaining = np.setdiff1d(np.arange(len(candidates)), chosen)
            pick = int(remaining[argmax_ties_drawn(squared_norms[remaining], rng)])
        else:
            pick = int(rng.choice(len(candidates), p=weights / total))
        chosen.append(pick)
        chosen_scores.append(float(nearest[pick]))
        nearest = np.minimum(nearest, BADGE._distances_to(pick, coefficients, features, squared_norms))
    return Selection(candidates[chosen], chosen_scores, candidates, nearest)
