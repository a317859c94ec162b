"""``labelwise tune CONFIG``: choose the query size and the acquisition model of a benchmark
config by replaying AL on its first N labels (see :func:`labelwise.tuning.tune_al`).

The config's ``tune:`` section::

    tune:
      labels: 200                 # N: the seed set + the first queries of one simulated run
      query_sizes: [10, 20, 50]   # candidates
      models: [tfidf_lr, {name: embedding_lr, params: {C: 10.0}}]   # default: the config's model
      strategy: entropy           # default: the config's first strategy that is not random
      seed: 0                     # the run whose first N labels are used (default: first seed)
      seeds: [0, 1, 2]            # replay seeds
      held_out: 0.3               # share of the N labels held out to score the replays
      output: results/x_tune      # default: the config's output + "_tune"
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from labelwise._io import atomic_write_text
from labelwise.errors import ConfigError

TUNE_FIELDS = ("labels", "query_sizes", "models", "strategy", "seed", "seeds", "held_out", "output")


def add_parser(commands: Any) -> None:
    tune = commands.add_parser("tune", help="choose query size and model by replaying AL on the first labels")
    tune.add_argument("config", help="benchmark YAML config with a 'tune:' section (see docs/stopping.md)")
    tune.add_argument("--labels", type=int, default=None, help="override tune.labels (N)")


def read_tune_config(path: str | Path) -> tuple[Any, dict[str, Any]]:
    """The benchmark config (without its ``tune:`` section) and the checked ``tune:`` fields."""
    from labelwise.benchmark.config import config_from_dict, read_yaml

    path = Path(path)
    raw = read_yaml(path)
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: the config must be a mapping of fields.")
    tune = raw.pop("tune", None)
    if not isinstance(tune, dict):
        raise ConfigError(f"{path}: no 'tune:' section (or it is not a mapping). Fix: add e.g.\n"
                          "tune:\n  labels: 200\n  query_sizes: [10, 20, 50]\n  models: [tfidf_lr]")
    unknown = [key for key in tune if key not in TUNE_FIELDS]
    if unknown:
        raise ConfigError(f"{path}: tune.{unknown[0]}: unknown field; tune takes {', '.join(TUNE_FIELDS)}.")
    config = config_from_dict(raw, source=str(path))
    labels = tune.get("labels")
    if isinstance(labels, bool) or not isinstance(labels, int) or labels < 4:
        raise ConfigError(f"{path}: tune.labels: expected the number of labels to replay on (an int >= 4), "
                          f"got {labels!r}.")
    sizes = tune.get("query_sizes")
    if not isinstance(sizes, list) or not sizes:
        raise ConfigError(f"{path}: tune.query_sizes: expected a non-empty list of ints, got {sizes!r}.")
    models = tune.get("models") or [{"name": config.model.name, "params": dict(config.model.params)}]
    if not isinstance(models, list):
        raise ConfigError(f"{path}: tune.models: expected a list of model names or {{name, params}}.")
    strategy = tune.get("strategy") or next((s.name for s in config.strategies if s.name != "random"), "random")
    seeds = tune.get("seeds", [0, 1, 2])
    if not isinstance(seeds, list) or not seeds or not all(isinstance(s, int) and not isinstance(s, bool)
                                                           for s in seeds):
        raise ConfigError(f"{path}: tune.seeds: expected a non-empty list of ints, got {seeds!r}.")
    seed = tune.get("seed", config.seeds[0])
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ConfigError(f"{path}: tune.seed: expected an int, got {seed!r}.")
    output = tune.get("output") or f"{config.output}_tune"
    return config, {"labels": labels, "query_sizes": sizes, "models": models, "strategy": strategy,
                    "seed": seed, "seeds": seeds, "held_out": tune.get("held_out", 0.3), "output": output}


def first_labels(config: Any, pool: Any, n_labels: int, *, seed: int, strategy: str) -> np.ndarray:
    """The positions labeled first in one simulated run of ``config`` (its model, seed set and
    query size; ``strategy``), cut at exactly ``n_labels``."""
    from labelwise.benchmark.config import build_model
    from labelwise.benchmark.runner import _budget, seed_positions
    from labelwise.data.datasets import gold_labels
    from labelwise.loop import ActiveLearner

    if n_labels > len(pool):
        raise ConfigError(f"tune.labels: {n_labels} labels, but the pool has {len(pool)} rows. Fix: lower it.")
    learner = ActiveLearner(build_model(config, random_state=seed), pool, strategy,
                            random_state=np.random.default_rng(seed))
    positions = seed_positions(config, pool, seed)[:n_labels]
    learner.teach(positions, gold_labels(pool, positions))
    query_size = _budget(config.query, pool) if config.query.unit == "instances" else 10
    while len(learner.labeled_indices) < n_labels:
        picks = learner.query(min(query_size, n_labels - len(learner.labeled_indices))).indices
        learner.teach(picks, gold_labels(pool, picks))
    return np.sort(learner.labeled_indices)


def run_tune(path: str | Path, *, labels: int | None = None) -> Path:
    """Replay AL on the first N labels of ``path``'s config; write tune.md and tune.json."""
    from labelwise.benchmark.runner import load_benchmark_data
    from labelwise.tuning import tune_al

    config, tune = read_tune_config(path)
    if labels is not None:
        if labels < 4:
            raise ConfigError(f"--labels: expected an int >= 4, got {labels}.")
        tune["labels"] = labels
    pool, _ = load_benchmark_data(config)
    positions = first_labels(config, pool, tune["labels"], seed=tune["seed"], strategy=tune["strategy"])
    result = tune_al(pool.subset(positions), {"query_size": tune["query_sizes"], "model": tune["models"]},
                     strategy=tune["strategy"], seeds=tune["seeds"], held_out=tune["held_out"])
    folder = Path(tune["output"])
    folder.mkdir(parents=True, exist_ok=True)
    text = (f"# Tuning {config.name or Path(path).stem}: query size and model\n\n"
            f"The first {tune['labels']} labels of one simulated run (seed {tune['seed']}, strategy "
            f"`{tune['strategy']}`), replayed per candidate.\n\n{result.to_markdown()}\n\n"
            f"Choice: query size {result.best.query_size}, model `{result.best.model}`.\n")
    atomic_write_text(folder / "tune.md", text)
    atomic_write_text(folder / "tune.json", json.dumps({"config": str(path), **tune, **result.to_dict()}, indent=1))
    print(text)
    return folder


def run(args: argparse.Namespace) -> int:
    folder = run_tune(args.config, labels=args.labels)
    print(f"tuning table in {folder / 'tune.md'}")
    return 0
