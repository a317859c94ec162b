"""``labelwise demo``: simulated AL on the bundled AG News sample with TF-IDF + LR."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from tqdm.auto import tqdm

from labelwise.benchmark import mean_ci, plot_learning_curves, simulate
from labelwise.data import load_ag_news_sample
from labelwise.models import TfidfLogisticRegression

DEMO_STRATEGIES = ("entropy", "breaking_ties", "random")


def run_demo(
    output: str | Path = "demo_output",
    *,
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4),
    strategies: tuple[str, ...] = DEMO_STRATEGIES,
    initial_size: int = 20,
    query_size: int = 20,
    iterations: int = 10,
) -> dict[str, list[tuple[int, float, float]]]:
    """Run the demo, print the learning-curve table and write ``learning_curve.png``.

    Returns ``{strategy: [(n_labeled, mean accuracy, ci half-width), ...]}``.
    """
    pool, test = load_ag_news_sample()
    print(f"Pool: {len(pool)} AG News texts, test: {len(test)}, classes: {', '.join(pool.label_names)}")
    print(f"Model: TF-IDF (word + char n-grams) + logistic regression; seed set {initial_size}, "
          f"{iterations} queries of {query_size}, seeds {list(seeds)}\n")
    accuracy: dict[str, dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
    labeled: dict[int, int] = {}
    runs = [(name, seed) for name in strategies for seed in seeds]
    for name, seed in tqdm(runs, desc="strategy × seed", unit="run"):
        for record in simulate(TfidfLogisticRegression, pool, test, name, seed=seed,
                               initial_size=initial_size, query_size=query_size, iterations=iterations):
            accuracy[name][record.iteration].append(record.metrics["accuracy"])
            labeled[record.iteration] = record.n_labeled
    summary = {
        name: [(labeled[it], *mean_ci(values)) for it, values in sorted(per_iteration.items())]
        for name, per_iteration in accuracy.items()
    }
    print(format_table(summary, strategies))
    path = plot_learning_curves(
        {name: ([p[0] for p in points], [p[1] for p in points], [p[2] for p in points])
         for name, points in summary.items()},
        Path(output) / "learning_curve.png",
        title=f"AG News sample, TF-IDF + LR: accuracy (mean ± 95% CI, {len(seeds)} seeds)",
    )
    print(f"\nLearning curve written to {path}")
    return summary


def format_table(summary: dict[str, list[tuple[int, float, float]]], strategies: tuple[str, ...]) -> str:
    """A fixed-width table: one row per iteration, one column per strategy (mean ± CI)."""
    names = [s for s in strategies if s in summary]
    header = f"{'iter':>4} {'labeled':>7}  " + "  ".join(f"{n:>18}" for n in names)
    lines = [header, "-" * len(header)]
    rows = len(summary[names[0]])
    for i in range(rows):
        cells = [f"{100 * summary[n][i][1]:8.2f} ± {100 * summary[n][i][2]:5.2f}  " for n in names]
        lines.append(f"{i:>4} {summary[names[0]][i][0]:>7}  " + "  ".join(f"{c:>18}" for c in cells))
    return "\n".join(lines)
