"""A ``cluster:`` section in a benchmark config runs scoring on Dask; the records' selections
equal those of the same config run in one process."""

from __future__ import annotations

import json

import pytest

from labelwise.benchmark.config import config_from_dict
from labelwise.benchmark.runner import run_benchmark
from labelwise.data import sample_path
from labelwise.distributed.clusters import close_clusters
from labelwise.errors import ConfigError

distributed = pytest.importorskip("distributed")


def _raw(output, **overrides):
    raw = {
        "name": "tiny", "task": "classification",
        "data": {"pool": {"path": str(sample_path("ag_news_train.jsonl.gz"))},
                 "test": {"path": str(sample_path("ag_news_test.jsonl.gz"))},
                 "pool_size": 150, "test_size": 60, "subsample_seed": 0},
        "model": {"name": "tfidf_lr", "params": {"progress": False}},
        "strategies": ["margin", "coreset"],
        "initial": {"mode": "count", "size": 10}, "query": {"mode": "count", "size": 10},
        "iterations": 2, "seeds": [0], "output": str(output), "reference": False,
    }
    raw.update(overrides)
    return raw


def _selections(folder):
    rows = [json.loads(line) for line in (folder / "records.jsonl").read_text().splitlines()]
    return [(r["strategy"], r["seed"], r["iteration"], r["selected"]) for r in rows]


def test_cluster_section_gives_the_same_records(tmp_path):
    with distributed.LocalCluster(n_workers=2, processes=False, threads_per_worker=1,
                                  dashboard_address=None) as cluster:
        remote = run_benchmark(config_from_dict(_raw(tmp_path / "remote",
                                                     cluster={"address": cluster.scheduler_address})),
                               progress=False)
        close_clusters()
    local = run_benchmark(config_from_dict(_raw(tmp_path / "local")), progress=False)
    assert _selections(remote) == _selections(local)


@pytest.mark.parametrize("section, message", [
    ({"adress": "x"}, "cluster.adress: unknown field"),
    ({"n_workers": 0}, "positive int"),
    ({"address": "tcp://a:1", "n_workers": 2}, "either address"),
    ("tcp://a:1", "expected a mapping"),
])
def test_bad_cluster_sections_are_config_errors(tmp_path, section, message):
    with pytest.raises(ConfigError, match=message):
        config_from_dict(_raw(tmp_path, cluster=section))
