"""Issue #13 (strategies, part 2): Cluster-Margin, BAIT, AcTune and BERT-KM hardening."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from labelwise.data import ClassificationDataset
from labelwise.errors import ConfigError, NotFittedError, SelectionError
from labelwise.outputs import ModelOutputs
from labelwise.strategies import QueryContext, get_strategy
from labelwise.strategies.gradient import BAIT
from labelwise.strategies.hybrid import AcTune


def ctx(n, labeled=(), seed=0, labels=None, candidates=None):
    return QueryContext.build(n, labeled, candidates, random_state=seed, labels=labels)


def blobs(centres, per_blob, spread=0.1, seed=0):
    rng = np.random.default_rng(seed)
    centres = np.asarray(centres, dtype=np.float32)
    points = np.concatenate([c + rng.normal(scale=spread, size=(per_blob, centres.shape[1])) for c in centres])
    return points.astype(np.float32), np.repeat(np.arange(len(centres)), per_blob)


def binary_probabilities(margins):
    """Rows whose gap between the two classes is ``margins``."""
    margins = np.asarray(margins, dtype=np.float64)
    return np.stack([(1 + margins) / 2, (1 - margins) / 2], axis=1).astype(np.float32)


def peak_bytes(function):
    tracemalloc.start()
    try:
        function()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


# ---- Cluster-Margin ------------------------------------------------------------------------
def test_cluster_margin_picks_only_from_the_smallest_margins_when_the_shortlist_is_smaller_than_the_pool():
    embeddings, _ = blobs(np.eye(4, 6) * 10, 50)
    margins = np.random.default_rng(1).permutation(np.linspace(0.01, 0.99, 200))
    outputs = ModelOutputs.from_arrays(embeddings=embeddings, probabilities=binary_probabilities(margins))
    k, factor = 5, 4  # shortlist of 20 of the 200 rows
    selection = get_strategy("cluster_margin", margin_factor=factor, n_clusters=4).select(outputs, k, ctx(200))
    smallest = set(np.argsort(margins)[: k * factor].tolist())
    assert set(selection.indices.tolist()) <= smallest


def test_cluster_margin_clusters_the_pool_once_and_reuses_it_for_later_queries(monkeypatch):
    from sklearn.cluster import AgglomerativeClustering

    calls = []
    original = AgglomerativeClustering.fit_predict
    monkeypatch.setattr(AgglomerativeClustering, "fit_predict",
                        lambda self, X, *a, **kw: calls.append(len(X)) or original(self, X, *a, **kw))
    embeddings, _ = blobs(np.eye(3, 4) * 10, 20)
    margins = np.linspace(0.05, 0.95, 60)
    outputs = ModelOutputs.from_arrays(embeddings=embeddings, probabilities=binary_probabilities(margins))
    strategy = get_strategy("cluster_margin", n_clusters=3)
    first = strategy.select(outputs, 3, ctx(60))
    strategy.select(outputs, 3, ctx(60, labeled=first.indices, labels=[0, 1, 0]))
    assert calls == [60]  # the whole pool, once


def test_cluster_margin_round_robin_starts_with_the_smallest_cluster_in_the_shortlist():
    embeddings, blob = blobs(np.eye(3, 4) * 10, 30)
    # Shortlist (k=2, factor 5: the 10 smallest margins): 1 row of blob 0, 3 of blob 1, 6 of blob 2.
    margins = np.full(90, 0.9)
    margins[[0]] = 0.10
    margins[[30, 31, 32]] = 0.11
    margins[60:66] = 0.05
    outputs = ModelOutputs.from_arrays(embeddings=embeddings, probabilities=binary_probabilities(margins))
    selection = get_strategy("cluster_margin", margin_factor=5, n_clusters=3).select(outputs, 2, ctx(90))
    assert sorted(blob[selection.indices].tolist()) == [0, 1]
    assert 0 in selection.indices.tolist()


def test_cluster_margin_draws_the_row_within_a_cluster_from_the_run_generator():
    embeddings, blob = blobs(np.eye(2, 4) * 10, 20)
    margins = np.full(40, 0.9)
    margins[:5] = [0.10, 0.11, 0.12, 0.13, 0.14]   # blob 0 part of the shortlist
    margins[20:25] = [0.15, 0.16, 0.17, 0.18, 0.19]  # blob 1 part
    outputs = ModelOutputs.from_arrays(embeddings=embeddings, probabilities=binary_probabilities(margins))

    def pick(seed):
        return tuple(get_strategy("cluster_margin", margin_factor=5, n_clusters=2)
                     .select(outputs, 2, ctx(40, seed=seed)).indices.tolist())

    picks = [pick(seed) for seed in range(8)]
    assert all(sorted(blob[list(p)].tolist()) == [0, 1] for p in picks)
    assert len(set(picks)) > 1  # not always the smallest margin of each cluster
    assert pick(3) == pick(3)


def test_cluster_margin_assigns_a_large_pool_to_centroids_blockwise():
    rng = np.random.default_rng(0)
    n, dim, k = 3000, 64, 100
    embeddings = rng.normal(size=(n, dim)).astype(np.float32)
    outputs = ModelOutputs.from_arrays(embeddings=embeddings, probabilities=binary_probabilities(rng.random(n)))
    strategy = get_strategy("cluster_margin", margin_factor=30, n_clusters=k, max_cluster_rows=400)
    peak = peak_bytes(lambda: strategy.select(outputs, k, ctx(n)))
    # One n x n_clusters x dim float32 array would be 77 MB.
    assert peak < 20 * 2**20
    labels = strategy.pool_clusters(outputs, ctx(n), k)
    assert labels.shape == (n,) and set(np.unique(labels)) <= set(range(k))


# ---- BAIT --------------------------------------------------------------------------------
def test_bait_pool_fisher_blockwise_equals_the_materialised_fisher_embeddings():
    rng = np.random.default_rng(0)
    probabilities = rng.dirichlet(np.ones(4), size=50)
    features = rng.normal(size=(50, 3))
    embeddings = BAIT._fisher_embeddings(probabilities, features)
    expected = np.einsum("ncp,ncq->pq", embeddings, embeddings)
    np.testing.assert_allclose(BAIT._fisher_sum(probabilities, features, block_bytes=2000), expected, atol=1e-12)


def test_bait_memory_does_not_grow_with_pool_times_classes_squared():
    rng = np.random.default_rng(0)
    n, n_classes, dim = 8000, 10, 16
    probabilities = rng.dirichlet(np.ones(n_classes), size=n).astype(np.float32)
    features = rng.normal(size=(n, dim)).astype(np.float32)
    outputs = ModelOutputs.from_arrays(probabilities=probabilities, last_layer_features=features)
    strategy = get_strategy("bait", feature_dim=dim, candidate_pool_size=40)
    peak = peak_bytes(lambda: strategy.select(outputs, 4, ctx(n)))
    # Fisher embeddings of every row: n x C x C*d float64 = 102 MB (and as much again in between).
    assert peak < 50 * 2**20


def _objective(rows, probabilities, features, regularisation=1.0):
    """tr((λI + Σ_{i∈S} I_i)⁻¹ F), F the mean Fisher of the pool (the quantity BAIT minimises)."""
    embeddings = BAIT._fisher_embeddings(probabilities, features)
    fisher = np.einsum("ncp,ncq->pq", embeddings, embeddings) / len(embeddings)
    chosen = embeddings[list(rows)]
    information = regularisation * np.eye(fisher.shape[0]) + np.einsum("ncp,ncq->pq", chosen, chosen)
    return float(np.trace(np.linalg.solve(information, fisher)))


def test_bait_backward_pruning_drops_the_greedy_first_pick_that_the_pair_makes_redundant():
    # Row 0 lies between the two axes and is the best single row: forward greedy takes it
    # first. Rows 1 and 2 span both axes; together they beat any pair holding row 0, so
    # pruning the 4 forward picks back to 2 must drop row 0.
    scale = 2.0
    candidates = np.array([[1.1 / np.sqrt(2), 1.1 / np.sqrt(2)], [1, 0], [0, 1], [0.4, -0.4]]) * scale
    fillers = np.array([[1, 0], [0, 1]] * 10) * scale
    features = np.concatenate([candidates, fillers])
    probabilities = np.concatenate([np.tile([[0.5, 0.5]], (4, 1)), np.tile([[0.9, 0.1]], (20, 1))])
    outputs = ModelOutputs.from_arrays(probabilities=probabilities.astype(np.float32),
                                       last_layer_features=features.astype(np.float32))
    strategy = get_strategy("bait", feature_dim=2, candidate_pool_size=4, oversampling=2.0)
    picked = sorted(strategy.select(outputs, 2, ctx(24)).indices.tolist())
    forward_only = get_strategy("bait", feature_dim=2, candidate_pool_size=4, oversampling=1.0)
    assert 0 in forward_only.select(outputs, 2, ctx(24)).indices.tolist()  # greedy takes row 0
    assert picked == [1, 2]
    assert _objective(picked, probabilities, features) < _objective([0, 1], probabilities, features)
    assert _objective(picked, probabilities, features) < _objective([0, 2], probabilities, features)


# ---- AcTune ------------------------------------------------------------------------------
def actune_outputs(n=20):
    vectors, region = blobs(np.eye(2, 3), n // 2, spread=0.02)
    probabilities = np.where(region[:, None] == 0, [0.4, 0.35, 0.25], [0.05, 0.93, 0.02]).astype(np.float32)
    return ModelOutputs.from_arrays(embeddings=vectors, probabilities=probabilities)


def test_actune_runs_its_base_checks_so_mahalanobis_without_labels_says_what_to_do():
    outputs = actune_outputs()
    with pytest.raises(SelectionError, match="needs labeled examples"):
        AcTune(base="mahalanobis", n_regions=2).select(outputs, 3, ctx(20))
    with pytest.raises(SelectionError, match="needs labeled examples"):
        AcTune(base="mahalanobis", n_regions=2).pseudo_labels(outputs, ctx(20))


def test_actune_with_mahalanobis_and_labels_still_selects():
    outputs = actune_outputs()
    selection = AcTune(base="mahalanobis", n_regions=2).select(outputs, 3, ctx(20, labeled=[0, 10], labels=[0, 1]))
    assert len(set(selection.indices.tolist())) == 3


@pytest.mark.parametrize("base", ["coreset", "badge"])
def test_actune_refuses_a_batch_base_instead_of_selecting_the_whole_pool(base):
    features = np.random.default_rng(0).normal(size=(20, 4)).astype(np.float32)
    outputs = actune_outputs()
    outputs = ModelOutputs.from_arrays(embeddings=outputs.get("embeddings"),
                                       probabilities=outputs.get("probabilities"), last_layer_features=features)
    with pytest.raises(ConfigError, match=rf"base '{base}'.*'entropy'"):
        AcTune(base=base, n_regions=2).select(outputs, 3, ctx(20))


# ---- BERT-KM cold start ------------------------------------------------------------------
def test_bert_km_cold_start_with_a_model_that_cannot_embed_unfitted_names_the_fix():
    pytest.importorskip("torch")
    from labelwise.loop import ActiveLearner
    from labelwise.models import TextCNN

    texts = tuple(f"text number {i} about {'cats' if i % 2 else 'dogs'}" for i in range(30))
    pool = ClassificationDataset(texts, None, ("a", "b"))
    learner = ActiveLearner(TextCNN(), pool, "bert_km", random_state=0)
    with pytest.raises(NotFittedError, match=r"'bert_km'.*cannot embed before its first fit.*\{0: 'random'"):
        learner.query(4)
    # The suggested fix works: random first, BERT-KM once the model is fitted.
    learner = ActiveLearner(TextCNN(), pool, {0: "random", 1: "bert_km"}, random_state=0)
    assert len(learner.query(4)) == 4


def test_bert_km_cold_start_still_works_with_a_model_that_embeds_before_fit():
    from labelwise.loop import ActiveLearner
    from labelwise.models import TfidfLogisticRegression

    texts = tuple(f"text number {i} about {'cats' if i % 2 else 'dogs'} and more" for i in range(30))
    pool = ClassificationDataset(texts, None, ("a", "b"))
    learner = ActiveLearner(TfidfLogisticRegression(), pool, "bert_km", random_state=0)
    selection = learner.query(4)
    assert learner.history[0].strategy == "bert_km"
    assert len(set(selection.indices.tolist())) == 4
