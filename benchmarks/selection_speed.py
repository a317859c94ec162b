"""Selection speed and peak memory: labelwise vs small-text vs baal vs bare NumPy, on the
SAME synthetic arrays.

    python benchmarks/selection_speed.py --quick --output docs/results/selection_speed.md

Creates (if missing) ``benchmarks/.peers-venv`` with torch==2.13.0, small-text==1.4.1 and
baal==2.1.0 (peers installed with ``--no-deps`` so they never pull another torch; their
other dependencies by name). Every measurement runs in a fresh subprocess
(``_selection_worker.py``) that loads the arrays from .npy files, so peak memory
(growth of the peak RSS during the call) is per implementation.

Full grid: pools 10k/100k/1M × dims 384/768 × 4/20 classes × batches 100/1000. ``--quick``:
dim 384, 4 classes, batch 100; ``--pools`` restricts the pool sizes; ``--strategies``
the strategies. Quadratic or slow peers are skipped above ``--peer-max-pool`` rows
(reported as "skipped"), as is any run over ``--timeout`` seconds ("timeout").
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
PEERS_VENV = HERE / ".peers-venv"
WORKER = HERE / "_selection_worker.py"
SRC = HERE.parent / "src"

#: strategy -> (small-text equivalent, baal equivalent); None = no equivalent ("n/a")
PEERS = {
    "least_confidence": ("LeastConfidence", "heuristics.Certainty"),
    "entropy": ("PredictionEntropy", "heuristics.Entropy"),
    "breaking_ties": ("BreakingTies", "heuristics.Margin"),
    "bald": ("BALD", "heuristics.BALD"),
    "batchbald": (None, "heuristics.BatchBALD"),
    "coreset": ("GreedyCoreset", None),
    "badge": ("integrations.pytorch.BADGE", None),
    "cal": ("ContrastiveActiveLearning", None),
    "bert_km": ("EmbeddingKMeans", None),
    "egl": (None, None),
    "bait": (None, None),
    "cluster_margin": (None, None),
}
UNCERTAINTY = {"least_confidence", "entropy", "breaking_ties", "bald"}
TEN_X = {"coreset", "badge", "cal", "bert_km"}
MC_SAMPLES = 10


def ensure_peers_venv() -> Path:
    python = PEERS_VENV / "bin" / "python"
    check = [str(python), "-c", "import torch, small_text, baal.active.heuristics"]
    if python.exists() and subprocess.run(check, capture_output=True).returncode == 0:
        return python
    print(f"creating {PEERS_VENV} (torch, small-text, baal) ...", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(PEERS_VENV)], check=True)
    pip = [str(python), "-m", "pip", "install", "-q"]
    subprocess.run([*pip, "torch==2.13.0"], check=True)
    subprocess.run([*pip, "--no-deps", "small-text==1.4.1", "baal==2.1.0", "torchmetrics", "lightning-utilities"], check=True)
    subprocess.run([*pip, "numpy", "scipy", "scikit-learn", "dill", "packaging", "tqdm", "h5py", "structlog", "matplotlib", "pandas"], check=True)
    subprocess.run(check, check=True)
    return python


def make_arrays(folder: Path, n_pool: int, dim: int, n_classes: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    # float32 draws straight away: a 1M x 768 float64 intermediate alone would take 6 GB.
    logits = rng.standard_normal((n_pool, n_classes), dtype=np.float32) * 2
    probabilities = np.exp(logits - logits.max(1, keepdims=True))
    probabilities /= probabilities.sum(1, keepdims=True)
    mc_logits = logits[:, None, :] + rng.standard_normal((n_pool, MC_SAMPLES, n_classes), dtype=np.float32)
    mc = np.exp(mc_logits - mc_logits.max(2, keepdims=True))
    mc /= mc.sum(2, keepdims=True)
    embeddings = rng.standard_normal((n_pool, dim), dtype=np.float32)
    np.save(folder / "probabilities.npy", probabilities.astype(np.float32))
    np.save(folder / "mc_probabilities.npy", mc.astype(np.float32))
    np.save(folder / "embeddings.npy", embeddings)
    np.save(folder / "last_layer_features.npy", embeddings)


def run_worker(python: Path, impl: str, strategy: str, folder: Path, k: int, timeout: float) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "2"), PYTHONPATH=str(SRC))
    command = [str(python), str(WORKER), "--impl", impl, "--strategy", strategy, "--data", str(folder), "--k", str(k)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return {"status": "timeout"}
    if done.returncode != 0:
        return {"status": "error: " + (done.stderr.strip().splitlines() or ["?"])[-1][:80]}
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if result.get("seconds") is None:
        return {"status": "n/a"}
    return {"status": "ok", **result}


def fmt(result: dict) -> str:
    if result["status"] != "ok":
        return result["status"]
    return f"{result['seconds']:.3g} s / {result['peak_mb']:.0f} MB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="dim 384, 4 classes, batch 100 only")
    parser.add_argument("--pools", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--dims", type=int, nargs="+", default=[384, 768])
    parser.add_argument("--classes", type=int, nargs="+", default=[4, 20])
    parser.add_argument("--batches", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--strategies", nargs="+", default=list(PEERS))
    parser.add_argument("--peer-max-pool", type=int, default=100_000, help="skip peers above this pool size")
    parser.add_argument("--batch-max-pool", type=int, default=100_000,
                        help="skip labelwise batch-aware strategies (not uncertainty) above this pool size")
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--output", type=Path, default=None, help="markdown table to write")
    args = parser.parse_args()
    if args.quick:
        args.dims, args.classes, args.batches = [384], [4], [100]
    peers_python = ensure_peers_venv()
    rows = []
    header = "| pool | dim | C | k | strategy | labelwise | numpy | small-text | baal | vs small-text | vs numpy | target |"
    lines = [header, "|" + "---|" * 12]
    for n_pool, dim, n_classes, k in itertools.product(args.pools, args.dims, args.classes, args.batches):
        with tempfile.TemporaryDirectory(prefix="lw_speed_") as tmp:
            folder = Path(tmp)
            make_arrays(folder, n_pool, dim, n_classes)
            floor = run_worker(Path(sys.executable), "numpy", "argpartition", folder, k, args.timeout)
            print(f"pool={n_pool} dim={dim} C={n_classes} k={k}: bare argpartition {fmt(floor)}", flush=True)
            for strategy in args.strategies:
                uncertainty = strategy in UNCERTAINTY
                if not uncertainty and n_pool > args.batch_max_pool:
                    continue
                ours = run_worker(Path(sys.executable), "labelwise", strategy, folder, k, args.timeout)
                numpy_ref = run_worker(Path(sys.executable), "numpy", strategy, folder, k, args.timeout)
                small_name, baal_name = PEERS.get(strategy, (None, None))
                peer_results = []
                for impl, name in (("small_text", small_name), ("baal", baal_name)):
                    if name is None:
                        peer_results.append({"status": "n/a"})
                    elif n_pool > args.peer_max_pool:
                        peer_results.append({"status": "skipped"})
                    else:
                        peer_results.append(run_worker(peers_python, impl, strategy, folder, k, args.timeout))
                small, baal = peer_results
                ratio_small = ratio_numpy = "n/a"
                target = ""
                if ours["status"] == "ok" and small["status"] == "ok":
                    ratio_small = f"{small['seconds'] / ours['seconds']:.1f}x faster"
                    if strategy in TEN_X and n_pool >= 100_000:
                        target = "met" if small["seconds"] >= 10 * ours["seconds"] else "MISSED (10x)"
                if ours["status"] == "ok" and small["status"] == "timeout":
                    bound = args.timeout / ours["seconds"]
                    ratio_small = f"> {bound:.0f}x faster"
                    if strategy in TEN_X and n_pool >= 100_000:
                        target = "met" if bound >= 10 else "unknown (peer timed out)"
                if ours["status"] == "ok" and numpy_ref["status"] == "ok":
                    ratio_numpy = f"{ours['seconds'] / numpy_ref['seconds']:.2f}x time"
                    if uncertainty and n_pool >= 1_000_000:
                        target = "met" if ours["seconds"] <= 1.5 * numpy_ref["seconds"] else "MISSED (1.5x)"
                line = (
                    f"| {n_pool} | {dim} | {n_classes} | {k} | {strategy} | {fmt(ours)} | {fmt(numpy_ref)} | "
                    f"{fmt(small)} | {fmt(baal)} | {ratio_small} | {ratio_numpy} | {target} |"
                )
                print(line, flush=True)
                lines.append(line)
                rows.append(line)
    table = "\n".join(lines)
    print("\n" + table)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        note = (
            "Selection time / peak-RSS growth per call; each in a fresh subprocess. "
            f"Command: `python benchmarks/selection_speed.py {' '.join(sys.argv[1:])}`. "
            "numpy = the plain vectorised score + argpartition.\n\n"
        )
        args.output.write_text("# Selection speed\n\n" + note + table + "\n")


if __name__ == "__main__":
    main()
