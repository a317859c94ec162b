"""Simulated active learning for NER on CoNLL-2003: MNLP vs sequence LC vs Random.

Reads ../shared/data/conll2003 (research-only data; nothing is copied into the repo),
subsamples a pool and a test set sized for a small CPU, runs every strategy for several
seeds and prints span-F1 learning curves (mean ± 95% CI) and the time per phase.

    python benchmarks/ner_curve.py --model bilstm_crf --pool 1000 --test 300 --seeds 3
    python benchmarks/ner_curve.py --model transformer --pool 600 --iterations 4 --output docs/results/ner
"""

from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from labelwise.benchmark import mean_ci, plot_learning_curves, simulate
from labelwise.data import load_conll

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "conll2003"


def model_factory(name: str, epochs: int):
    if name == "bilstm_crf":
        from labelwise.models import BiLSTMCRFTagger

        return lambda: BiLSTMCRFTagger(epochs=epochs, word_dim=50, hidden=64, learning_rate=3e-3)
    from labelwise.models import TransformerTagger

    return lambda: TransformerTagger(max_length=64, epochs=epochs, batch_size=16, learning_rate=1e-4)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=["bilstm_crf", "transformer"], default="bilstm_crf")
    parser.add_argument("--strategies", default="mnlp,sequence_lc,random")
    parser.add_argument("--pool", type=int, default=1000)
    parser.add_argument("--test", type=int, default=300)
    parser.add_argument("--initial", type=int, default=50, help="initial labeled sentences (tokens with --unit tokens)")
    parser.add_argument("--query", type=int, default=50, help="sentences per query (or tokens with --unit tokens)")
    parser.add_argument("--unit", choices=["instances", "tokens"], default="instances")
    parser.add_argument("--iterations", type=int, default=5)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--output", type=Path, default=Path("docs/results/ner"))
    args = parser.parse_args()

    rng = np.random.default_rng(2026)
    train = load_conll(args.data / "train.conll.gz")
    test = load_conll(args.data / "test.conll.gz")
    pool = train.subset(np.sort(rng.choice(len(train), args.pool, replace=False)))
    test = test.subset(np.sort(rng.choice(len(test), args.test, replace=False)))
    print(f"CoNLL-2003 pool {len(pool)} sentences ({pool.token_counts.sum()} tokens), test {len(test)}; "
          f"model {args.model}; initial {args.initial}, {args.iterations} queries of {args.query} {args.unit}")
    factory = model_factory(args.model, args.epochs)
    strategies = args.strategies.split(",")
    f1: dict[str, dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
    labeled: dict[str, dict[int, list[int]]] = defaultdict(lambda: defaultdict(list))
    durations: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    args.output.mkdir(parents=True, exist_ok=True)
    records = args.output / f"records_{args.model}.jsonl"
    started = time.perf_counter()
    with open(records, "w", encoding="utf-8") as log:
        for name in tqdm(strategies, desc="strategies"):
            for seed in tqdm(range(args.seeds), desc=name, leave=False):
                for record in simulate(factory, pool, test, name, seed=seed, initial_size=args.initial,
                                       query_size=args.query, iterations=args.iterations, unit=args.unit):
                    f1[name][record.iteration].append(record.metrics["f1"])
                    labeled[name][record.iteration].append(record.n_labeled)
                    if record.iteration > 0:
                        for phase, seconds in record.durations.items():
                            durations[name][phase].append(seconds)
                    log.write(json.dumps({"strategy": name, "seed": seed, "iteration": record.iteration,
                                          "n_labeled": record.n_labeled, "metrics": record.metrics,
                                          "durations": record.durations}) + "\n")
                    log.flush()
    lines = [f"# CoNLL-2003, {args.model}: span F1 (mean ± 95% CI over {args.seeds} seeds)", "",
             "| iteration | sentences | " + " | ".join(strategies) + " |",
             "|---|---|" + "---|" * len(strategies)]
    curves = {}
    for iteration in sorted(f1[strategies[0]]):
        cells = []
        for name in strategies:
            mean, half = mean_ci(f1[name][iteration])
            cells.append(f"{100 * mean:.1f} ± {100 * half:.1f}")
        sentences = int(np.mean(labeled[strategies[0]][iteration]))
        lines.append(f"| {iteration} | {sentences} | " + " | ".join(cells) + " |")
    averages = []
    for name in strategies:
        per_seed = np.array([[f1[name][i][s] for i in sorted(f1[name]) if i > 0] for s in range(args.seeds)]).mean(axis=1)
        mean, half = mean_ci(per_seed)
        averages.append(f"{100 * mean:.1f} ± {100 * half:.1f}")
        x = [int(np.mean(labeled[name][i])) for i in sorted(f1[name])]
        stats = [mean_ci(f1[name][i]) for i in sorted(f1[name])]
        curves[name] = (x, [s[0] for s in stats], [s[1] for s in stats])
    lines.append("| mean over queries | | " + " | ".join(averages) + " |")
    lines += ["", "Seconds per iteration (mean): " + "; ".join(
        f"{name}: " + ", ".join(f"{phase} {np.mean(v):.1f}" for phase, v in durations[name].items())
        for name in strategies), "", f"Total wall time: {time.perf_counter() - started:.0f} s"]
    table = "\n".join(lines)
    print(table)
    (args.output / f"ner_{args.model}.md").write_text(table + "\n", encoding="utf-8")
    plot_learning_curves(curves, args.output / f"ner_{args.model}.png", metric="span F1",
                         title=f"CoNLL-2003, {args.model} (mean ± 95% CI)")


if __name__ == "__main__":
    main()
