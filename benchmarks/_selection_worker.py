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


def run_modal(strategy, arrays, k, labeled, unlabeled, n_classes):
    """modAL 0.4: its sampling functions call ``predict_proba`` on the candidates (passed
    as pool positions, gathered by the stand-in classifier inside the timed call)."""
    from modAL.uncertainty import entropy_sampling, margin_sampling, uncertainty_sampling

    functions = {"least_confidence": uncertainty_sampling, "entropy": entropy_sampling,
                 "breaking_ties": margin_sampling}
    if strategy not in functions:
        return None
    function, clf = functions[strategy], _ArrayClassifier(arrays)

    def run():
        chosen = function(clf, unlabeled, n_instances=k)
        chosen = chosen[0] if isinstance(chosen, tuple) else chosen
        return unlabeled[np.asarray(chosen)]
    return run


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

    def run():  # the candidates' rows are gathered inside the timed call, as for the others
        if strategy in {"bald", "batchbald"}:
            predictions = np.ascontiguousarray(arrays["mc_probabilities"][unlabeled].transpose(0, 2, 1))
        else:
            predictions = arrays["probabilities"][unlabeled]
        return unlabeled[np.asarray(heuristic.get_ranks(predictions)[0])[:k]]
    return run


def run_labelwise(strategy, arrays, k, labeled, unlabeled, n_classes):
    from labelwise.outputs import ModelOutputs
    from labelwise.strategies import QueryContext, get_strategy

    outputs = ModelOutputs.from_arrays(**arrays)
    context = QueryContext.build(len(arrays["probabilities"]), labeled, unlabeled, random_state=0)
    query_strategy = get_strategy(strategy)
    return lambda: query_strategy.select(outputs, k, context).indices


ROWS = 32768


def _blockwise(p, fn):
    out = np.empty(len(p), dtype=p.dtype)
    rows = max(1024, ROWS * 4 // p[0].size)
    for s in range(0, len(p), rows):
        fn(p[s:s + rows].reshape(min(rows, len(p) - s), -1), out[s:s + rows])
    return out


def lc_rows(b, o):  # max; the floor ranks the SMALLEST max first
    np.copyto(o, b[:, 0])
    for c in range(1, b.shape[1]):
        np.maximum(o, b[:, c], out=o)


def entropy_rows(b, o):  # sum p log p (most negative = most uncertain)
    t = np.empty_like(o)
    o.fill(0)
    for c in range(b.shape[1]):
        np.maximum(b[:, c], 1e-30, out=t)
        np.log(t, out=t)
        t *= b[:, c]
        o += t


def margin_rows(b, o):  # best - second (smallest first)
    hi = np.maximum(b[:, 0], b[:, 1])
    lo = np.minimum(b[:, 0], b[:, 1])
    t = np.empty_like(hi)
    for c in range(2, b.shape[1]):
        np.minimum(hi, b[:, c], out=t)
        np.maximum(lo, t, out=lo)
        np.maximum(hi, b[:, c], out=hi)
    np.subtract(hi, lo, out=o)


def smallest_k(s, k, block=64):
    n = len(s) // block * block
    ext = s[:n].reshape(-1, block).min(axis=1)
    if len(ext) <= 8 * k:
        return np.argpartition(s, k)[:k]
    best = np.argpartition(ext, k)[:k]
    rows = (best[:, None] * block + np.arange(block)).ravel()
    rows = np.concatenate([rows, np.arange(n, len(s))])
    return rows[np.argpartition(s[rows], k)[:k]]


def _strong_floor(strategy, arrays, labeled, k):
    if strategy == "bald":
        mc = arrays["mc_probabilities"]
        n, T, C = mc.shape
        def bald_rows(b, o):
            b = b.reshape(len(b), T, C)
            t = np.empty_like(o)
            h = np.empty_like(o)
            entropy_rows(b.reshape(len(b), -1), h)  # sum_t sum_c p log p
            o.fill(0)
            for c in range(C):
                m = b[:, 0, c].copy()
                for s in range(1, T):
                    m += b[:, s, c]
                m /= T
                np.maximum(m, 1e-30, out=t)
                np.log(t, out=t)
                t *= m
                o += t
            h /= T
            o -= h  # sum m log m - mean sum p log p = -BALD; smallest first
        def run():
            s = _blockwise(mc, bald_rows)
            s[labeled] = np.inf
            return smallest_k(s, k)
        return run
    p = arrays["probabilities"]
    fn = {"least_confidence": lc_rows, "entropy": entropy_rows, "breaking_ties": margin_rows}[strategy]
    def run():
        s = _blockwise(p, fn)
        s[labeled] = np.inf
        return smallest_k(s, k)
    return run


def _coreset_floor(arrays, labeled, k):
    """Greedy k-center the plain way: float32, squared norms computed once, the labeled
    rows' distances by one GEMM per block, then one GEMV per new centre and a running
    minimum over the whole pool (labeled rows pinned below every distance)."""
    x = arrays["embeddings"]

    def run():
        norms = np.einsum("ij,ij->i", x, x)
        c = x[labeled]
        nearest = np.empty(len(x), dtype=np.float32)
        for s in range(0, len(x), 8192):
            d = x[s:s + 8192] @ c.T
            d *= -2
            d += np.einsum("ij,ij->i", c, c)
            nearest[s:s + 8192] = d.min(axis=1) + norms[s:s + 8192]
        nearest[labeled] = -1
        chosen = []
        for _ in range(k):
            pick = int(np.argmax(nearest))
            chosen.append(pick)
            d = x @ x[pick]
            d *= -2
            d += norms
            d += norms[pick]
            np.minimum(nearest, d, out=nearest)
            nearest[pick] = -1
        return np.array(chosen)
    return run


def _kmeans_floor(arrays, k):
    """scikit-learn's KMeans(n_init=1): k-means++ on every row, full Lloyd to its tol."""
    from sklearn.cluster import KMeans

    x = arrays["embeddings"]
    return lambda: KMeans(n_clusters=k, n_init=1, random_state=0).fit(x).labels_[:k]


def run_numpy(strategy, arrays, k, labeled, unlabeled, n_classes):
    """The strong floor (#22): the stored float32 array scored in place, labeled rows masked
    (never a copy of the candidate rows), columns looped over row blocks with in-place
    ufuncs, top k in two passes (block extremes, then argpartition over the best blocks)."""
    if strategy in {"least_confidence", "entropy", "breaking_ties", "bald"}:
        return _strong_floor(strategy, arrays, labeled, k)
    if strategy == "coreset":
        return _coreset_floor(arrays, labeled, k)
    if strategy == "bert_km":
        return _kmeans_floor(arrays, k)
    if strategy == "argpartition":
        score = arrays["probabilities"][:, 0].copy()
        return lambda: np.argpartition(score, k)[:k]
    return None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--impl", required=True, choices=["labelwise", "small_text", "modal", "baal", "numpy"])
    parser.add_argument("--repeats", type=int, default=10, help="best of this many calls (within ~15 s)")
    parser.add_argument("--strategy", required=True)
    parser.add_argument("--data", required=True, type=Path)
    parser.add_argument("--k", type=int, required=True)
    parser.add_argument("--n-labeled", type=int, default=100)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    # Only the arrays this strategy reads (loading 800 MB of MC samples for least confidence
    # would eat a peer's timeout); probabilities always, for the pool size.
    needs = {"bald": {"mc_probabilities"}, "batchbald": {"mc_probabilities"}}.get(
        args.strategy, {"embeddings", "last_layer_features"})
    arrays = {f.stem: np.load(f) for f in sorted(args.data.glob("*.npy"))
              if f.stem == "probabilities" or f.stem in needs and args.strategy not in
              {"least_confidence", "entropy", "breaking_ties", "argpartition"}}
    n_pool, n_classes = arrays["probabilities"].shape
    labeled = np.arange(args.n_labeled, dtype=np.int64)
    unlabeled = np.arange(args.n_labeled, n_pool, dtype=np.int64)
    runner = {"labelwise": run_labelwise, "small_text": run_small_text, "modal": run_modal, "baal": run_baal,
              "numpy": run_numpy}[args.impl]
    call = runner(args.strategy, arrays, args.k, labeled, unlabeled, n_classes)
    if call is None:
        print(json.dumps({"seconds": None}))
        return
    before = _peak_mb()
    started, cpu_started = time.perf_counter(), time.process_time()
    indices = np.asarray(call())
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    peak = max(_peak_mb() - before, 0.0)
    # Calls are repeated (best of up to --repeats, within ~15 s) so the first call's page
    # faults, cache misses and other jobs on a shared machine do not decide a ratio; every
    # implementation gets the same. CPU time (process_time; one thread with
    # OMP_NUM_THREADS=1) is reported too: on a machine shared with other jobs a call longer
    # than the scheduler's time slice is nearly always preempted, so its best wall time
    # carries a wait that a shorter call escapes.
    spent = seconds
    calls = 1
    for _ in range(args.repeats - 1):
        if spent > 15.0:
            break
        started, cpu_started = time.perf_counter(), time.process_time()
        call()
        elapsed = time.perf_counter() - started
        cpu = min(cpu, time.process_time() - cpu_started)
        spent += elapsed
        calls += 1
        seconds = min(seconds, elapsed)
    print(json.dumps({"seconds": seconds, "cpu_seconds": cpu, "peak_mb": peak, "n": int(len(indices)),
                      "calls": calls}))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
