"""Known answers for the Mahalanobis density strategy and its Ledoit-Wolf covariance."""

from __future__ import annotations

import numpy as np
import pytest

from known_answer_helpers import context
from labelwise.errors import SelectionError
from labelwise.outputs import ModelOutputs
from labelwise.strategies import get_strategy


def gaussian_labeled(seed=0):
    rng = np.random.default_rng(seed)
    # Anisotropic within-class scatter: wide along x, narrow along y.
    scale = np.array([3.0, 0.1], dtype=np.float32)
    class0 = np.array([0.0, 0.0]) + scale * rng.standard_normal((15, 2))
    class1 = np.array([0.0, 2.0]) + scale * rng.standard_normal((15, 2))
    return np.concatenate([class0, class1]).astype(np.float32), np.r_[np.zeros(15), np.ones(15)].astype(np.int64)


def test_mahalanobis_ranks_an_out_of_distribution_embedding_above_in_class_ones():
    labeled, labels = gaussian_labeled()
    candidates = np.array([[0.5, 0.02], [-1.0, 1.98], [0.0, 1.0], [40.0, 30.0]], dtype=np.float32)
    outputs = ModelOutputs.from_arrays(embeddings=np.concatenate([labeled, candidates]))
    ctx = context(34, np.arange(30), labels=labels, n_classes=2)
    selection = get_strategy("mahalanobis").select(outputs, 4, ctx)
    assert selection.indices[0] == 33  # far from everything
    assert selection.indices[1] == 32  # between the classes, off the narrow axis
    assert np.isfinite(selection.scores).all()


def test_mahalanobis_uses_the_shared_covariance_not_euclidean_distance():
    labeled, labels = gaussian_labeled()
    # 30: 4 units out along the wide axis (typical); 31: 1.5 out along the narrow axis
    # (atypical). Euclidean distance would pick 30.
    candidates = np.array([[4.0, 0.0], [0.0, -1.5]], dtype=np.float32)
    outputs = ModelOutputs.from_arrays(embeddings=np.concatenate([labeled, candidates]))
    ctx = context(32, np.arange(30), labels=labels, n_classes=2)
    assert get_strategy("mahalanobis").select(outputs, 1, ctx).indices.tolist() == [31]


def test_mahalanobis_refuses_to_run_before_any_label():
    outputs = ModelOutputs.from_arrays(embeddings=np.zeros((5, 2), dtype=np.float32))
    with pytest.raises(SelectionError, match="needs labeled examples; use a cold-start strategy first"):
        get_strategy("mahalanobis").select(outputs, 1, context(5))


def test_mahalanobis_copes_with_one_label_per_class_in_many_dimensions():
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((12, 50)).astype(np.float32)
    vectors[11] *= 20.0
    outputs = ModelOutputs.from_arrays(embeddings=vectors)
    ctx = context(12, [0, 1], labels=np.array([0, 1]), n_classes=2)
    selection = get_strategy("mahalanobis").select(outputs, 3, ctx)
    assert selection.indices[0] == 11 and np.isfinite(selection.scores).all()


@pytest.mark.parametrize("shape", [(5, 8), (40, 3), (30, 30)])
def test_ledoit_wolf_matches_scikit_learn(shape):
    from sklearn.covariance import LedoitWolf

    from labelwise.strategies.density import ledoit_wolf

    rng = np.random.default_rng(shape[0])
    rows = rng.standard_normal(shape) * rng.uniform(0.1, 3.0, size=shape[1])
    reference = LedoitWolf(assume_centered=True).fit(rows)
    covariance, shrinkage = ledoit_wolf(rows)
    assert shrinkage == pytest.approx(reference.shrinkage_)
    np.testing.assert_allclose(covariance, reference.covariance_, rtol=1e-10, atol=1e-12)
