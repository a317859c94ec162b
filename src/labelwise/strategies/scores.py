"""Uncertainty scores as pure functions of probability arrays (higher = more uncertain).

All work in float32 or wider, treat 0·log 0 as 0, and never re-normalise their input.
"""

from __future__ import annotations

import numpy as np
from scipy.special import xlogy

from labelwise.errors import SelectionError
from labelwise.strategies import _rowwise as rowwise


def _as_float(probabilities: np.ndarray) -> np.ndarray:
    return rowwise.as_float(probabilities)


def least_confidence(probabilities: np.ndarray) -> np.ndarray:
    """``1 - max_c p(c|x)``; input ``(n, C)`` -> ``(n,)``, in the input's float dtype."""
    p = _as_float(probabilities)
    if p.ndim != 2:
        return 1.0 - p.max(axis=-1)
    return rowwise.map_rows(p, rowwise.least_confidence_kernel)


def entropy(probabilities: np.ndarray, axis: int = -1) -> np.ndarray:
    """Shannon entropy in nats along ``axis``; ``p = 0`` contributes 0."""
    p = _as_float(probabilities)
    if p.ndim == 2 and axis in (-1, 1):
        return rowwise.map_rows(p, rowwise.entropy_kernel)
    # p · log(max(p, tiny)) is exactly 0 at p = 0 and p · log p elsewhere.
    terms = np.maximum(p, np.finfo(p.dtype).tiny)
    np.log(terms, out=terms)
    terms *= p
    return -terms.sum(axis=axis)


def margin(probabilities: np.ndarray) -> np.ndarray:
    """Breaking ties as a score: ``-(p_1 - p_2)`` (smallest gap between the two best classes
    scores highest). Input ``(n, C)`` with ``C >= 2``."""
    p = _as_float(probabilities)
    if p.shape[-1] < 2:
        raise SelectionError(
            f"breaking ties compares the two most probable classes, but the probabilities have "
            f"{p.shape[-1]} column(s). Fix: label examples of at least two classes first (query them "
            "with 'random' or a cold-start strategy) or choose 'least_confidence' or 'entropy'."
        )
    if p.ndim == 2:
        return rowwise.map_rows(p, rowwise.top_two_gap_kernel)
    top_two = np.partition(p, p.shape[-1] - 2, axis=-1)[..., -2:]
    return -(top_two[..., 1] - top_two[..., 0])


def bald(mc_probabilities: np.ndarray) -> np.ndarray:
    """Mutual information between prediction and weights (Houlsby et al. 2011) from MC
    samples ``(n, T, C)``: entropy of the mean minus the mean entropy."""
    return rowwise.map_rows(_as_float(mc_probabilities), rowwise.bald_kernel)


def binary_entropy(probabilities: np.ndarray) -> np.ndarray:
    """Per-label entropy of independent Bernoulli labels ``(n, L)`` -> ``(n, L)``."""
    p = _as_float(probabilities)
    return -(xlogy(p, p) + xlogy(1.0 - p, 1.0 - p))
