"""simulate() and the benchmark runner are one driver with one record format: the same
config, pool and seed give the same selections, metrics and record fields."""

from __future__ import annotations

import json

import yaml

from labelwise.benchmark.config import build_model, load_config
from labelwise.benchmark.runner import load_benchmark_data, run_benchmark
from labelwise.benchmark.simulation import PHASES, simulate
from labelwise.data import sample_path


def write_config(tmp_path):
    raw = {"name": "tiny", "task": "classification",
           "data": {"pool": {"path": str(sample_path("ag_news_train.jsonl.gz"))},
                    "test": {"path": str(sample_path("ag_news_test.jsonl.gz"))},
                    "pool_size": 150, "test_size": 100, "subsample_seed": 0},
           "model": {"name": "tfidf_lr"}, "strategies": ["entropy"],
           "initial": {"mode": "count", "size": 10}, "query": {"mode": "count", "size": 10},
           "iterations": 2, "seeds": [0], "output": str(tmp_path / "out")}
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


def test_simulate_and_the_runner_give_the_same_records(tmp_path):
    path = write_config(tmp_path)
    run_benchmark(path, progress=False)
    lines = (tmp_path / "out" / "records.jsonl").read_text(encoding="utf-8").splitlines()
    from_runner = [json.loads(line) for line in lines if line.strip()]
    loaded = load_config(path)
    pool, test = load_benchmark_data(loaded)
    from_simulate = [r.as_record() for r in simulate(lambda: build_model(loaded, random_state=0), pool, test,
                                                     "entropy", seed=0, initial_size=10, query_size=10,
                                                     iterations=2)]
    assert [r["iteration"] for r in from_simulate] == [r["iteration"] for r in from_runner] == [0, 1, 2]
    for mine, theirs in zip(from_simulate, from_runner, strict=True):
        assert set(theirs) - set(mine) <= {"stopping", "n_labeled_tokens"}  # runner-only extras
        assert mine["selected"] == theirs["selected"]
        assert mine["metrics"] == theirs["metrics"]
        assert set(mine["durations"]) == set(theirs["durations"]) == set(PHASES)
        json.dumps(mine)  # one JSON line of records.jsonl
