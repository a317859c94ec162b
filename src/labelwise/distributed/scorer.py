"""Inference and row-wise scoring of a partitioned pool on a Dask cluster.

Each partition task loads its rows (on the worker), takes the model of the current
version from the worker's cache (:mod:`labelwise.distributed.worker`), computes the
outputs the strategy reads and its scores, and sends back only its *candidates*: every
row whose score is at least the partition's k-th largest (ties at that boundary
included). The union of these lists holds every row the one-process top-k can draw,
in pool order, so :func:`~labelwise.strategies.base.top_k` over the merged list with the
run's generator picks, orders and breaks ties exactly as it does over the whole pool:
the selection is the same, bit for bit.

Why the boundary ties must come along: ``top_k`` draws the tied group at the threshold
with ``rng.choice(tied, needed)``, whose result depends on the size of the group. A
partition that kept only k rows could cut the group short and change the draw.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from labelwise._lazy import optional_import
from labelwise.distributed.partitioned import PartitionedPool, check_positions, concat_datasets
from labelwise.distributed.retry import gather_resubmitting
from labelwise.distributed.worker import (
    ModelHandle,
    check_version,
    pack_model,
    unfitted_embedding_state,
    worker_model,
)
from labelwise.errors import CapabilityError, ConfigError, SelectionError
from labelwise.outputs import ModelOutputs, known_outputs
from labelwise.strategies import QueryContext, ScoringStrategy, Selection, get_strategy, top_k
from labelwise.strategies.base import CheckedOutputs, multi_label_signal


def as_client(cluster: Any) -> Any:
    """A ``dask.distributed.Client`` from a client, a scheduler address or a cluster object."""
    Client = optional_import("distributed", "distributed", "cluster=").Client
    if isinstance(cluster, Client):
        return cluster
    if isinstance(cluster, str) or hasattr(cluster, "scheduler_address"):
        return Client(cluster)
    raise ConfigError(f"cluster must be a dask.distributed.Client, a scheduler address such as "
                      f"'tcp://10.0.0.1:8786' or a cluster object, got {type(cluster).__name__}.")


class _JoinedPool:
    """A partition followed by the labeled rows (a few), without copying the partition:
    strategies that read the labeled rows' outputs (Mahalanobis, ...) find them at local
    positions ``len(part) ..``."""

    def __init__(self, part: Any, extra: Any) -> None:
        self.part = part
        self.extra = extra
        self.n_part = len(part)

    def __len__(self) -> int:
        return self.n_part + (len(self.extra) if self.extra is not None else 0)

    def subset(self, rows: Sequence[int] | np.ndarray) -> Any:
        rows = np.asarray(rows, dtype=np.int64)
        inside = rows < self.n_part
        if inside.all():
            return self.part.subset(rows)
        if not inside.any():
            return self.extra.subset(rows - self.n_part)
        joined = concat_datasets([self.part.subset(rows[inside]), self.extra.subset(rows[~inside] - self.n_part)])
        order = np.concatenate([np.flatnonzero(inside), np.flatnonzero(~inside)])
        inverse = np.empty_like(order)
        inverse[order] = np.arange(len(order))
        return joined.subset(inverse)

    @property
    def token_counts(self) -> np.ndarray:
        counts = [self.part.token_counts]
        if self.extra is not None:
            counts.append(self.extra.token_counts)
        return np.concatenate(counts)

    def __getattr__(self, name: str) -> Any:
        if name in ("part", "extra", "n_part"):
            raise AttributeError(name)
        return getattr(self.part, name)


def _load_partition(source: Any) -> Any:
    return source.load()


def _partition_context(part: Any, labeled_rows: Any, labels: Any, candidates_local: np.ndarray | None,
                       exclude_local: np.ndarray, seed: int, iteration: int,
                       n_classes: int | None) -> tuple[Any, QueryContext]:
    pool = _JoinedPool(part, labeled_rows) if labeled_rows is not None and len(labeled_rows) else part
    n_part = len(part)
    if candidates_local is None:
        mask = np.ones(n_part, dtype=bool)
        mask[exclude_local] = False
        candidates_local = np.flatnonzero(mask)
    labeled_local = np.arange(n_part, len(pool), dtype=np.int64)
    token_counts = pool.token_counts if getattr(part, "task", "") == "tagging" else None
    context = QueryContext(len(pool), labeled_local, candidates_local, np.random.default_rng(seed),
                           labels=labels, iteration=iteration, token_counts=token_counts, n_classes=n_classes)
    return pool, context


def _score_partition(part: Any, offset: int, handle: ModelHandle, payload: Any, strategy: ScoringStrategy,
                     k: int, candidates_local: np.ndarray | None, exclude_local: np.ndarray, labeled_rows: Any,
                     labels: Any, options: dict[str, Any], iteration: int, seed: int, n_classes: int | None,
                     keep_scores: bool, subsampler: Any = None, previous: Any = None) -> dict[str, Any]:
    """One partition's candidates for the global top-k (see the module docstring)."""
    if not hasattr(part, "subset"):  # a source, loaded here and dropped after the task
        part = part.load()
    model = worker_model(handle, payload)
    started = time.perf_counter()
    pool, context = _partition_context(part, labeled_rows, labels, candidates_local, exclude_local, seed,
                                       iteration, n_classes)
    if subsampler is not None:
        previous_rows = previous["row_scores"] if previous is not None else None
        kept = subsampler.subsample(context.candidate_indices, iteration=iteration, previous_scores=previous_rows,
                                    rng=np.random.default_rng([seed, offset]), query_size=k)
        context.candidate_indices = np.asarray(kept, dtype=np.int64)
    outputs = ModelOutputs(model, pool, options=options, expected=strategy.requires)
    checked = CheckedOutputs(outputs, strategy, multi_label_signal(outputs, context))
    outputs.require(strategy.requires, who=f"strategy {strategy.name!r}")
    candidates = context.candidate_indices
    scores = np.asarray(strategy.score(checked, context), dtype=np.float64) if len(candidates) else np.empty(0)
    if len(scores) and not np.isfinite(scores.sum()) and not np.isfinite(scores).all():
        bad = int(np.flatnonzero(~np.isfinite(scores))[0])
        raise SelectionError(f"{strategy.name}: non-finite score at pool position {offset + int(candidates[bad])}; "
                             "check the model outputs for NaN.")
    m = len(scores)
    if m <= k:
        keep = np.arange(m)
    else:
        threshold = np.partition(scores, m - k)[m - k]
        keep = np.flatnonzero(scores >= threshold)
    result: dict[str, Any] = {"positions": candidates[keep] + offset, "scores": scores[keep], "n_scored": m,
                              "seconds": time.perf_counter() - started}
    if keep_scores:
        result["all_positions"] = candidates + offset
        result["all_scores"] = scores
    if subsampler is not None:
        row_scores = np.full(len(part), np.nan) if previous is None else previous["row_scores"].copy()
        row_scores[candidates] = scores
        result["row_scores"] = row_scores
    return result


def _summary(result: dict[str, Any]) -> dict[str, Any]:
    """The part of a partition result that travels to the client (not ``row_scores``)."""
    return {key: value for key, value in result.items() if key != "row_scores"}


def _outputs_partition(part: Any, offset: int, handle: ModelHandle, payload: Any, kinds: Sequence[str],
                       positions_local: np.ndarray, options: dict[str, Any]) -> dict[str, Any]:
    if not hasattr(part, "subset"):
        part = part.load()
    model = worker_model(handle, payload)
    outputs = ModelOutputs(model, part, options=options, expected=tuple(kinds))
    return {kind: outputs.get(kind, positions_local) for kind in kinds}


class ClusterScorer:
    """Row-wise selection and output computation over a :class:`PartitionedPool` on Dask.

    Args:
        cluster: a ``dask.distributed.Client``, a scheduler address or a cluster object.
        pool: a :class:`PartitionedPool`, or an in-memory dataset (split into
            ``n_partitions``, default 4 per worker).
        persist: keep each partition's rows on a worker between calls (in-memory pools and
            small shards); False reloads a partition in each task (memory per worker stays
            at one partition per thread however large the pool).
        model_folder: a folder every worker can read: models are saved there (one
            sub-folder per version) instead of broadcast as bytes.
    """

    def __init__(self, cluster: Any, pool: Any, *, n_partitions: int | None = None, persist: bool | None = None,
                 model_folder: str | None = None) -> None:
        self.client = as_client(cluster)
        if not isinstance(pool, PartitionedPool):
            workers = max(1, len(self.client.scheduler_info().get("workers", {})))
            pool = PartitionedPool.from_dataset(pool, n_partitions or 4 * workers)
            persist = True if persist is None else persist
        self.pool = pool
        self.persist = bool(persist)
        self.model_folder = model_folder
        self._parts: list[Any] | None = None
        self._handle: ModelHandle | None = None
        self._payload: Any = None
        self._payload_local: Any = None  # kept to scatter again when the workers holding it are lost
        self._previous: list[Any] | None = None  # per-partition results kept on the workers (UPS)
        self.last_seconds = 0.0

    # ---- model -------------------------------------------------------------------------
    def set_model(self, model: Any, version: str | None = None) -> ModelHandle:
        """Ship ``model`` to the workers once under ``version`` (a fresh id when None).
        Calling again with the same version does nothing."""
        version = check_version(version) if version is not None else uuid.uuid4().hex
        if self._handle is not None and self._handle.version == version:
            return self._handle
        refused = None
        if "embeddings" in getattr(model, "provides", ()) and callable(getattr(model, "embed", None)):
            refused = unfitted_embedding_state(model)
            if refused is None:
                # State fitted lazily on first use (TF-IDF's LSA projection, fitted on the pool
                # cache the client holds) is fitted here, so workers embed as one process does.
                model.embed(self.pool.rows([0], client=self.client))
        folder = None if self.model_folder is None else f"{self.model_folder}/{version}"
        folder, payload, pickled = pack_model(model, folder)
        self._handle = ModelHandle(version, folder, None, pickled, refused)
        self._payload_local = payload
        self._payload = None if payload is None else self.client.scatter(payload, broadcast=True, hash=False)
        return self._handle

    def _gather_resilient(self, submit: Any) -> list[Any]:
        """Gather what ``submit()`` submits; scatter the model again if it was lost."""
        return gather_resubmitting(self.client, submit, self._scatter_again)

    def _scatter_again(self) -> None:
        self._previous = None  # UPS state computed on the lost workers: score fully
        if self._payload_local is not None:
            self._payload = self.client.scatter(self._payload_local, broadcast=True, hash=False)

    def _require_model(self, kinds: Sequence[str] = ()) -> ModelHandle:
        if self._handle is None:
            raise ConfigError("ClusterScorer: call set_model(model, version) before scoring.")
        if self._handle.embeddings_refused is not None and "embeddings" in kinds:
            raise CapabilityError(self._handle.embeddings_refused)
        return self._handle

    def _partitions(self) -> list[Any]:
        if not self.persist:
            return list(self.pool.sources)
        if self._parts is None:
            self._parts = [self.client.submit(_load_partition, source, pure=False) for source in self.pool.sources]
        return self._parts

    # ---- selection ---------------------------------------------------------------------
    def select(self, strategy: Any, k: int, *, rng: np.random.Generator, labeled_indices: Any = (),
               labels: Any = None, candidate_indices: Any = None, exclude_indices: Any = (),
               options: Mapping[str, Any] | None = None, iteration: int = 0, keep_scores: bool = False,
               subsampler: Any = None) -> Selection:
        """Top-``k`` of a row-wise strategy over the pool (or ``candidate_indices``), equal
        to ``strategy.select`` in one process with the same generator.

        Args:
            rng: the run's generator; only the merge draws from it (as ``top_k`` does).
            labeled_indices, labels: the labeled rows and their labels; every partition
                task gets both (strategies such as Mahalanobis read them).
            exclude_indices: rows that are not candidates (pending ones), when
                ``candidate_indices`` is None.
            keep_scores: return every candidate's score (``Selection.candidate_scores``);
                otherwise only the merged candidate lists come back to the client.
            subsampler: UPS (or another subsampler) run inside each partition on the scores
                that partition kept from the previous call.
        """
        strategy = get_strategy(strategy)
        if not isinstance(strategy, ScoringStrategy):
            raise ConfigError(
                f"strategy {strategy.name!r} chooses its batch jointly; the distributed top-k merge applies to "
                "row-wise strategies only. Use ClusterScorer.outputs() and select locally (exact), or "
                "labelwise.distributed.joint (coreset_of_coresets, kmeans_parallel_seeding) at scale.")
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise SelectionError(f"k must be a positive integer, got {k!r}.")
        handle = self._require_model(strategy.requires)
        n_pool = len(self.pool)
        labeled = check_positions(labeled_indices, n_pool, sort=False)
        excluded = check_positions(np.concatenate([labeled, check_positions(exclude_indices, n_pool)]), n_pool)
        options = dict(options or {})
        seed = int(options.get("random_state", 0) or 0)
        if candidate_indices is not None:
            per_part = [(c - o, None) for c, o in zip(self.pool.split_positions(candidate_indices),
                                                       self.pool.offsets[:-1], strict=True)]
        else:
            per_part = [(None, e - o) for e, o in zip(self.pool.split_positions(excluded), self.pool.offsets[:-1],
                                                      strict=True)]
        n_candidates = (sum(len(c) for c, _ in per_part) if candidate_indices is not None
                        else n_pool - len(excluded))
        if n_candidates == 0:
            raise SelectionError("there are no unlabeled candidates left to query.")
        if k > n_candidates:
            raise SelectionError(f"asked for k={k} but only {n_candidates} unlabeled candidates remain; lower k.")

        def submit() -> list[Any]:
            labeled_rows = None
            if len(labeled):
                labeled_rows = self.client.scatter(self.pool.rows(labeled), broadcast=True, hash=False)
            parts = self._partitions()
            previous = self._previous if subsampler is not None and self._previous is not None else None
            full = []
            for number, (part, (candidates, exclude)) in enumerate(zip(parts, per_part, strict=True)):
                full.append(self.client.submit(
                    _score_partition, part, int(self.pool.offsets[number]), handle, self._payload, strategy, int(k),
                    candidates, exclude if exclude is not None else np.empty(0, dtype=np.int64), labeled_rows,
                    labels, options, iteration, seed, self.pool.n_classes or None, keep_scores, subsampler,
                    previous[number] if previous is not None else None, pure=False))
            if subsampler is None:
                return full
            self._previous = full
            return [self.client.submit(_summary, future, pure=False) for future in full]

        results = self._gather_resilient(submit)
        self.last_seconds = float(sum(result["seconds"] for result in results))
        return merge_top_k(results, int(k), rng, keep_scores)

    def outputs(self, kinds: Sequence[str], positions: Any = None,
                options: Mapping[str, Any] | None = None) -> ModelOutputs:
        """Outputs ``kinds`` of ``positions`` (default: the whole pool) computed on the
        workers, in a local :class:`ModelOutputs` any strategy (joint ones too) reads."""
        handle = self._require_model(kinds)
        unknown = sorted(set(kinds) - set(known_outputs()))
        if unknown:
            raise ConfigError(f"unknown output kind(s) {unknown}; known kinds: {', '.join(sorted(known_outputs()))}.")
        n_pool = len(self.pool)
        positions = np.arange(n_pool) if positions is None else check_positions(positions, n_pool)
        pieces = self.pool.split_positions(positions)
        numbers = [number for number, piece in enumerate(pieces) if len(piece)]

        def submit() -> list[Any]:
            parts = self._partitions()
            return [self.client.submit(_outputs_partition, parts[number], int(self.pool.offsets[number]), handle,
                                       self._payload, list(kinds), pieces[number] - self.pool.offsets[number],
                                       dict(options or {}), pure=False)
                    for number in numbers]

        started = time.perf_counter()
        outputs = ModelOutputs(None, _Sized(n_pool))
        for number, result in zip(numbers, self._gather_resilient(submit), strict=True):
            for kind, values in result.items():
                outputs.set(kind, pieces[number], values)
        outputs.seconds = {kind: time.perf_counter() - started for kind in kinds}
        return outputs

    def reset_subsampling(self) -> None:
        """Forget the scores partitions kept for UPS (a new run)."""
        self._previous = None


class _Sized:
    def __init__(self, n: int) -> None:
        self.n = n

    def __len__(self) -> int:
        return self.n


def merge_top_k(results: Sequence[Mapping[str, Any]], k: int, rng: np.random.Generator | None,
                keep_scores: bool = False) -> Selection:
    """The global top-k from per-partition candidate lists given in pool order."""
    positions = np.concatenate([np.asarray(r["positions"], dtype=np.int64) for r in results])
    scores = np.concatenate([np.asarray(r["scores"], dtype=np.float64) for r in results])
    best = top_k(scores, k, rng)
    if keep_scores:
        return Selection(positions[best], scores[best],
                         np.concatenate([r["all_positions"] for r in results]),
                         np.concatenate([r["all_scores"] for r in results]))
    return Selection(positions[best], scores[best], positions, scores)
