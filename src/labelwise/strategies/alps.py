"""ALPS: cold-start active learning from masked-LM surprisal embeddings.

References:
    Yuan, Lin & Boyd-Graber (2020). Cold-start active learning through self-supervised
    language modeling. EMNLP. https://aclanthology.org/2020.emnlp-main.637
"""

from __future__ import annotations

from typing import Any

import numpy as np

from labelwise._random import derive_seed
from labelwise.strategies._geometry import kmeans, l2_normalise, nearest_unique
from labelwise.strategies.base import QueryContext, QueryStrategy, Selection
from labelwise.strategies.registry import register_strategy


@register_strategy("alps", "surprisal")
class ALPS(QueryStrategy):
    """ALPS (Yuan et al. 2020): cluster the L2-normalised surprisal embeddings of the
    candidates into ``k`` clusters with k-means and query the row nearest each centre.

    Needs no labels (``cold_start = True``): the surprisal embeddings come from a masked
    language model, never from the task model. Reads ``surprisal_embeddings``
    ``(n_pool, max_length)``.

    The batch is chosen jointly: centres are visited in cluster order and each takes its
    nearest row not taken yet, so the batch has exactly ``k`` unique rows even when two
    centres share a nearest row or points repeat.

    Scores: each candidate scores minus its distance to its own cluster centre (higher =
    more representative of its cluster); a chosen row scores minus its distance to the
    centre it was chosen for.

    Args:
        n_init: k-means restarts with k-means++ seeding (1, as scikit-learn's "auto"; all
            seeded from the context's generator).

    References:
        Yuan, Lin & Boyd-Graber (2020). Cold-start active learning through
        self-supervised language modeling. EMNLP.
    """

    requires = ("surprisal_embeddings",)
    cold_start = True

    def __init__(self, n_init: int = 1) -> None:
        self.n_init = n_init

    def _select(self, outputs: Any, k: int, context: QueryContext) -> Selection:
        candidates = context.candidate_indices
        vectors = l2_normalise(outputs.get("surprisal_embeddings", candidates))
        labels, centres = kmeans(vectors, k, derive_seed(context.rng), self.n_init)
        rows, distances = nearest_unique(vectors, centres)
        own = np.linalg.norm(vectors - centres[labels], axis=1)
        return Selection(candidates[rows], -distances, candidates, -own.astype(np.float64))


__all__ = ["ALPS", "kmeans", "l2_normalise", "nearest_unique"]
