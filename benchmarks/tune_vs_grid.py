"""Does `labelwise tune` choose well? Its choice (from a replay on the first N labels) against
the grid run on the real pool.

1. `labelwise tune`'s procedure: the first ``tune.labels`` labels of one simulated run of the
   config, replayed per candidate (query size x model) with a held-out part (tune_al).
2. The grid on the real pool: every candidate runs AL on the config's pool from the config's
   seed set (same per seed for every candidate) up to ``--budget`` labels, scored on the test
   set by the normalized area under the learning curve over the same label range, mean over
   ``--seeds``.
3. Where the tuned choice ranks in the grid, and the AUC it gives up against the grid's best
   (its regret), beside the regret of the config's own (query size, model).

Usage (from the repository root):

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/tune_vs_grid.py configs/ag_news_stopping_tune.yaml \
        --budget 420 --seeds 0 1 2 --output docs/results/tuning
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

from labelwise._io import atomic_write_text
from labelwise.benchmark.runner import load_benchmark_data, seed_positions
from labelwise.cli.tune import first_labels, read_tune_config
from labelwise.tuning import _checked_candidates, rank_candidates, replay_curve, tune_al


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config")
    parser.add_argument("--budget", type=int, default=420, help="labels of each grid run on the real pool")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="grid seeds")
    parser.add_argument("--output", default="docs/results/tuning")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    config, tune = read_tune_config(args.config)
    pool, test = load_benchmark_data(config)
    candidates = {"query_size": tune["query_sizes"], "model": tune["models"]}
    positions = first_labels(config, pool, tune["labels"], seed=tune["seed"], strategy=tune["strategy"])
    tuned = tune_al(pool.subset(positions), candidates, strategy=tune["strategy"], seeds=tune["seeds"],
                    held_out=tune["held_out"])
    tune_seconds = time.perf_counter() - started
    print(tuned.to_markdown(), flush=True)

    started = time.perf_counter()
    grid = _checked_candidates(candidates)

    def run(candidate, seed):
        return replay_curve(candidate, pool, test, tune["strategy"], seed=seed,
                            seed_positions=seed_positions(config, pool, seed), budget=args.budget,
                            metric=tuned.metric)

    rows = rank_candidates(grid, run, args.seeds, scale=100.0)
    grid_seconds = time.perf_counter() - started
    by_key = {(row.query_size, row.model): row for row in rows}
    choice = by_key[(tuned.best.query_size, tuned.best.model)]
    default_key = (config.query.size if config.query.mode == "count" else None,
                   _model_labels([{"name": config.model.name, "params": dict(config.model.params)}])[0][0])
    default = by_key.get(default_key)
    best = rows[0]

    lines = [f"# Tuning vs the grid: {config.name}", "",
             f"Candidates: query sizes {tune['query_sizes']} x models {[label for label, _ in _model_labels(tune['models'])]}; "
             f"strategy `{tune['strategy']}`; metric {tuned.metric} (points).", "",
             f"## 1. `labelwise tune`: replay on the first {tune['labels']} labels", "",
             f"The first {tune['labels']} labels of one simulated run (seed {tune['seed']}, model "
             f"`{config.model.name}`, queries of {config.query.size}); per replay seed, "
             f"{tuned.n_held_out} of them held out, {tuned.n_replay} replayed.", "",
             tuned.to_markdown(), "",
             f"## 2. The grid on the real pool ({len(pool)} rows, test {len(test)})", "",
             f"Every candidate from the config's seed set ({config.initial.size}) to {args.budget} labels, "
             f"seeds {args.seeds}; ranked by normalized AUC of the test {tuned.metric} over the same labels.", "",
             "| rank | query size | model | normalized AUC | final | seconds per run |", "|---|---|---|---|---|---|"]
    for row in rows:
        lines.append(f"| {row.rank} | {row.query_size} | {row.model} | {row.auc[0]:.2f} ± {row.auc[1]:.2f} | "
                     f"{row.final[0]:.2f} ± {row.final[1]:.2f} | {row.seconds:.1f} |")
    lines += ["", "## 3. Verdict", "",
              f"- Tuned choice: query size {choice.query_size}, `{choice.model}`: rank **{choice.rank} of "
              f"{len(rows)}** in the grid; AUC {choice.auc[0]:.2f} against the grid's best {best.auc[0]:.2f} "
              f"(query size {best.query_size}, `{best.model}`): regret {best.auc[0] - choice.auc[0]:.2f} points."]
    if default is not None:
        lines.append(f"- The config's own setting (query size {default.query_size}, `{default.model}`): rank "
                     f"{default.rank}, regret {best.auc[0] - default.auc[0]:.2f} points.")
    lines += ["", f"Seconds: tuning {tune_seconds:.0f} (first labels + replays), grid {grid_seconds:.0f}; "
              f"one shared core of {platform.machine()} (OMP_NUM_THREADS=1), beside other jobs.", "",
              "Reproduce: `OMP_NUM_THREADS=1 .venv/bin/python benchmarks/tune_vs_grid.py "
              f"{args.config} --budget {args.budget} --seeds {' '.join(map(str, args.seeds))}`", ""]
    output = Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    stem = config.name or Path(args.config).stem
    atomic_write_text(output / f"{stem}.md", "\n".join(lines))
    atomic_write_text(output / f"{stem}.json", json.dumps({
        "tune": tuned.to_dict(),
        "grid": [{"rank": r.rank, "query_size": r.query_size, "model": r.model, "auc": list(r.auc),
                  "final": list(r.final), "seconds": r.seconds} for r in rows],
        "choice_rank": choice.rank, "regret": best.auc[0] - choice.auc[0]}, indent=1))
    _plot(rows, output / f"{stem}.png", tuned.metric)
    print("\n".join(lines))
    return 0


def _model_labels(models):
    from labelwise.tuning import model_candidates

    return model_candidates(models)


def _plot(rows, path: Path, metric: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(6.5, 4))
    for row in rows:
        curves = list(row.curves.values())
        x = [point[0] for point in curves[0]]
        y = np.mean([[point[1] for point in curve] for curve in curves], axis=0)
        axis.plot(x, y, marker=".", label=f"q={row.query_size}, {row.model.split('(')[0]} (rank {row.rank})")
    axis.set_xlabel("labeled examples")
    axis.set_ylabel(f"test {metric} (mean over seeds)")
    axis.set_title("The grid on the real pool")
    axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)


if __name__ == "__main__":
    sys.exit(main())
