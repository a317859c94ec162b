"""Known answers for the report's statistics: paired intervals, normalized AUC, labels to a
target, savings; and the pairing the runner guarantees (same seed = same seed set)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from labelwise.benchmark.comparison import label_savings, paired_comparison
from labelwise.benchmark.config import DEFAULT_SEEDS, config_from_dict
from labelwise.benchmark.runner import load_benchmark_data, read_records, run_benchmark
from labelwise.benchmark.stats import (
    excludes_zero,
    labels_to_reach,
    normalized_auc,
    paired_mean_ci,
    saving_percent,
)
from labelwise.data import sample_path


def _curves(per_seed_scores, labels):
    """``curves[strategy][seed] = {iteration: (labels, score)}`` from score lists."""
    return {name: {seed: {it: (labels[it], score) for it, score in enumerate(scores)}
                   for seed, scores in seeds.items()} for name, seeds in per_seed_scores.items()}


def test_paired_interval_known_answer():
    # differences 1, 2, 3 (a seed's luck of +-20 cancels): mean 2, sd 1, half = t(0.975, 2) / sqrt(3)
    baseline = [50.0, 70.0, 30.0]
    strategy = [51.0, 72.0, 33.0]
    mean, half = paired_mean_ci(strategy, baseline)
    assert mean == pytest.approx(2.0)
    assert half == pytest.approx(stats.t.ppf(0.975, 2) / np.sqrt(3))
    assert excludes_zero(mean, half) == 0  # 2 - 2.48 < 0: not separated with 3 seeds
    mean5, half5 = paired_mean_ci([51, 72, 33, 42, 62], [50, 70, 30, 40, 60])  # diffs 1 2 3 2 2
    assert mean5 == pytest.approx(2.0) and half5 == pytest.approx(stats.t.ppf(0.975, 4) * np.sqrt(0.5 / 5))
    assert excludes_zero(mean5, half5) == 1


def test_paired_comparison_per_iteration_and_over_the_curve():
    labels = [10.0, 20.0, 40.0]
    luck = {0: 0.0, 1: 25.0, 2: -25.0, 3: 10.0}
    base = {s: [50 + luck[s], 60 + luck[s], 70 + luck[s]] for s in luck}
    gain = {0: [0, 1, 2], 1: [0, 2, 3], 2: [0, 3, 4], 3: [0, 2, 3]}
    mine = {s: [b + g for b, g in zip(base[s], gain[s], strict=True)] for s in luck}
    comparison = paired_comparison(_curves({"random": base, "mine": mine}, labels), "mine", "random")
    assert comparison.seeds == [0, 1, 2, 3] and comparison.iterations == [0, 1, 2]
    assert comparison.per_iteration[0] == (0.0, 0.0)
    assert comparison.per_iteration[1][0] == pytest.approx(2.0)
    assert comparison.per_iteration[1][1] == pytest.approx(stats.t.ppf(0.975, 3) * np.std([1, 2, 3, 2], ddof=1) / 2)
    assert comparison.verdict_per_iteration == [0, 1, 1]
    curve_diffs = [np.mean(g) for g in gain.values()]
    assert comparison.curve_mean[0] == pytest.approx(np.mean(curve_diffs))
    # AUC difference per seed: trapezoid of the gain over labels 10..40, divided by 30
    auc_diffs = [(10 * (g[0] + g[1]) / 2 + 20 * (g[1] + g[2]) / 2) / 30 for g in gain.values()]
    assert comparison.auc[0] == pytest.approx(np.mean(auc_diffs))
    assert comparison.verdict_auc == 1


def test_one_seed_gives_no_verdict_however_large_the_gain():
    # One seed's difference has no interval (half-width 0 in the table): it must not read
    # as "beats random" (a partial run's report did).
    labels = [10.0, 20.0, 40.0]
    comparison = paired_comparison(_curves({"random": {0: [50, 60, 70]}, "mine": {0: [50, 65, 78]}}, labels),
                                   "mine", "random")
    assert comparison.seeds == [0] and comparison.curve_mean[0] > 0
    assert comparison.verdict_per_iteration == [0, 0, 0]
    assert comparison.verdict_curve == 0 and comparison.verdict_auc == 0


def test_normalized_auc_known_answer():
    # a straight line from 0.5 to 0.9 has mean height 0.7; uneven steps are weighted by labels
    assert normalized_auc([0, 100], [0.5, 0.9]) == pytest.approx(0.7)
    assert normalized_auc([10, 20, 50], [40, 60, 60]) == pytest.approx((10 * 50 + 30 * 60) / 40)
    assert normalized_auc([10], [42.0]) == 42.0


def test_labels_to_reach_interpolates_and_says_not_reached():
    labels = [10, 20, 40, 80]
    scores = [50, 60, 80, 85]
    assert labels_to_reach(labels, scores, 70) == pytest.approx(30.0)  # half-way from 20 to 40
    assert labels_to_reach(labels, scores, 50) == 10.0  # reached by the seed set
    assert labels_to_reach(labels, scores, 80) == 40.0
    assert labels_to_reach(labels, scores, 90) is None
    assert labels_to_reach([10, 20, 30], [60, 50, 70], 65) == pytest.approx(27.5)  # 20 + 15/20 * 10
    assert saving_percent(30.0, 40.0) == pytest.approx(25.0)
    assert saving_percent(None, 40.0) is None and saving_percent(30.0, None) is None


def test_label_savings_against_random():
    labels = [100.0, 200.0, 300.0, 400.0]
    curves = _curves({"random": {0: [40, 60, 80, 90], 1: [40, 60, 80, 90]},
                      "mine": {0: [40, 80, 90, 95], 1: [40, 80, 90, 95]}}, labels)
    savings = label_savings(curves, reference_score=100.0, baseline="random", fractions=(0.8, 0.9, 0.98))
    assert savings.labels["random"] == {0.8: 300.0, 0.9: 400.0, 0.98: None}
    assert savings.labels["mine"] == {0.8: 200.0, 0.9: 300.0, 0.98: None}
    assert savings.saving["mine"][0.8] == pytest.approx(100 * (300 - 200) / 300)
    assert savings.saving["mine"][0.9] == pytest.approx(25.0)
    assert savings.saving["mine"][0.98] is None


def _raw(tmp_path, **changes):
    raw = {
        "task": "classification",
        "data": {"pool": str(sample_path("ag_news_train.jsonl.gz")),
                 "test": str(sample_path("ag_news_test.jsonl.gz")), "pool_size": 120, "test_size": 60},
        "model": {"name": "tfidf_lr", "params": {"max_features": 2000, "embedding_dim": 8}},
        "strategies": ["random", "entropy", "coreset"],
        "initial": {"mode": "count", "size": 10},
        "query": {"mode": "count", "size": 10},
        "iterations": 1,
        "seeds": [0, 1, 2],
        "output": str(tmp_path / "out"),
        "reference": False,
    }
    raw.update(changes)
    return raw


def test_the_same_seed_gives_every_strategy_the_same_seed_set_and_subsample(tmp_path):
    config = config_from_dict(_raw(tmp_path))
    folder = run_benchmark(config, progress=False)
    seed_sets = {(r["strategy"], r["seed"]): r["selected"] for r in read_records(folder) if r["iteration"] == 0}
    for seed in (0, 1, 2):
        assert seed_sets[("random", seed)] == seed_sets[("entropy", seed)] == seed_sets[("coreset", seed)]
    assert seed_sets[("random", 0)] != seed_sets[("random", 1)]
    # the subsample depends on data.subsample_seed alone, not on the run seeds or strategies
    other = config_from_dict(_raw(tmp_path, seeds=[7], strategies=["entropy"]))
    for a, b in zip(load_benchmark_data(config), load_benchmark_data(other), strict=True):
        assert list(a.inputs) == list(b.inputs)


def test_seeds_default_to_five(tmp_path):
    raw = _raw(tmp_path)
    del raw["seeds"]
    assert DEFAULT_SEEDS == 5
    assert config_from_dict(raw).seeds == (0, 1, 2, 3, 4)
