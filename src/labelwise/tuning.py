"""Choose AL hyperparameters (query size, acquisition model) by replaying AL on the labels
collected so far.

The seed paper (Tsvigun et al. 2022) leaves the query size and the acquisition model as future
work; a user cannot run a grid on the real pool, whose labels do not exist yet. What exists is
the labeled set. :func:`tune_al` splits it into a replay pool and a held-out part, replays AL
on the replay pool with each candidate (its gold labels are the oracle) from the same seed set
up to the same label budget, scores each curve on the held-out part by its normalized area
under the learning curve (the mean height over the same label range, so query sizes compare
fairly), and ranks the candidates by the mean over seeds. ``benchmarks/tune_vs_grid.py``
checks where the choice ranks in the grid run on the real pool.

The replay is small: it learns from a few hundred labels how the candidates behave at the
start of a run. It cannot see what happens beyond the labels it has.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from labelwise.benchmark.simulation import query_teach_evaluate
from labelwise.benchmark.stats import mean_ci, normalized_auc
from labelwise.data.datasets import gold_labels
from labelwise.errors import ConfigError, DataError
from labelwise.loop import ActiveLearner, initial_indices
from labelwise.metrics import evaluate

MAIN_METRIC = {"classification": "accuracy", "tagging": "f1", "seq2seq": "rougeL"}
CANDIDATE_KEYS = ("query_size", "model")


@dataclass(frozen=True)
class Candidate:
    """One point of the grid: a query size and an acquisition model (its display name and a
    factory of fresh unfitted instances, called with the run's seed)."""

    query_size: int
    model: str
    make_model: Callable[[int], Any] = field(compare=False, repr=False)


@dataclass
class TuningRow:
    """A candidate's result: normalized AUC and final score on the held-out part (mean ±
    Student-t half-width over seeds, in the metric's points), seconds per run, and rank."""

    query_size: int
    model: str
    auc: tuple[float, float]
    final: tuple[float, float]
    seconds: float
    rank: int = 0
    #: per seed, the curve as ``[(labels, score), ...]``
    curves: dict[int, list[tuple[float, float]]] = field(default_factory=dict, repr=False)


@dataclass
class TuningResult:
    """The ranked table (best first) and the replay's setup."""

    rows: list[TuningRow]
    metric: str
    n_replay: int
    n_held_out: int
    initial_size: int
    budget: int
    seeds: list[int]
    strategy: str

    @property
    def best(self) -> TuningRow:
        return self.rows[0]

    def to_markdown(self) -> str:
        lines = [f"Replay on {self.n_replay} labeled rows (held-out part: {self.n_held_out}), strategy "
                 f"`{self.strategy}`, seed set {self.initial_size}, budget {self.budget} labels, seeds "
                 f"{self.seeds}. Ranked by the normalized area under the held-out {self.metric} curve over "
                 f"{self.initial_size}-{self.budget} labels (mean ± 95% CI over seeds).", "",
                 f"| rank | query size | model | normalized AUC | final {self.metric} | seconds per run |",
                 "|---|---|---|---|---|---|"]
        for row in self.rows:
            lines.append(f"| {row.rank} | {row.query_size} | {row.model} | {row.auc[0]:.2f} ± {row.auc[1]:.2f} | "
                         f"{row.final[0]:.2f} ± {row.final[1]:.2f} | {row.seconds:.1f} |")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {"metric": self.metric, "n_replay": self.n_replay, "n_held_out": self.n_held_out,
                "initial_size": self.initial_size, "budget": self.budget, "seeds": self.seeds,
                "strategy": self.strategy,
                "rows": [{"rank": r.rank, "query_size": r.query_size, "model": r.model, "auc": list(r.auc),
                          "final": list(r.final), "seconds": r.seconds,
                          "curves": {str(s): c for s, c in r.curves.items()}} for r in self.rows]}


def model_candidates(models: Sequence[Any], where: str = "candidates['model']") -> list[tuple[str, Callable]]:
    """``(display name, factory(seed))`` for each model spec: a registry name, a ``{name,
    params}`` mapping, a ``(name, params)`` pair, or an unfitted model instance (the learner
    fits its own clone, so one instance serves every run)."""
    from labelwise.models import get_model

    built = []
    for i, spec in enumerate(models):
        if isinstance(spec, Mapping):
            unknown = set(spec) - {"name", "params"}
            if "name" not in spec or unknown:
                raise ConfigError(f"{where}[{i}]: a model mapping takes 'name' and optionally 'params', "
                                  f"got keys {sorted(spec)}.")
            name, params = spec["name"], dict(spec.get("params") or {})
        elif isinstance(spec, tuple) and len(spec) == 2 and isinstance(spec[0], str):
            name, params = spec[0], dict(spec[1])
        elif isinstance(spec, str):
            name, params = spec, {}
        elif callable(getattr(spec, "fit", None)):
            built.append((type(spec).__name__, lambda seed, model=spec: model))
            continue
        else:
            raise ConfigError(f"{where}[{i}]: expected a model name, {{name, params}}, (name, params) or an "
                              f"unfitted model, got {type(spec).__name__}.")
        if not isinstance(name, str) or not name:
            raise ConfigError(f"{where}[{i}].name: expected a registered model name, got {name!r}.")
        get_model(name, **params)  # fail now, not after the first replays, on a wrong name or parameter
        label = name + ("(" + ", ".join(f"{k}={v}" for k, v in sorted(params.items())) + ")" if params else "")
        built.append((label, lambda seed, name=name, params=params: _seeded_model(name, params, seed)))
    return built


def _seeded_model(name: str, params: dict[str, Any], seed: int) -> Any:
    import inspect

    from labelwise.models import get_model
    from labelwise.models.registry import model_class

    arguments = dict(params)
    try:
        if "random_state" in inspect.signature(model_class(name)).parameters and "random_state" not in arguments:
            arguments["random_state"] = seed
    except (TypeError, ValueError):
        pass
    return get_model(name, **arguments)


def _checked_candidates(candidates: Any) -> list[Candidate]:
    if not isinstance(candidates, Mapping):
        raise ConfigError(f"candidates: expected a mapping {{'query_size': [...], 'model': [...]}}, got "
                          f"{type(candidates).__name__}.")
    unknown = [key for key in candidates if key not in CANDIDATE_KEYS]
    if unknown:
        raise ConfigError(f"candidates: unknown key(s) {unknown}; tune_al tunes {list(CANDIDATE_KEYS)}.")
    missing = [key for key in CANDIDATE_KEYS if not candidates.get(key)]
    if missing:
        raise ConfigError(f"candidates: give a non-empty list for {missing} (one value fixes it), e.g. "
                          "{'query_size': [10, 25, 50], 'model': ['tfidf_lr']}.")
    sizes = list(candidates["query_size"])
    bad = [size for size in sizes if isinstance(size, bool) or not isinstance(size, int | np.integer) or size < 1]
    if bad:
        raise ConfigError(f"candidates['query_size']: expected positive ints, got {bad}.")
    models = list(candidates["model"])
    return [Candidate(int(size), label, factory) for label, factory in model_candidates(models)
            for size in dict.fromkeys(sizes)]


def replay_curve(candidate: Candidate, pool: Any, test: Any, strategy: Any, *, seed: int,
                 seed_positions: np.ndarray, budget: int, metric: str) -> list[tuple[float, float]]:
    """AL on ``pool`` (gold labels as the oracle) with the candidate's model and query size,
    from ``seed_positions`` up to ``budget`` labels, evaluated on ``test`` after each retraining:
    ``[(labels, metric), ...]``. The last query is cut to end exactly at the budget."""
    from labelwise.strategies import get_strategy

    chosen = get_strategy(*strategy) if isinstance(strategy, tuple) else get_strategy(strategy)
    if hasattr(chosen, "rounds"):  # ALBL's horizon: the queries this replay makes
        chosen.rounds = max(1, math.ceil((budget - len(seed_positions)) / candidate.query_size))
    learner = ActiveLearner(candidate.make_model(seed), pool, chosen, random_state=np.random.default_rng(seed))
    learner.teach(seed_positions, gold_labels(pool, seed_positions))
    first = evaluate(learner.model, test)
    if metric not in first:
        raise ConfigError(f"metric: {metric!r} is not computed for {pool.task}; choose one of {sorted(first)}.")
    curve = [(float(len(seed_positions)), float(first[metric]))]
    while len(learner.labeled_indices) < budget and len(learner.unlabeled_indices):
        k = min(candidate.query_size, budget - len(learner.labeled_indices), len(learner.unlabeled_indices))
        _, metrics, _ = query_teach_evaluate(learner, pool, test, k)
        curve.append((float(len(learner.labeled_indices)), float(metrics[metric])))
    return curve


def rank_candidates(candidates: Sequence[Candidate], run: Callable[[Candidate, int], list[tuple[float, float]]],
                    seeds: Sequence[int], *, scale: float = 1.0) -> list[TuningRow]:
    """Run every candidate under every seed (``run(candidate, seed) -> curve``) and rank them
    by mean normalized AUC (ties: final score). Scores are multiplied by ``scale``."""
    rows = []
    for candidate in candidates:
        curves, seconds = {}, []
        for seed in seeds:
            started = time.perf_counter()
            curves[int(seed)] = [(x, scale * y) for x, y in run(candidate, int(seed))]
            seconds.append(time.perf_counter() - started)
        rows.append(TuningRow(candidate.query_size, candidate.model,
                              mean_ci([normalized_auc(*zip(*c, strict=True)) for c in curves.values()]),
                              mean_ci([c[-1][1] for c in curves.values()]), float(np.mean(seconds)),
                              curves=curves))
    rows.sort(key=lambda row: (-row.auc[0], -row.final[0]))
    for rank, row in enumerate(rows, start=1):
        row.rank = rank
    return rows


def tune_al(labeled_dataset: Any, candidates: Mapping[str, Sequence[Any]], *, strategy: Any = "entropy",
            seeds: Sequence[int] = (0, 1, 2), held_out: float = 0.3, initial_size: int | None = None,
            budget: int | None = None, metric: str | None = None) -> TuningResult:
    """Rank query sizes and acquisition models by replaying AL on the labels collected so far.

    Per seed, ``labeled_dataset`` is split at random into a held-out part (``held_out`` of the
    rows) and a replay pool; every candidate starts from the same seed set of
    ``initial_size`` replay rows (default: the smallest query size, at least 2), queries with
    ``strategy`` up to ``budget`` labels (default: the whole replay pool) and is evaluated on
    the held-out part after each retraining. Candidates are ranked by the normalized area under
    that curve over the same label range, mean over seeds (ties: final score).

    Args:
        labeled_dataset: a labeled dataset (classification, tagging or seq2seq).
        candidates: ``{"query_size": [ints], "model": [model specs]}``; a model spec is a
            registry name, ``{"name", "params"}``, ``(name, params)`` or an unfitted model.
        strategy: the query strategy of the replay (a name, ``(name, params)`` or an instance).
        seeds: one replay per seed and candidate; the split and seed set depend on the seed only.
        held_out: the share of rows held out for evaluation, in (0, 1).
        initial_size, budget: the replay's seed set and label budget, in rows.
        metric: the metric to rank by (default: accuracy, f1 or rougeL by task).

    Returns:
        a :class:`TuningResult`: ``rows`` ranked best first, ``best``, ``to_markdown()``.
    """
    grid = _checked_candidates(candidates)
    labels = getattr(labeled_dataset, "labels", None)
    if labels is None or len(labeled_dataset) == 0:
        raise DataError("tune_al needs a labeled dataset (the rows labeled so far, with their labels).",
                        fix="pass learner.labeled_dataset() or a dataset loaded with its label column.")
    task = labeled_dataset.task
    metric = metric or MAIN_METRIC.get(task, "accuracy")
    if not (isinstance(held_out, float | int) and not isinstance(held_out, bool) and 0.0 < held_out < 1.0):
        raise ConfigError(f"held_out: expected a share in (0, 1), got {held_out!r}.")
    n = len(labeled_dataset)
    n_held_out = int(round(held_out * n))
    n_replay = n - n_held_out
    initial_size = max(2, min(c.query_size for c in grid)) if initial_size is None else initial_size
    budget = n_replay if budget is None else budget
    if n_held_out < 1 or not (isinstance(initial_size, int | np.integer) and 1 <= initial_size < n_replay):
        raise ConfigError(f"tune_al: {n} labeled rows give a replay pool of {n_replay} and a held-out part of "
                          f"{n_held_out}; the seed set ({initial_size}) must be at least 1 and smaller than the "
                          "replay pool. Fix: label more rows, or lower initial_size.")
    if not (isinstance(budget, int | np.integer) and initial_size < budget <= n_replay):
        raise ConfigError(f"budget: expected an int in ({initial_size}, {n_replay}] (seed set, replay pool), "
                          f"got {budget!r}.")
    if not seeds:
        raise ConfigError("seeds: give at least one seed.")
    splits = {}
    for seed in seeds:
        order = np.random.default_rng(int(seed)).permutation(n)
        replay = labeled_dataset.subset(np.sort(order[n_held_out:]))
        test = labeled_dataset.subset(np.sort(order[:n_held_out]))
        positions = seed_set(replay, int(initial_size), np.random.default_rng(int(seed)))
        splits[int(seed)] = (replay, test, positions)

    def run(candidate: Candidate, seed: int) -> list[tuple[float, float]]:
        replay, test, positions = splits[seed]
        return replay_curve(candidate, replay, test, strategy, seed=seed, seed_positions=positions,
                            budget=int(budget), metric=metric)

    scale = 100.0 if task in ("classification", "tagging") else 1.0
    rows = rank_candidates(grid, run, seeds, scale=scale)
    name = strategy if isinstance(strategy, str) else getattr(strategy, "name", str(strategy))
    return TuningResult(rows, metric, n_replay, n_held_out, int(initial_size), int(budget),
                        [int(s) for s in seeds], str(name))


def seed_set(pool: Any, size: int, rng: np.random.Generator) -> np.ndarray:
    """``size`` random positions; for single-label classification, one of each class first
    (as far as ``size`` allows), so that the first model can train."""
    if pool.task != "classification" or getattr(pool, "multi_label", False):
        return initial_indices(len(pool), size, random_state=rng)
    labels = np.asarray(pool.labels)
    classes = rng.permutation(np.unique(labels[labels >= 0]))[:size]
    firsts = [int(rng.choice(np.flatnonzero(labels == c))) for c in classes]
    rest = np.setdiff1d(np.arange(len(pool)), firsts)
    extra = rng.choice(rest, size=size - len(firsts), replace=False) if size > len(firsts) else []
    return np.sort(np.concatenate([np.asarray(firsts, dtype=np.int64), np.asarray(extra, dtype=np.int64)]))
