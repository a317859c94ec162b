"""Joint (batch-aware) strategies at scale: per-partition candidates, then a merge.

Coreset (k-center): *coreset of coresets*. Each partition runs greedy k-center over its
own candidates (distances start from the labeled rows), keeping ``k`` centres; the client
runs greedy k-center again over the union of those ``P * k`` rows, starting from the
labeled rows. Each greedy pass is a 2-approximation, so the batch covers the pool within
4x the optimal radius (composable core-sets, Indyk et al. 2014); :func:`coverage_radius`
measures the real radius.

BERT-KM / BADGE / Cluster-Margin seeding: *k-means||* (Bahmani et al. 2012). One row drawn
at random, then ``rounds`` rounds in which every partition samples each of its rows with
probability ``min(1, oversample * d^2 / phi)`` (``phi`` the summed cost, reduced first);
the sampled rows are weighted by how many rows they are nearest to, and the client runs
weighted k-means++ over them to pick the ``k`` rows. Expected cost O(log k) of optimal in
``O(log n)`` rounds; :func:`kmeans_cost` measures it. For BADGE the points are gradient
embeddings ``(p - onehot(argmax p)) (x) h`` built per partition from ``probabilities`` and
``embeddings`` (dense), so only those two outputs are computed on the workers.

Only ``O(P * k * D)`` numbers reach the client; the embeddings stay on the workers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from labelwise.distributed.partitioned import check_positions
from labelwise.distributed.scorer import ClusterScorer
from labelwise.distributed.worker import worker_model
from labelwise.errors import SelectionError
from labelwise.outputs import ModelOutputs


def _points(part: Any, offset: int, handle: Any, payload: Any, exclude_local: np.ndarray, gradient: bool,
            options: dict[str, Any]) -> dict[str, np.ndarray]:
    if not hasattr(part, "subset"):
        part = part.load()
    model = worker_model(handle, payload)
    mask = np.ones(len(part), dtype=bool)
    mask[exclude_local] = False
    rows = np.flatnonzero(mask)
    outputs = ModelOutputs(model, part, options=options)
    points = np.asarray(outputs.get("embeddings", rows), dtype=np.float32)
    if gradient:
        points = gradient_embeddings(np.asarray(outputs.get("probabilities", rows), dtype=np.float32), points)
    return {"positions": rows + offset, "points": points}


def gradient_embeddings(probabilities: np.ndarray, hidden: np.ndarray) -> np.ndarray:
    """BADGE's last-layer gradient at the predicted label, ``(n, C * D)``."""
    coefficients = probabilities.copy()
    coefficients[np.arange(len(probabilities)), probabilities.argmax(axis=1)] -= 1.0
    return (coefficients[:, :, None] * hidden[:, None, :]).reshape(len(hidden), -1)


def _min_sq_distances(points: np.ndarray, centres: np.ndarray, block: int = 4096) -> np.ndarray:
    if len(centres) == 0:
        return np.full(len(points), np.inf)
    out = np.empty(len(points))
    centre_norms = (centres.astype(np.float64) ** 2).sum(axis=1)
    for start in range(0, len(points), block):
        chunk = points[start:start + block].astype(np.float64)
        d = (chunk ** 2).sum(axis=1)[:, None] - 2 * chunk @ centres.T.astype(np.float64) + centre_norms[None, :]
        out[start:start + block] = np.maximum(d.min(axis=1), 0.0)
    return out


def greedy_k_center(points: np.ndarray, k: int, centres: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Rows (into ``points``) chosen greedily farthest from ``centres`` and each other."""
    k = min(k, len(points))
    if k == 0:
        return np.empty(0, dtype=np.int64)
    distances = _min_sq_distances(points, centres)
    chosen = []
    if not np.isfinite(distances).any():
        first = int(rng.integers(len(points)))
        chosen.append(first)
        distances = _min_sq_distances(points, points[[first]])
    while len(chosen) < k:
        pick = int(np.argmax(distances))
        chosen.append(pick)
        distances = np.minimum(distances, _min_sq_distances(points, points[[pick]]))
    return np.asarray(chosen, dtype=np.int64)


def _local_k_center(points: dict[str, np.ndarray], k: int, labeled_points: np.ndarray,
                    seed: int) -> dict[str, np.ndarray]:
    chosen = greedy_k_center(points["points"], k, labeled_points, np.random.default_rng(seed))
    return {"positions": points["positions"][chosen], "points": points["points"][chosen]}


def _cost(points: dict[str, np.ndarray], centres: np.ndarray) -> tuple[float, float]:
    d = _min_sq_distances(points["points"], centres)
    return float(d.sum()), float(d.max(initial=0.0))


def _sample(points: dict[str, np.ndarray], centres: np.ndarray, factor: float, phi: float,
            seed: int) -> dict[str, np.ndarray]:
    d = _min_sq_distances(points["points"], centres)
    probability = np.minimum(1.0, factor * d / max(phi, 1e-300))
    keep = np.flatnonzero(np.random.default_rng(seed).random(len(d)) < probability)
    return {"positions": points["positions"][keep], "points": points["points"][keep]}


def _take_point(points: dict[str, np.ndarray], row: int) -> dict[str, np.ndarray]:
    return {"positions": points["positions"][[row]], "points": points["points"][[row]]}


def _nearest_counts(points: dict[str, np.ndarray], centres: np.ndarray, block: int = 4096) -> np.ndarray:
    counts = np.zeros(len(centres), dtype=np.int64)
    norms = (centres.astype(np.float64) ** 2).sum(axis=1)
    for start in range(0, len(points["points"]), block):
        chunk = points["points"][start:start + block].astype(np.float64)
        nearest = (norms[None, :] - 2 * chunk @ centres.T.astype(np.float64)).argmin(axis=1)
        counts += np.bincount(nearest, minlength=len(centres))
    return counts


class JointSelector:
    """Coreset and k-means|| seeding over a :class:`ClusterScorer`'s pool (see the module
    docstring). Embeddings (or gradient embeddings) of the unlabeled rows are computed once
    per call and stay on the workers."""

    def __init__(self, scorer: ClusterScorer, *, gradient: bool = False,
                 options: dict[str, Any] | None = None) -> None:
        self.scorer = scorer
        self.client = scorer.client
        self.gradient = gradient
        self.options = dict(options or {})

    def _point_futures(self, excluded: np.ndarray) -> list[Any]:
        scorer = self.scorer
        handle = scorer._require_model(("embeddings",))
        pool = scorer.pool
        parts = scorer._partitions()
        return [self.client.submit(_points, parts[p], int(pool.offsets[p]), handle, scorer._payload,
                                   e - pool.offsets[p], self.gradient, self.options, pure=False)
                for p, e in enumerate(pool.split_positions(excluded))]

    def _labeled_points(self, labeled: np.ndarray) -> np.ndarray:
        if not len(labeled):
            return np.empty((0, 0), dtype=np.float32)
        kinds = ["embeddings", "probabilities"] if self.gradient else ["embeddings"]
        outputs = self.scorer.outputs(kinds, labeled, self.options)
        points = outputs.get("embeddings", labeled)
        if self.gradient:
            points = gradient_embeddings(outputs.get("probabilities", labeled), points)
        return np.asarray(points, dtype=np.float32)

    def coreset(self, k: int, *, labeled_indices: Sequence[int] | np.ndarray = (), exclude_indices: Any = (),
                rng: np.random.Generator) -> np.ndarray:
        """``k`` positions by coreset of coresets (greedy k-center per partition, then over
        the union)."""
        labeled, excluded = self._positions(k, labeled_indices, exclude_indices)
        labeled_points = self._labeled_points(labeled)
        futures = self._point_futures(excluded)
        seed = int(rng.integers(2**31 - 1))
        local = [self.client.submit(_local_k_center, f, int(k), labeled_points, seed + number, pure=False)
                 for number, f in enumerate(futures)]
        pieces = self.client.gather(local)
        positions = np.concatenate([piece["positions"] for piece in pieces])
        points = np.concatenate([piece["points"] for piece in pieces])
        chosen = greedy_k_center(points, k, labeled_points, rng)
        self._last = (futures, labeled_points)
        return positions[chosen]

    def kmeans_parallel(self, k: int, *, labeled_indices: Sequence[int] | np.ndarray = (),
                        exclude_indices: Any = (), rng: np.random.Generator, rounds: int = 5,
                        oversample: float | None = None) -> np.ndarray:
        """``k`` positions by k-means|| seeding (the BERT-KM / BADGE initial centres)."""
        labeled, excluded = self._positions(k, labeled_indices, exclude_indices)
        futures = self._point_futures(excluded)
        factor = float(oversample if oversample is not None else 2 * k)
        sizes = [len(self.scorer.pool.split_positions(excluded)[p]) for p in range(self.scorer.pool.n_partitions)]
        counts = np.asarray(self.scorer.pool.sizes) - np.asarray(sizes)
        first_part = int(rng.choice(len(counts), p=counts / counts.sum()))
        first = self.client.submit(_take_point, futures[first_part], int(rng.integers(counts[first_part])),
                                   pure=False).result()
        positions, centres = first["positions"], first["points"]
        for _ in range(int(rounds)):
            costs = self.client.gather([self.client.submit(_cost, f, centres, pure=False) for f in futures])
            phi = float(sum(cost for cost, _ in costs))
            if phi <= 0:
                break
            seed = int(rng.integers(2**31 - 1))
            sampled = self.client.gather([self.client.submit(_sample, f, centres, factor, phi, seed + number,
                                                             pure=False) for number, f in enumerate(futures)])
            positions = np.concatenate([positions] + [s["positions"] for s in sampled])
            centres = np.concatenate([centres] + [s["points"] for s in sampled])
        weights = np.sum(self.client.gather([self.client.submit(_nearest_counts, f, centres, pure=False)
                                             for f in futures]), axis=0).astype(np.float64)
        chosen = weighted_kmeans_pp(centres, weights, min(k, len(centres)), rng)
        picked = positions[chosen]
        if len(picked) < k:  # fewer distinct samples than k: fill with the farthest rows
            extra = self.coreset(k - len(picked), labeled_indices=labeled,
                                 exclude_indices=np.concatenate([excluded, picked]), rng=rng)
            picked = np.concatenate([picked, extra])
        self._last = (futures, np.empty((0, 0)))
        return picked

    def _positions(self, k: int, labeled_indices: Any, exclude_indices: Any) -> tuple[np.ndarray, np.ndarray]:
        n_pool = len(self.scorer.pool)
        labeled = check_positions(labeled_indices, n_pool, sort=False)
        excluded = check_positions(np.concatenate([labeled, check_positions(exclude_indices, n_pool)]), n_pool)
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise SelectionError(f"k must be a positive integer, got {k!r}.")
        if k > n_pool - len(excluded):
            raise SelectionError(f"asked for k={k} but only {n_pool - len(excluded)} unlabeled candidates remain.")
        return labeled, excluded

    def measure(self, chosen: np.ndarray, *, labeled_indices: Any = ()) -> dict[str, float]:
        """Coverage radius (max distance of an unlabeled row to the labeled + chosen rows) and
        k-means cost (sum of squared distances to the chosen rows), over the rows of the last call."""
        futures, _ = self._last
        labeled = check_positions(labeled_indices, len(self.scorer.pool), sort=False)
        centres_all = self._labeled_points(np.concatenate([labeled, chosen]).astype(np.int64))
        centres_chosen = centres_all[len(labeled):]
        radius = max(m for _, m in self.client.gather(
            [self.client.submit(_cost, f, centres_all, pure=False) for f in futures]))
        cost = sum(c for c, _ in self.client.gather(
            [self.client.submit(_cost, f, centres_chosen, pure=False) for f in futures]))
        return {"coverage_radius": float(np.sqrt(radius)), "kmeans_cost": float(cost)}


def weighted_kmeans_pp(points: np.ndarray, weights: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """k rows of ``points`` by k-means++ with each row's sampling mass times ``weights``."""
    first = int(rng.choice(len(points), p=weights / weights.sum()))
    chosen = [first]
    distances = _min_sq_distances(points, points[[first]])
    while len(chosen) < k:
        mass = distances * weights
        total = mass.sum()
        if total <= 0:
            remaining = np.setdiff1d(np.arange(len(points)), chosen)
            chosen.extend(remaining[: k - len(chosen)].tolist())
            break
        pick = int(rng.choice(len(points), p=mass / total))
        chosen.append(pick)
        distances = np.minimum(distances, _min_sq_distances(points, points[[pick]]))
    return np.asarray(chosen, dtype=np.int64)
