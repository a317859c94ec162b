"""Known answers for DAL (discriminative active learning)."""

from __future__ import annotations

import numpy as np
import pytest

from labelwise.outputs import ModelOutputs
from labelwise.strategies import QueryContext, get_strategy


def blobs(centres, per_blob, spread=0.05, seed=0):
    """Points around each centre, blob after blob; returns (points (n, d), blob id (n,))."""
    rng = np.random.default_rng(seed)
    centres = np.asarray(centres, dtype=np.float32)
    points = np.concatenate([c + spread * rng.standard_normal((per_blob, len(c))) for c in centres])
    return points.astype(np.float32), np.repeat(np.arange(len(centres)), per_blob)



def context(n_pool, labeled=(), seed=0, **extra):
    return QueryContext.build(n_pool, labeled, random_state=seed, **extra)


@pytest.mark.parametrize("classifier", ["logistic", "mlp"])
def test_dal_prefers_rows_unlike_the_labeled_set(classifier):
    vectors, blob = blobs([[0, 0, 0], [4, 4, 4]], 20, spread=0.3)
    labeled = np.arange(8)  # from blob 0 only
    unlike = np.flatnonzero(blob == 1)[:4]
    vectors = np.concatenate([vectors[:20], vectors[unlike]])  # 20 like the labels, 4 unlike
    blob = np.r_[np.zeros(20, dtype=int), np.ones(4, dtype=int)]
    outputs = ModelOutputs.from_arrays(embeddings=vectors)
    selection = get_strategy("dal", sub_rounds=1, classifier=classifier).select(outputs, 4, context(len(vectors), labeled))
    assert (blob[selection.indices] == 1).all()


def test_dal_sub_rounds_spread_the_batch_and_run_without_labels():
    vectors, blob = blobs([[0, 0], [5, 0], [0, 5]], 10, spread=0.2)
    outputs = ModelOutputs.from_arrays(embeddings=vectors)
    selection = get_strategy("dal", sub_rounds=3).select(outputs, 3, context(len(vectors)))
    assert len(set(selection.indices.tolist())) == 3
    # Each sub-round moves its pick to the labeled side, so the next goes to another blob.
    assert sorted(blob[selection.indices].tolist()) == [0, 1, 2]
