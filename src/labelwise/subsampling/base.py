"""The subsampling interface: which unlabeled positions get scored this iteration."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Subsampler(Protocol):
    """Chooses the candidates a strategy scores, to cut pool inference.

    ``previous_scores`` holds the last scores the strategy gave each pool position
    ``(n_pool,)``, NaN where it never scored one; the learner keeps it up to date.
    """

    def subsample(
        self,
        unlabeled_indices: np.ndarray,
        *,
        iteration: int,
        previous_scores: np.ndarray | None,
        rng: np.random.Generator,
        query_size: int = 1,
    ) -> np.ndarray:
        """Candidate positions, a subset of ``unlabeled_indices``, at least ``query_size``
        of them (or all of ``unlabeled_indices`` when it is smaller): the learner passes
        the number of rows the query will select. A subsampler written without the
        ``query_size`` keyword still works; the learner then checks the count."""
        ...
