"""Helpers shared by the known-answer tests of several strategy families (on pytest's
``pythonpath``: test modules cannot import each other under ``--import-mode=importlib``)."""

from __future__ import annotations

import numpy as np

from labelwise.data import ClassificationDataset
from labelwise.strategies import QueryContext


def blobs(centres, per_blob, spread=0.05, seed=0):
    """Points around each centre, blob after blob; returns (points (n, d), blob id (n,))."""
    rng = np.random.default_rng(seed)
    centres = np.asarray(centres, dtype=np.float32)
    points = np.concatenate([c + spread * rng.standard_normal((per_blob, len(c))) for c in centres])
    return points.astype(np.float32), np.repeat(np.arange(len(centres)), per_blob)


def context(n_pool, labeled=(), seed=0, **extra):
    return QueryContext.build(n_pool, labeled, random_state=seed, **extra)


class FakeSurprisalModel:
    """Texts are row numbers; surprisal vectors lie in 3 clusters; probabilities are fixed."""

    def __init__(self, surprisal, probabilities):
        self.surprisal = surprisal
        self.probabilities = probabilities
        self.fitted_on = []

    def _rows(self, dataset):
        return np.array([int(t) for t in dataset.texts])

    def surprisal_embeddings(self, dataset):
        return self.surprisal[self._rows(dataset)]

    def fit(self, dataset):
        self.fitted_on.append(self._rows(dataset).tolist())
        self.classes_ = np.arange(2)
        return self

    def predict_proba(self, dataset):
        return self.probabilities[self._rows(dataset)]

    def predict(self, dataset):
        return self.predict_proba(dataset).argmax(axis=1)


def numbered_pool(n, n_classes=2):
    return ClassificationDataset(tuple(str(i) for i in range(n)), None, tuple(f"c{i}" for i in range(n_classes)))
