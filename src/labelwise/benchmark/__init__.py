"""Simulated active learning with a gold oracle, statistics over seeds, and plots."""

from labelwise.benchmark.config import BenchmarkConfig, config_from_dict, load_config
from labelwise.benchmark.plots import plot_learning_curves
from labelwise.benchmark.simulation import SimulationRecord, simulate
from labelwise.benchmark.stats import (
    labels_to_reach,
    mean_ci,
    normalized_auc,
    paired_mean_ci,
    saving_percent,
)


def run_benchmark(config, **options):  # noqa: ANN001, ANN201 - thin lazy wrapper
    """See :func:`labelwise.benchmark.runner.run_benchmark`."""
    from labelwise.benchmark.runner import run_benchmark as run

    return run(config, **options)


def write_report(folder, **options):  # noqa: ANN001, ANN201 - thin lazy wrapper
    """See :func:`labelwise.benchmark.report.write_report`."""
    from labelwise.benchmark.report import write_report as write

    return write(folder, **options)


__all__ = ["BenchmarkConfig", "SimulationRecord", "config_from_dict", "labels_to_reach", "load_config",
           "mean_ci", "normalized_auc", "paired_mean_ci", "plot_learning_curves", "run_benchmark",
           "saving_percent", "simulate", "write_report"]
