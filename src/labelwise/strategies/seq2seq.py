"""Query strategies for seq2seq (abstractive summarization): NSP, ENSP, BLEUVar, IDDS.

Each reads cached outputs (``sequence_scores``, ``mc_sequence_scores``,
``mc_generations``, ``embeddings``) and never calls the model.

References:
    Ueffing & Ney (2007). Word-level confidence estimation for machine translation.
        Computational Linguistics 33(1). (Normalised sequence probability.)
    Xiao, Gomez & Gal (2020). Wat zei je? Detecting out-of-distribution translations with
        variational transformers. arXiv:2006.08344. (BLEUVar.)
    Tsvigun, Lysenko, Sedashov et al. (2022). Active learning for abstractive text
        summarization. Findings of EMNLP 2022, arXiv:2301.03252. (IDDS; NSP/ENSP/BLEUVar
        as AL baselines for summarization.)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from labelwise.data.segmentation import segment
from labelwise.errors import ConfigError, SelectionError
from labelwise.strategies.base import QueryContext, ScoringStrategy
from labelwise.strategies.registry import register_strategy

SEQ2SEQ = ("seq2seq",)


# ---- pure score functions (higher = more informative) -----------------------------------
def nsp_scores(log_probs: np.ndarray, kind: str = "probability") -> np.ndarray:
    """Normalised sequence probability as an uncertainty score.

    Args:
        log_probs: length-normalised log-probability of each generated sequence, ``(n,)``.
        kind: ``"probability"`` → ``1 - exp(log_prob)``; ``"log"`` → ``-log_prob``. Both
            rank rows identically (higher = less probable = more uncertain).

    Returns:
        ``(n,)`` float64.
    """
    log_probs = np.asarray(log_probs, dtype=np.float64)
    if kind == "probability":
        return 1.0 - np.exp(log_probs)
    if kind == "log":
        return -log_probs
    raise ConfigError(f"NSP kind must be 'probability' or 'log', got {kind!r}.")


def ensp_scores(mc_log_probs: np.ndarray) -> np.ndarray:
    """Expected normalised sequence probability over MC-dropout runs:
    ``1 - mean_t exp(log_prob_t)``, input ``(n, T)`` → ``(n,)``."""
    mc_log_probs = np.asarray(mc_log_probs, dtype=np.float64)
    if mc_log_probs.ndim != 2:
        raise SelectionError(f"ENSP needs MC log-probabilities of shape (n, T), got {mc_log_probs.shape}; "
                             "compute them with mc_sequence_scores (T > 1 dropout samples).")
    return 1.0 - np.exp(mc_log_probs).mean(axis=1)


def bleu_variance(hypotheses: Sequence[str]) -> float:
    """BLEUVar of one source (Xiao et al. 2020): the mean of ``(1 - BLEU(h_i, h_j))^2`` over
    ordered pairs ``i != j`` of its ``T`` MC-dropout hypotheses, BLEU as sacreBLEU's
    sentence BLEU scaled to [0, 1]. 0 when every hypothesis is the same; up to 1 when no
    two share n-grams.

    Hypotheses are tokenized once by :func:`labelwise.data.segmentation.segment` (the
    tokens ROUGE and the metrics use: words and punctuation, characters for Chinese,
    Japanese or Thai) and BLEU runs on those tokens (``tokenize="none"``); sacreBLEU's
    default 13a tokenizer would read a Chinese sentence as one word, so two hypotheses
    that differ by one character would count as disjoint."""
    import sacrebleu

    texts = [" ".join(segment(str(h))) for h in hypotheses]
    count = len(texts)
    if count < 2:
        return 0.0
    total = 0.0
    for i in range(count):
        for j in range(count):
            if i == j:
                continue
            if texts[i] == texts[j]:
                continue  # BLEU of a text against itself is 1 (also for empty texts)
            bleu = sacrebleu.sentence_bleu(texts[i], [texts[j]], smooth_method="exp", tokenize="none").score / 100.0
            total += (1.0 - bleu) ** 2
    return total / (count * (count - 1))


def bleuvar_scores(mc_generations: np.ndarray | Sequence[Sequence[str]]) -> np.ndarray:
    """BLEUVar per row of ``n`` rows of ``T`` texts (an ``(n, T)`` object array, or an
    ``(n,)`` object array of tuples as ``ModelOutputs`` caches them) → ``(n,)`` float64."""
    rows = list(mc_generations)
    if rows and isinstance(rows[0], str):
        raise SelectionError("BLEUVar needs T MC-dropout generations per row, got one text per row; "
                             "pass an (n, T) array of texts (outputs kind 'mc_generations').")
    return np.array([bleu_variance(list(row)) for row in rows], dtype=np.float64)


def idds_scores(
    candidate_embeddings: np.ndarray,
    unlabeled_embeddings: np.ndarray,
    labeled_embeddings: np.ndarray | None,
    lam: float = 0.67,
    similarity: str = "dot",
    block_rows: int = 65536,
) -> np.ndarray:
    """In-domain diversity sampling (Tsvigun et al. 2022)::

        IDDS(x) = lam * mean_{u in U} s(x, u) - (1 - lam) * mean_{l in L} s(x, l)

    High for candidates typical of the unlabeled pool (in-domain) and unlike what is
    already labeled (diverse). For the dot product, ``mean_u x·u = x·mean(U)``, so the cost
    is O(N·D) with two mean vectors instead of N×N similarities; ``"cosine"`` normalises
    rows first. An empty labeled set drops the second term.

    Args:
        candidate_embeddings: ``(m, D)``; unlabeled_embeddings: ``(N_U, D)``;
        labeled_embeddings: ``(N_L, D)`` or None.

    Returns:
        ``(m,)`` float64.
    """
    if not 0.0 <= lam <= 1.0:
        raise ConfigError(f"IDDS lambda must lie in [0, 1], got {lam}.")
    if similarity not in ("dot", "cosine"):
        raise ConfigError(f"IDDS similarity must be 'dot' or 'cosine', got {similarity!r}.")

    def prepared(array: np.ndarray) -> np.ndarray:
        array = np.asarray(array, dtype=np.float64)
        if similarity == "cosine":
            array = array / np.maximum(np.linalg.norm(array, axis=1, keepdims=True), 1e-12)
        return array

    def mean_vector(array: np.ndarray | None, width: int) -> np.ndarray:
        if array is None or len(array) == 0:
            return np.zeros(width)
        total = np.zeros(width)
        for start in range(0, len(array), block_rows):
            total += prepared(array[start : start + block_rows]).sum(axis=0)
        return total / len(array)

    candidates = np.asarray(candidate_embeddings)
    width = candidates.shape[1]
    direction = lam * mean_vector(unlabeled_embeddings, width)
    if labeled_embeddings is not None and len(labeled_embeddings):
        direction -= (1.0 - lam) * mean_vector(labeled_embeddings, width)
    scores = np.empty(len(candidates), dtype=np.float64)
    for start in range(0, len(candidates), block_rows):
        scores[start : start + block_rows] = prepared(candidates[start : start + block_rows]) @ direction
    return scores


# ---- strategies -------------------------------------------------------------------------
@register_strategy("nsp", "normalized_sequence_probability", "sequence_probability")
class NormalizedSequenceProbability(ScoringStrategy):
    """NSP: the generated sequence with the lowest length-normalised probability is the most
    uncertain (Ueffing & Ney 2007; Tsvigun et al. 2022). Score ``1 - exp(mean log p)``
    (``kind="probability"``) or ``-mean log p`` (``kind="log"``)."""

    requires = ("sequence_scores",)
    tasks = SEQ2SEQ

    def __init__(self, kind: str = "probability") -> None:
        self.kind = kind

    def score(self, outputs: Any, context: QueryContext) -> np.ndarray:
        return nsp_scores(outputs.get("sequence_scores", context.candidate_indices), self.kind)


@register_strategy("ensp", "expected_normalized_sequence_probability")
class ExpectedNormalizedSequenceProbability(ScoringStrategy):
    """ENSP: ``1 - mean_t exp(mean log p_t)`` over MC-dropout generations (Tsvigun et al.
    2022). Needs a model with MC dropout (``generate_mc``)."""

    requires = ("mc_sequence_scores",)
    tasks = SEQ2SEQ

    def score(self, outputs: Any, context: QueryContext) -> np.ndarray:
        return ensp_scores(outputs.get("mc_sequence_scores", context.candidate_indices))


@register_strategy("bleuvar", "bleu_var", "bleu_variance")
class BLEUVar(ScoringStrategy):
    """BLEUVar (Xiao et al. 2020): disagreement between MC-dropout generations, the mean of
    ``(1 - sentenceBLEU)^2`` over pairs. Costs ``T(T-1)`` sentence-BLEU calls per row."""

    requires = ("mc_generations",)
    tasks = SEQ2SEQ

    def score(self, outputs: Any, context: QueryContext) -> np.ndarray:
        return bleuvar_scores(outputs.get("mc_generations", context.candidate_indices))


@register_strategy("idds", "in_domain_diversity_sampling")
class InDomainDiversitySampling(ScoringStrategy):
    """IDDS (Tsvigun et al. 2022): ``lam * mean similarity to the unlabeled pool -
    (1 - lam) * mean similarity to the labeled set`` in embedding space, dot-product
    similarity and ``lam = 0.67`` as in the paper. Needs no labels (cold start works)."""

    requires = ("embeddings",)
    tasks = SEQ2SEQ
    cold_start = True

    def __init__(self, lam: float = 0.67, similarity: str = "dot") -> None:
        self.lam = lam
        self.similarity = similarity

    def score(self, outputs: Any, context: QueryContext) -> np.ndarray:
        labeled_mask = context.labeled_mask
        unlabeled = np.flatnonzero(~labeled_mask)
        labeled = np.flatnonzero(labeled_mask)
        return idds_scores(
            outputs.get("embeddings", context.candidate_indices),
            outputs.get("embeddings", unlabeled),
            outputs.get("embeddings", labeled) if len(labeled) else None,
            lam=self.lam,
            similarity=self.similarity,
        )


__all__ = [
    "BLEUVar",
    "ExpectedNormalizedSequenceProbability",
    "InDomainDiversitySampling",
    "NormalizedSequenceProbability",
    "bleu_variance",
    "bleuvar_scores",
    "ensp_scores",
    "idds_scores",
    "nsp_scores",
]
