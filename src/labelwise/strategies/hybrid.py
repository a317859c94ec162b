"""Hybrid strategies: uncertainty combined with the structure of the pool.

References:
    Yu, Kong, Zhang, Zhang & Zhang (2022). AcTune: Uncertainty-based active self-training
    for active fine-tuning of pretrained language models. NAACL.
    https://aclanthology.org/2022.naacl-main.102
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from labelwise._random import derive_seed
from labelwise.errors import CapabilityError, ConfigError
from labelwise.strategies._geometry import kmeans, l2_normalise
from labelwise.strategies.base import QueryContext, QueryStrategy, ScoringStrategy, Selection, top_k
from labelwise.strategies.registry import get_strategy, register_strategy


@register_strategy("actune", "region_aware", "region_aware_uncertainty")
class AcTune(QueryStrategy):
    """AcTune's region-aware sampling (Yu et al. 2022): uncertain *regions* go to the
    annotator, confident regions feed self-training.

    1. The candidates' L2-normalised ``embeddings`` are clustered into ``n_regions``
       regions with seeded k-means.
    2. Each candidate gets the score of ``base`` (``"entropy"``, ``"least_confidence"``,
       ``"cal"`` or any registered scoring strategy, after the base's own checks, e.g.
       Mahalanobis needs labels); a region's uncertainty is the mean score of its rows.
       Batch strategies (BADGE, Coreset, ...) give no per-row score and are refused with
       :class:`ConfigError`.
    3. Regions are visited from the most to the least uncertain; the first
       ``ceil(high_fraction * n_regions)`` of them, widened by further regions until they
       hold at least ``k`` rows, are eligible, and the ``k`` most uncertain eligible rows
       are queried.

    :meth:`pseudo_labels` returns the other half of the method: the rows of the
    ``ceil(low_fraction * n_regions)`` least uncertain regions whose top probability is at
    least ``confidence_threshold``, with their argmax label and that probability as a
    weight, for :meth:`labelwise.loop.ActiveLearner.teach_pseudo`.

    Implemented from the paper: region-aware sampling over k-means regions with mean
    uncertainty per region, annotation from high-uncertainty regions, confident
    pseudo-labels from low-uncertainty regions weighted by confidence. *Not* implemented:
    the momentum-based memory bank that smooths pseudo-labels across rounds (the learner
    keeps no history of predictions; each round's pseudo-labels replace the last), the
    paper's weighted self-training loss and its schedule (models decide how to use
    ``sample_weight``), and the separate treatment of pseudo-labels across fine-tuning
    stages. Single-label classification only.

    Args:
        base: uncertainty strategy whose scores rank rows and regions.
        n_regions: k-means clusters (capped at the number of candidates).
        high_fraction: share of regions, most uncertain first, eligible for annotation.
        low_fraction: share of regions, least uncertain first, used for pseudo-labels.
        confidence_threshold: minimum top probability of a pseudo-labeled row.
        base_params: parameters for ``base`` when it is a name.

    References:
        Yu et al. (2022). AcTune: Uncertainty-based active self-training for active
        fine-tuning of pretrained language models. NAACL.
    """

    requires = ("probabilities", "embeddings")

    def __init__(self, base: str | QueryStrategy = "entropy", n_regions: int = 10, high_fraction: float = 0.5,
                 low_fraction: float = 0.5, confidence_threshold: float = 0.9,
                 base_params: dict[str, Any] | None = None) -> None:
        self.base = base
        self.n_regions = n_regions
        self.high_fraction = high_fraction
        self.low_fraction = low_fraction
        self.confidence_threshold = confidence_threshold
        self.base_params = base_params

    def base_strategy(self) -> QueryStrategy:
        return get_strategy(self.base, **(self.base_params or {}))

    def check(self, outputs: Any, k: int, context: QueryContext) -> None:
        if isinstance(self.n_regions, bool) or not isinstance(self.n_regions, (int, np.integer)) or self.n_regions < 1:
            raise ConfigError(f"actune: n_regions must be a positive integer, got {self.n_regions!r}.")
        for name in ("high_fraction", "low_fraction"):
            value = getattr(self, name)
            if not 0.0 < value <= 1.0:
                raise ConfigError(f"actune: {name} must lie in (0, 1], got {value!r}.")
        super().check(outputs, k, context)
        self._check_base(outputs, k, context)

    def _check_base(self, outputs: Any, k: int, context: QueryContext) -> QueryStrategy:
        """The base strategy, after its own checks (labels it needs, outputs, k)."""
        base = self.base_strategy()
        if not isinstance(base, ScoringStrategy):
            # A batch strategy has no per-row uncertainty short of choosing a batch the size
            # of the pool (quadratic for BADGE and Coreset): refuse instead.
            raise ConfigError(
                f"actune: base {base.name!r} chooses its batch jointly and gives no per-row uncertainty "
                "score, which AcTune needs to rank rows and regions. Fix: give a scoring strategy as "
                "base ('entropy', 'least_confidence', 'breaking_ties', 'cal', 'mahalanobis', ...), or use "
                f"{base.name!r} on its own."
            )
        if outputs is not None:
            outputs.require(base.requires, who=f"strategy 'actune' (base {base.name!r})")
        base.check(outputs, k, context)
        return base

    # ---- shared steps --------------------------------------------------------------------
    def _uncertainty(self, outputs: Any, context: QueryContext) -> np.ndarray:
        base = self.base_strategy()
        scores = np.asarray(base.score(outputs, context), dtype=np.float64)
        if not np.isfinite(scores).all():
            raise CapabilityError(f"actune: base strategy {base.name!r} gave non-finite scores.")
        return scores

    def regions(self, outputs: Any, context: QueryContext) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(region of each candidate (m,), uncertainty of each candidate (m,), mean
        uncertainty of each region (n_regions,))``. Draws the k-means seed from
        ``context.rng``."""
        candidates = context.candidate_indices
        n_regions = int(min(self.n_regions, len(candidates)))
        vectors = l2_normalise(outputs.get("embeddings", candidates))
        region, _ = kmeans(vectors, n_regions, derive_seed(context.rng))
        uncertainty = self._uncertainty(outputs, context)
        counts = np.bincount(region, minlength=n_regions)
        sums = np.bincount(region, weights=uncertainty, minlength=n_regions)
        # An empty region (duplicate points) counts as certain: it holds nothing to query.
        means = np.where(counts > 0, sums / np.maximum(counts, 1), -np.inf)
        return region, uncertainty, means

    @staticmethod
    def _region_order(means: np.ndarray) -> np.ndarray:
        """Regions from the most to the least uncertain; ties to the lower region id."""
        return np.lexsort((np.arange(len(means)), -means))

    # ---- annotation ----------------------------------------------------------------------
    def _select(self, outputs: Any, k: int, context: QueryContext) -> Selection:
        candidates = context.candidate_indices
        region, uncertainty, means = self.regions(outputs, context)
        counts = np.bincount(region, minlength=len(means))
        eligible_regions = []
        held = 0
        for rank, r in enumerate(self._region_order(means)):  # loop over regions, not rows
            if rank >= math.ceil(self.high_fraction * len(means)) and held >= k:
                break
            eligible_regions.append(r)
            held += counts[r]
        eligible = np.flatnonzero(np.isin(region, eligible_regions))
        picked = eligible[top_k(uncertainty[eligible], k)]
        return Selection(candidates[picked], uncertainty[picked], candidates, uncertainty)

    # ---- self-training -------------------------------------------------------------------
    def pseudo_labels(self, outputs: Any, context: QueryContext,
                      exclude: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Confident rows of the least uncertain regions, for self-training.

        Returns ``(positions (p,) int64, labels (p,) int64, weights (p,) float64)``: pool
        positions among ``context.candidate_indices`` (minus ``exclude``, e.g. the batch
        just queried) in the ``ceil(low_fraction * n_regions)`` least uncertain regions whose
        top probability is ``>= confidence_threshold``; the label is the argmax class and
        the weight that top probability. Empty arrays when no row qualifies.
        """
        outputs.require(self.requires, who="actune.pseudo_labels")
        candidates = context.candidate_indices
        if len(candidates) == 0:
            empty = np.empty(0, dtype=np.int64)
            return empty, empty.copy(), np.empty(0)
        self._check_base(outputs, 1, context)
        region, _, means = self.regions(outputs, context)
        order = self._region_order(means)
        n_low = math.ceil(self.low_fraction * len(means))
        n_high = math.ceil(self.high_fraction * len(means))
        # Least uncertain first, never a region that is eligible for annotation.
        low_regions = [r for r in order[::-1][:n_low] if r not in set(order[:n_high].tolist())]
        probabilities = np.asarray(outputs.get("probabilities", candidates), dtype=np.float32)
        if probabilities.ndim != 2 or not np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-2):
            raise CapabilityError("actune.pseudo_labels needs single-label class probabilities (rows summing to 1).")
        confidence = probabilities.max(axis=1)
        keep = np.isin(region, low_regions) & (confidence >= self.confidence_threshold)
        if exclude is not None:
            keep &= ~np.isin(candidates, np.asarray(exclude, dtype=np.int64))
        rows = np.flatnonzero(keep)
        return (candidates[rows], probabilities[rows].argmax(axis=1).astype(np.int64),
                confidence[rows].astype(np.float64))


__all__ = ["AcTune"]
