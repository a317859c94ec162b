"""Simulated active learning with a gold oracle: one strategy, one seed, a learning curve."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from labelwise.data.datasets import gold_labels
from labelwise.loop import ActiveLearner, initial_indices
from labelwise.metrics import evaluate

#: the phases every record's ``durations`` holds (0.0 where a step had none)
PHASES = ("train", "inference", "selection", "evaluation")


@dataclass
class SimulationRecord:
    """One evaluated point of a learning curve (the ``records.jsonl`` format of
    docs/benchmark.md, less the benchmark runner's config fields; see :meth:`as_record`)."""

    strategy: str
    seed: int
    iteration: int
    n_labeled: int
    metrics: dict[str, float]
    durations: dict[str, float] = field(default_factory=dict)
    selected: list[int] = field(default_factory=list)

    def as_record(self) -> dict[str, Any]:
        """The record as one line of ``records.jsonl`` (docs/benchmark.md, "Record format")."""
        return {"strategy": self.strategy, "strategy_name": self.strategy, "seed": self.seed,
                "iteration": self.iteration, "n_labeled": self.n_labeled,
                "metrics": {key: float(value) for key, value in self.metrics.items()},
                "durations": {phase: float(self.durations.get(phase, 0.0)) for phase in PHASES},
                "selected": [int(i) for i in self.selected], "final": False}


def _evaluate(learner: ActiveLearner, test: Any) -> tuple[dict[str, float], float]:
    started = time.perf_counter()
    metrics = {key: float(value) for key, value in evaluate(learner.model, test).items()}
    return metrics, time.perf_counter() - started


def teach_seed_evaluate(learner: ActiveLearner, pool: Any, test: Any,
                        positions: np.ndarray) -> tuple[dict[str, float], dict[str, float]]:
    """Iteration 0 of a simulation: label the seed ``positions`` from the gold oracle, train,
    evaluate. Returns the test metrics and the seconds per phase (train, evaluation)."""
    started = time.perf_counter()
    learner.teach(positions, gold_labels(pool, positions))
    train_seconds = time.perf_counter() - started
    metrics, evaluation_seconds = _evaluate(learner, test)
    return metrics, {"train": train_seconds, "evaluation": evaluation_seconds}


def query_teach_evaluate(learner: ActiveLearner, pool: Any, test: Any, k: int,
                         unit: str = "instances") -> tuple[Any, dict[str, float], dict[str, float]]:
    """One simulated AL iteration: query ``k`` (in ``unit``), label from the gold oracle,
    retrain, evaluate. Returns the selection, the test metrics and the seconds per phase
    (inference, selection, train, evaluation)."""
    selection = learner.query(k, unit=unit)
    history = learner.history[-1]
    started = time.perf_counter()
    learner.teach(selection.indices, gold_labels(pool, selection.indices))
    train_seconds = time.perf_counter() - started
    metrics, evaluation_seconds = _evaluate(learner, test)
    durations = {"inference": history.durations.get("inference", 0.0),
                 "selection": history.durations.get("selection", 0.0),
                 "train": train_seconds, "evaluation": evaluation_seconds}
    return selection, metrics, durations


def simulate(
    model_factory: Callable[[], Any],
    pool: Any,
    test: Any,
    strategy: Any,
    *,
    seed: int,
    initial_size: int,
    query_size: int,
    iterations: int,
    per_class_seed: bool = False,
    unit: str = "instances",
    subsampler: Any = None,
    output_options: dict[str, Any] | None = None,
    strategy_name: str | None = None,
) -> Iterator[SimulationRecord]:
    """Run AL with the pool's gold labels as the oracle, yielding a record after the
    initial seed (iteration 0) and after each of ``iterations`` queries.

    The initial seed set depends only on ``seed``, so every strategy starts from the same
    labeled rows under the same seed. ``initial_size`` and ``query_size`` are counted in
    ``unit`` (instances, or tokens for tagging).
    """
    rng = np.random.default_rng(seed)
    model = model_factory()
    learner = ActiveLearner(model, pool, strategy, random_state=rng, subsampler=subsampler,
                            output_options=output_options)
    name = strategy_name or learner.schedule.phases[0][1].name
    seed_positions = initial_indices(len(pool), initial_size, labels=pool.stratify_labels, per_class=per_class_seed,
                                     token_counts=pool.token_counts if unit == "tokens" else None,
                                     random_state=np.random.default_rng(seed))
    metrics, durations = teach_seed_evaluate(learner, pool, test, seed_positions)
    yield SimulationRecord(name, seed, 0, len(seed_positions), metrics, durations,
                           [int(i) for i in seed_positions])
    for iteration in range(1, iterations + 1):
        if len(learner.unlabeled_indices) == 0:
            break
        k = min(query_size, len(learner.unlabeled_indices)) if unit == "instances" else query_size
        selection, metrics, durations = query_teach_evaluate(learner, pool, test, k, unit)
        yield SimulationRecord(name, seed, iteration, len(learner.labeled_indices), metrics, durations,
                               [int(i) for i in selection.indices])
