"""``labelwise report`` end to end on a tiny benchmark: the paired table, the savings table
against a cached full-pool reference, and non-empty PNGs."""

from __future__ import annotations

import json
import subprocess
import sys

import yaml

from labelwise.cli.main import main
from labelwise.data import sample_path


def test_report_writes_paired_and_savings_tables_and_plots(tmp_path, capsys):
    raw = {
        "name": "tiny",
        "task": "classification",
        "data": {"pool": str(sample_path("ag_news_train.jsonl.gz")),
                 "test": str(sample_path("ag_news_test.jsonl.gz")), "pool_size": 120, "test_size": 60},
        "model": {"name": "tfidf_lr", "params": {"max_features": 2000, "embedding_dim": 8}},
        "strategies": ["random", "entropy"],
        "initial": {"mode": "count", "size": 10},
        "query": {"mode": "count", "size": 20},
        "iterations": 2,
        "seeds": [0, 1, 2],
        "output": str(tmp_path / "out"),
    }
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(raw), encoding="utf-8")
    assert main(["benchmark", str(config), "--no-progress", "--report"]) == 0
    folder = tmp_path / "out"
    reference = json.loads((folder / "reference.json").read_text(encoding="utf-8"))
    assert reference["n_labeled"] == 120 and 0.0 < reference["metrics"]["accuracy"] <= 1.0
    report = (folder / "report.md").read_text(encoding="utf-8")
    paired = report.split("## Paired difference to Random")[1].split("##")[0]
    rows = [line for line in paired.splitlines() if line.startswith("| entropy |")]
    assert len(rows) == 1 and "| 3 |" in rows[0]  # three paired seeds
    assert "+0.00 ± 0.00" in rows[0]  # iteration 0: the same seed set under each seed
    assert any(v in rows[0] for v in ("not separated", "beats random", "below random"))
    savings = report.split("## Label savings")[1]
    assert f"scores {100 * reference['metrics']['accuracy']:.2f} accuracy" in savings
    assert "| labels to 95% | saving |" in savings.replace("| strategy ", "")
    assert "normalized AUC" in report
    for name in ("learning_curve", "paired_differences", "savings", "durations"):
        assert (folder / f"{name}.png").stat().st_size > 1000
        assert f"({name}.png)" in report
    before = (folder / "reference.json").stat().st_mtime_ns
    assert main(["report", str(folder)]) == 0  # the reference is cached, not recomputed
    assert (folder / "reference.json").stat().st_mtime_ns == before


def test_importing_the_benchmark_does_not_switch_the_matplotlib_backend():
    code = ("import matplotlib; matplotlib.use('svg'); import labelwise.benchmark, labelwise.benchmark.report, "
            "labelwise.benchmark.plots; print(matplotlib.get_backend())")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "svg"
