"""A tiny benchmark config on the bundled AG News sample, shared by the benchmark, CLI and
tuning tests (on pytest's ``pythonpath``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from labelwise.data import sample_path


def tiny_config(tmp_path: Path, *, pool_size: int = 150, test_size: int = 100, **fields: Any) -> dict:
    """TF-IDF + LR, random and entropy, 10 + 2 x 10 labels, seeds 0 and 1; ``fields`` replace
    top-level entries."""
    raw = {
        "name": "tiny",
        "task": "classification",
        "data": {"pool": {"path": str(sample_path("ag_news_train.jsonl.gz"))},
                 "test": {"path": str(sample_path("ag_news_test.jsonl.gz"))},
                 "pool_size": pool_size, "test_size": test_size, "subsample_seed": 0},
        "model": {"name": "tfidf_lr"},
        "strategies": ["random", "entropy"],
        "initial": {"mode": "count", "size": 10},
        "query": {"mode": "count", "size": 10},
        "iterations": 2,
        "seeds": [0, 1],
        "output": str(tmp_path / "out"),
    }
    raw.update(fields)
    return raw


def write_config(tmp_path: Path, raw: dict) -> Path:
    """``raw`` as ``tmp_path/config.yaml``."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path
