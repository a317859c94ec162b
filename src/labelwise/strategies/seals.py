"""SEALS: restrict the candidates to the nearest neighbours of the labeled set.

References:
    Coleman, Chou, Katz-Samuels, Culatana, Bailis, Berg, Nowak, Sumbaly, Zaharia &
    Yalniz (2022). Similarity search for efficient active learning and search of rare
    concepts. AAAI.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from labelwise.errors import ConfigError
from labelwise.strategies._geometry import l2_normalise
from labelwise.strategies.base import QueryContext, QueryStrategy, Selection
from labelwise.strategies.registry import get_strategy, register_strategy


def knn_union(queries: np.ndarray, database: np.ndarray, n_neighbors: int, block_rows: int = 1024) -> np.ndarray:
    """Positions into ``database`` that are among the ``n_neighbors`` most similar rows (dot
    product; cosine for unit rows) of at least one row of ``queries``, sorted ascending.

    Exact, in blocks of ``block_rows`` queries: memory ``block_rows x len(database)``,
    time ``O(n_queries x n x dim)`` with ``argpartition`` (no full sort).
    """
    n = database.shape[0]
    if n_neighbors >= n:
        return np.arange(n)
    member = np.zeros(n, dtype=bool)
    for start in range(0, queries.shape[0], block_rows):
        similarity = queries[start : start + block_rows] @ database.T  # (b, n)
        nearest = np.argpartition(-similarity, n_neighbors - 1, axis=1)[:, :n_neighbors]
        member[nearest.ravel()] = True
    return np.flatnonzero(member)


@register_strategy("seals", "similarity_search")
class SEALS(QueryStrategy):
    """SEALS (Coleman et al. 2022) as a filter in front of any strategy: only candidates
    among the ``n_neighbors`` nearest neighbours (cosine similarity of ``embeddings``) of
    some labeled row are passed on to ``base``, which then selects among them. Selection
    cost grows with the labeled set, not with the pool.

    Widening: if the filtered set holds fewer than ``k`` candidates, ``n_neighbors`` is
    doubled (repeatedly) until it holds at least ``k`` or covers every candidate. With no
    labeled row at all there is nothing to search from and every candidate is passed on
    (SEALS reduces to ``base``).

    The neighbour search is exact and blockwise (one ``block x n_candidates`` similarity
    matrix at a time), with no approximate index (faiss/annoy are not used): the paper's
    speed-up from an ANN index over the whole pool is therefore not reproduced, only its
    candidate set.

    Args:
        base: the strategy run on the filtered candidates (a registry name or instance).
        n_neighbors: neighbours per labeled row.
        base_params: parameters for ``base`` when it is a name.

    References:
        Coleman et al. (2022). Similarity search for efficient active learning and search
        of rare concepts. AAAI.
    """

    requires = ("embeddings",)

    def __init__(self, base: str | QueryStrategy = "entropy", n_neighbors: int = 100,
                 base_params: dict[str, Any] | None = None) -> None:
        self.base = base
        self.n_neighbors = n_neighbors
        self.base_params = base_params

    def base_strategy(self) -> QueryStrategy:
        return get_strategy(self.base, **(self.base_params or {}))

    def check(self, outputs: Any, k: int, context: QueryContext) -> None:
        if isinstance(self.n_neighbors, bool) or not isinstance(self.n_neighbors, (int, np.integer)) \
                or self.n_neighbors < 1:
            raise ConfigError(f"seals: n_neighbors must be a positive integer, got {self.n_neighbors!r}.")
        super().check(outputs, k, context)
        base = self.base_strategy()
        if outputs is not None:
            outputs.require(base.requires, who=f"strategy 'seals' (base {base.name!r})")

    def filtered_candidates(self, outputs: Any, k: int, context: QueryContext) -> np.ndarray:
        """The candidates (pool positions, in candidate order) SEALS hands to ``base``."""
        candidates = context.candidate_indices
        if len(context.labeled_indices) == 0:
            return candidates
        database = l2_normalise(outputs.get("embeddings", candidates))
        queries = l2_normalise(outputs.get("embeddings", context.labeled_indices))
        n_neighbors = int(self.n_neighbors)
        while True:
            rows = knn_union(queries, database, n_neighbors)
            if len(rows) >= k or n_neighbors >= len(candidates):
                break
            n_neighbors *= 2
        keep = np.zeros(len(candidates), dtype=bool)
        keep[rows] = True
        return candidates[keep]

    def _select(self, outputs: Any, k: int, context: QueryContext) -> Selection:
        filtered = self.filtered_candidates(outputs, k, context)
        narrowed = QueryContext(
            context.n_pool, context.labeled_indices, filtered, context.rng, labels=context.labels,
            iteration=context.iteration, token_counts=context.token_counts, n_classes=context.n_classes,
            multi_label=context.multi_label,
        )
        return self.base_strategy().select(outputs, k, narrowed)


__all__ = ["SEALS", "knn_union"]
