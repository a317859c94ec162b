"""The background learner: retraining and rescoring run on one worker thread while the
annotator keeps labeling from the queue that is already ranked.

Only the worker thread touches the :class:`~labelwise.loop.ActiveLearner` and its model;
the UI thread reads the ranked queue (swapped atomically under a lock) and never waits.
A failure in the worker is captured as text in :attr:`BackgroundLearner.error` (the widget
shows it in its status field) instead of disappearing into a log.
"""

from __future__ import annotations

import threading
import time
import traceback
import warnings
from collections.abc import Callable, Container, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np

from labelwise._deprecation import renamed
from labelwise.metrics import evaluate


class BackgroundLearner:
    """Keeps a ranked queue of pool positions for an :class:`ActiveLearner`.

    Args:
        learner: the learner; after construction only the worker thread uses it.
        query_size: the query size passed to the strategy when ranking (``batch_size=`` is
            its old name: FutureWarning, removed in the next release).
        test: optional labeled held-out dataset; its score is computed after each fit.
        on_update: called (from the worker thread) after each background task ends,
            successfully or not.
        exclude: positions never to queue (e.g. the annotator's skipped ones), tested
            with ``in`` when a ranking is made.

    The queue is every unlabeled position the strategy scored, sorted by the strategy's
    scores (``Selection.pool_scores``), highest first; positions it did not score follow
    in random order. Queried positions are released at once: the annotator, not the
    learner, decides which positions are on screen.
    """

    def __init__(self, learner: Any, query_size: int | None = None, *, test: Any = None,
                 on_update: Callable[[BackgroundLearner], None] | None = None,
                 exclude: Container[int] = (), batch_size: int | None = None) -> None:
        self.learner = learner
        self.query_size = int(renamed(query_size, batch_size, old="batch_size", new="query_size",
                                      where="BackgroundLearner()", default=10,
                                      why="batch_size means the SGD mini-batch only"))
        self.test = test
        self.on_update = on_update
        self.exclude = exclude
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="labelwise-annotate")
        self._lock = threading.Lock()
        self.queue: list[int] = []
        self.queue_version = 0  # bumped whenever the queue is replaced
        self.queue_scores: dict[int, float] = {}
        self.suggestions: dict[int, Any] = {}
        self.error: str | None = None
        # Why the model was not retrained although labels exist (e.g. one class so far).
        self.notice: str | None = None
        self.test_scores: dict[str, float] | None = None
        self.train_seconds: float | None = None
        self.rank_seconds: float | None = None
        self.n_fits = 0
        self._running = 0
        self.future: Future | None = None

    @property
    def batch_size(self) -> int:
        """Old name of :attr:`query_size` (FutureWarning; removed in the next release)."""
        warnings.warn("batch_size is now query_size; the old name goes in the next release.", FutureWarning,
                      stacklevel=2)
        return self.query_size

    # ---- UI thread ----------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        return self._running > 0

    def peek(self, n: int, exclude: Container[int] = ()) -> list[int]:
        """The first ``n`` queued positions not in ``exclude``; never waits for the worker."""
        with self._lock:
            queue = self.queue
        picked: list[int] = []
        if n <= 0:
            return picked
        for position in queue:
            if position not in exclude:
                picked.append(position)
                if len(picked) == n:
                    break
        return picked

    def queue_size(self, exclude: Container[int] = ()) -> int:
        with self._lock:
            queue = self.queue
        return sum(1 for p in queue if p not in exclude)

    def set_queue(self, positions: Sequence[int]) -> None:
        """Install a queue (e.g. from a snapshot) without ranking."""
        with self._lock:
            self.queue = [int(p) for p in positions]
            self.queue_version += 1

    def submit(self, indices: Sequence[int] = (), labels: Sequence[Any] = (), *,
               retrain: bool = True, suggest: Sequence[int] = ()) -> Future:
        """Teach ``labels`` for ``indices`` and (if ``retrain`` and anything is labeled)
        retrain, rescore and rerank, on the worker thread. Returns at once."""
        with self._lock:
            self._running += 1
        self.future = self.executor.submit(self._task, list(indices), list(labels), retrain, list(suggest))
        return self.future

    def rank_now(self) -> None:
        """Rank synchronously (used once, at start, when no queue exists yet)."""
        self.executor.submit(self._rank).result()

    def wait(self, timeout: float | None = None) -> None:
        """Block until every submitted task has ended (for scripts and tests)."""
        self.executor.submit(lambda: None).result(timeout)

    def shutdown(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)

    # ---- worker thread ------------------------------------------------------------------
    def _task(self, indices: list[int], labels: list[Any], retrain: bool, suggest: list[int]) -> None:
        try:
            if indices:
                self.learner.teach(indices, labels, retrain=False)
            blocker = self.learner.fit_blocker() if len(self.learner.labeled_indices) else None
            self.notice = None if blocker is None else (
                f"not retrained yet: {blocker}; the queue stays ranked by the cold-start strategy "
                f"{self.learner.cold_start.name!r} until then")
            if retrain and len(self.learner.labeled_indices) and blocker is None:
                started = time.perf_counter()
                self.learner.fit()
                self.train_seconds = time.perf_counter() - started
                self.n_fits += 1
                if self.test is not None:
                    self.test_scores = evaluate(self.learner.model, self.test)
            self._rank()
            self._suggest(suggest)
            self.error = None
        except Exception as error:  # noqa: BLE001 - shown to the user, not swallowed
            self.error = f"background training failed: {type(error).__name__}: {error}"
            self.traceback = traceback.format_exc()
        finally:
            with self._lock:
                self._running -= 1
            if self.on_update is not None:
                try:
                    self.on_update(self)
                except Exception:  # noqa: BLE001
                    self.error = (self.error or "") + "\nupdate failed: " + traceback.format_exc(limit=2)

    def _rank(self) -> None:
        started = time.perf_counter()
        learner = self.learner
        if len(learner.unlabeled_indices) == 0:
            with self._lock:
                self.queue = []
                self.queue_version += 1
            return
        selection = learner.query(self.query_size)
        learner.release(selection.indices)
        scores = selection.pool_scores(learner.n_pool)
        unlabeled = learner.unlabeled_indices
        unlabeled_scores = scores[unlabeled]
        # NaN (not scored) sorts last; ties keep pool order (stable sort).
        order = np.argsort(-np.nan_to_num(unlabeled_scores, nan=-np.inf), kind="stable")
        ranked = [p for p in unlabeled[order].tolist() if p not in self.exclude]
        with self._lock:
            self.queue = ranked
            self.queue_version += 1
            self.queue_scores = {int(p): float(s) for p, s in zip(unlabeled, unlabeled_scores, strict=True)}
        self.rank_seconds = time.perf_counter() - started

    def _suggest(self, extra: Sequence[int]) -> None:
        """Model predictions for the head of the queue (and ``extra``), shown as
        suggestions; only once the model is fitted."""
        if not self.n_fits:
            return
        with self._lock:
            head = self.queue[: 2 * self.query_size]
        positions = list(dict.fromkeys([*extra, *head]))
        if not positions:
            return
        pool = self.learner.pool
        predicted = self.learner.model.predict(pool.subset(positions).without_labels())
        suggestions = {}
        for position, value in zip(positions, predicted, strict=True):
            suggestions[position] = pool.label_to_json(value)  # names (a list for multi-label and NER)
        self.suggestions = {**self.suggestions, **suggestions}
