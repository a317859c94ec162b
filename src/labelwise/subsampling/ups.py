"""Unlabeled-pool subsampling: UPS, naive (top-gamma) and random subsampling.

Each subsampler decides which unlabeled pool positions the strategy scores in one AL
iteration, so that pool inference (the dominant cost at scale) runs on a fraction of the
pool. They reuse the scores the strategy gave in earlier iterations
(``previous_scores``, kept by :class:`~labelwise.loop.ActiveLearner`).

References:
    Tsvigun, Shelmanov, Kuzmin, Sanochkin, Larionov, Gusev, Avetisian & Zhukov (2022).
    Towards Computationally Feasible Deep Active Learning. Findings of NAACL 2022.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from labelwise.errors import ConfigError


def _check_fraction(name: str, value: float) -> float:
    value = float(value)
    if not 0.0 < value <= 1.0:
        raise ConfigError(f"{name} must lie in (0, 1], got {value!r}.")
    return value


class _RescoringSubsampler:
    """Shared parts: the fraction kept, the iterations that rescore the whole pool."""

    def __init__(self, gamma: float = 0.1, *, rescore_iterations: Iterable[int] = (0,),
                 rescore_every: int | None = None, min_size: int = 1) -> None:
        self.gamma = _check_fraction("gamma", gamma)
        self.rescore_iterations = tuple(int(i) for i in rescore_iterations)
        if rescore_every is not None and int(rescore_every) < 1:
            raise ConfigError(f"rescore_every must be a positive number of iterations, got {rescore_every!r}.")
        self.rescore_every = None if rescore_every is None else int(rescore_every)
        self.min_size = int(min_size)

    def rescores_fully(self, iteration: int) -> bool:
        """Whether ``iteration`` scores the whole unlabeled pool."""
        if iteration in self.rescore_iterations:
            return True
        return self.rescore_every is not None and iteration % self.rescore_every == 0

    def subsample(self, unlabeled_indices: np.ndarray, *, iteration: int,
                  previous_scores: np.ndarray | None, rng: np.random.Generator,
                  query_size: int = 1, token_counts: np.ndarray | None = None,
                  query_tokens: int | None = None) -> np.ndarray:
        """Candidate positions ``(m,)`` int64, sorted, a subset of ``unlabeled_indices``:
        at least ``max(min_size, query_size)`` of them (or every unlabeled row), topped up
        with the best-scored rows left out, so a query of ``query_size`` rows always has
        enough candidates.

        Tagging: ``previous_scores`` are the sentence scores (MNLP, ...) of the previous
        iteration; with ``token_counts`` ``(n_pool,)`` and ``query_tokens`` (a query
        counted in tokens) the candidates are also topped up until their tokens cover
        ``query_tokens``."""
        unlabeled = np.asarray(unlabeled_indices, dtype=np.int64).reshape(-1)
        if unlabeled.size == 0 or self.rescores_fully(iteration):
            return np.sort(unlabeled)
        scores = _scores_of(unlabeled, previous_scores)
        keep = self._keep(scores, rng)
        keep = _fill_to(keep, scores, min(max(self.min_size, int(query_size)), unlabeled.size), rng)
        if query_tokens is not None:
            keep = _fill_tokens(keep, scores, _tokens_of(unlabeled, token_counts), int(query_tokens), rng)
        return np.sort(unlabeled[keep])

    def _keep(self, scores: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        raise NotImplementedError

    def _n_kept(self, n: int) -> int:
        return max(1, int(np.ceil(self.gamma * n)))

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({params})"


def _scores_of(unlabeled: np.ndarray, previous_scores: np.ndarray | None) -> np.ndarray:
    """Previous scores of the unlabeled rows; rows never scored (NaN) become +inf, so
    they rank first: a row nobody has looked at is given the benefit of the doubt."""
    if previous_scores is None:
        return np.full(unlabeled.size, np.inf)
    scores = np.asarray(previous_scores, dtype=np.float64)[unlabeled]
    return np.where(np.isnan(scores), np.inf, scores)


def uncertainty_ranks(scores: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Normalised rank of each score, ``(n,)`` in [0, 1): 0 for the most informative row,
    ``i / n`` for the i-th. Ties are ordered at random (from ``rng``)."""
    n = scores.shape[0]
    shuffle = rng.permutation(n)
    order = shuffle[np.argsort(-scores[shuffle], kind="stable")]
    ranks = np.empty(n, dtype=np.float64)
    ranks[order] = np.arange(n, dtype=np.float64) / max(n, 1)
    return ranks


def _fill_to(keep: np.ndarray, scores: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """Add the best-scored remaining rows until ``size`` rows are kept."""
    if keep.size >= size:
        return keep
    mask = np.zeros(scores.shape[0], dtype=bool)
    mask[keep] = True
    ranks = uncertainty_ranks(scores, rng)
    rest = np.flatnonzero(~mask)
    extra = rest[np.argsort(ranks[rest], kind="stable")[: size - keep.size]]
    return np.concatenate([keep, extra])


def _tokens_of(unlabeled: np.ndarray, token_counts: np.ndarray | None) -> np.ndarray:
    if token_counts is None:
        raise ConfigError("query_tokens needs token_counts (tokens per pool sentence, e.g. pool.token_counts).")
    counts = np.asarray(token_counts, dtype=np.int64).reshape(-1)
    if unlabeled.size and unlabeled.max() >= counts.size:
        raise ConfigError(f"token_counts has {counts.size} entries but the pool position {int(unlabeled.max())} "
                          "was given: pass one count per pool sentence.")
    return counts[unlabeled]


def _fill_tokens(keep: np.ndarray, scores: np.ndarray, tokens: np.ndarray, budget: int,
                 rng: np.random.Generator) -> np.ndarray:
    """Add the best-scored remaining sentences until the kept ones hold ``budget`` tokens."""
    if tokens[keep].sum() >= budget:
        return keep
    mask = np.zeros(scores.shape[0], dtype=bool)
    mask[keep] = True
    rest = np.flatnonzero(~mask)
    rest = rest[np.argsort(uncertainty_ranks(scores, rng)[rest], kind="stable")]
    needed = budget - int(tokens[keep].sum())
    count = int(np.searchsorted(np.cumsum(tokens[rest]), needed, side="left")) + 1
    return np.concatenate([keep, rest[:count]])


class UPSSubsampler(_RescoringSubsampler):
    """UPS: keep each unlabeled row with probability ``exp(-max(0, r - gamma) / T)``.

    ``r`` is the row's normalised rank under the previous iteration's scores (0 = most
    informative, ``i / n`` for the i-th of ``n``), as in the authors' implementation of
    Tsvigun et al. (2022). The top ``gamma`` fraction is therefore always kept, and the
    rest is kept by independent Bernoulli draws whose probability decays with the rank
    at temperature ``T``: with ``T = 0.01`` about ``T * n`` further rows (1 % of the pool)
    join, mostly just below the cut, so a row whose stale score undersells it can still
    be rescored. The expected kept fraction is ``gamma + T * (1 - exp(-(1 - gamma) / T))``.

    Rank normalisation (not min-max of the raw scores) makes the kept size independent
    of the score scale. Rows never scored (NaN) rank first. The whole unlabeled pool is
    scored on ``rescore_iterations`` (and every ``rescore_every``-th iteration), which
    refreshes the stale scores.

    Args:
        gamma: fraction of the unlabeled pool always kept (top by previous score).
        temperature: ``T`` of the keep probability; smaller keeps fewer extra rows.
        rescore_iterations: iterations (0 = first query) that score the whole pool.
        rescore_every: also rescore fully every that many iterations, if set.
        min_size: never return fewer candidates than this (or the whole unlabeled pool).
    """

    def __init__(self, gamma: float = 0.1, temperature: float = 0.01, *,
                 rescore_iterations: Iterable[int] = (0,), rescore_every: int | None = None,
                 min_size: int = 1) -> None:
        super().__init__(gamma, rescore_iterations=rescore_iterations, rescore_every=rescore_every,
                         min_size=min_size)
        if float(temperature) <= 0:
            raise ConfigError(f"temperature must be positive, got {temperature!r}.")
        self.temperature = float(temperature)

    def keep_probabilities(self, ranks: np.ndarray) -> np.ndarray:
        """``exp(-max(0, r - gamma) / T)`` for normalised ranks ``(n,)``."""
        return np.exp(-np.maximum(0.0, ranks - self.gamma) / self.temperature)

    def _keep(self, scores: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        ranks = uncertainty_ranks(scores, rng)
        probabilities = self.keep_probabilities(ranks)
        return np.flatnonzero(rng.random(scores.shape[0]) < probabilities)


class NaiveSubsampler(_RescoringSubsampler):
    """Keep the top ``ceil(gamma * n)`` unlabeled rows by previous score; no sampling."""

    def _keep(self, scores: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        ranks = uncertainty_ranks(scores, rng)
        return np.argsort(ranks, kind="stable")[: self._n_kept(scores.shape[0])]


class RandomSubsampler(_RescoringSubsampler):
    """Keep ``ceil(gamma * n)`` unlabeled rows drawn uniformly without replacement; the
    previous scores are ignored (rescore iterations still score everything)."""

    def _keep(self, scores: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return rng.choice(scores.shape[0], size=self._n_kept(scores.shape[0]), replace=False)
