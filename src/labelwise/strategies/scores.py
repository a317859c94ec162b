"""Uncertainty scores as pure functions of probability arrays (higher = more uncertain).

All work in float32 or wider, treat 0·log 0 as 0, and never re-normalise their input.
"""

from __future__ import annotations

import numpy as np
from scipy.special import xlogy

from labelwise.errors import SelectionError


def _as_float(probabilities: np.ndarray) -> np.ndarray:
    array = np.asarray(probabilities)
    if array.dtype.kind != "f" or array.dtype.itemsize < 4:
        array = array.astype(np.float32)
    return array


def least_confidence(probabilities: np.ndarray) -> np.ndarray:
    """``1 - max_c p(c|x)``; input ``(n, C)`` -> ``(n,)``."""
    return 1.0 - _as_float(probabilities).max(axis=-1)


def entropy(probabilities: np.ndarray, axis: int = -1) -> np.ndarray:
    """Shannon entropy in nats along ``axis``; ``p = 0`` contributes 0."""
    p = _as_float(probabilities)
    # p · log(max(p, tiny)) is exactly 0 at p = 0 and p · log p elsewhere; it runs in place
    # at the speed of a bare log (scipy's xlogy is about twice as slow).
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
    top_two = np.partition(p, p.shape[-1] - 2, axis=-1)[..., -2:]
    return -(top_two[..., 1] - top_two[..., 0])


def bald(mc_probabilities: np.ndarray) -> np.ndarray:
    """Mutual information between prediction and weights (Houlsby et al. 2011) from MC
    samples ``(n, T, C)``: entropy of the mean minus the mean entropy."""
    p = _as_float(mc_probabilities)
    n_samples = p.shape[1]
    # einsum sums over the middle axis several times faster than ndarray.mean(axis=1).
    mean = np.einsum("ntc->nc", p) / n_samples
    terms = np.maximum(p, np.finfo(p.dtype).tiny)
    np.log(terms, out=terms)
    terms *= p
    mean_entropy = -np.einsum("ntc->n", terms) / n_samples
    return entropy(mean) - mean_entropy


def binary_entropy(probabilities: np.ndarray) -> np.ndarray:
    """Per-label entropy of independent Bernoulli labels ``(n, L)`` -> ``(n, L)``."""
    p = _as_float(probabilities)
    return -(xlogy(p, p) + xlogy(1.0 - p, 1.0 - p))
