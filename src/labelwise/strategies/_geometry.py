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


def min_squared_distances(points: np.ndarray, centres: np.ndarray, point_norms: np.ndarray | None = None
                          ) -> np.ndarray:
    """For each row of ``points`` ``(n, d)``, the squared distance to its nearest row of
    ``centres`` ``(m, d)``, in the points' float dtype (float32 stays float32); ``inf``
    when there are no centres. ``point_norms``: the points' squared norms, if known."""
    dtype = points.dtype if points.dtype.kind == "f" else np.float64
    result = np.full(len(points), np.inf, dtype=dtype)
    if len(centres) == 0:
        return result
    centres = np.asarray(centres, dtype=dtype)
    centre_norms = squared_norms(centres)
    if point_norms is None:
        point_norms = squared_norms(points)
    for rows in blocks(len(points), max(256, (1 << 22) // max(1, len(centres)))):
        distances = points[rows] @ centres.T
        distances *= -2.0
        distances += centre_norms[None, :]
        distances.min(axis=1, out=result[rows])
        result[rows] += point_norms[rows]
    np.maximum(result, 0.0, out=result)
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


#: k-means++ seeds are drawn from a sample of this many rows per cluster (at least).
SEED_SAMPLE_PER_CLUSTER = 4
#: Lloyd stops once an iteration lowers the inertia by less than this share.
LLOYD_TOL = 1e-3


def kmeans(vectors: np.ndarray, n_clusters: int, seed: int, n_init: int = 1, max_iter: int = 100,
           minibatch_above: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Seeded k-means in float32. Returns ``(labels (n,), centres (n_clusters, d))``.

    Full Lloyd iterations with blockwise GEMM distances (memory ``BLOCK_ROWS x
    n_clusters``), seeded by k-means++ on a seeded sample of ``4 x n_clusters`` rows, stopped
    once an iteration lowers the inertia by less than 0.1 % (within 1 % of scikit-learn's
    converged KMeans, several times faster). Fewer distinct points than clusters is
    allowed (some centres then coincide). ``minibatch_above``: an explicit choice of
    scikit-learn's MiniBatchKMeans (Sculley 2010) above that many rows; None never."""
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    if minibatch_above is not None and len(vectors) > minibatch_above:
        from sklearn.cluster import MiniBatchKMeans

        model = MiniBatchKMeans(n_clusters=n_clusters, n_init=n_init, max_iter=max_iter, batch_size=1024,
                                random_state=seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # duplicate points: fewer distinct clusters
            labels = model.fit_predict(vectors)
        return labels.astype(np.int64), model.cluster_centers_.astype(np.float32)
    rng = np.random.default_rng(seed)
    best: tuple[float, np.ndarray, np.ndarray] | None = None
    for _ in range(max(1, n_init)):
        labels, centres, inertia = lloyd(vectors, _seed_centres(vectors, n_clusters, rng), max_iter)
        if best is None or inertia < best[0]:
            best = (inertia, labels, centres)
    assert best is not None
    return best[1], best[2]


def _seed_centres(vectors: np.ndarray, n_clusters: int, rng: np.random.Generator) -> np.ndarray:
    """Greedy k-means++ (Arthur & Vassilvitskii 2007; ``2 + log k`` trials per centre, as
    scikit-learn) on a seeded sample of the rows."""
    n = len(vectors)
    size = min(n, max(SEED_SAMPLE_PER_CLUSTER * n_clusters, 2000))
    sample = vectors[np.sort(rng.choice(n, size, replace=False))] if size < n else vectors
    norms = squared_norms(sample)
    trials = 2 + int(np.log(n_clusters))

    def squared_to(rows: np.ndarray) -> np.ndarray:
        return np.maximum(norms[rows][:, None] + norms[None, :] - 2.0 * sample[rows] @ sample.T, 0.0)

    chosen = [int(rng.integers(len(sample)))]
    nearest = squared_to(np.array(chosen))[0]
    for _ in range(1, n_clusters):
        cumulative = np.cumsum(nearest, dtype=np.float64)
        if cumulative[-1] <= 0:
            candidates = rng.integers(len(sample), size=trials)
        else:
            draws = rng.random(trials) * cumulative[-1]
            candidates = np.minimum(np.searchsorted(cumulative, draws), len(sample) - 1)
        options = np.minimum(nearest[None, :], squared_to(candidates))
        best = int(np.argmin(options.sum(axis=1, dtype=np.float64)))
        chosen.append(int(candidates[best]))
        nearest = options[best]
    return sample[np.array(chosen)].copy()


def lloyd(vectors: np.ndarray, centres: np.ndarray, max_iter: int, tol: float = LLOYD_TOL
          ) -> tuple[np.ndarray, np.ndarray, float]:
    """Lloyd iterations from ``centres``: ``(labels, centres, inertia)``. Empty clusters
    move to the rows farthest from their centres."""
    import scipy.sparse as sp

    n, n_clusters = len(vectors), len(centres)
    row_norms = squared_norms(vectors)
    labels = np.zeros(n, dtype=np.int64)
    distances = np.empty(n, dtype=np.float32)
    previous = np.inf
    inertia = np.inf
    for _ in range(max(1, max_iter)):
        centre_norms = squared_norms(centres)
        for rows in blocks(n):
            squared = vectors[rows] @ centres.T
            squared *= -2.0
            squared += centre_norms
            labels[rows] = squared.argmin(axis=1)
            distances[rows] = squared[np.arange(len(squared)), labels[rows]]
        distances += row_norms
        np.maximum(distances, 0.0, out=distances)
        inertia = float(distances.sum(dtype=np.float64))
        membership = sp.csr_matrix((np.ones(n, dtype=np.float32), (labels, np.arange(n))), shape=(n_clusters, n))
        counts = np.bincount(labels, minlength=n_clusters)
        sums = np.asarray(membership @ vectors)
        empty = np.flatnonzero(counts == 0)
        centres = sums / np.maximum(counts, 1)[:, None].astype(np.float32)
        if len(empty):
            far = np.argsort(-distances, kind="stable")[: len(empty)]
            centres[empty] = vectors[far]
        if previous - inertia <= tol * inertia and not len(empty):
            break
        previous = inertia
    return labels, centres.astype(np.float32), inertia


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
