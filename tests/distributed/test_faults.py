"""A worker killed in the middle of a scoring call: its partitions are retried on the
surviving worker and the selection does not change, even when the killed worker held the
only copy of the scattered model (Dask's active memory manager keeps one replica of
broadcast data; CI lost it this way once and the selection failed with FutureCancelledError).

Kept fast on a loaded machine: a small TF-IDF model (the 128-dimensional LSA projection of
the default model costs a 25 s SVD on the client under load and a 24 MB broadcast, and
entropy never reads it), and the victim's nanny is told not to restart it (a lost host),
so the retries run on the survivor instead of waiting for a fresh process to import
labelwise and load the model."""

from __future__ import annotations

import os
import signal
import threading
import time

import numpy as np
import pytest

from labelwise.models import TfidfLogisticRegression

distributed = pytest.importorskip("distributed")

from labelwise.distributed import ClusterScorer, PartitionedPool  # noqa: E402
from labelwise.distributed.partitioned import FunctionPartition  # noqa: E402

pytestmark = pytest.mark.processes


def _slow_rows(rows):
    time.sleep(0.4)  # long enough for the kill to land while tasks run
    return rows


# Worker processes cannot import test modules: Dask sends objects that mention __main__ by value.
_slow_rows.__module__ = "__main__"


def test_killed_worker_partitions_are_retried_and_the_selection_is_unchanged(small_pool):
    pool, _ = small_pool
    pool = pool.without_labels()
    model = TfidfLogisticRegression(progress=False, max_features=2000, embedding_dim=8)
    model.prepare(pool)
    model.fit(small_pool[0].subset(range(40)))
    bounds = np.linspace(0, len(pool), 13).astype(int)
    sources = [FunctionPartition(_slow_rows, (pool.subset(np.arange(a, b)),)) for a, b in zip(bounds[:-1], bounds[1:],
                                                                                            strict=True)]
    partitioned = PartitionedPool(sources, np.diff(bounds), label_names=pool.label_names)
    labeled = np.arange(40)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  silence_logs=50) as cluster, distributed.Client(cluster) as client:
        scorer = ClusterScorer(client, partitioned, persist=False)
        scorer.set_model(model, "v1")
        expected = scorer.select("entropy", 12, rng=np.random.default_rng(4), labeled_indices=labeled)
        pids = client.run(os.getpid)
        client.amm.run_once()  # what the memory manager does every 2 s: one replica of the model is left
        deadline = time.time() + 20
        while time.time() < deadline and len(client.who_has(scorer._payload)[scorer._payload.key]) != 1:
            time.sleep(0.05)
        holders = client.who_has(scorer._payload)[scorer._payload.key]
        assert len(holders) == 1, f"the model is still on {holders}"
        victim = holders[0]
        result: dict = {}

        def select_during_the_kill() -> None:
            try:
                result["selection"] = scorer.select("entropy", 12, rng=np.random.default_rng(4),
                                                    labeled_indices=labeled)
            except BaseException as error:  # reported by the assertion below, not lost in the thread
                result["error"] = error

        thread = threading.Thread(target=select_during_the_kill)
        thread.start()
        deadline = time.time() + 20
        while time.time() < deadline and not client.processing().get(victim):
            time.sleep(0.05)
        assert client.processing().get(victim), "no task reached the victim worker"
        nanny = next(n for n in cluster.workers.values() if n.worker_address == victim)
        nanny.close_gracefully("test: a lost host, not restarted")
        os.kill(pids[victim], signal.SIGKILL)
        thread.join(timeout=60)
        assert not thread.is_alive()
        assert victim not in client.scheduler_info()["workers"]
    assert "error" not in result, f"the selection failed after the kill: {result.get('error')!r}"
    assert result["selection"].indices.tolist() == expected.indices.tolist()
    assert result["selection"].scores.tobytes() == expected.scores.tobytes()
