"""Stopping criteria in the benchmark: the config's `stopping:` list, each criterion's
decision per iteration in the records, and the report's stop table."""

from __future__ import annotations

import json

import pytest
import yaml

from labelwise.benchmark.comparison import labels_to_settle, stopping_summary
from labelwise.benchmark.config import config_from_dict
from labelwise.benchmark.report import write_report
from labelwise.benchmark.runner import run_benchmark
from labelwise.errors import ConfigError
from tiny_benchmark import tiny_config


def raw_config(tmp_path, **overrides):
    return tiny_config(tmp_path, **{"iterations": 3, "reference": False, **overrides})


def test_each_run_records_every_criterions_decision_and_first_stop(tmp_path):
    stopping = [{"label_budget": {"max_labels": 30}}, "kappa_average", "max_uncertainty",
                {"held_out_plateau": {"patience": 1, "min_delta": 1.0}}]
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(raw_config(tmp_path, stopping=stopping)), encoding="utf-8")
    folder = run_benchmark(path, progress=False)
    records = [json.loads(line) for line in (folder / "records.jsonl").read_text().splitlines()]
    labels = ["label_budget(max_labels=30)", "kappa_average", "max_uncertainty", "held_out_plateau(min_delta=1.0, patience=1)"]
    assert all(sorted(r["stopping"]) == sorted(labels) for r in records)
    for record in records:  # 10 seed labels + 10 per query: the budget says stop from iteration 2 on
        assert record["stopping"][labels[0]]["stop"] == (record["n_labeled"] >= 30)
        # a score can never beat its best by a whole point of accuracy (1.0): plateau after 1 version
        assert record["stopping"][labels[3]]["stop"] == (record["iteration"] >= 1)
        assert record["stopping"]["kappa_average"]["stop"] is False or record["iteration"] >= 3
    runs = stopping_summary(records, "accuracy")
    budget = [s for s in runs if s.criterion == labels[0]]
    assert [s.strategy for s in budget] == ["random", "entropy"]
    assert all(run.iteration == 2 and run.labels == 30 for s in budget for run in s.runs)
    report = write_report(folder, reference=False).read_text()
    assert "## Stopping criteria" in report and "| label_budget(max_labels=30) | entropy | 2/2 | 30 ± 0 |" in report


def test_stopping_specs_are_checked_when_the_config_loads(tmp_path):
    with pytest.raises(ConfigError, match=r"stopping\[1\].*unknown stopping criterion"):
        config_from_dict(raw_config(tmp_path, stopping=["kappa_average", "kapa"]), check_files=False)
    with pytest.raises(ConfigError, match=r"stopping\[0\].*cost"):
        config_from_dict(raw_config(tmp_path, stopping=[{"cost_budget": {"max_cost": 5}}]), check_files=False)
    with pytest.raises(ConfigError, match=r"stopping\[0\].*does not apply to seq2seq"):
        config_from_dict(raw_config(tmp_path, task="seq2seq", model={"name": "tfidf_lr"}, strategies=["random"],
                                    stopping=[{"any": ["kappa_average", "overall_uncertainty"]}]),
                         check_files=False, check_components=False)
    plain = config_from_dict(raw_config(tmp_path), check_files=False)
    assert "stopping" not in plain.to_dict()  # folders of configs without stopping still resume


def constructed_records():
    """Two seeds of one strategy; criterion 'c' stops at iteration 2 (seed 0) and never (seed 1)."""
    curves = {0: [0.50, 0.70, 0.80, 0.85, 0.86], 1: [0.40, 0.60, 0.75, 0.80, 0.90]}
    records = []
    for seed, scores in curves.items():
        for iteration, score in enumerate(scores):
            stop = seed == 0 and iteration >= 2
            records.append({"strategy": "random", "strategy_name": "random", "seed": seed,
                            "iteration": iteration, "n_labeled": 10 * (iteration + 1),
                            "metrics": {"accuracy": score}, "durations": {}, "selected": [seed],
                            "final": iteration == 4, "stopping": {"c": {"stop": stop, "reason": "", "value": None}}})
    return records


def test_the_stop_table_on_constructed_records(tmp_path):
    (summary,) = stopping_summary(constructed_records(), "accuracy", scale=100.0)
    assert summary.stopped == 1 and [run.iteration for run in summary.runs] == [2, None]
    stopped = summary.runs[0]
    assert stopped.labels == 30 and stopped.score == pytest.approx(80.0)
    # the plateau: from 40 labels on (85, 86) the score stays within 1 point of the final 86
    assert stopped.plateau_labels == 40
    assert stopped.ratio == pytest.approx(30 / 40)
    # the former plateau: 98 % of the final 86 = 84.28, reached between 30 labels (80) and 40 (85)
    assert stopped.plateau98_labels == pytest.approx(30 + 10 * 4.28 / 5)
    assert stopped.lost == pytest.approx(6.0)
    assert summary.within_goal == 0 and not summary.meets_goal  # lost 6 points; seed 1 never stopped
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "records.jsonl").write_text("".join(json.dumps(r) + "\n" for r in constructed_records()))
    report = write_report(folder, reference=False).read_text()
    lines = report.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("| criterion |"))
    assert lines[header].count("|") == lines[header + 1].count("|") == lines[header + 2].count("|")
    row = next(line for line in lines if line.startswith("| c | random |"))
    # plateau labels 40 and 50 (seed 1 ends on a jump from 80 to 90): mean 45, t(0.975, 1) * 5 = 63.5;
    # 98 % labels 38.56 and 48.2 (seed 1: 98 % of 90 = 88.2 between 40 and 50 labels): 43 ± 61
    assert row.split(" | ")[2:7] == ["1/2", "30 ± 0", "45 ± 64", "0.75 ± 0.00", "43 ± 61"]
    assert row.endswith("| 0/2 | no | – |")  # the constructed decisions carry no value


@pytest.mark.parametrize(("scores", "expected"), [
    ([50, 70, 80, 85, 86], 40),          # 85 and 86 are within 1 of the final 86
    ([50, 90, 70, 85.5, 86], 40),        # an early peak does not count: 70 comes after it
    ([60, 88, 87, 86.5, 86], 20),        # above the final counts as within it
    ([60, 70, 75, 78, 80], 50),          # still rising at the end: only the last point qualifies
    ([80, 80.5, 80, 79.5, 80], 10),      # flat from the start
])
def test_the_plateau_is_where_the_curve_stays_within_one_point_of_its_final_score(scores, expected):
    assert labels_to_settle([10, 20, 30, 40, 50], scores, 1.0) == expected
    assert labels_to_settle([10, 20, 30, 40, 50], scores, 0.0) >= expected  # tighter: never earlier
