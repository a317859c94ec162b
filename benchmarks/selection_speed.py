"""Selection speed and peak memory: labelwise against a strong NumPy floor and the peer
libraries (small-text, modAL, baal), on the SAME synthetic float32 arrays.

    OMP_NUM_THREADS=1 python benchmarks/selection_speed.py --output docs/results/selection_speed.md

Every measurement runs in a fresh subprocess (``_selection_worker.py``) that loads the
arrays from .npy files and reports the best of up to ``--repeats`` calls (within ~15 s)
and the growth of its peak resident set during the first call. Peers run from
``benchmarks/.peers-venv`` (created on first use: it sees the labelwise environment's
packages through a .pth file, so torch is never installed twice, and adds baal with
``--no-deps``); a peer that is not importable is reported as "not installed".

Grid (each row says what it compares, see COMPARES):

* uncertainty (least confidence, entropy, margin, BALD) at 1M rows x {4, 20} classes x
  k {100, 1000}; the floor scores the stored array in place with column loops on row
  blocks, masks labeled rows and takes a two-pass top k (target: labelwise <= 1.5x);
* Coreset at 100k x {384, 768} dims x k {100, 1000}; the floor is a float32 greedy
  k-center with precomputed squared norms and one GEMV per new centre (target <= 1.2x);
* BERT-KM and CAL at 100k x 384, k 100 (floor for BERT-KM: scikit-learn's KMeans,
  n_init=1; CAL has no floor, and small-text's CAL is a different computation).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
PEERS_VENV = HERE / ".peers-venv"
WORKER = HERE / "_selection_worker.py"
SRC = HERE.parent / "src"
MC_SAMPLES = 10
IMPLS = ("labelwise", "numpy", "small_text", "modal", "baal")
UNCERTAINTY = ("least_confidence", "entropy", "breaking_ties", "bald")

#: strategy -> (what the row compares, {impl: the peer's name} (absent = no equivalent), target)
COMPARES = {
    "least_confidence": ("1 - max p over candidates; floor: in-place column loop, labeled masked, two-pass top k",
                         {"small_text": "LeastConfidence", "modal": "uncertainty_sampling",
                          "baal": "Certainty"}, 1.5),
    "entropy": ("-sum p log p; same floor", {"small_text": "PredictionEntropy", "modal": "entropy_sampling",
                                             "baal": "Entropy"}, 1.5),
    "breaking_ties": ("-(p1 - p2); same floor", {"small_text": "BreakingTies", "modal": "margin_sampling",
                                                 "baal": "Margin"}, 1.5),
    "bald": (f"mutual information from {MC_SAMPLES} MC samples; same floor", {"small_text": "BALD",
                                                                           "baal": "BALD"}, 1.5),
    "coreset": ("greedy k-center from the labeled set, Euclidean; floor: float32, norms once, one GEMV "
                "per centre", {"small_text": "GreedyCoreset"}, 1.2),
    "bert_km": ("k-means (k = batch) on embeddings, nearest row per centre; floor: scikit-learn "
                "KMeans(n_init=1), full Lloyd; small-text EmbeddingKMeans also runs scikit-learn KMeans",
                {"small_text": "EmbeddingKMeans"}, None),
    "cal": ("labelwise: KL to 10 nearest LABELED rows (the paper); small-text: 10 nearest of the WHOLE "
            "pool: different computations, no ratio", {"small_text": "ContrastiveActiveLearning"}, None),
}


def ensure_peers_venv() -> Path | None:
    """benchmarks/.peers-venv: this environment's packages (.pth) plus baal (--no-deps)."""
    python = PEERS_VENV / "bin" / "python"
    if not python.exists():
        print(f"creating {PEERS_VENV} ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(PEERS_VENV)], check=True)
        here = subprocess.run([str(python), "-c", "import site; print(site.getsitepackages()[0])"],
                              capture_output=True, text=True, check=True).stdout.strip()
        import site

        Path(here, "labelwise-env.pth").write_text(site.getsitepackages()[0] + "\n")
        pip = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", here]
        for package in ("baal==2.1.0", "structlog", "torchmetrics", "lightning-utilities"):
            subprocess.run([*pip, package], check=False)
    return python


def make_arrays(folder: Path, n_pool: int, dim: int, n_classes: int, embeddings: bool, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    logits = rng.standard_normal((n_pool, n_classes), dtype=np.float32) * 2
    probabilities = np.exp(logits - logits.max(1, keepdims=True))
    probabilities /= probabilities.sum(1, keepdims=True)
    np.save(folder / "probabilities.npy", probabilities.astype(np.float32))
    if embeddings:
        np.save(folder / "embeddings.npy", rng.standard_normal((n_pool, dim), dtype=np.float32))
        return
    mc = logits[:, None, :] + rng.standard_normal((n_pool, MC_SAMPLES, n_classes), dtype=np.float32)
    mc = np.exp(mc - mc.max(2, keepdims=True))
    mc /= mc.sum(2, keepdims=True)
    np.save(folder / "mc_probabilities.npy", mc.astype(np.float32))


def run_worker(python: Path, impl: str, strategy: str, folder: Path, k: int, timeout: float, repeats: int) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"), PYTHONPATH=str(SRC))
    command = [str(python), str(WORKER), "--impl", impl, "--strategy", strategy, "--data", str(folder),
               "--k", str(k), "--repeats", str(repeats)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return {"status": f"timeout {timeout:.0f} s"}
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["?"])[-1]
        return {"status": "not installed" if "ModuleNotFoundError" in last else "error: " + last[:60]}
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return {"status": "ok", **result} if result.get("seconds") is not None else {"status": "n/a"}


def _time(seconds: float) -> str:
    return f"{seconds * 1e3:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


def fmt(result: dict) -> str:
    if result["status"] != "ok":
        return result["status"]
    return (f"{_time(result['cpu_seconds'])} cpu, {_time(result['seconds'])} wall / {result['peak_mb']:.0f} MB "
            f"({result.get('calls', 1)})")


def ratio(ours: dict, other: dict) -> str:
    """other / ours in CPU time (see the worker: wall time of short calls is skewed by
    preemption on a shared machine)."""
    if ours["status"] == "ok" and other["status"] == "ok":
        return f"{other['cpu_seconds'] / ours['cpu_seconds']:.2f}"
    return "-"


def kmeans_report(n: int, dim: int, k: int) -> str:
    """labelwise's k-means (BERT-KM, ALPS) against scikit-learn's KMeans(n_init=1), both
    from our seeds and from its own k-means++ on every row: time and inertia."""
    sys.path.insert(0, str(SRC))
    from sklearn.cluster import KMeans

    from labelwise.strategies import _geometry

    x = np.random.default_rng(0).standard_normal((n, dim), dtype=np.float32)
    started = time.perf_counter()
    seeds = _geometry._seed_centres(x, k, np.random.default_rng(0))
    seeded = time.perf_counter()
    _, _, inertia = _geometry.lloyd(x, seeds, 100)
    ours = time.perf_counter() - started
    rows = [f"| labelwise kmeans (k-means++ on a {min(n, max(4 * k, 2000))}-row sample, Lloyd to < 0.1 % gain) "
            f"| {ours:.1f} s (seeding {seeded - started:.1f} s) | {inertia:.6g} | 1.000 | 1.0 |"]
    for label, init in (("scikit-learn KMeans(n_init=1, init=our seeds)", seeds),
                        ("scikit-learn KMeans(n_init=1, k-means++ on all rows)", "k-means++")):
        started = time.perf_counter()
        model = KMeans(k, n_init=1, init=init, random_state=0).fit(x)
        seconds = time.perf_counter() - started
        rows.append(f"| {label}, {model.n_iter_} iterations | {seconds:.1f} s | {model.inertia_:.6g} | "
                    f"{inertia / model.inertia_:.4f} | {seconds / ours:.1f} |")
    return ("| k-means at " + f"{n} x {dim}, k = {k} | time | inertia | ours / this inertia | this time / ours |\n"
            "|---|---|---|---|---|\n" + "\n".join(rows))


def grid(args: argparse.Namespace) -> list[tuple[str, int, int, int, int]]:
    rows = []
    for strategy in args.strategies:
        if strategy in UNCERTAINTY:
            rows += [(strategy, args.uncertainty_pool, 0, c, k) for c in args.classes for k in args.batches]
        elif strategy == "coreset":
            rows += [(strategy, args.embedding_pool, d, 4, k) for d in args.dims for k in args.batches]
        else:
            rows += [(strategy, args.embedding_pool, args.dims[0], 4, min(args.batches))]
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--strategies", nargs="+", default=list(COMPARES))
    parser.add_argument("--uncertainty-pool", type=int, default=1_000_000)
    parser.add_argument("--embedding-pool", type=int, default=100_000)
    parser.add_argument("--dims", type=int, nargs="+", default=[384, 768])
    parser.add_argument("--classes", type=int, nargs="+", default=[4, 20])
    parser.add_argument("--batches", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--repeats", type=int, default=10, help="best of this many calls (within ~15 s each)")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per labelwise/floor run")
    parser.add_argument("--peer-timeout", type=float, default=60.0, help="seconds per peer run")
    parser.add_argument("--peer-batches", type=int, nargs="+", default=[100],
                        help="run the peers only at these k (their time barely depends on k)")
    parser.add_argument("--output", type=Path, default=None, help="markdown file to write")
    parser.add_argument("--kmeans", type=int, nargs=3, metavar=("N", "DIM", "K"), default=None,
                        help="only compare k-means with scikit-learn's (e.g. 100000 384 1000)")
    args = parser.parse_args()
    if args.kmeans:
        print(kmeans_report(*args.kmeans))
        return
    peers_python = ensure_peers_venv()
    load_before = os.getloadavg()
    started = time.time()
    header = ("| strategy | pool | dim | C | k | labelwise | floor | small-text | modAL | baal | floor/lw "
              "| small-text/lw | modAL/lw | baal/lw | target |")
    lines = [header, "|" + "---|" * 15]
    groups: dict[tuple[int, int, int], list[tuple[str, int]]] = {}
    for strategy, pool, dim, classes, k in grid(args):
        groups.setdefault((pool, dim, classes), []).append((strategy, k))
    for (pool, dim, classes), runs in groups.items():
        with tempfile.TemporaryDirectory(prefix="lw_speed_") as tmp:
            folder = Path(tmp)
            make_arrays(folder, pool, dim, classes, embeddings=dim > 0)
            for strategy, k in runs:
                _, peers, target = COMPARES[strategy]
                results = {}
                for impl in IMPLS:
                    if impl in ("labelwise", "numpy"):
                        results[impl] = run_worker(Path(sys.executable), impl, strategy, folder, k, args.timeout,
                                                   args.repeats)
                    elif impl not in peers:
                        results[impl] = {"status": "n/a"}
                    elif k not in args.peer_batches:
                        results[impl] = {"status": "not run"}
                    else:
                        results[impl] = run_worker(peers_python, impl, strategy, folder, k, args.peer_timeout,
                                                   args.repeats)
                ours, floor = results["labelwise"], results["numpy"]
                verdict = ""
                if target and ours["status"] == "ok" and floor["status"] == "ok":
                    share = ours["cpu_seconds"] / floor["cpu_seconds"]
                    verdict = f"{share:.2f}x floor: " + ("met" if share <= target else f"MISSED ({target}x)")
                ratios = [ratio(ours, results[impl]) if strategy != "cal" or impl == "numpy" else "-"
                          for impl in IMPLS[1:]]
                line = (f"| {strategy} | {pool} | {dim or '-'} | {classes} | {k} | "
                        + " | ".join(fmt(results[impl]) for impl in IMPLS) + " | " + " | ".join(ratios)
                        + f" | {verdict} |")
                print(line, flush=True)
                lines.append(line)
    load_after = os.getloadavg()
    compares = "\n".join(f"- **{name}**: {text}; peers: "
                         + (", ".join(f"{impl} {peer}" for impl, peer in peers.items()) or "none")
                         for name, (text, peers, _) in COMPARES.items() if name in args.strategies)
    note = (
        f"Machine: {platform.machine()} {os.cpu_count()} cores, shared with other jobs "
        f"(load average {load_before[0]:.1f} at the start, {load_after[0]:.1f} at the end, "
        f"{(time.time() - started) / 60:.0f} min), OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', '1')}.\n"
        f"Command: `OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', '1')} python benchmarks/selection_speed.py "
        f"{' '.join(sys.argv[1:])}`.\n\n"
        "Cells: best CPU time and best wall time of (N) calls in a fresh subprocess / growth of its peak "
        "resident set during the first call. Ratios and targets use CPU time (on a shared machine a call "
        "longer than a scheduler time slice is almost always preempted, which skews best wall times "
        "against the longer call): the other's time / labelwise's, above 1 = labelwise faster. "
        "`timeout T s`: the subprocess (loading included) did not finish within T s.\n\nWhat each row compares:\n\n" + compares + "\n\n"
    )
    table = "\n".join(lines)
    print("\n" + note + table)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text("# Selection speed (generated table)\n\n" + note + table + "\n")


if __name__ == "__main__":
    main()
