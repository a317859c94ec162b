"""The benchmark tool: config validation, resumable records, the report."""

from __future__ import annotations

import json

import pytest
from scipy import stats

from labelwise.benchmark import mean_ci
from labelwise.benchmark.runner import run_benchmark
from labelwise.errors import ConfigError, LabelwiseError
from tiny_benchmark import tiny_config, write_config


def config(tmp_path, **overrides):
    return write_config(tmp_path, tiny_config(tmp_path, **overrides))


def records(folder):
    lines = (folder / "records.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def comparable(rows):
    keep = ("strategy", "seed", "iteration", "n_labeled", "metrics", "selected")
    return sorted(json.dumps({k: r.get(k) for k in keep}, sort_keys=True) for r in rows)


def test_a_killed_run_resumes_to_the_same_records(tmp_path):
    straight = run_benchmark(config(tmp_path / "a"), progress=False)
    complete = records(straight)
    assert len(complete) == 2 * 2 * 3  # strategies × seeds × (seed set + 2 queries)
    resumed_folder = run_benchmark(config(tmp_path / "b"), progress=False)
    lines = (resumed_folder / "records.jsonl").read_text(encoding="utf-8").splitlines()
    # Simulate a kill after 5 records, the last one half written.
    (resumed_folder / "records.jsonl").write_text("\n".join(lines[:5]) + "\n" + lines[5][:20], encoding="utf-8")
    run_benchmark(config(tmp_path / "b"), progress=False)
    assert comparable(records(resumed_folder)) == comparable(complete)


def test_rerunning_a_finished_config_adds_nothing(tmp_path):
    folder = run_benchmark(config(tmp_path), progress=False)
    before = (folder / "records.jsonl").read_bytes()
    run_benchmark(config(tmp_path), progress=False)
    assert (folder / "records.jsonl").read_bytes() == before


def test_a_different_config_is_refused_in_the_same_folder(tmp_path):
    run_benchmark(config(tmp_path), progress=False)
    with pytest.raises(LabelwiseError):
        run_benchmark(config(tmp_path, iterations=3), progress=False)


def test_unknown_strategy_names_the_field_and_close_names(tmp_path):
    with pytest.raises(ConfigError, match=r"(?s)strategies.*entropy"):
        run_benchmark(config(tmp_path, strategies=["random", "entropi"]), progress=False)


def test_missing_file_is_named(tmp_path):
    bad = {"pool": {"path": str(tmp_path / "nope.jsonl")}, "test": {"path": str(tmp_path / "nope.jsonl")}}
    with pytest.raises(LabelwiseError, match="nope.jsonl"):
        run_benchmark(config(tmp_path, data=bad), progress=False)


def test_a_strategy_loaded_from_a_file_path_runs(tmp_path):
    mine = tmp_path / "mine.py"
    mine.write_text(
        "from labelwise.strategies import ScoringStrategy\n"
        "class First(ScoringStrategy):\n"
        "    name = 'first'\n"
        "    def score(self, outputs, context):\n"
        "        return -context.candidate_indices.astype(float)\n", encoding="utf-8")
    folder = run_benchmark(config(tmp_path, strategies=[f"{mine}:First"], seeds=[0]), progress=False)
    queried = [r for r in records(folder) if r["iteration"] == 1]
    assert len(queried) == 1 and len(queried[0]["selected"]) == 10


def test_mean_ci_equals_scipy_t_interval():
    values = [0.81, 0.84, 0.79, 0.88]
    mean, half = mean_ci(values)
    low, high = stats.t.interval(0.95, len(values) - 1, loc=mean, scale=stats.sem(values))
    assert mean - half == pytest.approx(low) and mean + half == pytest.approx(high)


def test_alps_runs_with_a_language_model_built_from_output_options(tmp_path):
    lm = tmp_path / "lm.py"
    lm.write_text(
        "import numpy as np\n"
        "class LengthLM:\n"
        "    def __init__(self, random_state=0):\n"
        "        self.prepared = 0\n"
        "    def prepare(self, pool):\n"
        "        self.prepared += 1\n"
        "    def surprisal_embeddings(self, dataset):\n"
        "        assert self.prepared == 1\n"
        "        return np.array([[len(t) % 7, len(t) % 5] for t in dataset.inputs], dtype=np.float32)\n",
        encoding="utf-8")
    folder = run_benchmark(config(tmp_path, strategies=["alps"], seeds=[0],
                                  output_options={"language_model": {"name": f"{lm}:LengthLM"}}), progress=False)
    queried = [r for r in records(folder) if r["iteration"] > 0]
    assert [r["strategy"] for r in queried] == ["alps", "alps"]
    assert all(len(set(r["selected"])) == 10 for r in queried)


def test_an_unknown_language_model_in_output_options_names_the_field(tmp_path):
    with pytest.raises(ConfigError, match=r"output_options\.language_model\.name"):
        run_benchmark(config(tmp_path, strategies=["alps"],
                             output_options={"language_model": {"name": "masked_lmm"}}), progress=False)
