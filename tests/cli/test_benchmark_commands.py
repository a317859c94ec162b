"""``labelwise benchmark`` / ``labelwise report``: user errors exit with 2 and a message naming
the option or field, never a traceback."""

from __future__ import annotations

import yaml

from labelwise.cli.main import main
from labelwise.data import sample_path


def write_config(tmp_path, output):
    raw = {
        "task": "classification",
        "data": {"pool": str(sample_path("ag_news_train.jsonl.gz")),
                 "test": str(sample_path("ag_news_test.jsonl.gz")), "pool_size": 80, "test_size": 40},
        "model": {"name": "tfidf_lr", "params": {"max_features": 1000, "embedding_dim": 8}},
        "strategies": ["random", "entropy"],
        "initial": {"mode": "count", "size": 10},
        "query": {"mode": "count", "size": 10},
        "iterations": 1,
        "seeds": [0, 1],
        "output": str(output),
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


def test_benchmark_into_a_file_exits_with_a_clear_error(tmp_path, capsys):
    taken = tmp_path / "taken.txt"
    taken.write_text("x", encoding="utf-8")
    assert main(["benchmark", str(write_config(tmp_path, taken)), "--no-progress"]) == 2
    error = capsys.readouterr().err
    assert "output:" in error and "is a file" in error and "Traceback" not in error


def test_report_with_an_unrecorded_iteration_exits_naming_the_option(tmp_path, capsys):
    config = write_config(tmp_path, tmp_path / "out")
    assert main(["benchmark", str(config), "--no-progress"]) == 0
    assert main(["report", str(tmp_path / "out"), "--iterations", "0,99"]) == 2
    error = capsys.readouterr().err
    assert "--iterations" in error and "99" in error
    assert not (tmp_path / "out" / "report.md").exists()
    assert main(["report", str(tmp_path / "out"), "--iterations", "zero"]) == 2
    assert "--iterations" in capsys.readouterr().err
