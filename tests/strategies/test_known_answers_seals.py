"""Known answers for SEALS (candidates restricted to the labeled rows' neighbours)."""

from __future__ import annotations

import numpy as np

from known_answer_helpers import blobs, context
from labelwise.outputs import ModelOutputs
from labelwise.strategies import get_strategy
from labelwise.strategies.seals import SEALS, knn_union


def seals_arrays():
    vectors, blob = blobs([[1, 0, 0], [0, 1, 0], [0, 0, 1]], 12, spread=0.1, seed=3)
    rng = np.random.default_rng(4)
    probabilities = rng.dirichlet(np.ones(3), size=len(vectors)).astype(np.float32)
    return ModelOutputs.from_arrays(embeddings=vectors, probabilities=probabilities), vectors, blob


def test_seals_only_returns_neighbours_of_labeled_rows():
    outputs, vectors, blob = seals_arrays()
    labeled = [0, 1]  # blob 0
    ctx = context(len(vectors), labeled)
    selection = SEALS(base="entropy", n_neighbors=5).select(outputs, 4, ctx)
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    candidates = ctx.candidate_indices
    similarity = unit[labeled] @ unit[candidates].T
    neighbours = set(candidates[np.argsort(-similarity, axis=1)[:, :5]].ravel().tolist())
    assert set(selection.indices.tolist()) <= neighbours
    assert (blob[selection.indices] == 0).all()


def test_seals_equals_its_base_when_the_neighbourhood_covers_the_pool():
    outputs, vectors, _ = seals_arrays()
    for base in ("entropy", "random"):
        filtered = SEALS(base=base, n_neighbors=len(vectors)).select(outputs, 5, context(len(vectors), [0, 20], seed=7))
        direct = get_strategy(base).select(outputs, 5, context(len(vectors), [0, 20], seed=7))
        assert filtered.indices.tolist() == direct.indices.tolist()
        np.testing.assert_array_equal(filtered.scores, direct.scores)


def test_seals_widens_the_neighbourhood_until_k_candidates():
    outputs, vectors, _ = seals_arrays()
    selection = SEALS(n_neighbors=1).select(outputs, 6, context(len(vectors), [0]))
    assert len(set(selection.indices.tolist())) == 6


def test_knn_union_is_exact():
    rng = np.random.default_rng(0)
    database = rng.standard_normal((40, 4)).astype(np.float32)
    queries = rng.standard_normal((7, 4)).astype(np.float32)
    expected = set(np.argsort(-(queries @ database.T), axis=1)[:, :3].ravel().tolist())
    assert set(knn_union(queries, database, 3, block_rows=2).tolist()) == expected
