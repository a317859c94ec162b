"""Greedy batch strategies break exact ties with the run's generator, as ``top_k`` does:
duplicate rows must not always send the pick to the lowest pool position (a bias towards
the start of the pool), and the same generator state must give the same pick."""

from __future__ import annotations

import numpy as np
import pytest

from labelwise.outputs import ModelOutputs
from labelwise.strategies import QueryContext, get_strategy
from labelwise.strategies.base import argmax_ties_drawn

N = 12


def identical_rows() -> ModelOutputs:
    """Every row the same: embeddings, probabilities, features, MC samples."""
    probabilities = np.tile([[0.6, 0.4]], (N, 1)).astype(np.float32)
    return ModelOutputs.from_arrays(
        embeddings=np.tile([[1.0, 2.0, 3.0]], (N, 1)).astype(np.float32),
        probabilities=probabilities,
        last_layer_features=np.tile([[1.0, -1.0]], (N, 1)).astype(np.float32),
        mc_probabilities=np.stack([np.tile([[0.9, 0.1], [0.2, 0.8]], (2, 1))] * N).astype(np.float32),
    )


def first_pick(name: str, seed: int, **params) -> int:
    # Two labeled rows, so Coreset starts from their distances (not from its random first centre).
    context = QueryContext.build(N, [0, 1], random_state=seed)
    return int(get_strategy(name, **params).select(identical_rows(), 1, context).indices[0])


@pytest.mark.parametrize(("name", "params"), [("coreset", {}), ("batchbald", {}), ("badge", {}),
                                              ("bait", {"feature_dim": 2})])
def test_tied_first_pick_is_drawn_from_the_generator_not_always_the_lowest_position(name, params):
    picks = [first_pick(name, seed, **params) for seed in range(12)]
    assert set(picks) <= set(range(2, N))
    assert len(set(picks)) > 1, f"{name} always picked {picks[0]} among {N - 2} identical rows"
    assert picks == [first_pick(name, seed, **params) for seed in range(12)]  # same seed, same pick


def test_argmax_ties_drawn_makes_no_draw_without_a_tie():
    rng = np.random.default_rng(0)
    state = rng.bit_generator.state
    assert argmax_ties_drawn(np.array([0.1, 0.9, 0.3]), rng) == 1
    assert rng.bit_generator.state == state
    assert argmax_ties_drawn(np.array([0.9, 0.1, 0.9]), None) == 0
    assert {argmax_ties_drawn(np.array([0.9, 0.1, 0.9]), np.random.default_rng(s)) for s in range(20)} == {0, 2}
