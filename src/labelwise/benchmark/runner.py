"""Run a benchmark config: every strategy × seed, records appended as they complete, resumable.

``records.jsonl`` in the output folder gets one JSON line per (strategy, seed, iteration),
flushed and fsynced as soon as it is evaluated. Re-running the same config skips finished
(strategy, seed) runs; a run that was cut off half-way, or whose records have a gap (a corrupt
line the user deleted), is restarted from scratch (the run is deterministic given its seed),
after its records are removed, so the final records equal those of an uninterrupted run. The
resolved config is saved as ``config.yaml`` once the data has loaded; a different config never
runs into the same folder. The folder is locked for the whole run: a second run into it gets
:class:`~labelwise.errors.LockedError` at once.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from tqdm.auto import tqdm

from labelwise._io import append_line_durably, atomic_write_text, exclusive_lock
from labelwise.benchmark.config import (
    NOT_IDENTITY,
    BenchmarkConfig,
    build_model,
    build_output_options,
    build_subsampler,
    load_config,
    resolve_data_path,
)
from labelwise.benchmark.simulation import (
    SimulationRecord,
    query_teach_evaluate,
    teach_seed_evaluate,
)
from labelwise.data.datasets import gold_labels
from labelwise.errors import ConfigError, DataError
from labelwise.loop import ActiveLearner, initial_indices
from labelwise.metrics import evaluate
from labelwise.stopping import StopDecision, stopping_from_config

RECORDS_FILE = "records.jsonl"
CONFIG_FILE = "config.yaml"
REFERENCE_FILE = "reference.json"
#: the model seed of the full-pool reference run: one run per config, whatever its seeds
REFERENCE_SEED = 0
#: the test metric of each task that the report tabulates and stopping criteria get as held-out score
MAIN_METRIC = {"classification": "accuracy", "tagging": "f1", "seq2seq": "rougeL"}


# ---- data ----------------------------------------------------------------------------------
def load_benchmark_data(config: BenchmarkConfig) -> tuple[Any, Any]:
    """The pool and test datasets of ``config``, subsampled (seeded) when sizes are given."""
    from labelwise.data import load_classification, load_conll, load_seq2seq, load_tagging

    def load(source: Any, where: str, inventory: tuple[str, ...] | None) -> Any:
        options = dict(source.options)
        path = resolve_data_path(source.path)
        try:
            if config.task == "classification":
                if inventory and "label_names" not in options:
                    options["label_names"] = inventory
                if "derive" in options:  # e.g. CoNLL NER -> multi-label entity types
                    from labelwise.data.derived import load_derived

                    return load_derived(path, **options)
                return load_classification(path, **options)
            if config.task == "tagging":
                if inventory and "tag_names" not in options:
                    options["tag_names"] = inventory
                if ".conll" in path.name or path.suffix in (".txt", ".bio", ".iob"):
                    return load_conll(path, **options)
                return load_tagging(path, **options)
            return load_seq2seq(path, **options)
        except TypeError as error:
            raise ConfigError(f"{where}: bad loader option ({error}). See docs/benchmark.md for the "
                              "options of each task.") from None

    pool = load(config.data.pool, "data.pool", None)
    inventory = getattr(pool, "label_names", None) or getattr(pool, "tag_names", None)
    test = load(config.data.test, "data.test", tuple(inventory) if inventory else None)
    rng = np.random.default_rng(config.data.subsample_seed)
    pool = _subsample(pool, config.data.pool_size, rng)
    test = _subsample(test, config.data.test_size, rng)
    return pool, test


def _subsample(dataset: Any, size: int | None, rng: np.random.Generator) -> Any:
    if size is None or size >= len(dataset):
        return dataset
    return dataset.subset(np.sort(rng.choice(len(dataset), size=size, replace=False)))


# ---- sizes ---------------------------------------------------------------------------------
def _budget(spec: Any, pool: Any) -> int:
    """Instances (or tokens) per step for a percent or count spec."""
    if spec.mode == "percent":
        total = int(pool.token_counts.sum()) if spec.unit == "tokens" else len(pool)
        return max(1, round(total * spec.size / 100.0))
    return int(spec.size)


def seed_positions(config: BenchmarkConfig, pool: Any, seed: int) -> np.ndarray:
    """The initial labeled positions of run ``seed`` (the same for every strategy)."""
    rng = np.random.default_rng(seed)
    spec = config.initial
    if spec.mode == "one_per_class":
        return initial_indices(len(pool), int(spec.size), labels=pool.labels, per_class=True, random_state=rng)
    budget = _budget(spec, pool)
    if spec.unit == "tokens":
        if budget > int(pool.token_counts.sum()):
            raise ConfigError(f"initial.size: a seed of {budget} tokens is larger than the pool "
                              f"({int(pool.token_counts.sum())} tokens).")
        return initial_indices(len(pool), budget, token_counts=pool.token_counts, random_state=rng)
    if budget > len(pool):
        raise ConfigError(f"initial.size: a seed of {budget} is larger than the pool ({len(pool)}).")
    return initial_indices(len(pool), budget, random_state=rng)


# ---- records -------------------------------------------------------------------------------
def read_records(folder: str | Path, *, repair: bool = False) -> list[dict[str, Any]]:
    """The records in ``folder/records.jsonl``. A last line cut off by a kill is ignored
    (and, with ``repair=True``, removed from the file); a corrupt line elsewhere is an error."""
    path = Path(folder) / RECORDS_FILE
    if not path.is_file():
        return []
    raw = path.read_bytes()
    records: list[dict[str, Any]] = []
    offset = 0
    lines = raw.split(b"\n")
    for number, line in enumerate(lines, start=1):
        last = number == len(lines)
        if not line.strip():
            offset += len(line) + 1
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as error:
            if last:  # an append cut off by a kill: no newline yet
                if repair:
                    with open(path, "r+b") as handle:
                        handle.truncate(offset)
                break
            raise DataError(f"corrupt record ({error.msg}){_run_of(line)}.", path=str(path), line=number,
                            fix="delete that line; on the next start the (strategy, seed) run it belonged "
                                "to has a gap, so all of that run's records are dropped and the run is "
                                "redone from its seed.") from None
        offset += len(line) + 1
    return records


def _run_of(line: bytes) -> str:
    """`` of run (strategy, seed)`` when the corrupt line still shows them, else ''."""
    text = line.decode("utf-8", errors="replace")
    strategy = re.search(r'"strategy": "((?:[^"\\]|\\.)*)"', text)
    seed = re.search(r'"seed": (-?\d+)', text)
    if strategy and seed:
        return f" of run ({strategy.group(1)}, seed {seed.group(1)})"
    return ""


def complete_runs(records: list[dict[str, Any]]) -> set[tuple[str, int]]:
    """The (strategy, seed) runs whose records are whole: one final record and exactly one
    record for every iteration from 0 to the final one. A run with a gap (a deleted corrupt
    line) or a duplicate is incomplete and is redone from scratch."""
    iterations: dict[tuple[str, int], list[int]] = {}
    finals: dict[tuple[str, int], list[int]] = {}
    for record in records:
        key = (record["strategy"], record["seed"])
        iterations.setdefault(key, []).append(int(record["iteration"]))
        if record.get("final"):
            finals.setdefault(key, []).append(int(record["iteration"]))
    return {key for key, last in finals.items()
            if len(last) == 1 and sorted(iterations[key]) == list(range(last[0] + 1))}


def _rewrite(path: Path, records: list[dict[str, Any]]) -> None:
    atomic_write_text(path, "".join(json.dumps(record, sort_keys=True) + "\n" for record in records))


def _normalised(data: Any) -> Any:
    return json.loads(json.dumps(data, sort_keys=True, default=list))


def _check_config(config: BenchmarkConfig, folder: Path) -> bool:
    """Refuse a folder that holds another config's records; True when ``config.yaml`` is there."""
    path = folder / CONFIG_FILE
    if not path.exists():
        return False
    wanted = _normalised(config.identity())
    stored = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    for key in NOT_IDENTITY:
        stored.pop(key, None)
    stored = _normalised(stored)
    if stored != wanted:
        differing = sorted(k for k in set(stored) | set(wanted) if stored.get(k) != wanted.get(k))
        raise ConfigError(
            f"output: {str(folder)!r} holds records of a different config (fields that differ: "
            f"{', '.join(differing)}). Nothing was overwritten. Fix: choose another 'output:' folder, "
            "or delete that folder to start over."
        )
    return True


def _save_config(config: BenchmarkConfig, folder: Path) -> None:
    atomic_write_text(folder / CONFIG_FILE, yaml.safe_dump(config.to_dict(), sort_keys=False, allow_unicode=True))


def _output_folder(config: BenchmarkConfig) -> Path:
    folder = Path(config.output)
    if folder.exists() and not folder.is_dir():
        raise ConfigError(f"output: {str(folder)!r} is a file, not a folder. Fix: point 'output:' at a "
                          "folder (it is created when missing).")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ConfigError(f"output: cannot create the folder {str(folder)!r} ({error.strerror or error}). "
                          "Fix: choose a writable path whose parents are folders.") from None
    return folder


# ---- one run -------------------------------------------------------------------------------
def _metrics(model: Any, test: Any) -> dict[str, float]:
    return {key: float(value) for key, value in evaluate(model, test).items()}


def run_one(config: BenchmarkConfig, pool: Any, test: Any, strategy_index: int, seed: int,
            *, progress: bool = True):
    """Yield the records of one (strategy, seed) run: iteration 0 (the seed set), then one per
    query. Deterministic: the same config, pool and seed give the same selections."""
    from labelwise.strategies import get_strategy

    spec = config.strategies[strategy_index]
    rng = np.random.default_rng(seed)
    model = build_model(config, random_state=seed)
    learner = ActiveLearner(model, pool, get_strategy(spec.name, **spec.params), random_state=rng,
                            cold_start=config.cold_start, subsampler=build_subsampler(config),
                            output_options=build_output_options(config, seed), cluster=_cluster(config))
    tokens = pool.counts_tokens
    query_budget = _budget(config.query, pool)
    # A fresh instance of every criterion per run; each sees one state per model version.
    criteria = [(label, stopping_from_config(spec))
                for label, spec in zip(config.stopping_labels, config.stopping, strict=True)]
    needs = tuple(dict.fromkeys(field for _, criterion in criteria for field in criterion.needs))
    main_metric = MAIN_METRIC.get(config.task, "accuracy")

    def decide(result: dict) -> dict:
        """Each criterion's decision on the model just evaluated (its test score is the
        held-out score of the plateau criterion)."""
        if not criteria:
            return result
        started = time.perf_counter()
        result["stopping"] = {}
        if learner.model_version == 0 and any(f.startswith(("stop_set", "pool_")) for f in needs):
            untrained = StopDecision(False, f"not yet: {learner.fit_blocker() or 'the model is not trained'}")
            state = None
        else:
            state = learner.stopping_state(needs, held_out_score=result["metrics"].get(main_metric))
        for label, criterion in criteria:
            decision = untrained if state is None else criterion.update(state)
            result["stopping"][label] = {"stop": bool(decision.stop), "reason": decision.reason,
                                         "value": None if decision.value is None else float(decision.value)}
        result["durations"]["stopping"] = time.perf_counter() - started
        return result

    def record(iteration: int, selected: np.ndarray, durations: dict[str, float], metrics: dict) -> dict:
        labeled = learner.labeled_indices
        result = SimulationRecord(spec.display, seed, iteration, len(labeled), metrics, durations,
                                  list(selected)).as_record()  # the one record format, as simulate()'s
        result["strategy_name"] = spec.name
        if tokens:
            result["n_labeled_tokens"] = int(pool.token_counts[labeled].sum())
        return result

    positions = seed_positions(config, pool, seed)
    metrics, durations = teach_seed_evaluate(learner, pool, test, positions)  # the driver simulate() uses
    current = decide(record(0, positions, durations, metrics))
    steps = tqdm(range(1, config.iterations + 1), desc=f"{spec.display} seed {seed}", unit="iter",
                 leave=False, disable=not progress)
    for iteration in steps:
        remaining = len(learner.unlabeled_indices)
        if remaining == 0:
            break
        yield current
        tokens_unit = config.query.unit == "tokens"
        selection, metrics, durations = query_teach_evaluate(
            learner, pool, test, query_budget if tokens_unit else min(query_budget, remaining),
            "tokens" if tokens_unit else "instances")
        current = decide(record(iteration, selection.indices, durations, metrics))
    current["final"] = True
    yield current


# ---- the whole benchmark -------------------------------------------------------------------
def _cluster(config: BenchmarkConfig) -> Any:
    if config.cluster is None:
        return None
    from labelwise.distributed.clusters import open_cluster

    return open_cluster(config.cluster)


def run_benchmark(config: BenchmarkConfig | str | Path, *, progress: bool = True,
                  on_record: Callable[[dict[str, Any]], None] | None = None) -> Path:
    """Run (or resume) every (strategy, seed) of ``config``; return the output folder.

    Args:
        config: a :class:`BenchmarkConfig` or the path of a YAML config.
        progress: show tqdm bars (runs, iterations).
        on_record: called with each record right after it is written (e.g. for logging).
    """
    if not isinstance(config, BenchmarkConfig):
        config = load_config(config)
    folder = _output_folder(config)
    with exclusive_lock(folder, "benchmark output folder"):
        has_config = _check_config(config, folder)
        pool, test = load_benchmark_data(config)
        if not has_config:  # saved only once the data loads, so a fixed config is not refused
            _save_config(config, folder)
        _run_all(config, folder, pool, test, progress=progress, on_record=on_record)
        if config.reference:
            full_pool_reference(config, folder, pool, test)
    return folder


# ---- the full-pool reference ---------------------------------------------------------------
def _reference_key(config: BenchmarkConfig | dict[str, Any]) -> dict[str, Any]:
    """What the reference score depends on: the task, the data, the model and its helpers
    (not the strategies, the budgets or the seeds). ``config`` may be the stored
    ``config.yaml`` mapping."""
    data = config.to_dict() if isinstance(config, BenchmarkConfig) else config
    return _normalised({"task": data.get("task"), "data": data.get("data"), "model": data.get("model"),
                        "output_options": data.get("output_options") or {}, "seed": REFERENCE_SEED})


def read_reference(folder: str | Path, config: BenchmarkConfig | dict[str, Any] | None = None
                   ) -> dict[str, Any] | None:
    """The cached reference of ``folder`` (for ``config``, or the mapping of its stored
    ``config.yaml``, when given), or None."""
    path = Path(folder) / REFERENCE_FILE
    if not path.is_file():
        return None
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError:
        return None  # a damaged cache is recomputed, never trusted
    if not isinstance(stored, dict) or "metrics" not in stored:
        return None
    if config is not None and stored.get("key") != _reference_key(config):
        return None
    return stored


def full_pool_reference(config: BenchmarkConfig, folder: str | Path, pool: Any, test: Any) -> dict[str, Any]:
    """The test metrics of the config's model trained on the whole (gold-labeled) pool, the
    100 % that label savings are measured against. Computed once (model seed
    ``REFERENCE_SEED``) and cached in ``folder/reference.json``."""
    cached = read_reference(folder, config)
    if cached is not None:
        return cached
    started = time.perf_counter()
    learner = ActiveLearner(build_model(config, random_state=REFERENCE_SEED), pool, "random",
                            random_state=REFERENCE_SEED, output_options=build_output_options(config, REFERENCE_SEED))
    everything = np.arange(len(pool))
    learner.teach(everything, gold_labels(pool, everything))
    reference = {"key": _reference_key(config), "n_labeled": len(pool),
                 "metrics": _metrics(learner.model, test), "seconds": time.perf_counter() - started}
    atomic_write_text(Path(folder) / REFERENCE_FILE, json.dumps(reference, sort_keys=True, indent=1) + "\n")
    return reference


def _run_all(config: BenchmarkConfig, folder: Path, pool: Any, test: Any, *, progress: bool,
             on_record: Callable[[dict[str, Any]], None] | None) -> None:
    records_path = folder / RECORDS_FILE
    records = read_records(folder, repair=True)
    finished = complete_runs(records)
    runs = [(i, seed) for i in range(len(config.strategies)) for seed in config.seeds]
    todo = [(i, seed) for i, seed in runs if (config.strategies[i].display, seed) not in finished]
    partial = {(r["strategy"], r["seed"]) for r in records} - finished
    if partial:  # cut-off or gapped runs restart from scratch: drop their records first
        _rewrite(records_path, [r for r in records if (r["strategy"], r["seed"]) not in partial])
    bar = tqdm(total=len(runs), initial=len(runs) - len(todo), desc=config.name or "benchmark", unit="run",
               disable=not progress)
    with open(records_path, "a", encoding="utf-8") as handle:
        for strategy_index, seed in todo:
            for record in run_one(config, pool, test, strategy_index, seed, progress=progress):
                append_line_durably(handle, json.dumps(record, sort_keys=True))
                if on_record is not None:
                    on_record(record)
            bar.update(1)
    bar.close()
