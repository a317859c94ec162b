"""The report's ALBL section: albl against Random and the best fixed strategy in hindsight."""

from __future__ import annotations

import json

import pytest

from labelwise.benchmark.comparison import albl_comparisons, curves_from_records, find_baseline
from labelwise.benchmark.report import write_report

#: offset of each strategy over Random, in accuracy; albl adds 0.001 per seed on top
OFFSETS = {"random": 0.0, "entropy": 0.05, "breaking_ties": 0.02, "albl": 0.03}


def constructed_records(strategies=("random", "entropy", "breaking_ties", "albl")):
    """Three seeds; each seed shifts every curve alike (the luck the pairing removes)."""
    records = []
    for seed in (0, 1, 2):
        for name in strategies:
            for iteration, base in enumerate([0.50, 0.60, 0.70, 0.80]):
                score = base + 0.04 * seed + OFFSETS[name] + (0.001 * seed if name == "albl" else 0.0)
                records.append({"strategy": name, "strategy_name": name, "seed": seed, "iteration": iteration,
                                "n_labeled": 10 * (iteration + 1), "metrics": {"accuracy": score},
                                "durations": {}, "selected": [seed, 100 + seed], "final": iteration == 3})
    return records


def _write(tmp_path, records):
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "records.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    return write_report(folder, reference=False).read_text()


def test_best_fixed_strategy_in_hindsight_is_the_highest_mean_auc_and_albl_is_paired_to_it():
    records = constructed_records()
    curves = curves_from_records(records, "accuracy", scale=100.0)
    (comparison,) = albl_comparisons(records, curves, find_baseline(records))
    assert comparison.strategy == "albl" and comparison.best_fixed == "entropy"
    # albl - random per seed: 3.0, 3.1, 3.2 points; albl - entropy: -2.0, -1.9, -1.8
    assert comparison.vs_random.auc[0] == pytest.approx(3.1)
    assert comparison.vs_best.auc[0] == pytest.approx(-1.9)
    half = 4.302653 * 0.1 / 3**0.5  # t(0.975, 2) * sd / sqrt(n)
    assert comparison.vs_best.auc[1] == pytest.approx(half, rel=1e-4)
    assert comparison.vs_random.verdict_auc == 1 and comparison.vs_best.verdict_auc == -1


def test_the_report_shows_the_albl_section_with_both_opponents(tmp_path):
    report = _write(tmp_path, constructed_records())
    assert "## ALBL against Random and the best fixed strategy in hindsight" in report
    assert "chosen after the fact" in report
    section = report.split("## ALBL")[1].split("\n## ")[0]
    rows = [line for line in section.splitlines() if line.startswith("| albl | ")]
    assert len(rows) == 2
    assert rows[0].startswith("| albl | random (Random) | 3 | **+3.10 ± 0.25** ▲ | beats random |")
    assert rows[1].startswith("| albl | entropy (best fixed in hindsight, AUC ")
    assert "| 3 | *-1.90 ± 0.25* ▼ | below entropy |" in rows[1]


def test_no_albl_section_without_an_albl_run(tmp_path):
    records = constructed_records(("random", "entropy"))
    assert albl_comparisons(records, curves_from_records(records, "accuracy"), "random") == []
    assert "## ALBL" not in _write(tmp_path, records)
