"""Known answers for ALPS (cold start by surprisal clusters), alone and inside the learner."""

from __future__ import annotations

import numpy as np
import pytest

from known_answer_helpers import FakeSurprisalModel, blobs, context, numbered_pool
from labelwise.errors import CapabilityError
from labelwise.loop import ActiveLearner
from labelwise.outputs import ModelOutputs, model_can_produce
from labelwise.strategies import get_strategy


def test_alps_picks_one_row_per_surprisal_cluster_without_labels():
    # Three directions of surprisal; scale differs within a cluster, which L2 normalisation removes.
    directions = np.eye(6, dtype=np.float32)[[0, 2, 4]]
    vectors, cluster = blobs(directions, 8, spread=0.03)
    vectors *= np.random.default_rng(1).uniform(0.5, 5.0, size=(len(vectors), 1)).astype(np.float32)
    outputs = ModelOutputs.from_arrays(surprisal_embeddings=vectors)
    selection = get_strategy("alps").select(outputs, 3, context(len(vectors)))
    assert sorted(cluster[selection.indices].tolist()) == [0, 1, 2]
    assert get_strategy("alps").cold_start


def test_alps_fills_to_exactly_k_unique_rows_when_points_repeat():
    vectors = np.repeat(np.eye(3, dtype=np.float32), [6, 1, 1], axis=0)  # 6 copies of one point
    outputs = ModelOutputs.from_arrays(surprisal_embeddings=vectors)
    selection = get_strategy("alps").select(outputs, 5, context(len(vectors)))
    assert len(selection.indices) == 5 == len(set(selection.indices.tolist()))
    assert {6, 7} <= set(selection.indices.tolist())  # the two singleton clusters are covered


def test_alps_needs_surprisal_embeddings():
    outputs = ModelOutputs.from_arrays(probabilities=np.full((4, 2), 0.5, dtype=np.float32))
    with pytest.raises(CapabilityError, match="surprisal_embeddings"):
        get_strategy("alps").select(outputs, 2, context(4))


def test_cold_start_learner_runs_alps_then_least_confidence():
    surprisal, cluster = blobs(np.eye(4, dtype=np.float32)[:3], 6, spread=0.02)
    probabilities = np.tile(np.array([[0.95, 0.05]], dtype=np.float32), (18, 1))
    probabilities[:, 0] = np.linspace(0.95, 0.6, 18)  # confidence falls with the position
    probabilities[:, 1] = 1.0 - probabilities[:, 0]
    model = FakeSurprisalModel(surprisal, probabilities)
    assert model_can_produce(model, "surprisal_embeddings")
    learner = ActiveLearner(model, numbered_pool(18), {0: "alps", 1: "least_confidence"}, random_state=0)
    first = learner.query(3)
    assert learner.history[0].strategy == "alps"
    assert sorted(cluster[first.indices].tolist()) == [0, 1, 2]
    learner.teach(first.indices, [0, 1, 0])
    assert model.fitted_on == [first.indices.tolist()]
    second = learner.query(1)
    assert learner.history[1].strategy == "least_confidence"
    least_confident = max(set(range(18)) - set(first.indices.tolist()))
    assert second.indices.tolist() == [least_confident]
