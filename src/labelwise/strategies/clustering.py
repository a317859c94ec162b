"""Cluster-based batch strategies: Cluster-Margin and BERT-KM."""

from __future__ import annotations

from typing import Any

import numpy as np

from labelwise._random import derive_seed
from labelwise.strategies import scores as heuristics
from labelwise.strategies._geometry import MINIBATCH_ABOVE, kmeans, l2_normalise, nearest_unique
from labelwise.strategies.base import QueryContext, QueryStrategy, Selection
from labelwise.strategies.registry import register_strategy

EMBEDDING_TASKS = ("classification", "tagging", "seq2seq")


@register_strategy("cluster_margin", "clustermargin")
class ClusterMargin(QueryStrategy):
    """Cluster-Margin: cluster the pool once (average-linkage agglomerative clustering of
    the embeddings), take the ``margin_factor × k`` candidates with the smallest margins,
    and pick round-robin over their clusters, smallest cluster first, so the batch is both
    uncertain and spread across clusters.

    Pools larger than ``max_cluster_rows`` are clustered on a seeded subsample of that
    size; every other row joins the cluster with the nearest centroid.

    References:
        Citovsky, DeSalvo, Gentile, Karydas, Rajagopalan, Rostamizadeh & Kumar (2021).
        Batch active learning at scale. NeurIPS.
    """

    requires = ("embeddings", "probabilities")
    supports_multi_label = False

    def __init__(self, margin_factor: float = 10.0, distance_threshold: float | None = None,
                 n_clusters: int | None = None, max_cluster_rows: int = 5000) -> None:
        self.margin_factor = margin_factor
        self.distance_threshold = distance_threshold
        self.n_clusters = n_clusters
        self.max_cluster_rows = max_cluster_rows

    def _select(self, outputs: Any, k: int, context: QueryContext) -> Selection:
        candidates = context.candidate_indices
        margins = heuristics.margin(outputs.get("probabilities", candidates))  # higher = smaller margin
        shortlist_size = min(len(candidates), max(k, int(self.margin_factor * k)))
        shortlist = np.argsort(-margins, kind="stable")[:shortlist_size]
        embeddings = np.asarray(outputs.get("embeddings", candidates[shortlist]), dtype=np.float32)
        clusters = self._cluster(embeddings, k, context.rng)
        members: dict[int, list[int]] = {}
        for row, cluster in enumerate(clusters):
            members.setdefault(int(cluster), []).append(row)  # rows stay in margin order
        ordered = sorted(members.values(), key=len)
        chosen: list[int] = []
        depth = 0
        while len(chosen) < k:
            for group in ordered:
                if depth < len(group):
                    chosen.append(group[depth])
                    if len(chosen) == k:
                        break
            depth += 1
        picked = shortlist[np.array(chosen)]
        return Selection(candidates[picked], margins[picked], candidates, margins)

    def _cluster(self, embeddings: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
        from sklearn.cluster import AgglomerativeClustering

        n = len(embeddings)
        if n <= 2:
            return np.arange(n)
        sample = np.arange(n) if n <= self.max_cluster_rows else np.sort(rng.choice(n, self.max_cluster_rows, replace=False))
        n_clusters = None if self.distance_threshold is not None else min(len(sample), self.n_clusters or k)
        model = AgglomerativeClustering(n_clusters=n_clusters, distance_threshold=self.distance_threshold,
                                        linkage="average")
        labels_sample = model.fit_predict(embeddings[sample])
        if len(sample) == n:
            return labels_sample
        centroids = np.stack([embeddings[sample][labels_sample == c].mean(axis=0) for c in np.unique(labels_sample)])
        return np.argmin(((embeddings[:, None, :] - centroids[None]) ** 2).sum(axis=2), axis=1)


@register_strategy("bert_km", "kmeans", "bertkm")
class BertKM(QueryStrategy):
    """BERT-KM: k-means with k clusters on the L2-normalised embeddings of the candidates,
    then the candidate nearest each centroid. Centroids are visited in turn and each takes
    its nearest row not taken yet, so the batch has exactly k unique rows even when two
    centroids share a nearest row. Needs no labels, so it also serves as a cold start.

    Pools above ``minibatch_above`` candidates are clustered with mini-batch k-means
    (Sculley 2010), more than ten times faster at 100k rows for an inertia within about 1 %.

    Scores: the negative distance of each row to its centroid (representative rows score
    higher).

    References:
        Yuan, Lin & Boyd-Graber (2020). Cold-start active learning through self-supervised
        language modeling. EMNLP. (The BERT-KM baseline.)
    """

    requires = ("embeddings",)
    cold_start = True
    tasks = EMBEDDING_TASKS

    def __init__(self, n_init: int = 1, max_iter: int = 100, minibatch_above: int = MINIBATCH_ABOVE) -> None:
        self.n_init = n_init
        self.max_iter = max_iter
        self.minibatch_above = minibatch_above

    def _select(self, outputs: Any, k: int, context: QueryContext) -> Selection:
        candidates = context.candidate_indices
        points = l2_normalise(outputs.get("embeddings", candidates))
        if k >= len(points):
            return Selection(candidates, np.zeros(len(candidates)), candidates, np.zeros(len(candidates)))
        labels, centres = kmeans(points, k, derive_seed(context.rng), self.n_init, self.max_iter,
                                 self.minibatch_above)
        rows, distances = nearest_unique(points, centres)
        own = np.sqrt(np.maximum(((points - centres[labels]) ** 2).sum(axis=1), 0.0))
        return Selection(candidates[rows], -distances, candidates, -own.astype(np.float64))
