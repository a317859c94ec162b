"""UPS inside each partition, and labels reaching every partition (Mahalanobis)."""

from __future__ import annotations

import numpy as np
import pytest

from labelwise.models import TfidfLogisticRegression
from labelwise.outputs import ModelOutputs
from labelwise.strategies import QueryContext, get_strategy
from labelwise.subsampling.ups import UPSSubsampler

distributed = pytest.importorskip("distributed")

from labelwise.distributed import ClusterScorer  # noqa: E402


@pytest.fixture(scope="module")
def setup(small_pool):
    pool, _ = small_pool
    model = TfidfLogisticRegression(progress=False, embedding_dim=16)
    model.prepare(pool.without_labels())
    model.fit(pool.subset(range(60)))
    with distributed.LocalCluster(n_workers=2, processes=False, threads_per_worker=1,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        yield pool, model, client


def test_ups_runs_per_partition_on_the_scores_each_partition_kept(setup):
    pool, model, client = setup
    scorer = ClusterScorer(client, pool.without_labels(), n_partitions=4)
    scorer.set_model(model, "ups")
    ups = UPSSubsampler(gamma=0.2)
    labeled = np.arange(60)
    first = scorer.select("entropy", 5, rng=np.random.default_rng(0), labeled_indices=labeled, subsampler=ups,
                          keep_scores=True, iteration=0)
    assert len(first.candidate_indices) == len(pool) - 60  # iteration 0 rescores everything
    second = scorer.select("entropy", 5, rng=np.random.default_rng(0), labeled_indices=labeled,
                           exclude_indices=first.indices, subsampler=ups, keep_scores=True, iteration=1)
    per_partition = np.bincount(scorer.pool.partition_of(second.candidate_indices), minlength=4)
    unlabeled_per_partition = np.bincount(scorer.pool.partition_of(np.arange(60, len(pool))), minlength=4)
    assert (per_partition >= 1).all() and per_partition.sum() < 0.5 * (len(pool) - 60)
    assert (per_partition <= np.ceil(0.2 * unlabeled_per_partition) + 5).all()
    assert not np.isin(second.indices, first.indices).any()


def test_labels_reach_every_partition_for_mahalanobis(setup):
    pool, model, client = setup
    scorer = ClusterScorer(client, pool.without_labels(), n_partitions=3)
    scorer.set_model(model, "maha")
    labeled = np.arange(60)
    labels = pool.labels[labeled]
    context = QueryContext.build(len(pool), labeled, random_state=0, labels=labels)
    local = get_strategy("mahalanobis").select(ModelOutputs(model, pool.without_labels()), 8, context)
    remote = scorer.select("mahalanobis", 8, rng=np.random.default_rng(0), labeled_indices=labeled, labels=labels)
    assert remote.indices.tolist() == local.indices.tolist()
