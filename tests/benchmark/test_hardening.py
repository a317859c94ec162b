"""Regressions of issue #13 (benchmark): config saved too early, corrupt-line advice, capability
checks before any work, report options, and a lock on the output folder."""

from __future__ import annotations

import json

import pytest
import yaml

from labelwise.benchmark.report import write_report
from labelwise.benchmark.runner import read_records, run_benchmark
from labelwise.errors import CapabilityError, ConfigError, DataError, LockedError
from tiny_benchmark import tiny_config, write_config


def config(tmp_path, **overrides):
    fields = {"model": {"name": "tfidf_lr", "params": {"max_features": 2000, "embedding_dim": 8}}, **overrides}
    return write_config(tmp_path, tiny_config(tmp_path, pool_size=120, test_size=60, **fields))


def comparable(rows):
    keep = ("strategy", "seed", "iteration", "n_labeled", "metrics", "selected", "final")
    return sorted(json.dumps({k: r.get(k) for k in keep}, sort_keys=True) for r in rows)


def test_a_config_that_fails_loading_data_is_not_kept_so_the_fixed_one_runs(tmp_path):
    good = yaml.safe_load(config(tmp_path).read_text(encoding="utf-8"))["data"]
    bad = {**good, "pool": {**good["pool"], "label_column": "no_such_column"}}
    with pytest.raises(DataError, match="no_such_column"):
        run_benchmark(config(tmp_path, data=bad), progress=False)
    assert not (tmp_path / "out" / "config.yaml").exists()
    folder = run_benchmark(config(tmp_path, seeds=[0], strategies=["random"]), progress=False)
    assert len(read_records(folder)) == 3


def test_the_advice_for_a_corrupt_middle_record_redoes_its_run(tmp_path):
    folder = run_benchmark(config(tmp_path), progress=False)
    complete = read_records(folder)
    path = folder / "records.jsonl"
    lines = path.read_text(encoding="utf-8").splitlines()
    middle = next(i for i, line in enumerate(lines) if json.loads(line)["iteration"] == 1)
    lines[middle] = lines[middle][: len(lines[middle]) // 2] + "}}garbage"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(DataError, match=f"line {middle + 1}.*delete that line") as caught:
        run_benchmark(config(tmp_path), progress=False)
    assert "redone" in str(caught.value)
    del lines[middle]  # follow the advice
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    run_benchmark(config(tmp_path), progress=False)
    assert comparable(read_records(folder)) == comparable(complete)


def test_a_strategy_the_model_cannot_serve_is_refused_before_any_work(tmp_path):
    with pytest.raises(CapabilityError, match=r"strategies\[2\]: 'bald' needs \['mc_probabilities'\].*Fix"):
        run_benchmark(config(tmp_path, strategies=["random", "entropy", "bald"]), progress=False)
    assert not (tmp_path / "out" / "records.jsonl").exists()


def test_a_wrapped_base_the_model_cannot_serve_is_refused_too(tmp_path):
    actune = {"name": "actune", "params": {"base": "bald"}}
    with pytest.raises(CapabilityError, match=r"strategies\[1\].*mc_probabilities"):
        run_benchmark(config(tmp_path, strategies=["random", actune]), progress=False)


def test_report_with_an_unrecorded_iteration_names_the_option(tmp_path):
    folder = run_benchmark(config(tmp_path, seeds=[0]), progress=False)
    with pytest.raises(ConfigError, match=r"--iterations.*99.*0 to 2"):
        write_report(folder, iterations=[0, 99])


def test_an_output_path_that_is_a_file_is_a_config_error(tmp_path):
    (tmp_path / "taken").write_text("not a folder", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"output: .*taken.* is a file"):
        run_benchmark(config(tmp_path, output=str(tmp_path / "taken")), progress=False)
    with pytest.raises(ConfigError, match="is a file"):
        write_report(tmp_path / "taken")


def test_a_second_run_into_the_same_folder_is_refused_at_once(tmp_path):
    path = config(tmp_path, seeds=[0])
    refused = []

    def start_another(record):
        if not refused:
            with pytest.raises(LockedError, match="benchmark output folder"):
                run_benchmark(path, progress=False)
            refused.append(record)

    folder = run_benchmark(path, progress=False, on_record=start_another)
    assert refused
    keys = [(r["strategy"], r["seed"], r["iteration"]) for r in read_records(folder)]
    assert len(keys) == len(set(keys)) == 2 * 3
