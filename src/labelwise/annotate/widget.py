"""The Jupyter annotation widget (anywidget): classification and NER."""

from __future__ import annotations

import math
import os
import threading
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anywidget
import numpy as np
import traitlets

from labelwise._deprecation import renamed
from labelwise.annotate.background import BackgroundLearner
from labelwise.annotate.store import AnnotationStore
from labelwise.data.datasets import ClassificationDataset, TaggingDataset
from labelwise.errors import DataError, LabelwiseError
from labelwise.loop import ActiveLearner

if TYPE_CHECKING:
    from collections.abc import Iterable

_HERE = Path(__file__).parent
_RESERVED_KEYS = set("sunajk")  # skip, undo, next, accept, down, up


class _Excluded:
    """The positions a new batch must not show: decided (labeled or skipped, as the store
    knows them now) or in ``extra``. A membership test, not a copy of the labels, so its
    cost does not grow with the log."""

    def __init__(self, store: AnnotationStore, extra: Iterable[int] = ()) -> None:
        self.store = store
        self.extra = set(extra)

    def __contains__(self, position: object) -> bool:
        return position in self.extra or self.store.is_decided(position)  # type: ignore[arg-type]


def _is_integer(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _shortcuts(names: list[str]) -> list[str]:
    """1-9 for the first nine labels, then unused letters of each name."""
    keys: list[str] = []
    used = set(_RESERVED_KEYS)
    for i, name in enumerate(names):
        if i < 9:
            keys.append(str(i + 1))
            continue
        key = next((c for c in name.lower() if c.isalpha() and c not in used), None)
        if key is None:
            key = next((c for c in "bcdefghilmopqrtvwxyz" if c not in used), "")
        used.add(key)
        keys.append(key)
    return keys


class Annotator(anywidget.AnyWidget):
    """Label a pool in a notebook while a learner ranks it in the background.

    >>> Annotator(pool, TfidfLogisticRegression(), "entropy", store="annotations.jsonl",
    ...           query_size=10, test=test)

    Classification: label buttons (keys 1-9 and the letters shown on the buttons), toggles
    and Accept for multi-label. NER: drag across tokens to tag them with the active entity
    type, click an entity to remove it, Accept to store the sentence; the model's
    predictions are shown as suggestions once it has been trained. Keys: ``s`` skip,
    ``u`` undo, ``n`` next iteration, ``Enter`` accept.

    "Next iteration" shows the next batch at once from the ranked queue; the labels of the
    finished batch are taught and the model retrained and the pool rescored on a
    background thread. Every decision is fsynced to ``store`` as it is made; running the
    same cell again resumes where you stopped.

    Args:
        dataset: a :class:`ClassificationDataset` or :class:`TaggingDataset` (its labels
            are ignored).
        model: any labelwise model; for NER, ``model.predict(dataset)`` returns tag lists.
        strategy: a strategy name or instance (see :func:`labelwise.strategies.get_strategy`).
        store: the JSON Lines file of decisions (or an :class:`AnnotationStore`).
        query_size: items per screen / per iteration (the query size the strategy ranks
            with). ``batch_size=`` is its old name (FutureWarning; removed in the next release).
        test: optional labeled held-out dataset; the latest score is shown.
        random_state: seed for the learner.
        annotator: the id of the person annotating (e.g. ``"alice"``), stored with each
            decision beside the time it took (``duration_ms``); ``None`` stores no id.
        stopping: a stopping criterion (a name such as ``"stabilizing_predictions"``, an
            instance or a config spec); after each retraining the widget shows whether you
            may stop labelling, and why (``stop_signal``).
    """

    _esm = _HERE / "widget.js"
    _css = _HERE / "widget.css"

    task = traitlets.Unicode("classification").tag(sync=True)
    label_names = traitlets.List(traitlets.Unicode()).tag(sync=True)
    shortcuts = traitlets.List(traitlets.Unicode()).tag(sync=True)
    multi_label = traitlets.Bool(False).tag(sync=True)
    items = traitlets.List().tag(sync=True)
    upcoming = traitlets.List().tag(sync=True)
    progress = traitlets.Dict().tag(sync=True)
    status = traitlets.Unicode("").tag(sync=True)
    error = traitlets.Unicode("").tag(sync=True)
    #: the stopping criterion's last decision: {"stop": bool, "reason": str}; empty without one
    stop_signal = traitlets.Dict().tag(sync=True)

    def __init__(self, dataset: ClassificationDataset | TaggingDataset, model: Any, strategy: Any = "random",
                 store: str | os.PathLike | AnnotationStore = "annotations.jsonl",
                 query_size: int | None = None, test: Any = None, random_state: Any = 0,
                 annotator: str | None = None, stopping: Any = None, batch_size: int | None = None,
                 **kwargs: Any) -> None:
        if not hasattr(type(dataset), "annotation_names"):
            raise DataError(f"Annotator supports classification and tagging datasets, got {type(dataset).__name__}.",
                            fix="pass a ClassificationDataset or TaggingDataset.")
        query_size = renamed(query_size, batch_size, old="batch_size", new="query_size", where="Annotator()",
                             default=10, why="batch_size means the SGD mini-batch only")
        if int(query_size) < 1:
            raise DataError(f"query_size must be at least 1, got {query_size}.")
        names = dataset.annotation_names  # label names, or the entity types of the B- tags
        super().__init__(task=dataset.task, label_names=names, shortcuts=_shortcuts(names),
                         multi_label=bool(getattr(dataset, "multi_label", False)), **kwargs)
        self.dataset = dataset
        self.query_size = int(query_size)
        self.annotator = annotator
        self.store = store if isinstance(store, AnnotationStore) else AnnotationStore(store)
        self.learner = ActiveLearner(model, dataset, strategy, random_state=random_state, stopping=stopping)
        self.background = BackgroundLearner(self.learner, self.query_size, test=test, on_update=self._on_background,
                                            exclude=_Excluded(self.store))
        self._batch_decisions: list[int] = []
        # The queue length shown in the progress line, recounted only when the queue, the
        # batch on screen or a decision outside that batch changes it (not on every click).
        self._queue_count_key: tuple[int, tuple[int, ...]] | None = None
        self._queue_count = 0
        # Held while the batch on screen is replaced or refreshed (UI thread and worker), for
        # milliseconds only: never while a model trains.
        self._screen_lock = threading.RLock()
        self.iteration = 0
        self._resume()
        self.on_msg(self._handle_message)

    @property
    def batch_size(self) -> int:
        """Old name of :attr:`query_size` (FutureWarning; removed in the next release)."""
        warnings.warn("batch_size is now query_size; the old name goes in the next release.", FutureWarning,
                      stacklevel=2)
        return self.query_size

    # ---- start / resume -----------------------------------------------------------------
    def _resume(self) -> None:
        # The log was read once when the store opened; this is the only full pass over it.
        labels = self.store.labels
        snapshot = self.store.load_snapshot()
        n_pool = len(self.dataset)
        if snapshot is not None:
            self.iteration = int(snapshot["iteration"])
            self.background.set_queue([p for p in snapshot["queue"] if p < n_pool])
            current = [p for p in snapshot["current"] if p < n_pool]
        else:
            # No usable snapshot: the log alone gives the iteration and the items decided
            # in it; the rest of that batch is filled from a fresh ranking below.
            self.iteration = max((d.iteration for d in self.store.decisions), default=0)
            current = self._decided_in(self.iteration)
        # Items decided in the batch that was on screen stay undoable after a restart.
        on_screen = set(current)
        self._batch_decisions = [d.position for d in self.store.decisions
                                 if d.iteration == self.iteration and d.action != "undo" and d.position in on_screen]
        if not self.background.queue:
            # Rank before the labels are taught: the learner knows none yet, so this is the
            # cold-start ranking, ready at once; teaching and retraining follow in the background.
            self.background.rank_now()
        if snapshot is None or not current:
            room = self.query_size - len(current)
            if room > 0:
                current = current + self.background.peek(room, self._excluded(current))
        if labels:
            positions = list(labels)
            values = [self._learner_label(labels[p]) for p in positions]
            self.background.submit(positions, values, suggest=current)
        self._show(current)
        self._snapshot(current)

    def _decided_in(self, iteration: int) -> list[int]:
        """Positions labeled or skipped (not undone) in ``iteration``, in log order: the
        part of the batch on screen when the session stopped that the log knows. A full
        batch's worth (or more, e.g. an imported log) was finished: a fresh batch follows."""
        positions: dict[int, None] = {}
        for decision in self.store.decisions:
            if (decision.iteration == iteration and decision.action != "undo"
                    and decision.position < len(self.dataset) and self.store.is_decided(decision.position)):
                positions[decision.position] = None
        return list(positions) if len(positions) < self.query_size else []

    def _learner_label(self, value: Any) -> Any:
        return value  # the learner encodes names, name lists and tag lists itself

    def _excluded(self, extra: Iterable[int] = ()) -> _Excluded:
        return _Excluded(self.store, extra)

    # ---- items --------------------------------------------------------------------------
    def _item(self, position: int) -> dict[str, Any]:
        item: dict[str, Any] = {"position": int(position), "label": self.store.label_of(position),
                                "skipped": self.store.is_skipped(position),
                                "suggestion": self.background.suggestions.get(position)}
        item.update(self.dataset.item_fields(position))  # "text", or "tokens" for NER
        return item

    def _show(self, current: list[int]) -> None:
        upcoming = self.background.peek(self.query_size, self._excluded(current))
        self.items = [self._item(p) for p in current]
        self.upcoming = [self._item(p) for p in upcoming]
        self._update_progress()

    def _refresh_items(self) -> None:
        self.items = [self._item(item["position"]) for item in self.items]

    def _queue_size(self, current: list[int]) -> int:
        key = (self.background.queue_version, tuple(current))
        if key != self._queue_count_key:
            self._queue_count = self.background.queue_size(self._excluded(current))
            self._queue_count_key = key
        return self._queue_count

    def _update_progress(self) -> None:
        background = self.background
        score, metric = None, None
        if background.test_scores:
            metric = "accuracy" if "accuracy" in background.test_scores else (
                "f1" if "f1" in background.test_scores else next(iter(background.test_scores)))
            value = background.test_scores[metric]
            score = None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)
        current = [item["position"] for item in self.items]
        self.progress = {
            "labeled": self.store.n_labeled, "queue": self._queue_size(current),
            "pool": len(self.dataset), "iteration": self.iteration, "training": background.busy,
            "score": score, "metric": metric, "train_seconds": background.train_seconds,
        }
        self.error = background.error or ""
        if background.error:
            self.status = background.error
        elif background.busy:
            self.status = "retraining in the background…"
        elif background.notice:
            self.status = background.notice
        else:
            self.status = "ready"

    @property
    def current_positions(self) -> list[int]:
        return [int(item["position"]) for item in self.items]

    # ---- actions (also callable from Python) --------------------------------------------
    def label(self, position: int, value: Any, *, duration_ms: float | None = None) -> None:
        """Label ``position`` (class name or id, list of names for multi-label, tag list for
        NER). Anything else raises :class:`~labelwise.errors.DataError` and stores nothing.
        ``duration_ms``: how long the decision took (the front end sends it)."""
        position = self._check_position(position)
        value = self._validate(position, value)
        self.store.record_label(position, value, iteration=self.iteration, annotator=self.annotator,
                                duration_ms=duration_ms)
        self._after_decision(position)

    def skip(self, position: int, *, duration_ms: float | None = None) -> None:
        position = self._check_position(position)
        self.store.record_skip(position, iteration=self.iteration, annotator=self.annotator,
                               duration_ms=duration_ms)
        self._after_decision(position)

    def undo(self) -> int | None:
        """Undo the latest label or skip of the batch on screen; returns its position."""
        if not self._batch_decisions:
            self.status = "nothing to undo in this batch"
            return None
        position = self._batch_decisions[-1]
        self.store.record_undo(position, iteration=self.iteration, annotator=self.annotator)
        self._batch_decisions.pop()
        with self._screen_lock:
            self._on_decided(position)
        return position

    def _after_decision(self, position: int) -> None:
        self._batch_decisions.append(position)
        with self._screen_lock:
            self._on_decided(position)

    def _on_decided(self, position: int) -> None:
        # Only the items on screen and the counts change: constant work per click.
        if position not in self.current_positions:
            self._queue_count_key = None  # a position in the queue may have left or come back
        self._refresh_items()
        self._update_progress()

    def next_batch(self, shown: list[int] | None = None) -> list[int]:
        """Finish the batch on screen: its labels go to the background learner (teach,
        retrain, rescore) and the next batch is shown at once from the ranked queue."""
        with self._screen_lock:
            finished = [p for p in self.current_positions if self.store.is_labeled(p)]
            values = [self._learner_label(self.store.label_of(p)) for p in finished]
            if shown is not None:
                excluded = self._excluded()
                current = [p for p in (self._check_position(p) for p in shown) if p not in excluded]
            else:
                current = [item["position"] for item in self.upcoming]
            if not current:
                current = self.background.peek(self.query_size, self._excluded())
            self.iteration += 1
            self._batch_decisions = []
            self.background.submit(finished, values, retrain=bool(finished) or not self.learner.model_is_fitted,
                                   suggest=current)
            self._show(current)
        self._snapshot(current)
        return current

    def _check_position(self, position: Any) -> int:
        if not _is_integer(position):
            raise DataError(f"field 'position' must be an integer pool position, got {position!r} "
                            f"({type(position).__name__}).", fix="pass the item's 'position' as shown.")
        if not 0 <= position < len(self.dataset):
            raise DataError(f"position {position} lies outside the pool (size {len(self.dataset)}).",
                            fix=f"pass a position in 0..{len(self.dataset) - 1}.")
        return int(position)

    def _validate(self, position: int, value: Any) -> Any:
        """The stored form of ``value``: tag names (NER), label names (multi-label, in the
        order of ``label_names``) or one label name."""
        return self.dataset.label_from_json(value, f"position {position}", "value", position=position)

    # ---- plumbing -----------------------------------------------------------------------
    def _snapshot(self, current: list[int]) -> None:
        queue = self.background.peek(len(self.dataset), self._excluded(current))
        self.store.write_snapshot(queue=queue, iteration=self.iteration, current=current)

    def _update_stop_signal(self, background: BackgroundLearner) -> None:
        """Ask the stopping criterion about the model just trained (worker thread)."""
        if self.learner.stopping is None or background.error is not None:
            return
        score = None
        if background.test_scores:
            values = [v for k, v in background.test_scores.items() if k in ("accuracy", "f1")]
            score = float(values[0]) if values and values[0] is not None and not math.isnan(values[0]) else None
        try:
            decision = self.learner.should_stop(held_out_score=score)
        except LabelwiseError as error:
            self.stop_signal = {"stop": False, "reason": f"stopping criterion failed: {error}"}
            return
        self.stop_signal = {"stop": bool(decision.stop), "reason": decision.reason}

    def _on_background(self, background: BackgroundLearner) -> None:
        # Runs on the worker thread: refresh what is on screen with the new ranking and
        # suggestions, and save the learner with the snapshot.
        self._update_stop_signal(background)
        with self._screen_lock:
            current = self.current_positions
            self.items = [self._item(p) for p in current]
            upcoming = self.background.peek(self.query_size, self._excluded(current))
            self.upcoming = [self._item(p) for p in upcoming]
            self._update_progress()
        if background.error is None:
            try:
                queue = self.background.peek(len(self.dataset), self._excluded(current))
                self.store.write_snapshot(queue=queue, iteration=self.iteration, current=current)
                if self.learner.model_is_fitted:
                    self.store.save_learner(self.learner)
            except Exception as error:  # noqa: BLE001 - not fatal: the log holds every label
                warnings.warn(f"could not save the learner with the snapshot: {error}", stacklevel=1)

    def _handle_message(self, _widget: Any, content: dict[str, Any], _buffers: Any) -> None:
        kind = content.get("type")
        try:
            if kind == "label":
                self.label(content["position"], content["value"], duration_ms=content.get("duration_ms"))
            elif kind == "skip":
                self.skip(content["position"], duration_ms=content.get("duration_ms"))
            elif kind == "undo":
                self.undo()
            elif kind == "next":
                self.next_batch(content.get("shown"))
        except Exception as error:  # noqa: BLE001 - shown in the widget
            self.error = f"{type(error).__name__}: {error}"
            self.status = self.error

    def wait(self, timeout: float | None = None) -> Annotator:
        """Block until the background learner is idle (scripts and tests)."""
        self.background.wait(timeout)
        return self

    def close(self) -> None:
        self.background.shutdown()
        self.store.close()
        super().close()
