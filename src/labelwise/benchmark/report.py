"""Benchmark reports: a Table-3-style markdown table, a learning curve and a duration plot.

The table follows Table 3 of Tsvigun et al. (2022), "Towards Computationally Feasible Deep
Active Learning" (Findings of NAACL): rows are strategies, columns are chosen AL iterations
and the average over iterations, cells are mean ± 95% CI over seeds (Student t); the best
mean in each column is bold, together with every strategy whose interval overlaps the best's.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from labelwise.benchmark.plots import plot_learning_curves
from labelwise.benchmark.runner import CONFIG_FILE, read_records
from labelwise.benchmark.stats import mean_ci
from labelwise.errors import ConfigError

DEFAULT_METRIC = {"classification": "accuracy", "tagging": "f1", "seq2seq": "rougeL"}


def _by_run(records: Sequence[dict[str, Any]], metric: str) -> dict[str, dict[int, dict[int, float]]]:
    """``values[strategy][seed][iteration] = metric``."""
    values: dict[str, dict[int, dict[int, float]]] = defaultdict(lambda: defaultdict(dict))
    for record in records:
        if metric not in record["metrics"]:
            raise ConfigError(f"metric {metric!r} is not in the records; they have {sorted(record['metrics'])}.")
        values[record["strategy"]][record["seed"]][record["iteration"]] = float(record["metrics"][metric])
    return values


def summarise(records: Sequence[dict[str, Any]], metric: str, iterations: Sequence[int] | None = None,
              *, confidence: float = 0.95) -> tuple[list[str], list[str], dict[str, list[tuple[float, float]]]]:
    """Cells of the table: ``(strategies, column names, {strategy: [(mean, half-width), ...]})``.

    Columns are ``iterations`` (default: up to 6 evenly spread ones, the last included) and
    "avg", the mean over all recorded iterations of each seed, then over seeds. Values are
    percentages when the metric lies in [0, 1].
    """
    values = _by_run(records, metric)
    strategies = list(dict.fromkeys(r["strategy"] for r in records))
    all_iterations = sorted({r["iteration"] for r in records})
    if iterations is not None:
        iterations = _checked_iterations(iterations, all_iterations)
    if iterations is None:
        if len(all_iterations) <= 6:
            iterations = all_iterations
        else:
            picks = np.linspace(0, len(all_iterations) - 1, 6).round().astype(int)
            iterations = [all_iterations[i] for i in sorted(set(picks.tolist()))]
    scale = 100.0 if all(0.0 <= float(r["metrics"][metric]) <= 1.0 for r in records) else 1.0
    labeled: dict[int, list[int]] = defaultdict(list)
    for record in records:
        labeled[record["iteration"]].append(record["n_labeled"])
    columns = [f"{it} ({int(np.mean(labeled[it]))})" if it in labeled else str(it) for it in iterations] + ["avg"]
    cells: dict[str, list[tuple[float, float]]] = {}
    for name in strategies:
        seeds = values[name]
        row = []
        for iteration in iterations:
            row.append(mean_ci([scale * runs[iteration] for runs in seeds.values() if iteration in runs], confidence))
        row.append(mean_ci([scale * float(np.mean(list(runs.values()))) for runs in seeds.values()], confidence))
        cells[name] = row
    return strategies, columns, cells


def _checked_iterations(iterations: Sequence[int], recorded: Sequence[int]) -> list[int]:
    """``iterations`` when every one is recorded; else a ConfigError naming the option."""
    chosen = list(iterations)
    unknown = [it for it in chosen if isinstance(it, bool) or not isinstance(it, (int, np.integer))
               or it not in recorded]
    if not chosen or unknown:
        what = f"{', '.join(map(str, unknown))} {'is' if len(unknown) == 1 else 'are'} not recorded" \
            if unknown else "the list is empty"
        raise ConfigError(f"--iterations (iterations=): {what}; the records hold iterations "
                          f"{_ranges(recorded)}. Fix: choose columns among those, e.g. "
                          f"--iterations {','.join(map(str, [recorded[0], recorded[-1]]))}.")
    return chosen


def _ranges(values: Sequence[int]) -> str:
    values = sorted(values)
    if values and values == list(range(values[0], values[-1] + 1)):
        return f"{values[0]} to {values[-1]}"
    return ", ".join(map(str, values))


def bold_mask(cells: dict[str, list[tuple[float, float]]]) -> dict[str, list[bool]]:
    """Per column: the best mean, and every strategy whose interval overlaps the best's."""
    names = list(cells)
    n_columns = len(next(iter(cells.values()))) if cells else 0
    mask = {name: [False] * n_columns for name in names}
    for column in range(n_columns):
        entries = [(name, *cells[name][column]) for name in names if np.isfinite(cells[name][column][0])]
        if not entries:
            continue
        best_name, best_mean, best_half = max(entries, key=lambda e: e[1])
        for name, mean, half in entries:
            if name == best_name or mean + half >= best_mean - best_half:
                mask[name][column] = True
    return mask


def markdown_table(strategies: Sequence[str], columns: Sequence[str],
                   cells: dict[str, list[tuple[float, float]]], *, first: str = "strategy") -> str:
    mask = bold_mask(cells)
    lines = ["| " + " | ".join([first, *columns]) + " |", "|" + "---|" * (len(columns) + 1)]
    for name in strategies:
        texts = []
        for (mean, half), bold in zip(cells[name], mask[name], strict=True):
            text = f"{mean:.2f} ± {half:.2f}"
            texts.append(f"**{text}**" if bold else text)
        lines.append("| " + " | ".join([name, *texts]) + " |")
    return "\n".join(lines)


def plot_durations(records: Sequence[dict[str, Any]], path: str | Path) -> Path:
    """Stacked bars per strategy: seconds of train / inference / selection, summed over a
    run's iterations and averaged over seeds."""
    import matplotlib.pyplot as plt

    strategies = list(dict.fromkeys(r["strategy"] for r in records))
    totals: dict[str, dict[str, dict[int, float]]] = {
        s: {p: defaultdict(float) for p in ("train", "inference", "selection")} for s in strategies}
    for record in records:
        for phase in ("train", "inference", "selection"):
            totals[record["strategy"]][phase][record["seed"]] += float(record["durations"].get(phase, 0.0))
    figure, axes = plt.subplots(figsize=(max(5.0, 0.9 * len(strategies) + 2), 4), dpi=100)
    bottom = np.zeros(len(strategies))
    for phase in ("train", "inference", "selection"):
        heights = np.array([np.mean(list(totals[s][phase].values()) or [0.0]) for s in strategies])
        axes.bar(strategies, heights, bottom=bottom, label=phase)
        bottom += heights
    axes.set_ylabel("seconds per run (mean over seeds)")
    axes.set_title("Time per phase")
    axes.legend()
    axes.tick_params(axis="x", labelrotation=30)
    figure.tight_layout()
    path = Path(path)
    figure.savefig(path)
    plt.close(figure)
    return path


def write_report(folder: str | Path, *, metric: str | None = None, iterations: Sequence[int] | None = None,
                 confidence: float = 0.95) -> Path:
    """Write ``report.md``, ``learning_curve.png`` and ``durations.png`` into ``folder``."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise ConfigError(f"{str(folder)!r} is a file, not a benchmark output folder. Fix: give the folder "
                          "named by 'output:' in the config (it holds records.jsonl).")
    records = read_records(folder)
    if not records:
        raise ConfigError(f"{str(folder)!r}: no records found; run 'labelwise benchmark CONFIG.yaml' first.")
    config: dict[str, Any] = {}
    if (folder / CONFIG_FILE).exists():
        config = yaml.safe_load((folder / CONFIG_FILE).read_text(encoding="utf-8")) or {}
    task = config.get("task", "classification")
    metric = metric or DEFAULT_METRIC.get(task, "accuracy")
    strategies, columns, cells = summarise(records, metric, iterations, confidence=confidence)
    seeds = sorted({r["seed"] for r in records})
    lines = [f"# {config.get('name') or folder.name}: {metric}", ""]
    if config:
        data = config.get("data", {})
        lines.append(f"Task {task}; model `{config['model']['name']}` {config['model'].get('params') or ''}; "
                     f"pool {data.get('pool', {}).get('path')} (size {data.get('pool_size') or 'all'}), "
                     f"test {data.get('test', {}).get('path')} (size {data.get('test_size') or 'all'}); "
                     f"seed set {config['initial']}, query {config['query']}.")
        lines.append("")
    lines.append(f"Mean ± {int(confidence * 100)}% CI (Student t) over {len(seeds)} seeds {seeds}. Columns: AL "
                 "iteration (mean labeled count); avg = mean over all iterations. Bold: the best mean and "
                 "every strategy whose interval overlaps it (layout of Tsvigun et al. 2022, Table 3).")
    lines.append("")
    lines.append(markdown_table(strategies, columns, cells))
    lines.append("")
    seconds = defaultdict(list)
    for record in records:
        seconds[record["strategy"]].append(sum(record["durations"].get(p, 0.0)
                                               for p in ("train", "inference", "selection")))
    lines.append("Seconds per run (train + inference + selection, mean over seeds): " + ", ".join(
        f"{name} {sum(seconds[name]) / len(seeds):.1f}" for name in strategies) + ".")
    lines.append("")
    lines.append("![learning curve](learning_curve.png)")
    lines.append("")
    lines.append("![durations](durations.png)")
    (folder / "report.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    values = _by_run(records, metric)
    scale = 100.0 if all(0.0 <= float(r["metrics"][metric]) <= 1.0 for r in records) else 1.0
    labeled: dict[int, list[int]] = defaultdict(list)
    for record in records:
        labeled[record["iteration"]].append(record["n_labeled"])
    curves = {}
    for name in strategies:
        its = sorted({it for runs in values[name].values() for it in runs})
        stats = [mean_ci([scale * runs[it] for runs in values[name].values() if it in runs], confidence) for it in its]
        curves[name] = ([float(np.mean(labeled[it])) for it in its], [s[0] for s in stats], [s[1] for s in stats])
    plot_learning_curves(curves, folder / "learning_curve.png", metric=metric,
                         title=f"{config.get('name') or folder.name}: {metric} (mean ± 95% CI)")
    plot_durations(records, folder / "durations.png")
    return folder / "report.md"
