"""Aggregating the labels of several annotators: majority vote, reliability-weighted vote,
Dawid-Skene EM (classification), per-token Dawid-Skene (tagging) and agreement with the
consensus (summaries).

Votes are a ``(n_items, n_annotators)`` integer matrix of class ids, ``-1`` where an
annotator did not label the item (:func:`vote_matrix` builds it from ``(position,
annotator, label)`` triples such as :meth:`AnnotationStore.votes` returns).

References:
    Dawid, A. P. and Skene, A. M. (1979). Maximum likelihood estimation of observer
    error-rates using the EM algorithm. Applied Statistics 28(1), 20-28.
    Nitzan, S. and Paroush, J. (1982). Optimal decision rules in uncertain dichotomous
    choice situations. International Economic Review 23(2) (log-odds vote weights).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import logsumexp

from labelwise.annotators.base import Annotator, symmetric_confusion
from labelwise.errors import DataError

MISSING = -1


@dataclass(frozen=True)
class Aggregate:
    """Aggregated labels.

    Attributes:
        labels: ``(n_items,)`` class ids; ``-1`` for items nobody labeled.
        posteriors: ``(n_items, n_classes)`` probability of each true class.
        confidence: ``(n_items,)`` posterior of the chosen label (0 where unlabeled): the
            sample weight the learner is taught with.
        confusions: ``(n_annotators, n_classes, n_classes)`` estimated confusion matrices
            (rows: true class, columns: label given); ``None`` for the votes.
        class_prior: ``(n_classes,)`` estimated class frequencies (Dawid-Skene only).
        n_iter: EM iterations run (0 for the votes); converged: whether EM met ``tol``.
    """

    labels: np.ndarray
    posteriors: np.ndarray
    confidence: np.ndarray
    confusions: np.ndarray | None = None
    class_prior: np.ndarray | None = None
    n_iter: int = 0
    converged: bool = True
    log_likelihood: float = float("nan")

    @property
    def labeled(self) -> np.ndarray:
        """``(n_items,)`` bool: whether anybody labeled the item."""
        return self.labels >= 0


def vote_matrix(records: Iterable[tuple[int, Any, Any]], positions: Sequence[int], annotator_ids: Sequence[Any],
                label_names: Sequence[str]) -> np.ndarray:
    """``(len(positions), len(annotator_ids))`` class ids from ``(position, annotator,
    label)`` triples (labels as names or ids); ``-1`` where missing. Triples about other
    positions or annotators are ignored; an unknown label raises DataError."""
    row = {int(p): i for i, p in enumerate(positions)}
    column = {a: j for j, a in enumerate(annotator_ids)}
    name_id = {name: k for k, name in enumerate(label_names)}
    votes = np.full((len(row), len(column)), MISSING, dtype=np.int64)
    for position, annotator, label in records:
        i, j = row.get(int(position)), column.get(annotator)
        if i is None or j is None:
            continue
        if isinstance(label, str):
            if label not in name_id:
                raise DataError(f"position {position}, annotator {annotator!r}: unknown label {label!r}.",
                                fix=f"use one of {list(label_names)}.")
            label = name_id[label]
        if not 0 <= int(label) < len(label_names):
            raise DataError(f"position {position}, annotator {annotator!r}: label id {label} is outside "
                            f"0..{len(label_names) - 1}.")
        votes[i, j] = int(label)
    return votes


def _check_votes(votes: Any, n_classes: int) -> np.ndarray:
    array = np.asarray(votes)
    if array.ndim != 2 or not np.issubdtype(array.dtype, np.integer):
        raise DataError(f"votes must be a 2-D integer array (n_items, n_annotators), got shape {array.shape} "
                        f"and dtype {array.dtype}.", fix="build it with vote_matrix(); -1 marks a missing vote.")
    if array.size and (array.min() < MISSING or array.max() >= n_classes):
        raise DataError(f"votes must be class ids in 0..{n_classes - 1} or -1 (missing); found "
                        f"{int(array.min())}..{int(array.max())}.")
    return array.astype(np.int64, copy=False)


def _one_hot(votes: np.ndarray, n_classes: int) -> np.ndarray:
    """``(n_items, n_annotators, n_classes)`` float64; all-zero rows where missing."""
    onehot = np.zeros((*votes.shape, n_classes), dtype=np.float64)
    items, annotators = np.nonzero(votes >= 0)
    onehot[items, annotators, votes[items, annotators]] = 1.0
    return onehot


def _finish(scores: np.ndarray, has_votes: np.ndarray, **extra: Any) -> Aggregate:
    labels = np.where(has_votes, scores.argmax(axis=1), MISSING)
    confidence = np.where(has_votes, scores.max(axis=1), 0.0)
    return Aggregate(labels, scores, confidence, **extra)


def majority_vote(votes: Any, n_classes: int) -> Aggregate:
    """The most frequent label per item (ties: the lowest class id); the posterior is the
    share of votes."""
    votes = _check_votes(votes, n_classes)
    counts = _one_hot(votes, n_classes).sum(axis=1)
    total = counts.sum(axis=1, keepdims=True)
    has_votes = total[:, 0] > 0
    shares = np.divide(counts, total, out=np.full_like(counts, 1.0 / n_classes), where=total > 0)
    return _finish(shares, has_votes)


def weighted_vote(votes: Any, n_classes: int, reliabilities: Sequence[float] | Sequence[Annotator]) -> Aggregate:
    """Each vote counts ``log((n_classes - 1) r / (1 - r))`` for an annotator of
    reliability ``r`` (the optimal weight when errors spread evenly over the other
    classes); the posterior is the softmax of the summed weights, which is the exact
    posterior under that noise model and a uniform class prior."""
    votes = _check_votes(votes, n_classes)
    values = np.asarray([a.reliability if isinstance(a, Annotator) else a for a in reliabilities], np.float64)
    if values.shape != (votes.shape[1],):
        raise DataError(f"weighted_vote got {values.size} reliabilities for {votes.shape[1]} annotators.")
    values = np.clip(values, 1e-6, 1 - 1e-6)
    weights = np.log((n_classes - 1) * values / (1 - values))
    scores = np.einsum("njk,j->nk", _one_hot(votes, n_classes), weights)
    has_votes = (votes >= 0).any(axis=1)
    posteriors = np.exp(scores - logsumexp(scores, axis=1, keepdims=True))
    return _finish(posteriors, has_votes)


def dawid_skene(votes: Any, n_classes: int, *, item_priors: np.ndarray | None = None,
                diagonal_prior: float = 2.0, off_diagonal_prior: float = 1.0, class_prior_strength: float = 1.0,
                max_iter: int = 200, tol: float = 1e-6, initial_confusions: np.ndarray | None = None,
                confusion_priors: np.ndarray | None = None) -> Aggregate:
    """Dawid-Skene EM: each annotator has a confusion matrix; the true labels are latent.

    Vectorised: one E-step is ``einsum('njl,jkl->nk', one_hot_votes, log_confusions)``, one
    M-step ``einsum('nk,njl->jkl', posteriors, one_hot_votes)``; the cost per iteration is
    ``O(n_items * n_annotators * n_classes^2)``.

    Smoothing (a MAP estimate, so an annotator with few labels gets no zero in its
    confusion matrix and EM never takes a log of 0): Dirichlet pseudo-counts
    ``diagonal_prior`` on each row's diagonal and ``off_diagonal_prior`` elsewhere (the
    default 2/1 says "a little better than chance"), ``class_prior_strength`` on each
    class of the prior.

    Args:
        votes: ``(n_items, n_annotators)`` class ids, ``-1`` for missing.
        n_classes: number of classes.
        item_priors: optional ``(n_items, n_classes)`` per-item prior (e.g. the model's
            probabilities) used in place of the global class prior in the E-step.
        initial_confusions: optional ``(n_annotators, n_classes, n_classes)`` to start the
            E-step from (e.g. the previous round's); default: start from the majority vote.
        confusion_priors: optional ``(n_annotators, n_classes, n_classes)`` Dirichlet
            pseudo-counts, one matrix per annotator, in place of the shared
            ``diagonal_prior``/``off_diagonal_prior`` (:func:`confusion_priors` builds them
            from each annotator's ``prior_accuracy`` and ``prior_strength``). With little
            overlap, EM is not identifiable (items one annotator labeled alone confirm
            whatever that annotator said, and the solution can drift to a permutation);
            a strong prior on a trusted annotator anchors it.
        max_iter, tol: EM stops when the log-likelihood gains less than ``tol`` per item
            and no posterior moves by more than ``sqrt(tol)``, or after ``max_iter``.
    """
    votes = _check_votes(votes, n_classes)
    n_items, n_annotators = votes.shape
    onehot = _one_hot(votes, n_classes)
    has_votes = onehot.any(axis=(1, 2))
    if confusion_priors is None:
        smoothing = np.full((n_classes, n_classes), float(off_diagonal_prior))
        np.fill_diagonal(smoothing, float(diagonal_prior))
    else:
        smoothing = np.asarray(confusion_priors, dtype=np.float64)
        if smoothing.shape != (n_annotators, n_classes, n_classes) or not np.isfinite(smoothing).all() \
                or (smoothing <= 0).any():
            raise DataError(f"confusion_priors must be positive, of shape ({n_annotators}, {n_classes}, "
                            f"{n_classes}), got shape {smoothing.shape}.",
                            fix="build them with confusion_priors(annotators, n_classes).")
    log_item_prior = None
    if item_priors is not None:
        priors = np.asarray(item_priors, dtype=np.float64)
        if priors.shape != (n_items, n_classes):
            raise DataError(f"item_priors must have shape ({n_items}, {n_classes}), got {priors.shape}.")
        log_item_prior = np.log(np.clip(priors, 1e-12, None))

    def e_step(log_confusions: np.ndarray, class_prior: np.ndarray) -> tuple[np.ndarray, float]:
        log_scores = np.einsum("njl,jkl->nk", onehot, log_confusions)
        log_scores += np.log(class_prior) if log_item_prior is None else log_item_prior
        norm = logsumexp(log_scores, axis=1, keepdims=True)
        return np.exp(log_scores - norm), float(norm.sum())

    if initial_confusions is not None:
        start = np.asarray(initial_confusions, dtype=np.float64)
        posteriors, _ = e_step(np.log(np.clip(start, 1e-12, None)), np.full(n_classes, 1.0 / n_classes))
    else:
        counts = onehot.sum(axis=1) + 1e-3  # majority vote, soft; ties split evenly
        if log_item_prior is not None:
            counts = counts * np.exp(log_item_prior)
        posteriors = counts / counts.sum(axis=1, keepdims=True)
    previous_ll = -np.inf
    converged = False
    confusions = np.empty((n_annotators, n_classes, n_classes))
    class_prior = np.full(n_classes, 1.0 / n_classes)
    n_iter = 0
    for n_iter in range(1, max_iter + 1):  # noqa: B007 - n_iter is reported
        weighted = posteriors[has_votes]
        class_prior = weighted.sum(axis=0) + class_prior_strength
        class_prior /= class_prior.sum()
        confusions = np.einsum("nk,njl->jkl", weighted, onehot[has_votes]) + smoothing
        confusions /= confusions.sum(axis=2, keepdims=True)
        new_posteriors, log_likelihood = e_step(np.log(confusions), class_prior)
        moved = float(np.abs(new_posteriors - posteriors).max()) if n_items else 0.0
        posteriors = new_posteriors
        if abs(log_likelihood - previous_ll) <= tol * max(n_items, 1) and moved <= np.sqrt(tol):
            converged = True
            break
        previous_ll = log_likelihood
    if log_item_prior is None:
        posteriors[~has_votes] = class_prior
    else:
        posteriors[~has_votes] = np.exp(log_item_prior[~has_votes])
    return _finish(posteriors, has_votes, confusions=confusions, class_prior=class_prior, n_iter=n_iter,
                   converged=converged, log_likelihood=previous_ll if not converged else log_likelihood)


def confusion_priors(annotators: Sequence[Annotator], n_classes: int, floor: float = 0.05) -> np.ndarray:
    """``(n_annotators, n_classes, n_classes)`` Dirichlet pseudo-counts for
    :func:`dawid_skene`: each row of annotator ``j`` holds ``prior_strength`` items of
    evidence for its ``prior_accuracy`` (``a * s`` on the diagonal, ``(1 - a) * s / (K - 1)``
    elsewhere), plus ``floor`` everywhere so that no count is 0."""
    rows = [symmetric_confusion(a.prior_accuracy, n_classes) * a.prior_strength + floor for a in annotators]
    return np.stack(rows) if rows else np.zeros((0, n_classes, n_classes))


def update_reliability(annotators: Sequence[Annotator], votes: Any, aggregate: Aggregate) -> None:
    """Update each annotator's online reliability from ``aggregate``: agreement (the
    consensus posterior of the annotator's own answer) on items at least one other
    annotator labeled, and the Dawid-Skene confusion matrix when there is one."""
    votes = np.asarray(votes)
    if votes.shape[1] != len(annotators):
        raise DataError(f"{len(annotators)} annotators for a vote matrix of {votes.shape[1]} columns.")
    overlap = (votes >= 0).sum(axis=1) >= 2
    for j, annotator in enumerate(annotators):
        rows = np.nonzero(overlap & (votes[:, j] >= 0))[0]
        annotator.agreements = float(aggregate.posteriors[rows, votes[rows, j]].sum())
        annotator.n_compared = float(rows.size)
        if aggregate.confusions is not None and rows.size:
            annotator.set_confusion(aggregate.confusions[j], aggregate.class_prior)


def aggregate(votes: Any, n_classes: int, method: str = "dawid_skene",
              annotators: Sequence[Annotator] | None = None, **options: Any) -> Aggregate:
    """One entry point: ``method`` is ``"majority"``, ``"weighted"`` (needs
    ``annotators``) or ``"dawid_skene"`` (given ``annotators``, each one's prior accuracy
    and strength become its Dirichlet prior: :func:`confusion_priors`)."""
    if method == "majority":
        return majority_vote(votes, n_classes)
    if method == "weighted":
        if annotators is None:
            raise DataError("method='weighted' needs the annotators (their reliabilities).")
        return weighted_vote(votes, n_classes, annotators)
    if method in ("dawid_skene", "ds"):
        if annotators is not None and "confusion_priors" not in options:
            options["confusion_priors"] = confusion_priors(annotators, n_classes)
        return dawid_skene(votes, n_classes, **options)
    raise DataError(f"unknown aggregation method {method!r}.", fix="use 'majority', 'weighted' or 'dawid_skene'.")


# ---- tagging ---------------------------------------------------------------------------
@dataclass(frozen=True)
class TagAggregate:
    """Aggregated tag sequences: ``tags`` (one tuple per sentence, IOB2-repaired),
    ``confidence`` (per sentence, the mean token posterior of the chosen tags),
    ``token_confidence`` (one array per sentence) and the token-level :class:`Aggregate`."""

    tags: list[tuple[str, ...]]
    confidence: np.ndarray
    token_confidence: list[np.ndarray]
    token_aggregate: Aggregate


def aggregate_tags(sentence_votes: Sequence[Mapping[Any, Sequence[str]]], annotator_ids: Sequence[Any],
                   tag_names: Sequence[str], method: str = "dawid_skene", lengths: Sequence[int] | None = None,
                   annotators: Sequence[Annotator] | None = None, **options: Any) -> TagAggregate:
    """Per-token aggregation for tagging: every token is an item and its tag a class, so
    Dawid-Skene learns one ``(n_tags, n_tags)`` confusion matrix per annotator over all
    tokens. The chosen tags are then repaired to valid IOB2 (an ``I-X`` that follows
    neither ``B-X`` nor ``I-X`` becomes ``B-X``).

    ``sentence_votes[i]`` maps an annotator id to its tag list for sentence ``i``; a tag
    list whose length differs from the sentence (``lengths``, or the first list given)
    raises DataError.
    """
    names = list(tag_names)
    name_id = {name: k for k, name in enumerate(names)}
    column = {a: j for j, a in enumerate(annotator_ids)}
    sizes = []
    for i, by in enumerate(sentence_votes):
        expected = lengths[i] if lengths is not None else len(next(iter(by.values()), ()))
        sizes.append(int(expected))
        for who, tags in by.items():
            if len(tags) != expected:
                raise DataError(f"sentence {i}, annotator {who!r}: {len(tags)} tags for {expected} tokens.",
                                fix="give one tag per token.")
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    votes = np.full((int(offsets[-1]), len(column)), MISSING, dtype=np.int64)
    for i, by in enumerate(sentence_votes):
        for who, tags in by.items():
            if who not in column:
                continue
            try:
                votes[offsets[i]:offsets[i + 1], column[who]] = [name_id[t] for t in tags]
            except KeyError as error:
                raise DataError(f"sentence {i}, annotator {who!r}: unknown tag {error.args[0]!r}.",
                                fix=f"use {names}.") from None
    token = aggregate(votes, len(names), method, annotators=annotators, **options)
    tags, confidence, token_confidence = [], np.zeros(len(sizes)), []
    for i in range(len(sizes)):
        ids = token.labels[offsets[i]:offsets[i + 1]]
        tags.append(repair_iob2([names[k] if k >= 0 else "O" for k in ids]))
        chosen = token.confidence[offsets[i]:offsets[i + 1]]
        token_confidence.append(chosen)
        confidence[i] = float(chosen.mean()) if chosen.size else 0.0
    return TagAggregate(tags, confidence, token_confidence, token)


def repair_iob2(tags: Sequence[str]) -> tuple[str, ...]:
    """``I-X`` after anything but ``B-X``/``I-X`` becomes ``B-X``."""
    repaired, previous = [], "O"
    for tag in tags:
        if tag.startswith("I-") and previous[2:] != tag[2:]:
            tag = "B-" + tag[2:]
        repaired.append(tag)
        previous = tag if tag != "O" else "O"
    return tuple(repaired)


# ---- summaries -------------------------------------------------------------------------
def rouge_l(reference: str, hypothesis: str) -> float:
    """ROUGE-L F1 on lower-cased whitespace tokens (longest common subsequence)."""
    a, b = reference.lower().split(), hypothesis.lower().split()
    if not a or not b:
        return float(a == b)
    vocabulary: dict[str, int] = {}
    ids_a = np.array([vocabulary.setdefault(t, len(vocabulary)) for t in a])
    ids_b = np.array([vocabulary.setdefault(t, len(vocabulary)) for t in b])
    # LCS row by row: one vectorised pass per token of ``a`` (prefix maximum over ``b``).
    row = np.zeros(len(b) + 1, dtype=np.int64)
    for token in ids_a:
        match = np.concatenate([[0], np.where(ids_b == token, row[:-1] + 1, 0)])
        row = np.maximum.accumulate(np.maximum(row, match))
    lcs = int(row[-1])
    if lcs == 0:
        return 0.0
    precision, recall = lcs / len(b), lcs / len(a)
    return 2 * precision * recall / (precision + recall)


@dataclass(frozen=True)
class SummaryConsensus:
    """``texts``: the medoid summary per item (``None`` where nobody wrote one);
    ``confidence``: its mean ROUGE-L to the other candidates (1.0 with one candidate);
    ``agreement``: per annotator, the mean ROUGE-L of its summaries to the medoid on
    items with two or more candidates (the medoid's own author is scored by the medoid's
    mean ROUGE-L to the others, not by 1.0)."""

    texts: list[str | None]
    confidence: np.ndarray
    agreement: dict[Any, float]
    n_compared: dict[Any, int]


def summary_consensus(candidates: Sequence[Mapping[Any, str]]) -> SummaryConsensus:
    """Consensus of several summaries per item: the medoid (the candidate with the highest
    mean ROUGE-L F1 to the others; ties: the first given) and each annotator's agreement
    with it."""
    texts: list[str | None] = []
    confidence = np.zeros(len(candidates))
    totals: dict[Any, float] = {}
    counts: dict[Any, int] = {}
    for i, by in enumerate(candidates):
        authors, summaries = list(by), list(by.values())
        if not summaries:
            texts.append(None)
            continue
        if len(summaries) == 1:
            texts.append(summaries[0])
            confidence[i] = 1.0
            continue
        n = len(summaries)
        pairwise = np.eye(n)
        for a in range(n):
            for b in range(a + 1, n):
                pairwise[a, b] = pairwise[b, a] = rouge_l(summaries[a], summaries[b])
        mean_to_others = (pairwise.sum(axis=1) - 1.0) / (n - 1)
        medoid = int(np.argmax(mean_to_others))
        texts.append(summaries[medoid])
        confidence[i] = mean_to_others[medoid]
        for a, who in enumerate(authors):
            score = mean_to_others[medoid] if a == medoid else pairwise[a, medoid]
            totals[who] = totals.get(who, 0.0) + float(score)
            counts[who] = counts.get(who, 0) + 1
    agreement = {who: totals[who] / counts[who] for who in totals}
    return SummaryConsensus(texts, confidence, agreement, counts)


# ---- teaching --------------------------------------------------------------------------
def teach_aggregate(learner: Any, positions: Sequence[int] | np.ndarray, labels: Sequence[Any],
                    confidence: Sequence[float] | np.ndarray | None = None, *, retrain: bool | None = None) -> None:
    """Teach ``learner`` aggregated labels, with their confidence as sample weights where
    the model's ``fit`` accepts ``sample_weight`` (plain labels otherwise). Positions
    nobody labeled (label ``-1`` or ``None``) are left out."""
    positions = np.asarray(positions, dtype=np.int64).reshape(-1)
    labels = list(labels)
    keep = [i for i, label in enumerate(labels) if label is not None and not (np.ndim(label) == 0
                                                                               and label == MISSING)]
    weights = None if confidence is None else np.asarray(confidence, dtype=np.float64)[keep]
    learner.teach(positions[keep], [labels[i] for i in keep], retrain=retrain, weights=weights)
