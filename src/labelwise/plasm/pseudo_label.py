"""Pseudo-labelling the unlabeled pool with a trained (successor) model."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from labelwise.errors import ConfigError
from labelwise.plasm._checks import number


@dataclass(frozen=True)
class PseudoLabels:
    """Pool rows given a predicted label.

    Attributes:
        indices: kept positions in the pool, ``(m,)`` int64, sorted.
        labels: their predicted class ids, ``(m,)``.
        confidence: the predicted class's probability, ``(m,)`` float32.
    """

    indices: np.ndarray
    labels: np.ndarray
    confidence: np.ndarray

    def __len__(self) -> int:
        return int(self.indices.shape[0])


def select_pseudo_labels(probabilities: np.ndarray, *, confidence_threshold: float | None = None,
                         top_fraction: float | None = None, per_class: bool = True) -> PseudoLabels:
    """Keep the predictions that pass ``confidence_threshold`` and/or lie in the
    ``top_fraction`` most confident (per predicted class when ``per_class``, which keeps
    the class mix of the predictions instead of flooding the set with the easiest class).

    Args:
        probabilities: ``(n, n_classes)`` class probabilities over the pool.
    """
    probabilities = np.asarray(probabilities, dtype=np.float32)
    if probabilities.ndim != 2:
        raise ConfigError(f"pseudo-labelling needs (n, n_classes) probabilities, got shape {probabilities.shape}.")
    if top_fraction is not None:
        top_fraction = number(top_fraction, "top_fraction (pseudo_label_fraction)", low=0.0, high=1.0,
                              low_open=True)
    if confidence_threshold is not None:
        confidence_threshold = number(confidence_threshold, "confidence_threshold", low=0.0, high=1.0)
    predicted = probabilities.argmax(axis=1)
    confidence = probabilities[np.arange(probabilities.shape[0]), predicted]
    keep = np.ones(probabilities.shape[0], dtype=bool)
    if confidence_threshold is not None:
        keep &= confidence >= float(confidence_threshold)
    if top_fraction is not None:
        chosen = np.zeros_like(keep)
        groups = [np.flatnonzero(predicted == c) for c in range(probabilities.shape[1])] if per_class \
            else [np.arange(probabilities.shape[0])]
        for rows in groups:
            if rows.size == 0:
                continue
            count = int(np.ceil(float(top_fraction) * rows.size))
            order = rows[np.lexsort((rows, -confidence[rows]))]
            chosen[order[:count]] = True
        keep &= chosen
    indices = np.flatnonzero(keep)
    return PseudoLabels(indices.astype(np.int64), predicted[indices].astype(np.int64), confidence[indices])


def pseudo_label(model: Any, pool: Any, **options: Any) -> PseudoLabels:
    """Label ``pool`` with a fitted model's ``predict_proba`` and keep rows as
    :func:`select_pseudo_labels` says (``confidence_threshold``, ``top_fraction``,
    ``per_class``)."""
    return select_pseudo_labels(model.predict_proba(pool), **options)
