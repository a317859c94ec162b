"""Worker for selection_speed.py: times ONE strategy of ONE implementation on arrays read
from .npy files and prints a JSON line {"seconds", "peak_mb", "indices"}.

Runs in the labelwise venv (impl "labelwise", "numpy") or in benchmarks/.peers-venv
(impl "small_text", "baal"). Peak memory is the growth of the process's peak resident set
(resource.getrusage) during the call, after the inputs were loaded.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
import warnings
from pathlib import Path

import numpy as np


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


class _ArrayClassifier:
    """Stands in for a small-text classifier: answers from precomputed arrays, indexed by
    the positions small-text passes as its 'dataset' (an arange)."""

    def __init__(self, arrays):
        self.arrays = arrays

    def predict_proba(self, x, dropout_sampling=None):
        if dropout_sampling is not None:
            return self.arrays["mc_probabilities"][np.asarray(x)]
        return self.arrays["probabilities"][np.asarray(x)]

    def embed(self, x, return_proba=False, **_):
        x = np.asarray(x)
        if return_proba:
            return self.arrays["embeddings"][x], self.arrays["probabilities"][x]
        return self.arrays["embeddings"][x]


def run_small_text(strategy, arrays, k, labeled, unlabeled, n_classes):
    from small_text.query_strategies import (
        BALD,
        BreakingTies,
        ContrastiveActiveLearning,
        EmbeddingKMeans,
        GreedyCoreset,
        LeastConfidence,
        PredictionEntropy,
    )

    classes = {
        "least_confidence": LeastConfidence,
        "entropy": PredictionEntropy,
        "breaking_ties": BreakingTies,
        "bald": lambda: BALD(dropout_samples=arrays["mc_probabilities"].shape[1]),
        "coreset": lambda: GreedyCoreset(distance_metric="euclidean", normalize=False),
        "cal": lambda: ContrastiveActiveLearning(k=10, pbar=None),
        "bert_km": EmbeddingKMeans,
    }
    if strategy == "badge":
        from small_text.integrations.pytorch.query_strategies import BADGE

        factory = lambda: BADGE(num_classes=n_classes)  # noqa: E731
    elif strategy in classes:
        factory = classes[strategy]
    else:
        return None
    query_strategy = factory()
    dataset = np.arange(arrays["probabilities"].shape[0])
    clf = _ArrayClassifier(arrays)
    y = np.zeros(len(labeled), dtype=np.int64)
    kwargs = {}
    if strategy in {"coreset", "badge", "bert_km"}:
        # small-text wants embeddings in the order unlabeled, then labeled
        source = arrays["last_layer_features" if strategy == "badge" else "embeddings"]
        kwargs = {"embeddings": source[np.concatenate([unlabeled, labeled])], "pbar": None}
    return lambda: query_strategy.query(clf, dataset, unlabeled, labeled, y, n=k, **kwargs)


def run_baal(strategy, arrays, k, labeled, unlabeled, n_classes):
    from baal.active import heuristics

    classes = {
        "least_confidence": heuristics.Certainty,
        "entropy": heuristics.Entropy,
        "breaking_ties": heuristics.Margin,
        "bald": heuristics.BALD,
        "batchbald": lambda: heuristics.BatchBALD(num_samples=k),
    }
    if strategy not in classes:
        return None
    heuristic = classes[strategy]()
    if strategy in {"bald", "batchbald"}:
        predictions = np.ascontiguousarray(arrays["mc_probabilities"][unlabeled].transpose(0, 2, 1))  # (n, C, T)
    else:
        predictions = arrays["probabilities"][unlabeled]
    return lambda: unlabeled[np.asarray(heuristic.get_ranks(predictions)[0])[:k]]


def run_labelwise(strategy, arrays, k, labeled, unlabeled, n_classes):
    from labelwise.outputs import ModelOutputs
    from labelwise.strategies import QueryContext, get_strategy

    outputs = ModelOutputs.from_arrays(**arrays)
    context = QueryContext.build(len(arrays["probabilities"]), labeled, unlabeled, random_state=0)
    query_strategy = get_strategy(strategy)
    return lambda: query_strategy.select(outputs, k, context).indices


def run_numpy(strategy, arrays, k, labeled, unlabeled, n_classes):
    """The plain vectorised NumPy expression of the score plus argpartition (the floor)."""
    p = arrays["probabilities"]
    if strategy == "least_confidence":
        return lambda: unlabeled[np.argpartition(p[unlabeled].max(axis=1), k)[:k]]
    if strategy == "entropy":
        def entropy():
            q = p[unlabeled]
            return unlabeled[np.argpartition((q * np.log(q + 1e-12)).sum(axis=1), k)[:k]]
        return entropy
    if strategy == "breaking_ties":
        def margin():
            q = np.partition(p[unlabeled], -2, axis=1)
            return unlabeled[np.argpartition(q[:, -1] - q[:, -2], k)[:k]]
        return margin
    if strategy == "bald":
        mc = arrays["mc_probabilities"]

        def bald():
            q = mc[unlabeled]
            mean = q.mean(axis=1)
            score = -(mean * np.log(mean + 1e-12)).sum(1) + (q * np.log(q + 1e-12)).sum(2).mean(1)
            return unlabeled[np.argpartition(-score, k)[:k]]
        return bald
    if strategy == "argpartition":
        score = p[:, 0].copy()
        return lambda: np.argpartition(score, k)[:k]
    return None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--impl", required=True, choices=["labelwise", "small_text", "baal", "numpy"])
    parser.add_argument("--strategy", required=True)
    parser.add_argument("--data", required=True, type=Path)
    parser.add_argument("--k", type=int, required=True)
    parser.add_argument("--n-labeled", type=int, default=100)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    arrays = {f.stem: np.load(f, mmap_mode=None) for f in sorted(args.data.glob("*.npy"))}
    n_pool, n_classes = arrays["probabilities"].shape
    labeled = np.arange(args.n_labeled, dtype=np.int64)
    unlabeled = np.arange(args.n_labeled, n_pool, dtype=np.int64)
    runner = {"labelwise": run_labelwise, "small_text": run_small_text, "baal": run_baal, "numpy": run_numpy}[args.impl]
    call = runner(args.strategy, arrays, args.k, labeled, unlabeled, n_classes)
    if call is None:
        print(json.dumps({"seconds": None}))
        return
    before = _peak_mb()
    started = time.perf_counter()
    indices = np.asarray(call())
    seconds = time.perf_counter() - started
    peak = max(_peak_mb() - before, 0.0)
    # Calls are repeated (best of up to 5, within ~15 s) so the first call's page faults
    # and cache misses do not decide a ratio; every implementation gets the same.
    spent = seconds
    for _ in range(4):
        if spent > 15.0:
            break
        started = time.perf_counter()
        call()
        elapsed = time.perf_counter() - started
        spent += elapsed
        seconds = min(seconds, elapsed)
    print(json.dumps({"seconds": seconds, "peak_mb": peak, "n": int(len(indices))}))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
