"""Benchmark plots: learning curves, paired differences to Random, label savings, durations.

Figures are built with matplotlib's object API (``matplotlib.figure.Figure``), which renders
PNGs without pyplot, so importing or calling this module never switches the process's
backend (a notebook keeps its inline plots).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

Curve = tuple[Sequence[float], Sequence[float], Sequence[float]]


def _figure(width: float, height: float) -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=120)


def _save(figure: Any, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.tight_layout()
    figure.savefig(path, bbox_inches="tight")  # keeps a legend placed beside the axes
    return path


LINE_STYLES = ("-", "--", ":", "-.")


def line_styles(names: Sequence[str], baseline: str = "random") -> dict[str, tuple[Any, str]]:
    """A distinct ``(colour, line style)`` per curve: matplotlib's default cycle repeats after
    10 colours, and a benchmark often plots 20+ strategies. The baseline is black, dashed."""
    from matplotlib import colormaps

    others = [name for name in names if name != baseline]
    palette = colormaps["tab10" if len(others) <= 10 else "tab20"].colors
    styles: dict[str, tuple[Any, str]] = {baseline: ("black", "--")} if baseline in names else {}
    for i, name in enumerate(others):
        styles[name] = (palette[i % len(palette)], LINE_STYLES[(i // len(palette)) % len(LINE_STYLES)])
    return styles


def _bands(axes: Any, curves: Mapping[str, Curve]) -> None:
    styles = line_styles(list(curves))
    for name, (x, mean, half) in curves.items():
        mean = np.asarray(mean, dtype=float)
        half = np.nan_to_num(np.asarray(half, dtype=float))
        colour, style = styles[name]
        axes.plot(x, mean, marker="o", markersize=3, label=name, color=colour, linestyle=style)
        axes.fill_between(x, mean - half, mean + half, alpha=0.15, color=colour)


def _legend(axes: Any) -> None:
    """In the axes for a few curves; beside them, in columns, for many."""
    entries = len(axes.get_legend_handles_labels()[1])
    if entries <= 10:
        axes.legend(fontsize="small")
    else:
        axes.legend(fontsize="x-small", loc="upper left", bbox_to_anchor=(1.01, 1.0),
                    ncol=1 + entries // 16)


MARKERS = ("v", "s", "D", "^", "P", "X", "*", "h", "<", ">", "p", "d")


def plot_learning_curves(curves: Mapping[str, Curve], path: str | Path, *, metric: str = "accuracy",
                         title: str = "", xlabel: str = "labeled examples",
                         stops: Mapping[str, Sequence[tuple[str, float, float]]] | None = None) -> Path:
    """``curves[strategy] = (n_labeled, mean, ci_half_width)``; writes a PNG with shaded CIs.
    ``stops[strategy] = [(criterion, labels, score), ...]`` marks where stopping criteria
    stopped, one marker shape per criterion in the strategy's colour."""
    figure = _figure(7, 4.5)
    axes = figure.subplots()
    _bands(axes, curves)
    if stops:
        colours = {line.get_label(): line.get_color() for line in axes.get_lines()}
        criteria = list(dict.fromkeys(name for marks in stops.values() for name, _, _ in marks))
        shape = {name: MARKERS[i % len(MARKERS)] for i, name in enumerate(criteria)}
        for strategy, marks in stops.items():
            for name, labels, score in marks:
                axes.plot([labels], [score], linestyle="none", marker=shape[name], markersize=8,
                          markerfacecolor="none", markeredgewidth=1.5, color=colours.get(strategy, "black"))
        for name in criteria:  # legend entries for the shapes
            axes.plot([], [], linestyle="none", marker=shape[name], markerfacecolor="none", color="black",
                      label=f"stop: {name}")
    axes.set_xlabel(xlabel)
    axes.set_ylabel(metric)
    axes.set_title(title or f"{metric} by labeled examples (mean ± 95% CI)")
    axes.grid(alpha=0.3)
    _legend(axes)
    return _save(figure, path)


def plot_paired_differences(curves: Mapping[str, Curve], path: str | Path, *, metric: str = "accuracy",
                            baseline: str = "random", title: str = "",
                            xlabel: str = "labeled examples") -> Path:
    """``curves[strategy] = (n_labeled, mean difference, paired CI half-width)`` against
    ``baseline``; a band wholly above the zero line is a gain beyond the interval."""
    figure = _figure(7, 4.5)
    axes = figure.subplots()
    axes.axhline(0.0, color="black", linewidth=1)
    _bands(axes, curves)
    axes.set_xlabel(xlabel)
    axes.set_ylabel(f"{metric} minus {baseline} (same seed)")
    axes.set_title(title or f"Paired difference to {baseline} (mean ± 95% t-interval over seeds)")
    axes.grid(alpha=0.3)
    if curves:
        _legend(axes)
    return _save(figure, path)


def plot_savings(savings: Mapping[str, Mapping[float, float | None]], path: str | Path, *,
                 baseline: str = "random", title: str = "") -> Path:
    """Grouped bars: ``savings[strategy][fraction]`` = labels saved against ``baseline`` in %
    to reach ``fraction`` of the full-pool score; a missing bar means "not reached"."""
    names = list(savings)
    fractions = sorted({f for per in savings.values() for f in per})
    figure = _figure(max(5.0, 0.9 * len(names) + 2.5), 4.5)
    axes = figure.subplots()
    width = 0.8 / max(len(fractions), 1)
    positions = np.arange(len(names))
    for i, fraction in enumerate(fractions):
        heights = [savings[name].get(fraction) for name in names]
        axes.bar(positions + (i - (len(fractions) - 1) / 2) * width,
                 [np.nan if h is None else h for h in heights], width, label=f"{fraction:.0%} of full pool")
    axes.axhline(0.0, color="black", linewidth=1)
    axes.set_xticks(positions, names, rotation=30, ha="right")
    axes.set_ylabel(f"labels saved vs {baseline} (%)")
    axes.set_title(title or f"Label savings against {baseline} (no bar: not reached)")
    axes.grid(alpha=0.3, axis="y")
    if fractions:
        axes.legend(fontsize="small")
    return _save(figure, path)


def plot_durations(seconds: Mapping[str, Mapping[str, float]], path: str | Path) -> Path:
    """Stacked bars per strategy: ``seconds[strategy][phase]`` (train, inference, selection)."""
    names = list(seconds)
    figure = _figure(max(5.0, 0.9 * len(names) + 2), 4)
    axes = figure.subplots()
    bottom = np.zeros(len(names))
    for phase in ("train", "inference", "selection"):
        heights = np.array([float(seconds[name].get(phase, 0.0)) for name in names])
        axes.bar(names, heights, bottom=bottom, label=phase)
        bottom += heights
    axes.set_ylabel("seconds per run (mean over seeds)")
    axes.set_title("Time per phase")
    axes.legend()
    axes.tick_params(axis="x", labelrotation=30)
    return _save(figure, path)
