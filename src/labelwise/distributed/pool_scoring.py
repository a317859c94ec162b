"""Pool scoring on Dask distributed: shards of the pool mapped to workers, each worker
loading the model once, per-shard top-k merged into the global top-k.

For strategies that score rows independently (``ScoringStrategy``: uncertainty, BALD, EGL,
NSP, ...) the result equals one process's exactly: each shard keeps its own top-k, and the
global top-k is always among the union of the shards' top-k. Batch strategies that choose
jointly (Coreset, BADGE, ...) need the whole pool's outputs in one place: use
:func:`compute_outputs_distributed` to compute the arrays on the workers and run the
strategy locally.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from labelwise.distributed.retry import gather_resubmitting
from labelwise.errors import ConfigError, SelectionError
from labelwise.outputs import ModelOutputs, known_outputs
from labelwise.strategies import QueryContext, ScoringStrategy, Selection, get_strategy, top_k

_WORKER_MODELS: dict[str, Any] = {}


def _worker_model(key: str, load_model: Callable[[], Any]) -> Any:
    """The model of ``key`` on this worker process, loaded on first use only."""
    if key not in _WORKER_MODELS:
        _WORKER_MODELS[key] = load_model()
    return _WORKER_MODELS[key]


def _score_shard(
    key: str,
    load_model: Callable[[], Any],
    pool: Any,
    strategy: ScoringStrategy,
    positions: np.ndarray,
    labeled: np.ndarray,
    k: int,
    options: dict[str, Any],
    seed: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    model = _worker_model(key, load_model)
    outputs = ModelOutputs(model, pool, options=options)
    context = QueryContext(len(pool), labeled, positions, np.random.default_rng(seed),
                           n_classes=getattr(pool, "n_classes", None))
    scores = np.asarray(strategy.score(outputs, context), dtype=np.float64)
    best = top_k(scores, min(k, len(scores)))
    return positions[best], scores[best], scores


def _outputs_shard(key: str, load_model: Callable[[], Any], pool: Any, kinds: Sequence[str],
                   positions: np.ndarray, options: dict[str, Any]) -> dict[str, Any]:
    model = _worker_model(key, load_model)
    outputs = ModelOutputs(model, pool, options=options)
    return {kind: outputs.get(kind, positions) for kind in kinds}


def _scatter(client: Any, pool: Any, load_model: Callable[[], Any]) -> tuple[Any, Any]:
    """Send the pool and the model loader to every worker once (not once per task).
    ``hash=False``: a fresh key per call, so a concurrent release of an earlier call's
    data never cancels this one."""
    pool_future = client.scatter(pool, broadcast=True, hash=False)
    loader_future = client.scatter(load_model, broadcast=True, hash=False)
    return pool_future, loader_future


def _shards(candidates: np.ndarray, n_shards: int) -> list[np.ndarray]:
    return [shard for shard in np.array_split(candidates, max(1, n_shards)) if len(shard)]


def _shard_count(client: Any, n_shards: int | None) -> int:
    if n_shards is None:
        return 4 * max(1, len(client.scheduler_info().get("workers", {})))
    if isinstance(n_shards, bool) or not isinstance(n_shards, (int, np.integer)) or n_shards < 1:
        raise ConfigError(f"n_shards must be a positive integer (or None for 4 per worker), got {n_shards!r}.")
    return int(n_shards)


def _check_positions(positions: Any, n_pool: int) -> np.ndarray:
    array = np.asarray(positions)
    if array.size == 0:
        raise SelectionError("positions is empty: give at least one pool position (or None for the whole pool).")
    if array.ndim != 1 or array.dtype.kind not in "iu":
        raise SelectionError(f"positions must be a 1-D array of integer pool positions, got shape {array.shape} "
                             f"of {array.dtype}.")
    bad = array[(array < 0) | (array >= n_pool)]
    if bad.size:
        raise SelectionError(f"positions holds {int(bad[0])}, outside the pool [0, {n_pool}).")
    return array.astype(np.int64, copy=False)


def score_pool_distributed(
    client: Any,
    load_model: Callable[[], Any],
    pool: Any,
    strategy: str | ScoringStrategy,
    k: int,
    *,
    labeled_indices: Sequence[int] | np.ndarray = (),
    candidate_indices: Sequence[int] | np.ndarray | None = None,
    n_shards: int | None = None,
    options: dict[str, Any] | None = None,
    model_key: str = "model",
    random_state: int = 0,
) -> Selection:
    """Select ``k`` positions with a row-wise scoring strategy on a Dask cluster.

    Args:
        client: a ``dask.distributed.Client``.
        load_model: a picklable function returning the fitted model; each worker calls it
            once per ``model_key`` and keeps the model (pass a new key after retraining).
        pool: the dataset; scattered to the workers once.
        strategy: a registry name or instance of a :class:`ScoringStrategy`.
        n_shards: pool shards (default: 4 per worker).
        options: output options (e.g. ``{"mc_samples": 10}``); the same on every worker.
    """
    strategy = get_strategy(strategy)
    if not isinstance(strategy, ScoringStrategy):
        raise ConfigError(
            f"strategy {strategy.name!r} chooses its batch jointly; distributed top-k merging applies to "
            "row-wise scoring strategies only. Use compute_outputs_distributed() and select locally."
        )
    context = QueryContext.build(len(pool), labeled_indices, candidate_indices, random_state=random_state)
    labeled = context.labeled_indices
    strategy.check(None, k, context)
    shards = _shards(context.candidate_indices, _shard_count(client, n_shards))

    def submit() -> list[Any]:
        pool_future, loader_future = _scatter(client, pool, load_model)
        return [client.submit(_score_shard, model_key, loader_future, pool_future, strategy, shard, labeled, k,
                              dict(options or {}), random_state + number, pure=False)
                for number, shard in enumerate(shards)]

    results = gather_resubmitting(client, submit)
    all_scores = np.concatenate([r[2] for r in results])
    candidate_positions = np.concatenate(shards)
    # The shards come back in candidate order, so the run's generator breaks ties exactly as
    # ScoringStrategy.select does in one process.
    best = top_k(all_scores, k, context.rng)
    return Selection(candidate_positions[best], all_scores[best], candidate_positions, all_scores)


def compute_outputs_distributed(
    client: Any,
    load_model: Callable[[], Any],
    pool: Any,
    kinds: Sequence[str],
    *,
    positions: Sequence[int] | np.ndarray | None = None,
    n_shards: int | None = None,
    options: dict[str, Any] | None = None,
    model_key: str = "model",
) -> ModelOutputs:
    """Compute output ``kinds`` for ``positions`` on the workers and return a local
    :class:`ModelOutputs` holding them, ready for any strategy (batch-aware ones included)."""
    positions = np.arange(len(pool)) if positions is None else _check_positions(positions, len(pool))
    known = known_outputs()
    unknown = sorted(set(kinds) - set(known))
    if unknown:
        raise ConfigError(f"compute_outputs_distributed(): unknown output kind(s) {unknown}; "
                          f"known kinds: {', '.join(sorted(known))}.")
    shards = _shards(positions, _shard_count(client, n_shards))

    def submit() -> list[Any]:
        pool_future, loader_future = _scatter(client, pool, load_model)
        return [client.submit(_outputs_shard, model_key, loader_future, pool_future, list(kinds), shard,
                              dict(options or {}), pure=False) for shard in shards]

    outputs = ModelOutputs(None, pool)
    for shard, result in zip(shards, gather_resubmitting(client, submit), strict=True):
        for kind, values in result.items():
            outputs.set(kind, shard, values)
    return outputs
