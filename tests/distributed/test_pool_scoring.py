"""Distributed pool scoring gives the same selection as one process."""

from __future__ import annotations

import numpy as np
import pytest

from labelwise.errors import ConfigError
from labelwise.models import TfidfLogisticRegression
from labelwise.outputs import ModelOutputs
from labelwise.strategies import QueryContext, get_strategy

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, processes=False, threads_per_worker=1,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        yield client


@pytest.fixture(scope="module")
def fitted(small_pool):
    pool, _ = small_pool
    model = TfidfLogisticRegression()
    model.prepare(pool.without_labels())
    model.fit(pool.subset(range(40)))
    return pool.without_labels(), model


@pytest.mark.parametrize("name", ["entropy", "least_confidence", "breaking_ties"])
def test_sharded_top_k_equals_single_process(client, fitted, name):
    from labelwise.distributed import score_pool_distributed

    pool, model = fitted
    labeled = np.arange(40)
    local = get_strategy(name).select(ModelOutputs(model, pool), 15,
                                      QueryContext.build(len(pool), labeled, random_state=0))
    remote = score_pool_distributed(client, lambda: model, pool, name, 15, labeled_indices=labeled,
                                    n_shards=7, model_key=f"m-{name}")
    assert remote.indices.tolist() == local.indices.tolist()
    np.testing.assert_allclose(remote.scores, local.scores, rtol=1e-6)
    assert set(remote.candidate_indices.tolist()) == set(range(40, len(pool)))


def test_outputs_computed_on_workers_feed_a_batch_strategy(client, fitted):
    from labelwise.distributed import compute_outputs_distributed

    pool, model = fitted
    remote = compute_outputs_distributed(client, lambda: model, pool, ["probabilities"], n_shards=5,
                                         model_key="m-outputs")
    np.testing.assert_allclose(remote.get("probabilities"), model.predict_proba(pool), rtol=1e-6)


def test_joint_batch_strategies_are_refused_with_a_pointer(client, fitted):
    from labelwise.distributed import score_pool_distributed
    from labelwise.strategies import QueryStrategy, Selection

    class Joint(QueryStrategy):
        name = "joint"

        def _select(self, outputs, k, context):
            return Selection(context.candidate_indices[:k], np.zeros(k))

    pool, model = fitted
    with pytest.raises(ConfigError, match="compute_outputs_distributed"):
        score_pool_distributed(client, lambda: model, pool, Joint(), 3)


class _Uniform:
    """Every row gets the same probabilities: every score ties."""

    def predict_proba(self, dataset):
        return np.full((len(dataset), 4), 0.25, dtype=np.float32)


def test_ties_are_broken_by_the_runs_generator_exactly_as_in_one_process(client, fitted):
    from labelwise.distributed import score_pool_distributed

    pool, _ = fitted
    labeled = np.arange(40)
    for seed in (0, 1):
        local = get_strategy("entropy").select(ModelOutputs(_Uniform(), pool), 10,
                                               QueryContext.build(len(pool), labeled, random_state=seed))
        remote = score_pool_distributed(client, _Uniform, pool, "entropy", 10, labeled_indices=labeled,
                                        n_shards=3, model_key="uniform", random_state=seed)
        assert remote.indices.tolist() == local.indices.tolist()


def test_bad_arguments_raise_labelwise_errors_before_any_work(client, fitted):
    from labelwise.distributed import compute_outputs_distributed, score_pool_distributed
    from labelwise.errors import SelectionError

    pool, model = fitted
    with pytest.raises(SelectionError, match="outside the pool"):
        compute_outputs_distributed(client, lambda: model, pool, ["probabilities"], positions=[0, len(pool)])
    with pytest.raises(SelectionError, match="integer pool positions"):
        compute_outputs_distributed(client, lambda: model, pool, ["probabilities"], positions=[0.5, 1.0])
    with pytest.raises(ConfigError, match="unknown output kind"):
        compute_outputs_distributed(client, lambda: model, pool, ["probabilites"], model_key="m-typo")
    with pytest.raises(ConfigError, match="n_shards"):
        score_pool_distributed(client, lambda: model, pool, "entropy", 3, n_shards=0)
    with pytest.raises(SelectionError, match="labeled_indices"):
        score_pool_distributed(client, lambda: model, pool, "entropy", 3, labeled_indices=[1.5])


@pytest.mark.parametrize("call", ["score", "outputs"])
def test_lost_scattered_pool_is_scattered_again_and_the_result_is_unchanged(client, fitted, monkeypatch, call):
    """The only replica of the scattered pool lost (here: released before the tasks run, as
    when the worker holding it dies): the call scatters again instead of failing with
    FutureCancelledError."""
    from labelwise.distributed import (
        compute_outputs_distributed,
        pool_scoring,
        score_pool_distributed,
    )

    pool, model = fitted
    scatter = pool_scoring._scatter
    calls = []

    def scatter_then_lose_the_pool(*args):
        pool_future, loader_future = scatter(*args)
        calls.append(pool_future.key)
        if len(calls) == 1:
            client.cancel(pool_future)
        return pool_future, loader_future

    monkeypatch.setattr(pool_scoring, "_scatter", scatter_then_lose_the_pool)
    if call == "score":
        labeled = np.arange(40)
        local = get_strategy("entropy").select(ModelOutputs(model, pool), 10,
                                               QueryContext.build(len(pool), labeled, random_state=0))
        remote = score_pool_distributed(client, lambda: model, pool, "entropy", 10, labeled_indices=labeled,
                                        n_shards=3, model_key="m-lost")
        assert remote.indices.tolist() == local.indices.tolist()
    else:
        remote = compute_outputs_distributed(client, lambda: model, pool, ["probabilities"], n_shards=3,
                                             model_key="m-lost-outputs")
        np.testing.assert_allclose(remote.get("probabilities"), model.predict_proba(pool), rtol=1e-6)
    assert len(calls) == 2


def test_gather_gives_up_after_its_attempts_and_raises_the_loss():
    from distributed.client import FutureCancelledError

    from labelwise.distributed.retry import ATTEMPTS, gather_resubmitting

    class AlwaysLost:
        def gather(self, futures):
            raise FutureCancelledError("k", reason="lost")

    retries = []
    with pytest.raises(FutureCancelledError):
        gather_resubmitting(AlwaysLost(), lambda: [], lambda: retries.append(1))
    assert len(retries) == ATTEMPTS - 1
