"""`labelwise tune CONFIG`: the tune: section, the replay on the first N labels, its errors."""

from __future__ import annotations

import json

import pytest

from labelwise.cli.main import main
from tiny_benchmark import tiny_config, write_config


def write_tune_config(tmp_path, tune=None, **overrides):
    fields = {"name": "tiny_tune", "iterations": 3, "seeds": [0], **overrides}
    if tune is not None:
        fields["tune"] = tune
    return write_config(tmp_path, tiny_config(tmp_path, test_size=50, **fields))


def test_tune_replays_the_first_labels_and_writes_a_ranked_table(tmp_path, capsys):
    path = write_tune_config(tmp_path, {"labels": 40, "query_sizes": [5, 10], "seeds": [0]})
    assert main(["tune", str(path)]) == 0
    saved = json.loads((tmp_path / "out_tune" / "tune.json").read_text())
    assert saved["labels"] == 40 and saved["strategy"] == "entropy"  # the first non-random strategy
    assert saved["n_replay"] + saved["n_held_out"] == 40
    assert sorted((r["query_size"], r["model"]) for r in saved["rows"]) == [(5, "tfidf_lr"), (10, "tfidf_lr")]
    assert [r["rank"] for r in saved["rows"]] == [1, 2]
    table = (tmp_path / "out_tune" / "tune.md").read_text()
    assert "| rank | query size | model |" in table and "Choice: query size" in table
    assert "Choice" in capsys.readouterr().out


@pytest.mark.parametrize("tune, match", [
    (None, "no 'tune:' section"),
    ({"labels": 40, "query_sizes": [5], "budgets": [1]}, "tune.budgets: unknown field"),
    ({"labels": "many", "query_sizes": [5]}, "tune.labels"),
    ({"labels": 40}, "tune.query_sizes"),
    ({"labels": 40, "query_sizes": [5], "seeds": []}, "tune.seeds"),
    ({"labels": 4000, "query_sizes": [5]}, "pool has 150 rows"),
    ({"labels": 40, "query_sizes": [0]}, "positive ints"),
])
def test_bad_tune_sections_exit_2_with_the_field_named(tmp_path, capsys, tune, match):
    assert main(["tune", str(write_tune_config(tmp_path, tune))]) == 2
    assert match in capsys.readouterr().err


def test_a_missing_config_file_exits_2(tmp_path, capsys):
    assert main(["tune", str(tmp_path / "nope.yaml")]) == 2
    assert "not found" in capsys.readouterr().err


def test_a_config_with_a_tune_section_still_runs_as_a_benchmark(tmp_path):
    from labelwise.benchmark.config import load_config

    path = write_tune_config(tmp_path, {"labels": 40, "query_sizes": [5]})
    config = load_config(path)
    assert "tune" not in config.identity()  # the tune: section does not change the records
