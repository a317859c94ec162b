"""Known answers for DAL (discriminative active learning)."""

from __future__ import annotations

import numpy as np
import pytest

from known_answer_helpers import blobs, context
from labelwise.outputs import ModelOutputs
from labelwise.strategies import get_strategy


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
