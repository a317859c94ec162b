"""ActiveLearner(..., cluster=...) selects exactly as the one-process learner."""

from __future__ import annotations

import numpy as np
import pytest

from labelwise.loop import ActiveLearner
from labelwise.models import TfidfLogisticRegression

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, processes=False, threads_per_worker=1,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        yield client


def _run(pool, strategy, cluster=None, iterations=3, seed=7):
    learner = ActiveLearner(TfidfLogisticRegression(progress=False), pool.without_labels(), strategy,
                            random_state=seed, cluster=cluster)
    picks = []
    for _ in range(iterations):
        selection = learner.query(8)
        picks.append(selection.indices.tolist())
        learner.teach(selection.indices, pool.labels[selection.indices])
    return picks, learner


@pytest.mark.parametrize("strategy", ["least_confidence", "entropy", "margin", "coreset"])
def test_cluster_learner_equals_one_process(client, small_pool, strategy):
    pool, _ = small_pool
    local, local_learner = _run(pool, strategy)
    remote, remote_learner = _run(pool, strategy, cluster=client)
    assert remote == local
    assert remote_learner.rng.bit_generator.state == local_learner.rng.bit_generator.state
    np.testing.assert_array_equal(remote_learner.previous_scores, local_learner.previous_scores)


def test_cluster_learner_ships_each_model_version_once(client, small_pool):
    from labelwise.distributed.worker import loads_here

    pool, _ = small_pool
    before = len(next(iter(client.run(loads_here).values())))
    _, learner = _run(pool, "entropy", cluster=client, iterations=3)
    loads = next(iter(client.run(loads_here).values()))[before:]
    # iteration 0 is the cold start (random, no model); then one load per retrained version
    assert len(loads) == 2 and len(set(loads)) == 2
