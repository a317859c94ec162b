"""Blockwise distance helpers shared by the embedding strategies.

Everything over the pool is processed in row blocks so memory grows with
``block × reference``, never ``pool²``.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import numpy as np

BLOCK_ROWS = 4096


def blocks(n: int, size: int = BLOCK_ROWS) -> Iterator[slice]:
    for start in range(0, n, size):
        yield slice(start, min(start + size, n))


def squared_norms(matrix: np.ndarray) -> np.ndarray:
    return np.einsum("ij,ij->i", matrix, matrix)


def min_squared_distances(points: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """For each row of ``points`` ``(n, d)``, the squared distance to its nearest row of
    ``centres`` ``(m, d)``; ``inf`` when there are no centres."""
    result = np.full(len(points), np.inf, dtype=np.float64)
    if len(centres) == 0:
        return result
    centre_norms = squared_norms(centres)
    for rows in blocks(len(points)):
        block = points[rows]
        distances = squared_norms(block)[:, None] + centre_norms[None, :] - 2.0 * block @ centres.T
        result[rows] = np.maximum(distances.min(axis=1), 0.0)
    return result


def nearest_neighbours(queries: np.ndarray, reference: np.ndarray, k: int) -> np.ndarray:
    """Indices ``(n, k)`` of the k nearest rows of ``reference`` (Euclidean) for each query."""
    k = min(k, len(reference))
    result = np.empty((len(queries), k), dtype=np.int64)
    reference_norms = squared_norms(reference)
    for rows in blocks(len(queries)):
        block = queries[rows]
        distances = reference_norms[None, :] - 2.0 * block @ reference.T
        nearest = np.argpartition(distances, k - 1, axis=1)[:, :k] if k < len(reference) else np.tile(
            np.arange(len(reference)), (len(block), 1))
        result[rows] = nearest
    return result


def l2_normalise(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 norm, ``(n, d)`` float32; all-zero rows stay zero."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, np.finfo(np.float32).tiny)


#: above this many rows k-means runs mini-batch (Sculley 2010): at a 100k pool it is over
#: ten times faster than full Lloyd iterations for an inertia within about 1 %.
MINIBATCH_ABOVE = 20_000


def kmeans(vectors: np.ndarray, n_clusters: int, seed: int, n_init: int = 1, max_iter: int = 100,
           minibatch_above: int = MINIBATCH_ABOVE) -> tuple[np.ndarray, np.ndarray]:
    """Seeded k-means with k-means++ seeding, in float32. Returns ``(labels (n,), centres
    (n_clusters, d))``. Fewer distinct points than clusters is allowed (some centres then
    coincide). Pools above ``minibatch_above`` rows use scikit-learn's MiniBatchKMeans."""
    from sklearn.cluster import KMeans, MiniBatchKMeans

    vectors = np.asarray(vectors, dtype=np.float32)
    if len(vectors) > minibatch_above:
        model = MiniBatchKMeans(n_clusters=n_clusters, n_init=n_init, max_iter=max_iter, batch_size=1024,
                                random_state=seed)
    else:
        model = KMeans(n_clusters=n_clusters, n_init=n_init, max_iter=max_iter, random_state=seed)
    with warnings.catch_warnings():
        # Duplicate points give "Number of distinct clusters found smaller than n_clusters".
        warnings.simplefilter("ignore")
        labels = model.fit_predict(vectors)
    return labels.astype(np.int64), model.cluster_centers_.astype(np.float32)


def nearest_unique(vectors: np.ndarray, centres: np.ndarray, block_centres: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """For each centre in turn, the nearest row not taken by an earlier centre.

    Returns ``(rows (n_centres,), distances (n_centres,))``: unique row positions into
    ``vectors``. Needs ``len(vectors) >= len(centres)``. Memory ``block_centres x n``
    float32; time ``O(n_centres x n x d)``.
    """
    vectors = np.asarray(vectors, dtype=np.float32)
    centres = np.asarray(centres, dtype=np.float32)
    row_norms = squared_norms(vectors)
    taken = np.zeros(vectors.shape[0], dtype=bool)
    rows = np.empty(len(centres), dtype=np.int64)
    distances = np.empty(len(centres))
    for start in range(0, len(centres), block_centres):
        block = centres[start : start + block_centres]
        squared = squared_norms(block)[:, None] - 2.0 * block @ vectors.T + row_norms[None, :]
        for offset in range(len(block)):  # a loop over centres (k), never over the pool
            row_distances = np.where(taken, np.inf, squared[offset])
            best = int(np.argmin(row_distances))  # ties -> lowest position
            rows[start + offset] = best
            distances[start + offset] = np.sqrt(max(float(row_distances[best]), 0.0))
            taken[best] = True
    return rows, distances


def fill_to_k(chosen: list[int], scores: np.ndarray, k: int) -> list[int]:
    """De-duplicate ``chosen`` (positions into the candidate array) keeping order, then
    fill up to exactly ``k`` with the best-scored remaining candidates."""
    seen: dict[int, None] = dict.fromkeys(chosen)
    result = list(seen)[:k]
    if len(result) < k:
        order = np.lexsort((np.arange(len(scores)), -scores))
        taken = set(result)
        for position in order:
            if int(position) not in taken:
                result.append(int(position))
                taken.add(int(position))
                if len(result) == k:
                    break
    return result
