"""ActiveLearner: the labeled/unlabeled state of one AL run, its queries and its history."""

from __future__ import annotations

import copy
import hashlib
import inspect
import io
import json
import math
import time
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import clone

from labelwise._deprecation import renamed
from labelwise._io import atomic_write_bytes, atomic_write_text
from labelwise._random import RandomState, check_random_state, derive_seed
from labelwise.data.datasets import ClassificationDataset, Seq2SeqDataset, TaggingDataset
from labelwise.errors import ConfigError, DataError, LabelwiseError, SelectionError
from labelwise.loop.history import IterationRecord
from labelwise.loop.schedule import StrategySchedule
from labelwise.models.base import is_fitted
from labelwise.outputs import ModelOutputs, known_outputs
from labelwise.outputs.tagging import pad_token_rows
from labelwise.stopping import StopDecision, StoppingCriterion, StoppingState, stopping_from_config
from labelwise.strategies import QueryContext, QueryStrategy, Selection, get_strategy

STATE_FILE = "state.json"
STATE_VERSION = 1
#: rows of the stop set drawn from the pool when ``stop_set`` is not given
STOP_SET_SIZE = 1000
_STATE_FIELDS = ("n_pool", "pool_fingerprint", "labels", "pending", "history", "rng_state", "rng_class",
                 "previous_scores", "schedule", "cold_start", "output_options", "retrain", "prepared")


class ColdStartWarning(UserWarning):
    """The labels cannot train the model yet (e.g. one class so far): the learner keeps
    querying with its cold-start strategy until they can."""


class ActiveLearner:
    """Pool-based active learning around one model, one pool and one strategy (or schedule).

    >>> learner = ActiveLearner(TfidfLogisticRegression(), pool, "entropy", random_state=0)
    >>> first = learner.query(20)            # no labels yet: a random cold start
    >>> learner.teach(first.indices, labels)  # labels in the task's form; retrains
    >>> batch = learner.query(20)             # entropy on the retrained model

    Args:
        model: anything that follows :class:`~labelwise.models.Model`. A scikit-learn style
            model (one with ``get_params``, as every labelwise adapter) is not changed: the
            learner works on ``sklearn.base.clone(model)`` (a deep copy when the model is
            already fitted, so its weights serve until the first retrain), sets its
            ``random_state`` with ``set_params`` before each fit, and ``learner.model`` is
            that copy. A model without ``get_params`` is used, and fitted, as it is.
        pool: the dataset to choose from; labels in it are ignored (use ``teach``).
        strategy: a registry name, a strategy instance, a :class:`StrategySchedule` or a
            ``{iteration: strategy}`` mapping.
        random_state: seed or Generator; the whole run is reproducible from it.
        cold_start: the strategy for queries made before the labels can train the model
            (none yet, or a single class so far), unless the scheduled strategy can start
            cold itself (e.g. ALPS).
        subsampler: optional :class:`~labelwise.subsampling.Subsampler` to score a part of
            the pool (UPS).
        output_options: options for output producers (e.g. ``{"mc_samples": 10}``).
        retrain: retrain the model after each ``teach``.
        cluster: a ``dask.distributed.Client``, a scheduler address or a cluster object: pool
            inference and scoring then run on its workers (see ``docs/distributed.md``); the
            same seed gives the same selection as one process.
        stopping: a stopping criterion for :meth:`should_stop`: a name, an instance, or a
            config spec read by :func:`~labelwise.stopping.stopping_from_config`.
        stop_set: the fixed rows the agreement criteria predict after each retraining:
            None (``min(1000, n_pool)`` pool rows drawn once from ``random_state``), a number
            of pool rows, or a dataset of the pool's task.
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
        cluster: Any = None,
        stopping: Any = None,
        stop_set: int | Any = None,
    ) -> None:
        if len(pool) == 0:
            raise DataError("the pool is empty.")
        self.model = _own_copy(model)
        # a model handed over fitted keeps its own features until the learner first retrains
        # it: preparing it on the pool could change them (TF-IDF refits its vocabulary)
        self._given_fitted = is_fitted(model)
        self.pool = pool
        self.schedule = _as_schedule(strategy)
        self.cold_start = get_strategy(cold_start)
        self.subsampler = subsampler
        self.output_options = dict(output_options or {})
        self.retrain = retrain
        self.cluster = cluster
        self._cluster_scorer: Any = None
        self.rng = check_random_state(random_state)
        self._labels: dict[int, Any] = {}
        self._pending: dict[int, None] = {}
        self._pseudo: dict[int, tuple[Any, float]] = {}
        self._weights: dict[int, float] = {}  # gold rows taught with a weight other than 1
        self.history: list[IterationRecord] = []
        self.previous_scores = np.full(len(pool), np.nan)
        self._prepared = False
        self._prepared_options: set[str] = set()
        self._train_seconds = 0.0
        self.last_outputs: ModelOutputs | None = None
        #: goes up each time the model is retrained; the ``iteration`` of stopping states
        self.model_version = 0
        self._outputs_version = -1  # model version of last_outputs
        self._last_query: tuple[int, np.ndarray] | None = None  # (model version, positions)
        self._stop_outputs: tuple[int, ModelOutputs] | None = None
        self.stopping: StoppingCriterion | None = None if stopping is None else stopping_from_config(stopping)
        self._stopping_spec = stopping if stopping is None or _is_json(stopping) else None
        self.last_stop_decision: StopDecision | None = None
        self.stop_set_positions: np.ndarray | None = None
        self.stop_set_data: Any = None
        if stopping is not None or stop_set is not None:  # else drawn when first needed
            self.stop_set_positions, self.stop_set_data = self._draw_stop_set(stop_set)

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
        return self.pool.subset(positions).with_labels(labels)

    # ---- querying ----------------------------------------------------------------------
    def current_strategy(self) -> QueryStrategy:
        """The scheduled strategy, or the cold-start one while the labels cannot train the
        model (see :meth:`fit_blocker`) and the scheduled one needs a trained model."""
        strategy = self.schedule.strategy_for(self.iteration)
        if not strategy.cold_start and self.fit_blocker() is not None:
            return self.cold_start
        return strategy

    def fit_blocker(self) -> str | None:
        """Why the labels cannot train the model yet, or ``None`` when they can: nothing
        labeled, or (single-label classification) fewer than two distinct classes, which
        no classifier can learn from."""
        if not self._labels:
            return "nothing is labeled yet"
        return self.pool.fit_blocker([*self._labels.values(), *(label for label, _ in self._pseudo.values())])

    def query(self, query_size: int | None = None, *, unit: str = "instances", k: int | None = None) -> Selection:
        """Choose ``query_size`` unlabeled positions (or, with ``unit="tokens"``, sentences
        whose tokens add up to ``query_size``, exceeding it by at most the last sentence).

        Positions stay reserved until taught, so two queries never return the same one.
        ``k=`` is the old name of ``query_size`` (FutureWarning; removed in the next release).
        """
        k = renamed(query_size, k, old="k", new="query_size", where="ActiveLearner.query()")
        if k is None:
            raise SelectionError("ActiveLearner.query() needs query_size (how many positions to choose).")
        if unit not in ("instances", "tokens"):
            raise SelectionError(f"unit must be 'instances' or 'tokens', got {unit!r}.")
        strategy = self.current_strategy()
        started = time.perf_counter()
        unlabeled = self.unlabeled_indices
        if len(unlabeled) == 0:
            raise SelectionError("every pool position is labeled or pending; nothing left to query.")
        candidates = unlabeled
        if self.subsampler is not None:
            candidates = self._subsample(unlabeled, int(k) if unit == "instances" else 1,
                                         query_tokens=int(k) if unit == "tokens" else None)
        self._prepare_delegates(strategy)
        outputs = self._outputs(expected=_required_kinds(strategy))
        context = self._context(candidates)
        if self.cluster is not None:
            from labelwise.distributed.learner_bridge import cluster_select

            selection, outputs = cluster_select(self, strategy, outputs, int(k), context, unit)
        elif unit == "tokens":
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
        self._last_query = (self.model_version if self._outputs_version == self.model_version else -1,
                            np.asarray(selection.indices, dtype=np.int64))
        return selection

    def _subsample(self, unlabeled: np.ndarray, query_size: int, query_tokens: int | None = None) -> np.ndarray:
        """The subsampler's candidates; it is told the query size (when its ``subsample``
        takes ``query_size``) so that it keeps at least that many rows, and a token budget
        with the pool's token counts (when it takes ``query_tokens``), so that the
        candidates hold at least that many tokens."""
        options: dict[str, Any] = {"iteration": self.iteration, "previous_scores": self.previous_scores,
                                   "rng": self.rng}
        if _accepts_keyword(self.subsampler.subsample, "query_size"):
            options["query_size"] = query_size
        token_counts = self.pool.query_context([])["token_counts"] if query_tokens is not None else None
        if token_counts is not None and _accepts_keyword(self.subsampler.subsample, "query_tokens"):
            options.update(query_tokens=query_tokens, token_counts=token_counts)
        candidates = np.asarray(self.subsampler.subsample(unlabeled, **options), dtype=np.int64).reshape(-1)
        needed = min(query_size, len(unlabeled))
        if len(np.unique(candidates)) < needed:
            raise SelectionError(
                f"the subsampler {type(self.subsampler).__name__} kept {len(np.unique(candidates))} candidates "
                f"for a query of {query_size}. Fix: let its subsample() accept a query_size keyword and keep at "
                "least that many rows, or query fewer.")
        return candidates

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
        if not (self._given_fitted and self.model_version == 0):
            self._ensure_prepared()
        options = dict(self.output_options)
        options.setdefault("random_state", derive_seed(self.rng))
        self.last_outputs = ModelOutputs(self.model, self.pool, options=options, expected=expected)
        self._outputs_version = self.model_version
        return self.last_outputs

    def _context(self, candidates: np.ndarray) -> QueryContext:
        labeled = self.labeled_indices
        # labels, n_classes, multi_label, token_counts: declared by the data
        return QueryContext(self.n_pool, labeled, candidates, self.rng, iteration=self.iteration,
                            **self.pool.query_context(self.labels_of(labeled)))

    # ---- teaching ----------------------------------------------------------------------
    def teach(self, indices: Sequence[int] | np.ndarray, labels: Sequence[Any], *, retrain: bool | None = None,
              weights: Sequence[float] | np.ndarray | None = None) -> None:
        """Record labels for ``indices`` and (by default) retrain the model.

        Labels take the task's form: class ids or names (classification; indicator rows or
        lists of names for multi-label), tag sequences (tagging), target texts (seq2seq).
        ``weights`` (one per row in [0, 1], e.g. the confidence of labels aggregated over
        several annotators) reach the model as ``sample_weight`` when its ``fit`` accepts
        that argument and are ignored otherwise; rows taught without weights weigh 1.
        Weights are not saved by ``save``.
        """
        positions = np.asarray(indices, dtype=np.int64).reshape(-1)
        labels = list(labels)
        if len(labels) != len(positions):
            raise DataError(f"teach() got {len(positions)} positions but {len(labels)} labels.")
        if weights is not None:
            weights = np.asarray(weights, dtype=np.float64).reshape(-1)
            if len(weights) != len(positions) or not np.isfinite(weights).all() or (weights < 0).any():
                raise DataError(f"teach() got {len(weights)} weights for {len(positions)} positions; give one "
                                "finite, non-negative weight per position (or none).")
        if len(set(positions.tolist())) != len(positions):
            raise DataError("teach() got the same position twice.")
        if positions.size and (positions.min() < 0 or positions.max() >= self.n_pool):
            raise DataError(f"teach(): positions must lie in [0, {self.n_pool}).")
        converted = [self._convert_label(int(p), label) for p, label in zip(positions, labels, strict=True)]
        for position, label in zip(positions, converted, strict=True):
            self._labels[int(position)] = label
            self._pending.pop(int(position), None)
            self._pseudo.pop(int(position), None)  # a gold label replaces a pseudo-label
            self._weights.pop(int(position), None)
        if weights is not None:
            self._weights.update((int(p), float(w)) for p, w in zip(positions, weights, strict=True) if w != 1.0)
        if retrain if retrain is not None else self.retrain:
            self.fit()
    def release(self, indices: Sequence[int] | np.ndarray) -> None:
        """Return queried-but-unlabeled positions to the pool (e.g. skipped by an annotator)."""
        for position in np.asarray(indices, dtype=np.int64).reshape(-1):
            self._pending.pop(int(position), None)

    def _convert_label(self, position: int, label: Any) -> Any:
        """``label`` in the learner's stored form; DataError naming the position for
        anything that is not a label of this task (never a silent truncation)."""
        return self.pool.encode_label(label, f"position {position}", position=position)

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
        """Retrain the model on every labeled row (plus pseudo-labeled rows, if any).

        While the labels cannot train it (a single class so far, see :meth:`fit_blocker`)
        this warns with :class:`ColdStartWarning` and leaves the model as it is; queries
        then use the cold-start strategy."""
        if not self._labels:
            raise DataError("nothing is labeled yet; teach() some labels first.")
        blocker = self.fit_blocker()
        if blocker is not None:
            warnings.warn(
                f"the model was not trained: {blocker}. Queries go on with the cold-start strategy "
                f"{self.cold_start.name!r} until the labels can train it.", ColdStartWarning, stacklevel=2)
            return
        self._ensure_prepared()
        _set_random_state(self.model, derive_seed(self.rng))
        started = time.perf_counter()
        if self._pseudo or self._weights:
            self._fit_with_pseudo()
        else:
            self.model.fit(self.labeled_dataset())
        self._train_seconds += time.perf_counter() - started
        self.model_version += 1

    def _fit_with_pseudo(self) -> None:
        import inspect

        positions = np.concatenate([self.labeled_indices, self.pseudo_indices])
        labels = self.labels_of(self.labeled_indices) + [label for label, _ in self._pseudo.values()]
        gold_weights = [self._weights.get(int(p), 1.0) for p in self.labeled_indices]
        weights = np.concatenate([gold_weights, [w for _, w in self._pseudo.values()]])
        dataset = self.pool.subset(positions).with_labels(labels)
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

    # ---- stopping ----------------------------------------------------------------------
    def _draw_stop_set(self, stop_set: Any) -> tuple[np.ndarray | None, Any]:
        """``(pool positions, None)`` or ``(None, dataset)``. Pool rows are drawn from a
        generator jumped ahead of the learner's, so the draw leaves the run's own random
        stream (and so its selections) exactly as without a stop set."""
        if stop_set is not None and not _is_integer(stop_set):
            if getattr(stop_set, "task", None) != self.pool.task or len(stop_set) == 0:
                raise ConfigError(
                    f"stop_set must be a number of pool rows or a non-empty {self.pool.task} dataset, got "
                    f"{type(stop_set).__name__}{'' if getattr(stop_set, 'task', None) is None else ' of task ' + repr(stop_set.task)}.")
            return None, stop_set.without_labels()
        size = min(STOP_SET_SIZE, self.n_pool) if stop_set is None else int(stop_set)
        if not 1 <= size <= self.n_pool:
            raise ConfigError(f"stop_set: {size} rows asked, but the pool has {self.n_pool}; give 1..{self.n_pool}.")
        generator = _side_generator(self.rng)
        return np.sort(generator.choice(self.n_pool, size=size, replace=False)).astype(np.int64), None

    def _stopping_outputs(self) -> ModelOutputs:
        """Outputs of the current model: the last query's when they come from it, else one
        cache per model version (polling twice predicts once). Never draws from ``self.rng``."""
        if self.last_outputs is not None and self._outputs_version == self.model_version:
            return self.last_outputs
        if self._stop_outputs is None or self._stop_outputs[0] != self.model_version:
            self._stop_outputs = (self.model_version, ModelOutputs(self.model, self.pool,
                                                                   options=dict(self.output_options)))
        return self._stop_outputs[1]

    def stopping_state(self, needs: Sequence[str] | None = None, *, held_out_score: float | None = None,
                       cost: float | None = None) -> StoppingState:
        """The :class:`~labelwise.stopping.StoppingState` of the current model version,
        computing only the fields in ``needs`` (a criterion's ``needs``; None: all of them).

        Stop set: class probabilities (classification), predicted tag sequences (tagging) or
        generated texts (seq2seq). Pool: the positions not labeled yet (pending included),
        their probabilities (token probabilities and a mask for tagging) or, for seq2seq,
        generated texts. ``selected_indices``: the last query's batch, only when it was
        chosen from this model's outputs.
        """
        wanted = {field for group in (needs if needs is not None else _ALL_NEEDS) for field in group.split("|")}
        task = self.pool.task
        fields: dict[str, Any] = {"held_out_score": held_out_score, "cost": cost}
        model_fields = {"stop_set_predictions", "stop_set_probabilities", "pool_probabilities", "pool_mask",
                        "pool_predictions"}
        if wanted & model_fields and self.model_version == 0:
            raise DataError("the model is not trained yet, so there are no predictions to judge; teach() "
                            "labels that can train it first.")
        not_labeled = np.flatnonzero(~np.isin(np.arange(self.n_pool), self.labeled_indices))
        if wanted & ({"pool_indices", "selected_indices"} | model_fields - {"stop_set_predictions",
                                                                            "stop_set_probabilities"}):
            fields["pool_indices"] = not_labeled
        if wanted & {"stop_set_predictions", "stop_set_probabilities"}:
            fields.update(self._stop_set_fields(task))
        if wanted & {"pool_probabilities", "pool_mask", "pool_predictions"}:
            fields.update(self._pool_fields(task, not_labeled, wanted))
        if "selected_indices" in wanted and self._last_query is not None \
                and self._last_query[0] == self.model_version:
            selected = self._last_query[1]
            fields["selected_indices"] = selected[np.isin(selected, not_labeled)]
        return StoppingState(iteration=self.model_version, n_labeled=len(self._labels), task=task, **fields)

    def _stop_set_fields(self, task: str) -> dict[str, Any]:
        if self.stop_set_positions is None and self.stop_set_data is None:
            self.stop_set_positions, self.stop_set_data = self._draw_stop_set(None)
        if self.stop_set_positions is not None:
            if task == "classification":
                return {"stop_set_probabilities": self._stopping_outputs().get("probabilities",
                                                                               self.stop_set_positions)}
            return {"stop_set_predictions": list(self.model.predict(self.pool.subset(self.stop_set_positions)))}
        if task == "classification":
            return {"stop_set_probabilities": np.asarray(self.model.predict_proba(self.stop_set_data))}
        return {"stop_set_predictions": list(self.model.predict(self.stop_set_data))}

    def _pool_fields(self, task: str, positions: np.ndarray, wanted: set[str]) -> dict[str, Any]:
        outputs = self._stopping_outputs()
        if task == "classification":
            return {"pool_probabilities": outputs.get("probabilities", positions)}
        if task == "tagging" and ("pool_probabilities" in wanted or outputs.can_compute("token_probabilities")):
            probabilities, mask = pad_token_rows(list(outputs.get("token_probabilities", positions)))
            return {"pool_probabilities": probabilities, "pool_mask": mask}
        if task == "tagging":
            return {"pool_predictions": list(self.model.predict(self.pool.subset(positions)))}
        return {"pool_predictions": list(outputs.get("generations", positions))}

    def should_stop(self, held_out_score: float | None = None, cost: float | None = None) -> StopDecision:
        """Ask the learner's stopping criterion (``stopping=``) whether labelling may stop now.

        Call it after each retraining (each ``teach``); the criterion sees one state per model
        version (asking twice returns the same decision). ``held_out_score`` feeds the
        plateau criterion, ``cost`` the cost budget. Before the model can be trained, the
        answer is "not yet" for criteria that judge the model's predictions.
        The decision is kept as :attr:`last_stop_decision` (saved by :meth:`save`).
        """
        if self.stopping is None:
            raise ConfigError("this learner has no stopping criterion. Fix: pass stopping= to ActiveLearner, "
                              "e.g. stopping='stabilizing_predictions'.")
        needs = tuple(self.stopping.needs)
        model_fields = ("stop_set", "pool_")
        if self.model_version == 0 and any(f.startswith(model_fields) for n in needs for f in n.split("|")):
            why = self.fit_blocker() or "the model has not been trained yet (teach() with retraining)"
            decision = StopDecision(False, f"not yet: {why}", None)
        else:
            decision = self.stopping.update(self.stopping_state(needs, held_out_score=held_out_score, cost=cost))
        self.last_stop_decision = decision
        return decision

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
            # What a strategy learned online (ALBL's bandit): per phase, via its get_state hook.
            "strategy_states": [[i, strategy.name, strategy.get_state()]
                                for i, (_, strategy) in enumerate(self.schedule.phases) if hasattr(strategy, "get_state")],
            # Objects among the options (a language model) are not saved: pass them again to load().
            "output_options": _json_items(self.output_options),
            "retrain": self.retrain,
            "prepared": self._prepared,
            # Stopping: the criterion's spec (when it is plain data), the fixed stop set, the
            # model version and the last decision; the criterion's own history is not saved.
            "model_version": self.model_version,
            "stopping": self._stopping_spec,
            "stop_set": None if self.stop_set_positions is None else self.stop_set_positions.tolist(),
            "last_stop_decision": None if self.last_stop_decision is None else {
                "stop": bool(self.last_stop_decision.stop), "reason": self.last_stop_decision.reason,
                "value": None if self.last_stop_decision.value is None else float(self.last_stop_decision.value)},
        }
        _save_model(self.model, folder)
        atomic_write_text(folder / STATE_FILE, json.dumps(state))
        return folder

    @classmethod
    def load(cls, folder: str | Path, pool: Any, *, model: Any = None,
             strategy: Any = None, subsampler: Any = None,
             output_options: Mapping[str, Any] | None = None, stopping: Any = None,
             stop_set: Any = None) -> ActiveLearner:
        """Restore a learner saved with :meth:`save`. ``pool`` must be the same dataset;
        ``model`` is needed only for models saved with their own ``save``/``load`` (the
        learner keeps what that ``load`` returns, so a classmethod ``load`` works too);
        ``output_options`` adds options that are objects (a language model), which
        ``save`` does not write. ``stopping`` replaces the saved stopping spec (needed when
        the criterion was an object); ``stop_set`` gives again a stop set that was a dataset.
        The last stop decision survives; a criterion's history (a kappa window) starts anew.

        Security: a model saved without its own ``save`` is a pickle (``model.joblib``);
        loading it runs code from the file. Load only folders you trust.

        A damaged folder (a missing field, a truncated model file, a label or position
        that does not fit the pool) raises :class:`~labelwise.errors.DataError` naming the
        file and the field.
        """
        folder = Path(folder)
        path = folder / STATE_FILE
        if not path.exists():
            raise DataError("no saved learner here.", path=str(path), fix="pass the folder given to save().")
        try:
            state = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as error:
            raise DataError(f"the state file is corrupt ({error.msg}).", path=str(path), line=error.lineno,
                            fix="save the learner again; a damaged state file cannot be repaired.") from None
        except UnicodeDecodeError:
            raise DataError("the state file is not UTF-8 text.", path=str(path),
                            fix="save the learner again; a damaged state file cannot be repaired.") from None
        if not isinstance(state, dict):
            raise DataError("the state file does not hold a JSON object.", path=str(path),
                            fix="save the learner again.")
        if state.get("version") != STATE_VERSION:
            raise DataError(f"state version {state.get('version')} is not supported.", path=str(path))
        missing = [name for name in _STATE_FIELDS if name not in state]
        if missing:
            raise DataError(f"the state file lacks the fields {missing}.", path=str(path),
                            fix="save the learner again; the folder is damaged or incomplete.")
        if state["n_pool"] != len(pool) or state["pool_fingerprint"] != pool_fingerprint(pool):
            raise DataError(
                "the pool differs from the one the learner was saved with.",
                path=str(path),
                fix="pass the same dataset (same rows, same order) that was used before saving.",
            )
        model = _load_model(folder, model)
        try:
            if strategy is None:
                strategy = StrategySchedule([(start, (name, params)) for start, name, params in state["schedule"]])
            cold_name, cold_params = state["cold_start"]
            cold_start = get_strategy(cold_name, **cold_params)
        except LabelwiseError:
            raise
        except (TypeError, ValueError) as error:
            raise DataError(f"field 'schedule' or 'cold_start' is malformed ({error}).", path=str(path),
                            fix="save the learner again, or pass strategy= to load().") from None
        if not isinstance(state["output_options"], dict):
            raise DataError("field 'output_options' is not an object.", path=str(path), fix="save the learner again.")
        learner = cls(model, pool, strategy, cold_start=cold_start,
                      subsampler=subsampler, output_options={**state["output_options"], **(output_options or {})},
                      retrain=bool(state["retrain"]),
                      stopping=stopping if stopping is not None else state.get("stopping"),
                      stop_set=stop_set)
        learner.model = model  # the loaded (fitted) model itself, not an unfitted clone of it
        learner.rng = _restore_rng(state, path)
        learner._labels = _restore_labels(learner, state["labels"], path)
        learner._pending = {p: None for p in _restore_positions(state["pending"], len(pool), path, "pending")}
        if set(learner._pending) & set(learner._labels):
            raise DataError("field 'pending' lists positions that are also labeled.", path=str(path),
                            fix="save the learner again; the state file is inconsistent.")
        try:
            learner.history = [IterationRecord.from_dict(r) for r in state["history"]]
        except (TypeError, ValueError, AttributeError) as error:
            raise DataError(f"field 'history' is malformed ({error}).", path=str(path),
                            fix="save the learner again.") from None
        learner.previous_scores = _restore_scores(state["previous_scores"], len(pool), path)
        learner._prepared = bool(state["prepared"])
        _restore_stopping(learner, state, path, stop_set)
        _restore_strategy_states(learner, state.get("strategy_states", []), path)
        return learner

    def __repr__(self) -> str:
        return (f"ActiveLearner({type(self.model).__name__}, pool={self.n_pool}, labeled={len(self._labels)}, "
                f"iteration={self.iteration}, schedule={self.schedule!r})")


def _own_copy(model: Any) -> Any:
    """The learner's own copy of a scikit-learn style model (the caller's object is never
    prepared, re-seeded or fitted); any other model as it is. An unfitted model is cloned; a
    fitted one is deep-copied, so its weights serve the first queries (and ``retrain=False``)."""
    if not callable(getattr(model, "get_params", None)):
        return model
    if is_fitted(model):
        return copy.deepcopy(model)
    try:
        return clone(model)
    except (RuntimeError, TypeError) as error:
        raise ConfigError(
            f"model: sklearn.base.clone({type(model).__name__}) failed ({error}). Fix: let __init__ store "
            "each argument unchanged under its own name, as scikit-learn's estimator contract asks.") from None


def _set_random_state(model: Any, seed: int) -> None:
    """Seed one fit through ``set_params`` (a model without ``get_params`` keeps its own)."""
    if callable(getattr(model, "get_params", None)) and "random_state" in model.get_params(deep=False):
        model.set_params(random_state=seed)


def _required_kinds(strategy: Any) -> tuple[str, ...]:
    """The output kinds a strategy reads, including those of a wrapped base strategy."""
    kinds = list(getattr(strategy, "requires", ()))
    base = getattr(strategy, "base", None)
    if base is not None and not isinstance(base, str):
        kinds += [k for k in getattr(base, "requires", ()) if k not in kinds]
    return tuple(kinds)


#: every field a stopping criterion may read
_ALL_NEEDS = ("stop_set_probabilities", "pool_probabilities", "pool_mask", "pool_indices", "selected_indices")


def _is_json(value: Any) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True


def _side_generator(rng: np.random.Generator) -> np.random.Generator:
    """A generator determined by ``rng``'s state that leaves ``rng`` untouched."""
    bit_generator = rng.bit_generator
    if callable(getattr(bit_generator, "jumped", None)):
        return np.random.Generator(bit_generator.jumped())
    digest = hashlib.sha256(json.dumps(bit_generator.state, sort_keys=True, default=str).encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


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


def _jsonable_params(strategy: QueryStrategy) -> dict[str, Any]:
    return _json_items(strategy.get_params())


def _is_integer(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _accepts_keyword(function: Any, name: str) -> bool:
    try:
        parameters = inspect.signature(function).parameters
    except (TypeError, ValueError):
        return False
    return name in parameters or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())


def _restore_positions(values: Any, n_pool: int, path: Path, field: str) -> list[int]:
    if not isinstance(values, list) or not all(_is_integer(v) and 0 <= v < n_pool for v in values):
        raise DataError(f"field {field!r} must list pool positions (integers in 0..{n_pool - 1}).",
                        path=str(path), fix="save the learner again; the state file is damaged.")
    if len(set(values)) != len(values):
        raise DataError(f"field {field!r} lists a position twice.", path=str(path), fix="save the learner again.")
    return [int(v) for v in values]


def _restore_labels(learner: ActiveLearner, pairs: Any, path: Path) -> dict[int, Any]:
    if not isinstance(pairs, list) or not all(isinstance(p, list) and len(p) == 2 for p in pairs):
        raise DataError("field 'labels' must be a list of [position, label] pairs.", path=str(path),
                        fix="save the learner again; the state file is damaged.")
    positions = _restore_positions([p for p, _ in pairs], learner.n_pool, path, "labels")
    labels = {}
    for number, (position, (_, label)) in enumerate(zip(positions, pairs, strict=True)):
        try:
            labels[position] = learner._convert_label(position, label)
        except DataError as error:
            raise DataError(f"field 'labels', entry {number}: {error}", path=str(path),
                            fix="save the learner again; the state file is damaged.") from None
    return labels


def _restore_rng(state: dict[str, Any], path: Path) -> np.random.Generator:
    name = state["rng_class"]
    bit_generator_class = getattr(np.random, name, None) if isinstance(name, str) else None
    if not (isinstance(bit_generator_class, type) and issubclass(bit_generator_class, np.random.BitGenerator)):
        raise DataError(f"field 'rng_class' names no NumPy bit generator ({name!r}).", path=str(path),
                        fix="save the learner again.")
    bit_generator = bit_generator_class()
    try:
        bit_generator.state = state["rng_state"]
    except (TypeError, ValueError, KeyError) as error:
        raise DataError(f"field 'rng_state' is malformed ({error}).", path=str(path),
                        fix="save the learner again.") from None
    return np.random.Generator(bit_generator)


def _restore_stopping(learner: ActiveLearner, state: dict[str, Any], path: Path, stop_set: Any) -> None:
    """Model version, stop set and last stop decision (absent in folders saved before them)."""
    version = state.get("model_version", 0)
    if not _is_integer(version) or version < 0:
        raise DataError("field 'model_version' must be a non-negative integer.", path=str(path),
                        fix="save the learner again.")
    learner.model_version = int(version)
    if stop_set is None:
        saved = state.get("stop_set")
        if saved is not None:
            learner.stop_set_positions = np.asarray(_restore_positions(saved, learner.n_pool, path, "stop_set"),
                                                    dtype=np.int64)
    decision = state.get("last_stop_decision")
    if decision is not None:
        try:
            learner.last_stop_decision = StopDecision(bool(decision["stop"]), str(decision["reason"]),
                                                      None if decision["value"] is None else float(decision["value"]))
        except (TypeError, KeyError, ValueError) as error:
            raise DataError(f"field 'last_stop_decision' is malformed ({error}).", path=str(path),
                            fix="save the learner again.") from None


def _restore_strategy_states(learner: ActiveLearner, saved: Any, path: Path) -> None:
    """Give each phase's strategy (same position, same name) what it learned (ALBL's bandit)."""
    if not isinstance(saved, list):
        raise DataError("field 'strategy_states' is not a list.", path=str(path), fix="save the learner again.")
    phases = learner.schedule.phases
    for entry in saved:
        if not (isinstance(entry, list) and len(entry) == 3 and _is_integer(entry[0])):
            raise DataError("field 'strategy_states' holds a malformed entry.", path=str(path),
                            fix="save the learner again.")
        index, name, strategy_state = entry
        if 0 <= index < len(phases) and phases[index][1].name == name and hasattr(phases[index][1], "set_state"):
            try:
                phases[index][1].set_state(strategy_state)
            except LabelwiseError as error:
                raise DataError(f"field 'strategy_states': {error}", path=str(path),
                                fix="save the learner again, or load with the same strategy.") from None


def _restore_scores(values: Any, n_pool: int, path: Path) -> np.ndarray:
    if (not isinstance(values, list) or len(values) != n_pool
            or not all(v is None or (isinstance(v, (int, float)) and not isinstance(v, bool)) for v in values)):
        raise DataError(f"field 'previous_scores' must hold {n_pool} numbers (or null).", path=str(path),
                        fix="save the learner again.")
    return np.array([np.nan if s is None else s for s in values], dtype=np.float64)


def _save_model(model: Any, folder: Path) -> None:
    if callable(getattr(model, "save", None)):
        model.save(folder / "model")
        atomic_write_text(folder / "model.kind", "own")
        atomic_write_text(folder / "model.class", f"{type(model).__module__}:{type(model).__qualname__}")
    else:
        import joblib

        buffer = io.BytesIO()
        joblib.dump(model, buffer)
        atomic_write_bytes(folder / "model.joblib", buffer.getvalue())
        atomic_write_text(folder / "model.kind", "joblib")


def _labelwise_class(name: str) -> Any:
    """The class ``module:qualname`` when it is one of labelwise's own models (importing
    them runs no foreign code), else None: a user's class must be passed as ``model=``."""
    module_name, _, qualname = name.partition(":")
    if not qualname or not (module_name == "labelwise" or module_name.startswith("labelwise.")):
        return None
    import importlib

    try:
        found: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            found = getattr(found, part)
    except (ImportError, AttributeError):
        return None
    return found if isinstance(found, type) and callable(getattr(found, "load", None)) else None


def _load_model(folder: Path, model: Any) -> Any:
    kind_path = folder / "model.kind"
    kind = kind_path.read_text(encoding="utf-8").strip() if kind_path.exists() else ""
    if kind == "joblib":
        import joblib

        model_path = folder / "model.joblib"
        if not model_path.exists():
            raise DataError("the saved model file is missing.", path=str(model_path),
                            fix="save the learner again; the folder is incomplete.")
        try:
            return joblib.load(model_path)
        except Exception as error:  # noqa: BLE001 - EOFError, UnpicklingError, KeyError, ... all mean damage
            raise DataError(f"the saved model cannot be read ({type(error).__name__}: {error}).",
                            path=str(model_path), fix="save the learner again; the file is damaged or truncated.") \
                from None
    if kind == "own":
        saved_class = (folder / "model.class").read_text(encoding="utf-8").strip() \
            if (folder / "model.class").exists() else ""
        if model is None:
            model = _labelwise_class(saved_class)
        if model is None:
            raise DataError(f"this model was saved with its own save(); pass model= "
                            f"(a {saved_class or 'model of the saved class'}) to load it.",
                            path=str(folder / "model"))
        try:
            if isinstance(model, type) and inspect.isfunction(inspect.getattr_static(model, "load", None)):
                model = model()  # a class whose load is an instance method fills a default instance
            loaded = model.load(folder / "model")
        except LabelwiseError:
            raise
        except Exception as error:  # noqa: BLE001 - a damaged folder surfaces as many error types
            raise DataError(f"the saved model cannot be read ({type(error).__name__}: {error}).",
                            path=str(folder / "model"), fix="save the learner again; the folder is damaged.") from None
        # A classmethod load (TransformerSeq2Seq) returns a new fitted object; an instance
        # method fills the object in place and returns it (or None).
        return model if loaded is None else loaded
    if kind:
        raise DataError(f"unknown model kind {kind!r}.", path=str(kind_path), fix="save the learner again.")
    if model is None:
        raise DataError("no saved model found.", path=str(folder))
    return model
