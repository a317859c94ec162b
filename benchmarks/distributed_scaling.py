"""Scaling of distributed scoring: a synthetic pool of short texts generated on the workers
(never held by the client), scored with 1 and 2 worker processes (1 thread each).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/distributed_scaling.py --rows 1000000 --workers 1 2

Prints rows/s, peak RSS per worker and on the client (ru_maxrss, warm-up included) and the
1-minute load average at the end of each run. Run on an idle machine: figures taken while
other jobs share the CPUs understate the speed-up.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time

import numpy as np

from labelwise.data.datasets import ClassificationDataset
from labelwise.distributed import ClusterScorer, PartitionedPool
from labelwise.models import TfidfLogisticRegression

WORDS = np.array("market team game price vote court storm chip league bank rocket virus film cloud oil "
                 "election season drug phone trade coach senate quake robot".split())
LABELS = ("world", "sports", "business", "sci_tech")


def make_texts(start: int, stop: int) -> ClassificationDataset:
    """Rows start..stop-1 of the synthetic pool: 8-word texts, a pure function of the position."""
    rng = np.random.default_rng(start)
    words = WORDS[rng.integers(0, len(WORDS), size=(stop - start, 8))]
    return ClassificationDataset(tuple(" ".join(row) for row in words), None, LABELS)


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(rows: int, workers: int, model: TfidfLogisticRegression, rows_per_partition: int) -> dict:
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                      silence_logs=50) as cluster, Client(cluster) as client:
        pool = PartitionedPool.generated(make_texts, rows, rows_per_partition, label_names=LABELS)
        scorer = ClusterScorer(client, pool, persist=False)
        scorer.set_model(model, "bench")
        scorer.select("entropy", 10, rng=np.random.default_rng(0), candidate_indices=np.arange(1000))  # warm-up
        started = time.perf_counter()
        selection = scorer.select("entropy", 100, rng=np.random.default_rng(0))
        seconds = time.perf_counter() - started
        worker_peaks = list(client.run(_peak_mib).values())
    return {"rows": rows, "workers": workers, "seconds": round(seconds, 2), "rows_per_s": round(rows / seconds),
            "worker_peak_mib": [round(p) for p in worker_peaks], "client_peak_mib": round(_peak_mib()),
            "picked": len(selection), "load_avg_1m": round(os.getloadavg()[0], 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--rows-per-partition", type=int, default=50_000)
    args = parser.parse_args()
    train = make_texts(10**9, 10**9 + 2000)
    labels = np.random.default_rng(0).integers(0, len(LABELS), len(train))
    model = TfidfLogisticRegression(progress=False, max_features=5000).fit(train.with_labels(labels))
    for rows in args.rows:
        for workers in args.workers:
            print(json.dumps(run(rows, workers, model, args.rows_per_partition)), flush=True)


if __name__ == "__main__":
    main()
