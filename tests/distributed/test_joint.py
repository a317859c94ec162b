"""Joint strategies at scale: coreset of coresets and k-means|| seeding, with the
approximation measured against the one-process result."""

from __future__ import annotations

import numpy as np
import pytest

from labelwise.models import TfidfLogisticRegression
from labelwise.outputs import ModelOutputs
from labelwise.strategies import QueryContext, get_strategy

distributed = pytest.importorskip("distributed")

from labelwise.distributed import ClusterScorer  # noqa: E402
from labelwise.distributed.joint import JointSelector, weighted_kmeans_pp  # noqa: E402


@pytest.fixture(scope="module")
def setup(small_pool):
    pool, _ = small_pool
    model = TfidfLogisticRegression(progress=False, embedding_dim=32)
    model.prepare(pool.without_labels())
    model.fit(pool.subset(range(40)))
    with distributed.LocalCluster(n_workers=2, processes=False, threads_per_worker=1,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        scorer = ClusterScorer(client, pool.without_labels(), n_partitions=5)
        scorer.set_model(model, "joint")
        yield pool.without_labels(), model, scorer


def _radius(embeddings, unlabeled, centres):
    d = ((embeddings[unlabeled][:, None, :] - embeddings[centres][None, :, :]) ** 2).sum(-1)
    return float(np.sqrt(d.min(axis=1).max()))


def _cost(embeddings, unlabeled, centres):
    d = ((embeddings[unlabeled][:, None, :] - embeddings[centres][None, :, :]) ** 2).sum(-1)
    return float(d.min(axis=1).sum())


def test_coreset_of_coresets_covers_within_the_composable_bound(setup):
    pool, model, scorer = setup
    labeled = np.arange(40)
    unlabeled = np.arange(40, len(pool))
    embeddings = model.embed(pool)
    local = get_strategy("coreset").select(ModelOutputs(model, pool), 20,
                                           QueryContext.build(len(pool), labeled, random_state=0))
    selector = JointSelector(scorer)
    chosen = selector.coreset(20, labeled_indices=labeled, rng=np.random.default_rng(0))
    assert len(np.unique(chosen)) == 20 and not np.isin(chosen, labeled).any()
    one = _radius(embeddings, unlabeled, np.concatenate([labeled, local.indices]))
    many = _radius(embeddings, unlabeled, np.concatenate([labeled, chosen]))
    measured = selector.measure(chosen, labeled_indices=labeled)
    assert measured["coverage_radius"] == pytest.approx(many, rel=1e-4)
    assert many <= 4 * one  # greedy k-center twice: 4 x optimal, and greedy >= optimal


def test_kmeans_parallel_seeding_cost_close_to_one_process_kmeans_pp(setup):
    pool, model, scorer = setup
    labeled = np.arange(40)
    unlabeled = np.arange(40, len(pool))
    embeddings = model.embed(pool)
    selector = JointSelector(scorer)
    ratios = []
    for seed in range(3):
        chosen = selector.kmeans_parallel(15, labeled_indices=labeled, rng=np.random.default_rng(seed))
        assert len(np.unique(chosen)) == 15 and not np.isin(chosen, labeled).any()
        single = unlabeled[weighted_kmeans_pp(embeddings[unlabeled], np.ones(len(unlabeled)), 15,
                                              np.random.default_rng(seed))]
        ratios.append(_cost(embeddings, unlabeled, chosen) / _cost(embeddings, unlabeled, single))
        assert selector.measure(chosen, labeled_indices=labeled)["kmeans_cost"] == pytest.approx(
            _cost(embeddings, unlabeled, chosen), rel=1e-3)
    assert np.mean(ratios) < 1.5, ratios


def test_badge_gradient_points_select_unique_rows(setup):
    pool, _, scorer = setup
    chosen = JointSelector(scorer, gradient=True).kmeans_parallel(10, labeled_indices=np.arange(40),
                                                                   rng=np.random.default_rng(1))
    assert len(np.unique(chosen)) == 10 and chosen.min() >= 40
