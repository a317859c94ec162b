"""Initial seed sets: random k, or one (or more) per class."""

from __future__ import annotations

import numpy as np

from labelwise._random import RandomState, check_random_state
from labelwise.errors import SelectionError


def initial_indices(
    n_pool: int,
    size: int,
    *,
    labels: np.ndarray | None = None,
    per_class: bool = False,
    token_counts: np.ndarray | None = None,
    random_state: RandomState = None,
) -> np.ndarray:
    """Pool positions of an initial labeled set.

    ``per_class=False``: ``size`` positions uniformly at random. ``per_class=True``:
    ``size`` positions per class, drawn within each class (needs the gold ``labels``,
    as in a simulation); a class with fewer rows contributes all of them.

    With ``token_counts`` (tokens per pool position, as ``TaggingDataset.token_counts``)
    ``size`` counts tokens: rows are drawn in random order until their tokens reach
    ``size``, so the seed exceeds its budget by less than one sentence.
    """
    rng = check_random_state(random_state)
    if size < 1:
        raise SelectionError(f"the seed size must be positive, got {size}.")
    if token_counts is not None:
        if per_class:
            raise SelectionError("a per-class seed counts instances; leave token_counts out.")
        counts = np.asarray(token_counts, dtype=np.int64)
        if counts.shape != (n_pool,):
            raise SelectionError(f"token_counts needs one count per pool position ({n_pool}), got {counts.shape}.")
        if size > counts.sum():
            raise SelectionError(f"a seed of {size} tokens is larger than the pool ({int(counts.sum())} tokens).")
        order = rng.permutation(n_pool)
        reached = int(np.searchsorted(np.cumsum(counts[order]), size, side="left")) + 1
        return np.sort(order[: min(reached, n_pool)])
    if not per_class:
        if size > n_pool:
            raise SelectionError(f"a seed of {size} is larger than the pool ({n_pool}).")
        return np.sort(rng.choice(n_pool, size=size, replace=False))
    if labels is None:
        raise SelectionError("a per-class seed needs the gold labels.")
    labels = np.asarray(labels)
    if labels.ndim == 2:  # multi-label: draw among rows carrying each label
        chosen: list[int] = []
        for column in range(labels.shape[1]):
            rows = np.setdiff1d(np.flatnonzero(labels[:, column]), chosen)
            chosen.extend(rng.choice(rows, size=min(size, len(rows)), replace=False).tolist())
        return np.sort(np.array(chosen, dtype=np.int64))
    picks = [rng.choice(np.flatnonzero(labels == c), size=min(size, int((labels == c).sum())), replace=False)
             for c in np.unique(labels)]
    return np.sort(np.concatenate(picks).astype(np.int64))
