"""A worker killed in the middle of a scoring call: its partitions are retried on the
others (and on the restarted worker) and the selection does not change."""

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
    model = TfidfLogisticRegression(progress=False)
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
        victim = sorted(pids)[0]
        result: dict = {}
        thread = threading.Thread(target=lambda: result.setdefault("selection", scorer.select(
            "entropy", 12, rng=np.random.default_rng(4), labeled_indices=labeled)))
        thread.start()
        deadline = time.time() + 20
        while time.time() < deadline and not client.processing().get(victim):
            time.sleep(0.05)
        assert client.processing().get(victim), "no task reached the victim worker"
        os.kill(pids[victim], signal.SIGKILL)
        thread.join(timeout=60)
        assert not thread.is_alive()
        assert victim not in client.scheduler_info()["workers"] or client.run(os.getpid).get(victim) != pids[victim]
    assert result["selection"].indices.tolist() == expected.indices.tolist()
    assert result["selection"].scores.tobytes() == expected.scores.tobytes()
