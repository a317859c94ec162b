"""ActiveLearner: the labeled/unlabeled state of one AL run, its queries and its history."""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from labelwise._random import RandomState, check_random_state, derive_seed
from labelwise.data.datasets import ClassificationDataset, Seq2SeqDataset, TaggingDataset
from labelwise.errors import DataError, SelectionError
from labelwise.loop.history import IterationRecord
from labelwise.loop.schedule import StrategySchedule
from labelwise.models.base import is_fitted
from labelwise.outputs import ModelOutputs, known_outputs
from labelwise.strategies import QueryContext, QueryStrategy, Selection, get_strategy

STATE_FILE = "state.json"
STATE_VERSION = 1


class ActiveLearner:
    """Pool-based active learning around one model, one pool and one strategy (or schedule).

    >>> learner = ActiveLearner(TfidfLogisticRegression(), pool, "entropy", random_state=0)
    >>> first = learner.query(20)            # no labels yet: a random cold start
    >>> learner.teach(first.indices, labels)  # labels in the task's form; retrains
    >>> batch = learner.query(20)             # entropy on the retrained model

    Args:
        model: anything that follows :class:`~labelwise.models.Model`.
        pool: the dataset to choose from; labels in it are ignored (use ``teach``).
        strategy: a registry name, a strategy instance, a :class:`StrategySchedule` or a
            ``{iteration: strategy}`` mapping.
        random_state: seed or Generator; the whole run is reproducible from it.
        cold_start: the strategy for queries made before any label exists, unless the
            scheduled strategy can start cold itself (e.g. ALPS).
        subsampler: optional :class:`~labelwise.subsampling.Subsampler` to score a part of
            the pool (UPS).
        output_options: options for output producers (e.g. ``{"mc_samples": 10}``).
        retrain: retrain the model after each ``teach``.
    """

    def __init__(
        self,
        model: Any,
        pool: ClassificationDataset | TaggingDataset | Seq2SeqDataset,
        strategy: str | QueryStrategy | StrategySchedule | Mapping[int, Any] = "least_confidence",
        *,
        random_state: RandomState = None,
        cold_start: str | QueryStrategy = "random",
        subsampler: Any = None,
        output_options: Mapping[str, Any] | None = None,
        retrain: bool = True,
    ) -> None:
        if len(pool) == 0:
            raise DataError("the pool is empty.")
        self.model = model
        self.pool = pool
        self.schedule = _as_schedule(strategy)
        self.cold_start = get_strategy(cold_start)
        self.subsampler = subsampler
        self.output_options = dict(output_options or {})
        self.retrain = retrain
        self.rng = check_random_state(random_state)
        self._labels: dict[int, Any] = {}
        self._pending: dict[int, None] = {}
        self._pseudo: dict[int, tuple[Any, float]] = {}
        self.history: list[IterationRecord] = []
        self.previous_scores = np.full(len(pool), np.nan)
        self._prepared = False
        self._prepared_options: set[str] = set()
        self._train_seconds = 0.0
        self.last_outputs: ModelOutputs | None = None

    # ---- state -------------------------------------------------------------------------
    @property
    def n_pool(self) -> int:
        return len(self.pool)

    @property
    def labeled_indices(self) -> np.ndarray:
        return np.fromiter(self._labels, dtype=np.int64, count=len(self._labels))

    @property
    def pending_indices(self) -> np.ndarray:
        """Positions queried but not yet taught."""
        return np.fromiter(self._pending, dtype=np.int64, count=len(self._pending))

    @property
    def unlabeled_indices(self) -> np.ndarray:
        mask = np.ones(self.n_pool, dtype=bool)
        mask[self.labeled_indices] = False
        mask[self.pending_indices] = False
        return np.flatnonzero(mask)

    @property
    def iteration(self) -> int:
        return len(self.history)

    def labels_of(self, indices: Sequence[int] | np.ndarray) -> list[Any]:
        return [self._labels[int(i)] for i in indices]

    def labeled_dataset(self) -> Any:
        """The labeled rows with their taught labels, in teaching order."""
        positions = self.labeled_indices
        labels = self.labels_of(positions)
        subset = self.pool.subset(positions)
        if isinstance(subset, ClassificationDataset):
            return subset.with_labels(np.asarray(labels))
        return subset.with_labels(labels)

    # ---- querying ----------------------------------------------------------------------
    def current_strategy(self) -> QueryStrategy:
        strategy = self.schedule.strategy_for(self.iteration)
        if not self._labels and not strategy.cold_start:
            return self.cold_start
        return strategy

    def query(self, k: int, *, unit: str = "instances") -> Selection:
        """Choose ``k`` unlabeled positions (or, with ``unit="tokens"``, sentences whose
        tokens add up to ``k``, exceeding it by at most the last sentence).

        Positions stay reserved until taught, so two queries never return the same one.
        """
        if unit not in ("instances", "tokens"):
            raise SelectionError(f"unit must be 'instances' or 'tokens', got {unit!r}.")
        strategy = self.current_strategy()
        started = time.perf_counter()
        unlabeled = self.unlabeled_indices
        if len(unlabeled) == 0:
            raise SelectionError("every pool position is labeled or pending; nothing left to query.")
        candidates = unlabeled
        if self.subsampler is not None:
            candidates = np.asarray(
                self.subsampler.subsample(unlabeled, iteration=self.iteration,
                                          previous_scores=self.previous_scores, rng=self.rng),
                dtype=np.int64,
            )
        self._prepare_delegates(strategy)
        outputs = self._outputs(expected=_required_kinds(strategy))
        context = self._context(candidates)
        if unit == "tokens":
            selection = self._select_tokens(strategy, outputs, int(k), context)
        else:
            selection = strategy.select(outputs, k, context)
        elapsed = time.perf_counter() - started
        inference = sum(outputs.seconds.values())
        self.previous_scores[selection.candidate_indices] = selection.candidate_scores
        self.previous_scores[selection.indices] = selection.scores
        for position in selection.indices:
            self._pending[int(position)] = None
        self.history.append(
            IterationRecord(
                iteration=self.iteration,
                strategy=strategy.name,
                selected=[int(i) for i in selection.indices],
                n_labeled=len(self._labels),
                durations={"train": self._train_seconds, "inference": inference,
                           "selection": max(elapsed - inference, 0.0)},
            )
        )
        self._train_seconds = 0.0
        return selection

    def _select_tokens(self, strategy: QueryStrategy, outputs: ModelOutputs, budget: int,
                       context: QueryContext) -> Selection:
        counts = context.token_counts
        if counts is None:
            raise SelectionError("a token budget needs a tagging pool (sentences with tokens).")
        if budget < 1:
            raise SelectionError(f"the token budget must be positive, got {budget}.")
        candidate_tokens = counts[context.candidate_indices]
        if candidate_tokens.sum() <= budget:
            k = len(context.candidate_indices)
        else:
            k = min(len(context.candidate_indices), max(1, 2 * math.ceil(budget / max(candidate_tokens.mean(), 1))))
        while True:
            selection = strategy.select(outputs, k, context)
            cumulative = np.cumsum(counts[selection.indices])
            if cumulative[-1] >= budget or k == len(context.candidate_indices):
                break
            k = min(len(context.candidate_indices), 2 * k)
        # Keep sentences until the budget is met: the last one may cross it.
        keep = int(np.searchsorted(cumulative, budget, side="left")) + 1
        keep = min(keep, len(selection.indices))
        return Selection(selection.indices[:keep], selection.scores[:keep],
                         selection.candidate_indices, selection.candidate_scores)

    def _outputs(self, expected: Sequence[str] = ()) -> ModelOutputs:
        self._ensure_prepared()
        options = dict(self.output_options)
        options.setdefault("random_state", derive_seed(self.rng))
        self.last_outputs = ModelOutputs(self.model, self.pool, options=options, expected=expected)
        return self.last_outputs

    def _context(self, candidates: np.ndarray) -> QueryContext:
        labeled = self.labeled_indices
        labels: Any = self.labels_of(labeled)
        n_classes = None
        if isinstance(self.pool, ClassificationDataset):
            labels = np.asarray(labels, dtype=np.int64) if labels else np.empty(0, dtype=np.int64)
            n_classes = self.pool.n_classes
        token_counts = self.pool.token_counts if isinstance(self.pool, TaggingDataset) else None
        return QueryContext(self.n_pool, labeled, candidates, self.rng, labels=labels,
                            iteration=self.iteration, token_counts=token_counts, n_classes=n_classes)

    # ---- teaching ----------------------------------------------------------------------
    def teach(self, indices: Sequence[int] | np.ndarray, labels: Sequence[Any], *, retrain: bool | None = None) -> None:
        """Record labels for ``indices`` and (by default) retrain the model.

        Labels take the task's form: class ids or names (classification; indicator rows or
        lists of names for multi-label), tag sequences (tagging), target texts (seq2seq).
        """
        positions = np.asarray(indices, dtype=np.int64).reshape(-1)
        labels = list(labels)
        if len(labels) != len(positions):
            raise DataError(f"teach() got {len(positions)} positions but {len(labels)} labels.")
        if len(set(positions.tolist())) != len(positions):
            raise DataError("teach() got the same position twice.")
        if positions.size and (positions.min() < 0 or positions.max() >= self.n_pool):
            raise DataError(f"teach(): positions must lie in [0, {self.n_pool}).")
        converted = [self._convert_label(int(p), label) for p, label in zip(positions, labels, strict=True)]
        for position, label in zip(positions, converted, strict=True):
            self._labels[int(position)] = label
            self._pending.pop(int(position), None)
            self._pseudo.pop(int(position), None)  # a gold label replaces a pseudo-label
        if retrain if retrain is not None else self.retrain:
            self.fit()

    def release(self, indices: Sequence[int] | np.ndarray) -> None:
        """Return queried-but-unlabeled positions to the pool (e.g. skipped by an annotator)."""
        for position in np.asarray(indices, dtype=np.int64).reshape(-1):
            self._pending.pop(int(position), None)

    def _convert_label(self, position: int, label: Any) -> Any:
        pool = self.pool
        if isinstance(pool, ClassificationDataset):
            if pool.multi_label:
                if isinstance(label, (list, tuple, set)) and all(isinstance(x, str) for x in label):
                    row = np.zeros(pool.n_classes, dtype=np.int8)
                    row[pool.label_ids(list(label))] = 1
                    return row.tolist()
                row = np.asarray(label, dtype=np.int8).reshape(-1)
                if row.shape != (pool.n_classes,):
                    raise DataError(f"position {position}: a multi-label label needs {pool.n_classes} indicators.")
                return row.tolist()
            if isinstance(label, str):
                return int(pool.label_ids([label])[0])
            value = int(label)
            if not 0 <= value < pool.n_classes:
                raise DataError(
                    f"position {position}: label id {value} is outside 0..{pool.n_classes - 1} "
                    f"({list(pool.label_names)})."
                )
            return value
        if isinstance(pool, TaggingDataset):
            tags = tuple(label)
            expected = len(pool.tokens[position])
            if len(tags) != expected:
                raise DataError(f"position {position}: {len(tags)} tags for a sentence of {expected} tokens.")
            return tags
        if not isinstance(label, str) or not label.strip():
            raise DataError(f"position {position}: a seq2seq label must be a non-empty target text.")
        return label

    def teach_pseudo(self, indices: Sequence[int] | np.ndarray, labels: Sequence[Any],
                     weights: Sequence[float] | np.ndarray | None = None, *, retrain: bool = False) -> None:
        """Set pseudo-labels for self-training (e.g. from ``AcTune.pseudo_labels``).

        Pseudo-labeled rows stay unlabeled (they can still be queried and are not in
        ``labeled_indices``) but are added to the training set on every ``fit`` until
        replaced: each call replaces the previous pseudo-labels; ``clear_pseudo`` drops
        them; a gold label from ``teach`` overrides the row's pseudo-label. ``weights``
        (one per row, default 1) reach the model as ``sample_weight`` (gold rows weigh
        1) when its ``fit`` accepts that argument, and are ignored otherwise.
        Pseudo-labels are not saved by ``save``.
        """
        positions = np.asarray(indices, dtype=np.int64).reshape(-1)
        labels = list(labels)
        weights = np.ones(len(positions)) if weights is None else np.asarray(weights, dtype=np.float64).reshape(-1)
        if len(labels) != len(positions) or len(weights) != len(positions):
            raise DataError(f"teach_pseudo() got {len(positions)} positions, {len(labels)} labels "
                            f"and {len(weights)} weights; give one of each per position.")
        if len(set(positions.tolist())) != len(positions):
            raise DataError("teach_pseudo() got the same position twice.")
        if positions.size and (positions.min() < 0 or positions.max() >= self.n_pool):
            raise DataError(f"teach_pseudo(): positions must lie in [0, {self.n_pool}).")
        if not np.isfinite(weights).all() or (weights < 0).any():
            raise DataError("teach_pseudo(): weights must be finite and non-negative.")
        pseudo = {}
        for position, label, weight in zip(positions, labels, weights, strict=True):
            if int(position) in self._labels:
                continue  # gold labels win
            pseudo[int(position)] = (self._convert_label(int(position), label), float(weight))
        self._pseudo = pseudo
        if retrain:
            self.fit()

    def self_train(self, strategy: str | QueryStrategy | None = None, *,
                   retrain: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Pseudo-label unlabeled, non-pending rows with a strategy that offers
        ``pseudo_labels(outputs, context)`` (e.g. ``"actune"``; default: the current
        strategy), set them with :meth:`teach_pseudo` and retrain. Returns ``(positions,
        labels, weights)``. Needs a fitted model."""
        chosen = self.current_strategy() if strategy is None else get_strategy(strategy)
        if not callable(getattr(chosen, "pseudo_labels", None)):
            raise SelectionError(f"strategy {chosen.name!r} offers no pseudo_labels(); use e.g. 'actune'.")
        if not self._labels:
            raise DataError("self-training needs a model trained on some labels; teach() first.")
        positions, labels, weights = chosen.pseudo_labels(self._outputs(), self._context(self.unlabeled_indices))
        self.teach_pseudo(positions, list(labels), weights, retrain=retrain)
        return positions, labels, weights

    def clear_pseudo(self) -> None:
        """Drop every pseudo-label set by :meth:`teach_pseudo`."""
        self._pseudo = {}

    @property
    def pseudo_indices(self) -> np.ndarray:
        """Positions that carry a pseudo-label."""
        return np.fromiter(self._pseudo, dtype=np.int64, count=len(self._pseudo))

    def fit(self) -> None:
        """Retrain the model on every labeled row (plus pseudo-labeled rows, if any)."""
        if not self._labels:
            raise DataError("nothing is labeled yet; teach() some labels first.")
        self._ensure_prepared()
        if hasattr(self.model, "random_state"):
            self.model.random_state = derive_seed(self.rng)
        started = time.perf_counter()
        if self._pseudo:
            self._fit_with_pseudo()
        else:
            self.model.fit(self.labeled_dataset())
        self._train_seconds += time.perf_counter() - started

    def _fit_with_pseudo(self) -> None:
        import inspect

        positions = np.concatenate([self.labeled_indices, self.pseudo_indices])
        labels = self.labels_of(self.labeled_indices) + [label for label, _ in self._pseudo.values()]
        weights = np.concatenate([np.ones(len(self._labels)), [w for _, w in self._pseudo.values()]])
        subset = self.pool.subset(positions)
        dataset = subset.with_labels(np.asarray(labels)) if isinstance(subset, ClassificationDataset) \
            else subset.with_labels(labels)
        try:
            accepts_weight = "sample_weight" in inspect.signature(self.model.fit).parameters
        except (TypeError, ValueError):
            accepts_weight = False
        if accepts_weight:
            self.model.fit(dataset, sample_weight=weights)
        else:
            self.model.fit(dataset)

    def _ensure_prepared(self) -> None:
        if not self._prepared and callable(getattr(self.model, "prepare", None)):
            self.model.prepare(self.pool.without_labels())
        self._prepared = True

    def _prepare_delegates(self, strategy: QueryStrategy) -> None:
        """A helper model given as an output option (a language model for ALPS) sees the
        pool once, when a strategy first needs it: its MLM head trains only if used."""
        kinds = known_outputs()
        for kind in _required_kinds(strategy):
            option = kinds[kind].delegate_option if kind in kinds else None
            component = self.output_options.get(option) if option else None
            if component is not None and option not in self._prepared_options:
                if callable(getattr(component, "prepare", None)):
                    component.prepare(self.pool.without_labels())
                self._prepared_options.add(option)

    @property
    def model_is_fitted(self) -> bool:
        return is_fitted(self.model)

    # ---- persistence -------------------------------------------------------------------
    def save(self, folder: str | Path) -> Path:
        """Write the learner's state (labels, pending queries, history, RNG) and its model
        to ``folder``. The pool is not copied: a fingerprint checks it on load."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        state = {
            "version": STATE_VERSION,
            "task": self.pool.task,
            "n_pool": self.n_pool,
            "pool_fingerprint": pool_fingerprint(self.pool),
            "labels": [[position, _jsonable(label)] for position, label in self._labels.items()],
            "pending": list(self._pending),
            "history": [record.to_dict() for record in self.history],
            "rng_state": self.rng.bit_generator.state,
            "rng_class": type(self.rng.bit_generator).__name__,
            "previous_scores": [None if math.isnan(s) else s for s in self.previous_scores.tolist()],
            "schedule": [[start, strategy.name, _jsonable_params(strategy)] for start, strategy in self.schedule.phases],
            "cold_start": [self.cold_start.name, _jsonable_params(self.cold_start)],
            # Objects among the options (a language model) are not saved: pass them again to load().
            "output_options": _json_items(self.output_options),
            "retrain": self.retrain,
            "prepared": self._prepared,
        }
        _save_model(self.model, folder)
        _atomic_write(folder / STATE_FILE, json.dumps(state))
        return folder

    @classmethod
    def load(cls, folder: str | Path, pool: Any, *, model: Any = None,
             strategy: Any = None, subsampler: Any = None,
             output_options: Mapping[str, Any] | None = None) -> ActiveLearner:
        """Restore a learner saved with :meth:`save`. ``pool`` must be the same dataset;
        ``model`` is needed only for models saved with their own ``save``/``load``;
        ``output_options`` adds options that are objects (a language model), which
        ``save`` does not write."""
        folder = Path(folder)
        path = folder / STATE_FILE
        if not path.exists():
            raise DataError("no saved learner here.", path=str(path), fix="pass the folder given to save().")
        try:
            state = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as error:
            raise DataError(f"the state file is corrupt ({error.msg}).", path=str(path), line=error.lineno) from None
        if state.get("version") != STATE_VERSION:
            raise DataError(f"state version {state.get('version')} is not supported.", path=str(path))
        if state["n_pool"] != len(pool) or state["pool_fingerprint"] != pool_fingerprint(pool):
            raise DataError(
                "the pool differs from the one the learner was saved with.",
                path=str(path),
                fix="pass the same dataset (same rows, same order) that was used before saving.",
            )
        model = _load_model(folder, model)
        if strategy is None:
            strategy = StrategySchedule([(start, (name, params)) for start, name, params in state["schedule"]])
        learner = cls(model, pool, strategy, cold_start=get_strategy(state["cold_start"][0], **state["cold_start"][1]),
                      subsampler=subsampler, output_options={**state["output_options"], **(output_options or {})},
                      retrain=state["retrain"])
        bit_generator = getattr(np.random, state["rng_class"])()
        bit_generator.state = state["rng_state"]
        learner.rng = np.random.Generator(bit_generator)
        learner._labels = {int(p): _restore_label(label, pool) for p, label in state["labels"]}
        learner._pending = {int(p): None for p in state["pending"]}
        learner.history = [IterationRecord.from_dict(r) for r in state["history"]]
        learner.previous_scores = np.array([np.nan if s is None else s for s in state["previous_scores"]])
        learner._prepared = state["prepared"]
        return learner

    def __repr__(self) -> str:
        return (f"ActiveLearner({type(self.model).__name__}, pool={self.n_pool}, labeled={len(self._labels)}, "
                f"iteration={self.iteration}, schedule={self.schedule!r})")


def _required_kinds(strategy: Any) -> tuple[str, ...]:
    """The output kinds a strategy reads, including those of a wrapped base strategy."""
    kinds = list(getattr(strategy, "requires", ()))
    base = getattr(strategy, "base", None)
    if base is not None and not isinstance(base, str):
        kinds += [k for k in getattr(base, "requires", ()) if k not in kinds]
    return tuple(kinds)


def _json_items(mapping: Mapping[str, Any]) -> dict[str, Any]:
    """The items whose values JSON can write (objects such as models are left out)."""
    items = {}
    for key, value in mapping.items():
        try:
            json.dumps(value)
        except TypeError:
            continue
        items[key] = value
    return items


def _as_schedule(strategy: Any) -> StrategySchedule:
    if isinstance(strategy, StrategySchedule):
        return strategy
    if isinstance(strategy, Mapping):
        return StrategySchedule(strategy)
    return StrategySchedule({0: strategy})


def pool_fingerprint(pool: Any) -> str:
    """SHA-256 over the pool's inputs, to check that a saved learner meets the same data."""
    digest = hashlib.sha256()
    for item in pool.inputs:
        digest.update(json.dumps(item, ensure_ascii=False).encode("utf-8"))
        digest.update(b"\x00")
    return digest.hexdigest()


def _jsonable(label: Any) -> Any:
    if isinstance(label, np.generic):
        return label.item()
    if isinstance(label, (tuple, np.ndarray)):
        return list(np.asarray(label).tolist()) if isinstance(label, np.ndarray) else list(label)
    return label


def _restore_label(label: Any, pool: Any) -> Any:
    if isinstance(pool, TaggingDataset):
        return tuple(label)
    return label


def _jsonable_params(strategy: QueryStrategy) -> dict[str, Any]:
    return _json_items(strategy.get_params())


def _atomic_write(path: Path, text: str) -> None:
    temporary = path.with_name(path.name + ".tmp")
    with open(temporary, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def _save_model(model: Any, folder: Path) -> None:
    if callable(getattr(model, "save", None)):
        model.save(folder / "model")
        (folder / "model.kind").write_text("own", encoding="utf-8")
    else:
        import joblib

        temporary = folder / "model.joblib.tmp"
        joblib.dump(model, temporary)
        os.replace(temporary, folder / "model.joblib")
        (folder / "model.kind").write_text("joblib", encoding="utf-8")


def _load_model(folder: Path, model: Any) -> Any:
    kind = (folder / "model.kind").read_text(encoding="utf-8").strip() if (folder / "model.kind").exists() else ""
    if kind == "joblib":
        import joblib

        return joblib.load(folder / "model.joblib")
    if kind == "own":
        from labelwise.models._estimator import load_model

        # a new fitted model (load() is a classmethod on every labelwise model); without
        # model=, the class is read from params.json (labelwise's own models only).
        loaded = load_model(folder / "model", template=model)
        return model if loaded is None else loaded
    if model is None:
        raise DataError("no saved model found.", path=str(folder))
    return model
