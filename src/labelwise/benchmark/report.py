"""Benchmark reports: tables, paired comparisons to Random, label savings, and plots.

The first table follows Table 3 of Tsvigun et al. (2022), "Towards Computationally Feasible
Deep Active Learning" (Findings of NAACL): rows are strategies, columns are chosen AL
iterations and the average over iterations, cells are mean ± 95% CI over seeds (Student t);
the best mean in each column is bold, together with every strategy whose interval overlaps
the best's. The paired tables (see :mod:`labelwise.benchmark.comparison`) then say where a
strategy beats Random beyond the interval of its per-seed differences, and the savings table
how many labels each strategy needs to reach 90 / 95 / 98 % of the full-pool score.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from labelwise.benchmark.comparison import (
    GOAL_LABEL_RATIO,
    GOAL_MAX_LOSS,
    PLATEAU_FRACTION,
    PLATEAU_TOLERANCE,
    TARGETS,
    AlblComparison,
    PairedComparison,
    Savings,
    StopSummary,
    albl_comparisons,
    auc_summary,
    curves_from_records,
    find_baseline,
    label_savings,
    paired_comparison,
    stopping_summary,
    unpaired_seeds,
)
from labelwise.benchmark.plots import (
    plot_durations,
    plot_learning_curves,
    plot_paired_differences,
    plot_savings,
)
from labelwise.benchmark.runner import CONFIG_FILE, MAIN_METRIC, read_records, read_reference
from labelwise.benchmark.stats import mean_ci
from labelwise.errors import ConfigError, LabelwiseError

DEFAULT_METRIC = MAIN_METRIC


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


def _signed(mean: float, half: float, verdict: int) -> str:
    text = f"{mean:+.2f} ± {half:.2f}" if np.isfinite(mean) else "n/a"
    return {1: f"**{text}** ▲", -1: f"*{text}* ▼"}.get(verdict, text)


def _verdict(verdict: int, baseline: str) -> str:
    return {1: f"beats {baseline}", -1: f"below {baseline}"}.get(verdict, "not separated")


def paired_markdown(comparisons: Sequence[PairedComparison], baseline: str, iterations: Sequence[int],
                    confidence: float) -> str:
    """Rows: strategies; columns: chosen iterations, the mean over the curve, the verdict."""
    lines = ["| strategy | seeds | " + " | ".join(str(it) for it in iterations) + " | avg over curve | verdict |",
             "|" + "---|" * (len(iterations) + 4)]
    for comparison in comparisons:
        cells = []
        for iteration in iterations:
            if iteration in comparison.iterations:
                index = comparison.iterations.index(iteration)
                cells.append(_signed(*comparison.per_iteration[index], comparison.verdict_per_iteration[index]))
            else:
                cells.append("n/a")
        lines.append(f"| {comparison.strategy} | {len(comparison.seeds)} | " + " | ".join(cells) + " | "
                     + _signed(*comparison.curve_mean, comparison.verdict_curve) + " | "
                     + _verdict(comparison.verdict_curve, baseline) + " |")
    return "\n".join(lines)


def auc_markdown(curves: Any, strategies: Sequence[str], comparisons: dict[str, PairedComparison],
                 baseline: str | None, confidence: float) -> str:
    header = "| strategy | normalized AUC | " + (f"paired Δ vs {baseline} | verdict |" if baseline else "")
    lines = [header, "|---|---|" + ("---|---|" if baseline else "")]
    for name in strategies:
        mean, half = auc_summary(curves, name, confidence)
        row = f"| {name} | {mean:.2f} ± {half:.2f} |"
        if baseline:
            if name in comparisons:
                comparison = comparisons[name]
                row += f" {_signed(*comparison.auc, comparison.verdict_auc)} | " \
                       f"{_verdict(comparison.verdict_auc, baseline)} |"
            else:
                row += " (baseline) | |"
        lines.append(row)
    return "\n".join(lines)


def savings_markdown(savings: Savings, strategies: Sequence[str], baseline: str | None, unit: str) -> str:
    header = "| strategy | " + " | ".join(f"{unit} to {f:.0%} | saving" for f in TARGETS) + " |"
    lines = [header, "|---|" + "---|---|" * len(TARGETS)]
    for name in strategies:
        cells = []
        for fraction in TARGETS:
            labels = savings.labels[name][fraction]
            cells.append("not reached" if labels is None else f"{labels:.0f}")
            saving = savings.saving[name][fraction]
            if name == baseline:
                cells.append("(baseline)")
            elif saving is not None:
                cells.append(f"{saving:+.1f} %")
            elif labels is not None and baseline and savings.labels[baseline][fraction] is None:
                cells.append(f"{baseline} not reached")
            else:
                cells.append("–")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _cell(value: tuple[float, float], digits: int = 2, signed: bool = False) -> str:
    mean, half = value
    if not np.isfinite(mean):
        return "–"
    return f"{mean:{'+' if signed else ''}.{digits}f} ± {half:.{digits}f}"


def stopping_markdown(summaries: Sequence[StopSummary], unit: str, reference_score: float | None) -> str:
    """Rows: (criterion, strategy). Means ± CI over the runs that stopped; the ratio is labels
    at stop / labels from which the run stays within 1 point of its final score (the plateau)."""
    low, high = GOAL_LABEL_RATIO
    header = (f"| criterion | strategy | stopped | {unit} at stop | {unit} at plateau (within "
              f"{PLATEAU_TOLERANCE:g} of final) | ratio | {unit} to {PLATEAU_FRACTION:.0%} of final | "
              "score at stop | final score | lost vs final | "
              + ("vs full pool | " if reference_score is not None else "")
              + f"runs within goal | goal (ratio {low:g}-{high:g}, lost <= {GOAL_MAX_LOSS:g}) | value at end |")
    lines = [header, "|" + "---|" * (header.count("|") - 1)]
    for summary in summaries:
        n = len(summary.runs)
        cells = [summary.criterion, summary.strategy, f"{summary.stopped}/{n}", _cell(summary.labels, 0),
                 _cell(summary.plateau_labels, 0), _cell(summary.ratio), _cell(summary.plateau98_labels, 0),
                 _cell(summary.score),
                 _cell(summary.final_score), _cell(summary.lost, signed=True)]
        if reference_score is not None:
            mean, half = summary.score
            cells.append(_cell((mean - reference_score, half), signed=True))
        cells += [f"{summary.within_goal}/{n}", "**yes**" if summary.meets_goal else "no",
                  _cell(summary.last_value, 3)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def albl_markdown(comparisons: Sequence[AlblComparison], baseline: str | None) -> str:
    """Rows: (albl run, opponent); the paired Δ of normalized AUC and of the mean over the curve."""
    lines = ["| strategy | against | seeds | Δ normalized AUC | verdict | Δ avg over curve | verdict |",
             "|---|---|---|---|---|---|---|"]
    for comparison in comparisons:
        pairs = [(f"{baseline} (Random)", comparison.vs_random, baseline)] if baseline else []
        pairs.append((f"{comparison.best_fixed} (best fixed in hindsight, AUC "
                      f"{comparison.best_fixed_auc[0]:.2f} ± {comparison.best_fixed_auc[1]:.2f})",
                      comparison.vs_best, comparison.best_fixed))
        for label, paired, other in pairs:
            if paired is None:
                continue
            lines.append(f"| {comparison.strategy} | {label} | {len(paired.seeds)} | "
                         f"{_signed(*paired.auc, paired.verdict_auc)} | {_verdict(paired.verdict_auc, other)} | "
                         f"{_signed(*paired.curve_mean, paired.verdict_curve)} | "
                         f"{_verdict(paired.verdict_curve, other)} |")
    return "\n".join(lines)


def _albl_section(records: Sequence[dict[str, Any]], curves: Any, baseline: str | None, metric: str,
                  confidence: float) -> list[str]:
    """The ALBL section (issue 16) when an ``albl`` strategy is among the runs."""
    comparisons = albl_comparisons(records, curves, baseline, confidence=confidence)
    if not comparisons:
        return []
    return ["## ALBL against Random and the best fixed strategy in hindsight", "",
            "`albl` chooses among its experts online, while it labels. Its opponents: Random, and the best "
            "fixed strategy *in hindsight*: the non-ALBL strategy of this benchmark with the highest mean "
            "normalized AUC, chosen after the fact from these very runs (an oracle, and one that favours "
            "the opponent: its pick also profits from the seeds' noise). Paired per seed as above; "
            f"mean ± {int(confidence * 100)}% Student-t interval of `albl` minus the opponent, in {metric}"
            f"{' points' if all(0.0 <= float(r['metrics'][metric]) <= 1.0 for r in records) else ''}. "
            "Matching the best fixed strategy without knowing it beforehand is ALBL's aim.", "",
            albl_markdown(comparisons, baseline), ""]


def _reference(folder: Path, stored_config: dict[str, Any], compute: bool) -> tuple[dict | None, str]:
    """The full-pool reference of ``folder`` (computed and cached when missing and
    ``compute``), and a note for the report when there is none."""
    if not stored_config:
        return None, "no config.yaml in the folder, so no full-pool reference"
    cached = read_reference(folder, stored_config)
    if cached is not None or not compute:
        return cached, "" if cached else "no full-pool reference yet (run the report without --no-reference)"
    try:
        from labelwise.benchmark.config import config_from_stored
        from labelwise.benchmark.runner import full_pool_reference, load_benchmark_data

        config = config_from_stored(stored_config, source=str(folder / CONFIG_FILE))
        pool, test = load_benchmark_data(config)
        return full_pool_reference(config, folder, pool, test), ""
    except LabelwiseError as error:
        return None, f"no full-pool reference ({error})"


#: metrics that evaluate() reports for multi-label classification, tabulated apart.
MULTI_LABEL_METRICS = ("micro_f1", "macro_f1", "subset_accuracy", "hamming_loss")


def _multi_label_sections(records: Sequence[dict[str, Any]], metric: str, iterations: Sequence[int] | None,
                          confidence: float) -> list[str]:
    """One table per multi-label metric (beside the main one) when the records carry them."""
    if not all("hamming_loss" in r["metrics"] for r in records):
        return []
    lines = ["## Multi-label metrics", "",
             "Micro and macro F1 over the labels, subset accuracy (the whole label set right) and Hamming "
             "loss (share of wrong row-label decisions; lower is better, so its bold marks the worst), same layout as above.", ""]
    for name in MULTI_LABEL_METRICS:
        if name != metric:
            strategies, columns, cells = summarise(records, name, iterations, confidence=confidence)
            lines += [f"### {name}", "", markdown_table(strategies, columns, cells), ""]
    return lines


def write_report(folder: str | Path, *, metric: str | None = None, iterations: Sequence[int] | None = None,
                 confidence: float = 0.95, reference: bool = True) -> Path:
    """Write ``report.md`` and its plots (``learning_curve.png``, ``paired_differences.png``,
    ``savings.png``, ``durations.png``) into ``folder``.

    Args:
        folder: the output folder of a benchmark run.
        metric: the metric to tabulate (default: the task's main one).
        iterations: the iterations shown as columns (default: up to 6 spread ones).
        confidence: of the Student-t intervals.
        reference: compute the full-pool reference (one model fit on the whole pool, cached
            in ``reference.json``) when it is missing; without one there is no savings table.
    """
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
    shown = _column_iterations(columns)
    seeds = sorted({r["seed"] for r in records})
    title = config.get("name") or folder.name
    scale = 100.0 if all(0.0 <= float(r["metrics"][metric]) <= 1.0 for r in records) else 1.0
    tokens = (config.get("query") or {}).get("unit") == "tokens" and all("n_labeled_tokens" in r for r in records)
    unit = "tokens" if tokens else "labels"
    curves = curves_from_records(records, metric, scale=scale, labels_key="n_labeled_tokens" if tokens else "n_labeled")
    baseline = find_baseline(records)
    comparisons: dict[str, PairedComparison] = {}
    if baseline is not None:
        for name in strategies:
            if name != baseline:
                comparisons[name] = paired_comparison(curves, name, baseline, confidence=confidence,
                                                      excluded_seeds=unpaired_seeds(records, name, baseline))
    stored_reference, reference_note = _reference(folder, config, reference)
    savings = None
    if stored_reference is not None and metric in stored_reference["metrics"]:
        savings = label_savings(curves, scale * float(stored_reference["metrics"][metric]), baseline)

    lines = [f"# {title}: {metric}", ""]
    if config:
        data = config.get("data", {})
        lines += [f"Task {task}; model `{config['model']['name']}` {config['model'].get('params') or ''}; "
                  f"pool {data.get('pool', {}).get('path')} (size {data.get('pool_size') or 'all'}), "
                  f"test {data.get('test', {}).get('path')} (size {data.get('test_size') or 'all'}); "
                  f"seed set {config['initial']}, query {config['query']}.", ""]
    lines += [f"Mean ± {int(confidence * 100)}% CI (Student t) over {len(seeds)} seeds {seeds}. Columns: AL "
              "iteration (mean labeled count); avg = mean over all iterations. Bold: the best mean and "
              "every strategy whose interval overlaps it (layout of Tsvigun et al. 2022, Table 3).", "",
              markdown_table(strategies, columns, cells), ""]
    lines += _multi_label_sections(records, metric, iterations, confidence)
    lines += ["## Paired difference to Random", ""]
    if baseline is None:
        lines += ["No `random` strategy in this benchmark, so no paired comparison: add `random` to "
                  "`strategies:`.", ""]
    else:
        lines += [f"Per seed, the strategy's {metric} minus `{baseline}`'s (same seed: same seed set, same "
                  f"pool and test subsample, same model seed), then mean ± {int(confidence * 100)}% Student-t "
                  "interval over the seeds. **Bold ▲**: the interval lies above 0 (beats Random there); "
                  "*italic ▼*: below 0. avg over curve = the per-seed mean over the compared iterations.", ""]
        excluded = {name: c.excluded_seeds for name, c in comparisons.items() if c.excluded_seeds}
        if excluded:
            lines += ["Left out, because their seed sets differ from Random's (records of different runs): "
                      + "; ".join(f"{name} seeds {seeds_}" for name, seeds_ in excluded.items()) + ".", ""]
        lines += [paired_markdown(list(comparisons.values()), baseline, shown, confidence), ""]
    lines += ["## Area under the learning curve", "",
              f"Trapezoid over {unit}, divided by the {unit} range: the curve's mean height in {metric}"
              f"{' (%)' if scale == 100.0 else ''}; mean ± {int(confidence * 100)}% CI over seeds, and the "
              "paired per-seed difference to Random.", "",
              auc_markdown(curves, strategies, comparisons, baseline, confidence), ""]
    lines += _albl_section(records, curves, baseline, metric, confidence)
    lines += ["## Label savings", ""]
    if savings is None:
        lines += [f"Not available: {reference_note or f'the reference has no {metric!r}'}.", ""]
    else:
        lines += [f"Full-pool reference: the same model trained on all {stored_reference['n_labeled']} pool "
                  f"examples scores {savings.reference_score:.2f} {metric} (one run, model seed fixed, cached "
                  f"in reference.json). Below: the {unit} each strategy needs to reach 90 / 95 / 98 % of it, "
                  "linearly interpolated on the mean curve over seeds, and the saving in % of Random's "
                  f"{unit} (positive: fewer {unit} than Random).", "",
                  savings_markdown(savings, strategies, baseline, unit), ""]
    stop_summaries = stopping_summary(records, metric, scale=scale, confidence=confidence,
                                      labels_key="n_labeled_tokens" if tokens else "n_labeled")
    if stop_summaries:
        reference_score = savings.reference_score if savings is not None else None
        lines += ["## Stopping criteria", "",
                  f"Each run asks every criterion after each retraining (held-out score: the test {metric}). "
                  f"Per (criterion, strategy): runs where it said stop within the budget; {unit} and score at "
                  f"its first stop (mean ± {int(confidence * 100)}% CI over the runs that stopped); the {unit} "
                  f"from which the run's own curve stays within {PLATEAU_TOLERANCE:g} point of its final score "
                  "(the plateau: stopping there loses at most the goal's point); ratio = the first over the "
                  f"second, per run; the {unit} the curve needs to reach {PLATEAU_FRACTION:.0%} of its final "
                  "score (the former plateau, for comparison); lost = final score minus score at stop"
                  + (", and the score at stop minus the full-pool reference" if reference_score is not None else "")
                  + f". Goal (issue 16): ratio within {GOAL_LABEL_RATIO[0]:g}-{GOAL_LABEL_RATIO[1]:g} while losing at "
                  f"most {GOAL_MAX_LOSS:g} point; *goal* = every run stopped and the means meet both. A run "
                  "that never stopped is left out of the means. *value at end*: the number the criterion compares "
                  "with its threshold (a kappa, a share of changed predictions, an uncertainty, labels, versions "
                  "without improvement) at the last iteration, mean over runs. Markers on the learning curve: the mean stop "
                  "of each criterion.", "",
                  stopping_markdown(stop_summaries, unit, reference_score), ""]
    seconds: dict[str, list[float]] = defaultdict(list)
    for record in records:
        seconds[record["strategy"]].append(sum(record["durations"].get(p, 0.0)
                                               for p in ("train", "inference", "selection")))
    lines += ["Seconds per run (train + inference + selection, mean over seeds): " + ", ".join(
        f"{name} {sum(seconds[name]) / len(seeds):.1f}" for name in strategies) + ".", ""]
    pictures = ["learning_curve", "paired_differences", "savings", "durations"]
    if baseline is None:
        pictures.remove("paired_differences")
    if savings is None or baseline is None:
        pictures.remove("savings")
    lines += [f"![{name.replace('_', ' ')}]({name}.png)\n" for name in pictures]
    (folder / "report.md").write_text("\n".join(lines), encoding="utf-8")

    xlabel = f"labeled {unit if tokens else 'examples'}"
    learning = {}
    for name in strategies:
        its = sorted({it for runs in curves[name].values() for it in runs})
        stats = [mean_ci([runs[it][1] for runs in curves[name].values() if it in runs], confidence) for it in its]
        x = [float(np.mean([runs[it][0] for runs in curves[name].values() if it in runs])) for it in its]
        learning[name] = (x, [m for m, _ in stats], [h for _, h in stats])
    stops: dict[str, list[tuple[str, float, float]]] = defaultdict(list)
    for summary in stop_summaries:
        if summary.stopped:
            stops[summary.strategy].append((summary.criterion, summary.labels[0], summary.score[0]))
    plot_learning_curves(learning, folder / "learning_curve.png", metric=metric, xlabel=xlabel,
                         title=f"{title}: {metric} (mean ± {int(confidence * 100)}% CI)", stops=stops)
    if baseline is not None:
        plot_paired_differences({name: (c.labels, [m for m, _ in c.per_iteration], [h for _, h in c.per_iteration])
                                 for name, c in comparisons.items()}, folder / "paired_differences.png",
                                metric=metric, baseline=baseline, xlabel=xlabel)
    if savings is not None and baseline is not None:
        plot_savings({name: savings.saving[name] for name in strategies if name != baseline},
                     folder / "savings.png", baseline=baseline)
    plot_durations(_phase_seconds(records), folder / "durations.png")
    return folder / "report.md"


def _column_iterations(columns: Sequence[str]) -> list[int]:
    return [int(column.split(" ")[0]) for column in columns if column != "avg"]


def _phase_seconds(records: Sequence[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Seconds per phase, summed over a run's iterations and averaged over seeds."""
    totals: dict[str, dict[str, dict[int, float]]] = {}
    for record in records:
        per_phase = totals.setdefault(record["strategy"], {p: defaultdict(float)
                                                           for p in ("train", "inference", "selection")})
        for phase in per_phase:
            per_phase[phase][record["seed"]] += float(record["durations"].get(phase, 0.0))
    return {name: {phase: float(np.mean(list(seeds.values()) or [0.0])) for phase, seeds in phases.items()}
            for name, phases in totals.items()}
