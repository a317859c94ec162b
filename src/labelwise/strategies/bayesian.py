"""Bayesian strategies on MC-dropout samples: BALD and BatchBALD.

Both read ``mc_probabilities`` ``(n, T, C)``: T stochastic forward passes with dropout on.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import xlogy

from labelwise.strategies import _rowwise as rowwise
from labelwise.strategies import scores as heuristics
from labelwise.strategies.base import (
    QueryContext,
    QueryStrategy,
    ScoringStrategy,
    Selection,
    argmax_ties_drawn,
)
from labelwise.strategies.registry import register_strategy


@register_strategy("bald", "mc_bald")
class BALD(ScoringStrategy):
    """Bayesian Active Learning by Disagreement: the mutual information between the
    prediction and the model weights, estimated from MC-dropout samples as the entropy of
    the mean prediction minus the mean entropy of the samples. High for rows on which the
    samples are individually confident but disagree; zero for rows that every sample finds
    equally ambiguous.

    References:
        Houlsby, Huszár, Ghahramani & Lengyel (2011). Bayesian active learning for
        classification and preference learning. arXiv:1112.5745.
        Gal, Islam & Ghahramani (2017). Deep Bayesian active learning with image data. ICML.
    """

    requires = ("mc_probabilities",)
    supports_multi_label = False

    def _select(self, outputs: Any, k: int, context: QueryContext) -> Selection:
        stored = rowwise.stored_rows(outputs, "mc_probabilities", context)  # no copy of the candidates
        if stored is None:
            return super()._select(outputs, k, context)
        scores = rowwise.score_checked(outputs, "mc_probabilities", stored, heuristics.bald)
        return rowwise.select_from_pool_scores(self.name, scores, k, context)

    def score(self, outputs: Any, context: QueryContext) -> np.ndarray:
        return heuristics.bald(outputs.get("mc_probabilities", context.candidate_indices))


@register_strategy("batchbald", "batch_bald")
class BatchBALD(QueryStrategy):
    """Greedy maximisation of the joint mutual information between a batch's predictions
    and the weights, so near-duplicate rows are not picked together (top-k BALD would).

    At step j the candidate maximising ``H(y_1..y_j) − Σ E[H(y_i|w)]`` joins the batch. The
    joint entropy is computed exactly over all class configurations of the chosen rows
    while there are at most ``max_configurations`` of them, and estimated from
    ``n_sampled_configurations`` configurations drawn (seeded) from the MC samples once the
    exact table would grow larger — memory stays O(M·T + n·T·C).

    To bound the cost on large pools, only the ``candidate_pool_size`` candidates with the
    highest BALD score are considered (the paper does the same in practice).

    References:
        Kirsch, van Amersfoort & Gal (2019). BatchBALD: Efficient and diverse batch
        acquisition for deep Bayesian active learning. NeurIPS.
    """

    requires = ("mc_probabilities",)
    supports_multi_label = False

    def __init__(self, max_configurations: int = 4096, n_sampled_configurations: int = 1000,
                 candidate_pool_size: int = 2000) -> None:
        self.max_configurations = max_configurations
        self.n_sampled_configurations = n_sampled_configurations
        self.candidate_pool_size = candidate_pool_size

    def _select(self, outputs: Any, k: int, context: QueryContext) -> Selection:
        samples_all = np.asarray(outputs.get("mc_probabilities", context.candidate_indices), dtype=np.float64)
        bald_scores = heuristics.bald(samples_all)
        shortlist = np.argsort(-bald_scores, kind="stable")[: max(self.candidate_pool_size, k)]
        samples = samples_all[shortlist]  # (m, T, C)
        m, n_samples, n_classes = samples.shape
        conditional = -xlogy(samples, samples).sum(axis=2).mean(axis=1)  # E_w[H(y|w)], (m,)
        exact_table = np.ones((n_samples, 1))  # P(configuration | w_t), (T, S)
        chosen: list[int] = []
        gains: list[float] = []
        available = np.ones(m, dtype=bool)
        conditional_sum = 0.0
        for _ in range(k):
            exact = exact_table is not None and exact_table.shape[1] * n_classes <= self.max_configurations
            if exact:
                joint_entropy = _exact_joint_entropy(exact_table, samples)
            else:
                exact_table = None
                table, log_scale = _sampled_table(samples[chosen], self.n_sampled_configurations, context.rng)
                joint_entropy = _sampled_joint_entropy(table, log_scale, samples)
            score = joint_entropy - (conditional_sum + conditional)
            score[~available] = -np.inf
            best = argmax_ties_drawn(score, context.rng)
            chosen.append(best)
            gains.append(float(score[best]))
            available[best] = False
            conditional_sum += conditional[best]
            if exact_table is not None:
                exact_table = (exact_table[:, :, None] * samples[best][:, None, :]).reshape(n_samples, -1)
        picked = shortlist[np.array(chosen)]
        # The score of each pick is its marginal gain in joint mutual information.
        reported = np.diff(np.array(gains), prepend=0.0)
        return Selection(context.candidate_indices[picked], reported, context.candidate_indices, bald_scores)


def _exact_joint_entropy(table: np.ndarray, samples: np.ndarray, block: int = 256) -> np.ndarray:
    """H(y_chosen, y_n) for every candidate n from the exact configuration table ``(T, S)``."""
    n_samples = table.shape[0]
    result = np.empty(len(samples))
    for start in range(0, len(samples), block):
        joint = np.einsum("ts,mtc->msc", table, samples[start : start + block]) / n_samples
        result[start : start + block] = -xlogy(joint, joint).sum(axis=(1, 2))
    return result


def _sampled_table(chosen_samples: np.ndarray, n_configurations: int,
                   rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Draw configurations of the chosen rows from their joint predictive distribution
    (a weight sample t, then each row's class from p(.|w_t)), and return their
    probabilities under every weight sample, ``(T, M)``, scaled per column by
    ``exp(log_scale)`` to avoid underflow."""
    n_rows, n_samples, _ = chosen_samples.shape
    weight_draws = rng.integers(0, n_samples, size=n_configurations)
    log_table = np.zeros((n_samples, n_configurations))
    for row in range(n_rows):
        cumulative = chosen_samples[row][weight_draws].cumsum(axis=1)  # (M, C)
        classes = (rng.random(n_configurations)[:, None] > cumulative).sum(axis=1)
        classes = classes.clip(max=chosen_samples.shape[2] - 1)
        log_table += np.log(np.maximum(chosen_samples[row][:, classes], 1e-300))
    log_scale = log_table.max(axis=0)
    return np.exp(log_table - log_scale), log_scale


def _sampled_joint_entropy(table: np.ndarray, log_scale: np.ndarray, samples: np.ndarray,
                           block: int = 256) -> np.ndarray:
    """Monte-Carlo estimate of H(y_chosen, y_n): the configurations were drawn from
    p(y_chosen), so H ≈ mean_j Σ_y p(ŝ_j, y) / p(ŝ_j) · (−log p(ŝ_j, y))."""
    n_samples = table.shape[0]
    configuration_probability = table.mean(axis=0)  # scaled p(ŝ_j), (M,)
    result = np.empty(len(samples))
    for start in range(0, len(samples), block):
        joint = np.einsum("tj,mtc->mjc", table, samples[start : start + block]) / n_samples  # scaled
        ratio = joint / np.maximum(configuration_probability, 1e-300)[None, :, None]
        log_joint = np.log(np.maximum(joint, 1e-300)) + log_scale[None, :, None]
        result[start : start + block] = -(ratio * log_joint).sum(axis=2).mean(axis=1)
    return result
