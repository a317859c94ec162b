"""ClusterScorer: partitioned pools, models cached per worker version, merged top-k equal
to one process bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

from labelwise.data.datasets import ClassificationDataset
from labelwise.errors import CapabilityError, ConfigError, SelectionError
from labelwise.models import TfidfLogisticRegression
from labelwise.outputs import ModelOutputs
from labelwise.strategies import QueryContext, get_strategy

distributed = pytest.importorskip("distributed")

from labelwise.distributed import ClusterScorer, PartitionedPool  # noqa: E402
from labelwise.distributed.joint import JointSelector  # noqa: E402
from labelwise.distributed.scorer import merge_top_k  # noqa: E402
from labelwise.strategies import top_k  # noqa: E402


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, processes=False, threads_per_worker=1,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        yield client


@pytest.fixture(scope="module")
def fitted(small_pool):
    pool, _ = small_pool
    model = TfidfLogisticRegression(progress=False)
    model.prepare(pool.without_labels())
    model.fit(pool.subset(range(40)))
    return pool.without_labels(), model


def _local(model, pool, name, k, labeled, seed, labels=None):
    context = QueryContext.build(len(pool), labeled, random_state=seed, labels=labels)
    return get_strategy(name).select(ModelOutputs(model, pool), k, context), context.rng


@pytest.mark.parametrize("name", ["least_confidence", "entropy", "margin", "breaking_ties"])
@pytest.mark.parametrize("n_partitions", [1, 3, 7])
def test_partitioned_selection_equals_one_process_bit_for_bit(client, fitted, name, n_partitions):
    pool, model = fitted
    labeled = np.arange(40)
    local, local_rng = _local(model, pool, name, 15, labeled, 0)
    scorer = ClusterScorer(client, pool, n_partitions=n_partitions)
    scorer.set_model(model, "v1")
    rng = np.random.default_rng(0)
    remote = scorer.select(name, 15, rng=rng, labeled_indices=labeled, keep_scores=True)
    assert remote.indices.tolist() == local.indices.tolist()
    assert remote.scores.tobytes() == local.scores.tobytes()
    assert remote.candidate_indices.tolist() == local.candidate_indices.tolist()
    assert remote.candidate_scores.tobytes() == local.candidate_scores.tobytes()
    assert rng.bit_generator.state == local_rng.bit_generator.state  # the run goes on identically


class _Rounded:
    """Probabilities rounded to one decimal: many rows share each score (ties inside the
    top k and across its boundary)."""

    def predict_proba(self, dataset):
        codes = np.array([sum(map(ord, text)) % 5 for text in dataset.texts])
        table = np.array([[0.5, 0.5, 0, 0], [0.4, 0.3, 0.2, 0.1], [0.7, 0.1, 0.1, 0.1],
                          [0.25, 0.25, 0.25, 0.25], [0.4, 0.3, 0.2, 0.1]], dtype=np.float32)
        return table[codes]


@pytest.mark.parametrize("name", ["least_confidence", "entropy", "margin"])
@pytest.mark.parametrize("k", [1, 5, 37, 100])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ties_break_like_one_process(client, fitted, name, k, seed):
    pool, _ = fitted
    labeled = np.arange(0, 300, 7)
    local, local_rng = _local(_Rounded(), pool, name, k, labeled, seed)
    scorer = ClusterScorer(client, pool, n_partitions=5)
    scorer.set_model(_Rounded(), "rounded")
    rng = np.random.default_rng(seed)
    remote = scorer.select(name, k, rng=rng, labeled_indices=labeled)
    assert remote.indices.tolist() == local.indices.tolist()
    assert rng.bit_generator.state == local_rng.bit_generator.state


def test_merge_of_candidate_lists_equals_top_k_over_everything():
    """The merge rule on its own, over many random tie patterns."""
    generator = np.random.default_rng(5)
    for trial in range(300):
        scores = generator.integers(0, 6, size=int(generator.integers(1, 80))).astype(np.float64)
        k = int(generator.integers(1, len(scores) + 1))
        bounds = np.sort(generator.integers(0, len(scores) + 1, size=int(generator.integers(0, 5))))
        results = []
        for start, stop in zip(np.concatenate([[0], bounds]), np.concatenate([bounds, [len(scores)]]), strict=True):
            part = scores[start:stop]
            keep = np.arange(len(part)) if len(part) <= k else np.flatnonzero(
                part >= np.partition(part, len(part) - k)[len(part) - k])
            results.append({"positions": keep + start, "scores": part[keep]})
        expected = top_k(scores, k, np.random.default_rng(trial))
        assert merge_top_k(results, k, np.random.default_rng(trial)).indices.tolist() == expected.tolist()


def test_model_loaded_once_per_worker_and_version(client, fitted):
    from labelwise.distributed.worker import cached_versions, loads_here

    pool, model = fitted
    scorer = ClusterScorer(client, pool, n_partitions=6)
    scorer.set_model(model, "once-a")
    for seed in range(3):
        scorer.select("entropy", 5, rng=np.random.default_rng(seed), labeled_indices=np.arange(40))
    # threads in one process here: one load of the version for the whole process
    assert client.run(loads_here)  # reachable
    loads = next(iter(client.run(loads_here).values()))
    assert loads.count("once-a") == 1
    scorer.set_model(model, "once-b")
    scorer.select("entropy", 5, rng=np.random.default_rng(0), labeled_indices=np.arange(40))
    assert next(iter(client.run(cached_versions).values())) == ["once-b"]  # the old version is evicted


def test_file_shards_are_read_on_workers(client, fitted, tmp_path):
    import json

    pool, model = fitted
    paths = []
    for number, start in enumerate(range(0, 300, 70)):
        path = tmp_path / f"shard{number}.jsonl"
        path.write_text("".join(json.dumps({"text": t}) + "\n" for t in pool.texts[start:start + 70]))
        paths.append(path)
    sharded = PartitionedPool.from_files(paths, client=client, label_names=pool.label_names)
    assert len(sharded) == 300 and sharded.offsets.tolist() == [0, 70, 140, 210, 280, 300]
    scorer = ClusterScorer(client, sharded, persist=False)
    scorer.set_model(model, "files")
    local, _ = _local(model, pool, "entropy", 9, np.arange(40), 3)
    remote = scorer.select("entropy", 9, rng=np.random.default_rng(3), labeled_indices=np.arange(40))
    assert remote.indices.tolist() == local.indices.tolist()
    assert sharded.rows([299, 0], client=client).texts == (pool.texts[299], pool.texts[0])


def test_outputs_from_workers_feed_a_joint_strategy_exactly(client, fitted):
    pool, model = fitted
    scorer = ClusterScorer(client, pool, n_partitions=4)
    scorer.set_model(model, "joint")
    labeled = np.arange(40)
    remote = scorer.outputs(["embeddings"])
    local, _ = _local(model, pool, "coreset", 10, labeled, 0)
    context = QueryContext.build(len(pool), labeled, random_state=0)
    chosen = get_strategy("coreset").select(remote, 10, context)
    assert chosen.indices.tolist() == local.indices.tolist()


def test_errors_are_labelwise_errors(client, fitted):
    pool, model = fitted
    scorer = ClusterScorer(client, pool, n_partitions=2)
    with pytest.raises(ConfigError, match="set_model"):
        scorer.select("entropy", 3, rng=np.random.default_rng(0))
    scorer.set_model(model, "errors")
    with pytest.raises(ConfigError, match="jointly"):
        scorer.select("coreset", 3, rng=np.random.default_rng(0))
    with pytest.raises(SelectionError, match="k=400"):
        scorer.select("entropy", 400, rng=np.random.default_rng(0))
    with pytest.raises(SelectionError, match="outside the pool"):
        scorer.select("entropy", 3, rng=np.random.default_rng(0), labeled_indices=[300])
    with pytest.raises(ConfigError, match="cluster must be"):
        ClusterScorer(42, pool)


def test_partitioned_pool_positions():
    data = ClassificationDataset([f"t{i}" for i in range(10)], None, ("a", "b"))
    pool = PartitionedPool.from_dataset(data, 3)
    assert len(pool) == 10 and pool.offsets.tolist() == [0, 3, 6, 10]
    assert [p.tolist() for p in pool.split_positions(np.array([9, 0, 4, 5]))] == [[0], [4, 5], [9]]
    assert pool.rows([7, 1]).texts == ("t7", "t1")


def test_unprepared_tfidf_model_refuses_embeddings_instead_of_a_one_row_projection(client, small_pool):
    pool, _ = small_pool
    unprepared = TfidfLogisticRegression(progress=False, embedding_dim=8).fit(pool.subset(range(40)))
    scorer = ClusterScorer(client, pool.without_labels(), n_partitions=3)
    scorer.set_model(unprepared, "unprepared")
    # The user's model is left as it was: no projection fitted on a single row.
    assert not hasattr(unprepared, "projection_") and not hasattr(unprepared, "_cache_matrix")
    with pytest.raises(CapabilityError, match=r"model.prepare\(pool\) before model.fit"):
        scorer.outputs(["embeddings"])
    with pytest.raises(CapabilityError, match="prepare"):
        JointSelector(scorer).coreset(3, labeled_indices=np.arange(5), rng=np.random.default_rng(0))
    # Row-wise scoring from probabilities still works, and equals one process.
    local, _ = _local(unprepared, pool.without_labels(), "entropy", 5, np.arange(40), 0)
    remote = scorer.select("entropy", 5, rng=np.random.default_rng(0), labeled_indices=np.arange(40))
    assert remote.indices.tolist() == local.indices.tolist()


def test_prepared_tfidf_model_embeds_on_the_workers_as_one_process(client, small_pool):
    pool, _ = small_pool
    model = TfidfLogisticRegression(progress=False, embedding_dim=8)
    model.prepare(pool.without_labels())
    model.fit(pool.subset(range(40)))
    scorer = ClusterScorer(client, pool.without_labels(), n_partitions=3)
    scorer.set_model(model, "prepared")
    remote = scorer.outputs(["embeddings"]).get("embeddings")
    np.testing.assert_array_equal(remote, model.embed(pool.without_labels()))
