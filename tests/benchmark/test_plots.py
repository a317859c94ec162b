"""Benchmark plots stay readable with many strategies."""

from __future__ import annotations

from labelwise.benchmark.plots import line_styles


def test_every_curve_gets_its_own_colour_and_style_with_two_dozen_strategies():
    names = ["random", *(f"strategy_{i}" for i in range(23))]
    styles = line_styles(names)
    assert set(styles) == set(names)
    assert len({(tuple(colour) if not isinstance(colour, str) else colour, style)
                for colour, style in styles.values()}) == len(names)
    assert styles["random"] == ("black", "--")


def test_many_curves_put_the_legend_beside_the_axes_inside_the_saved_picture(tmp_path):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from labelwise.benchmark.plots import _legend, _save

    figure = Figure(figsize=(7, 4.5), dpi=120)
    FigureCanvasAgg(figure)
    axes = figure.subplots()
    for i in range(24):
        axes.plot([0, 1], [i, i + 1], label=f"strategy_{i}")
    _legend(axes)
    _save(figure, tmp_path / "many.png")
    renderer = figure.canvas.get_renderer()
    legend = axes.get_legend().get_window_extent(renderer)
    assert legend.x0 >= axes.get_window_extent(renderer).x1  # beside, not over the curves
    assert legend.x1 <= figure.bbox.x1 + 1  # and inside the picture

    few = Figure(figsize=(7, 4.5), dpi=120)
    FigureCanvasAgg(few)
    axes = few.subplots()
    for i in range(3):
        axes.plot([0, 1], [i, i + 1], label=f"strategy_{i}")
    _legend(axes)
    assert axes.get_legend().get_window_extent(few.canvas.get_renderer()).x1 <= \
        axes.get_window_extent(few.canvas.get_renderer()).x1  # a short legend stays in the axes
