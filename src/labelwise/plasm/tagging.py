"""PLASM for sequence tagging (NER): token-level pseudo-labels kept by sentence
confidence, TracIn self-influence per sentence, and the one-call pipeline.

The acquisition model (cheap, e.g. a BiLSTM-CRF) ran AL; its gold sentences train the
successor (e.g. the MiniLM ``TransformerTagger``). PLASM adds pseudo-labelled pool
sentences: the acquisition model (or, without one, the successor trained on the gold
sentences) tags the pool; the sentences it is most sure of (mean max token probability, or
the MNLP-normalised log-probability of the best path) are kept; a tagger trained on gold +
those pseudo-labels gives each pseudo-labelled sentence a TracIn self-influence, and the
highest are dropped (the sentences that model struggles to fit: likely wrong tags); the
successor is trained on gold + the rest.

Self-influence of a sentence from the last layer: emissions are ``W h_t + b``; the gradient
of the sentence's loss (cross-entropy summed over tokens, or the CRF's negative
log-likelihood) with respect to the emissions at token ``t`` is ``r_t = p_t - onehot(y_t)``
(``p_t``: the softmax, or the CRF's marginal). So ``dW = sum_t r_t ⊗ h_t``, ``db = sum_t r_t``
and ``||dW||^2 + ||db||^2 = sum_{t,s} (r_t . r_s)(h_t . h_s + 1)``: an ``L x L`` product per
sentence, no gradient materialised.

References:
    Tsvigun et al. (2022). Towards Computationally Feasible Deep Active Learning.
    Findings of NAACL 2022.
    Pruthi et al. (2020). Estimating Training Data Influence by Tracing Gradient Descent.
    Shen et al. (2018). Deep active learning for named entity recognition. ICLR. (MNLP.)
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from labelwise._random import RandomState, check_random_state, derive_seed
from labelwise.data.datasets import TaggingDataset
from labelwise.errors import CapabilityError, ConfigError, DataError
from labelwise.plasm._checks import number

CONFIDENCES = ("mnlp", "mean_max")


@dataclass(frozen=True)
class TokenPseudoLabels:
    """Pool sentences given predicted tags.

    Attributes:
        indices: kept pool positions, ``(m,)`` int64, sorted.
        tags: one tuple of tag ids per kept sentence (its length).
        confidence: the sentence confidence that ranked it, ``(m,)`` (higher = surer).
    """

    indices: np.ndarray
    tags: tuple[tuple[int, ...], ...]
    confidence: np.ndarray

    def __len__(self) -> int:
        return int(self.indices.shape[0])


def sentence_confidence(token_probabilities: Sequence[np.ndarray], *, how: str = "mnlp",
                        path_log_probabilities: np.ndarray | None = None) -> np.ndarray:
    """Confidence per sentence ``(n,)``, higher = surer.

    ``"mean_max"``: mean over tokens of the top tag probability. ``"mnlp"``: the best
    path's log-probability divided by the sentence length (minus the MNLP score); needs
    ``path_log_probabilities`` ``(n,)``, else the greedy path's (sum of log max).
    """
    if how not in CONFIDENCES:
        raise ConfigError(f"confidence must be one of {CONFIDENCES}, got {how!r}.")
    lengths = np.array([len(p) for p in token_probabilities], dtype=np.float64)
    if np.any(lengths == 0):
        raise DataError(f"sentence {int(np.flatnonzero(lengths == 0)[0])} has no tokens; remove it.")
    top = [np.asarray(p, dtype=np.float64).max(axis=1) for p in token_probabilities]
    if how == "mean_max":
        return np.array([t.mean() for t in top])
    if path_log_probabilities is None:
        path_log_probabilities = np.array([np.log(np.maximum(t, 1e-30)).sum() for t in top])
    path_log_probabilities = np.asarray(path_log_probabilities, dtype=np.float64).reshape(-1)
    if path_log_probabilities.shape[0] != lengths.shape[0]:
        raise DataError(f"{lengths.shape[0]} sentences but {path_log_probabilities.shape[0]} path log-probabilities.")
    return path_log_probabilities / lengths


def select_token_pseudo_labels(token_probabilities: Sequence[np.ndarray], *, paths: Sequence[Sequence[int]] | None = None,
                               path_log_probabilities: np.ndarray | None = None, confidence: str = "mnlp",
                               top_fraction: float | None = 0.2, threshold: float | None = None,
                               eligible: np.ndarray | None = None) -> TokenPseudoLabels:
    """Tag every sentence (``paths``, e.g. Viterbi, else the argmax per token) and keep the
    ``top_fraction`` most confident sentences (and/or those whose confidence reaches
    ``threshold``). Ties go to the lower position.

    Args:
        token_probabilities: one ``(length, n_tags)`` array per sentence.
        paths: the predicted tag ids per sentence (default: argmax per token).
        path_log_probabilities: ``(n,)`` log-probability of each path (for ``"mnlp"``).
        eligible: ``(n,)`` bool, the sentences that may be kept (e.g. those with a predicted
            entity); the top fraction still counts every sentence, and is filled from the
            eligible ones, most confident first.
    """
    if top_fraction is not None:
        top_fraction = number(top_fraction, "pseudo_label_fraction", low=0.0, high=1.0, low_open=True)
    if threshold is not None:
        threshold = number(threshold, "confidence_threshold")
    scores = sentence_confidence(token_probabilities, how=confidence, path_log_probabilities=path_log_probabilities)
    n = scores.shape[0]
    if paths is None:
        paths = [np.asarray(p).argmax(axis=1) for p in token_probabilities]
    if len(paths) != n:
        raise DataError(f"{n} sentences but {len(paths)} paths.")
    keep = np.ones(n, dtype=bool)
    if eligible is not None:
        eligible = np.asarray(eligible, dtype=bool).reshape(-1)
        if eligible.shape[0] != n:
            raise DataError(f"{n} sentences but {eligible.shape[0]} eligibility flags.")
        keep &= eligible
    if threshold is not None:
        keep &= scores >= float(threshold)
    if top_fraction is not None:
        order = np.lexsort((np.arange(n), -scores))
        if eligible is not None:  # ineligible sentences leave the ranking; the count stays
            order = order[eligible[order]]
        chosen = np.zeros(n, dtype=bool)
        chosen[order[: int(np.ceil(float(top_fraction) * n))]] = True
        keep &= chosen
    indices = np.flatnonzero(keep).astype(np.int64)
    return TokenPseudoLabels(indices, tuple(tuple(int(t) for t in paths[i]) for i in indices), scores[indices])


def pseudo_label_tagger(model: Any, pool: TaggingDataset, *, confidence: str = "mnlp",
                        top_fraction: float | None = 0.2, threshold: float | None = None,
                        require_entities: bool = False) -> TokenPseudoLabels:
    """Tag ``pool`` with a fitted tagger's best paths (Viterbi with a CRF) and keep
    sentences as :func:`select_token_pseudo_labels` says; with ``require_entities`` only
    sentences whose path tags some token other than ``"O"`` (a weak tagger is surest of
    short all-``O`` sentences, which teach the successor nothing but ``O``)."""
    for method in ("best_paths", "token_marginals"):
        if not callable(getattr(model, method, None)):
            raise CapabilityError(f"pseudo-labelling a tagging pool needs {method}() from the model; "
                                  f"{type(model).__name__} has none. Use a labelwise tagger.")
    names, log_probabilities = model.best_paths(pool)
    marginals = model.token_marginals(pool) if confidence == "mean_max" else \
        [np.ones((len(s), 1)) for s in pool.tokens]
    index = {name: i for i, name in enumerate(pool.tag_names)}
    try:
        paths = [[index[t] for t in path] for path in names]
    except KeyError as error:
        raise DataError(f"the model predicts tag {error.args[0]!r}, which is not among the pool's tags "
                        f"{list(pool.tag_names)}.", fix="give the pool the model's tag names.") from None
    eligible = np.array([any(t != "O" for t in path) for path in names], dtype=bool) if require_entities else None
    return select_token_pseudo_labels(marginals, paths=paths, path_log_probabilities=log_probabilities,
                                      confidence=confidence, top_fraction=top_fraction, threshold=threshold,
                                      eligible=eligible)


# ---- TracIn for taggers -----------------------------------------------------------------
def token_last_layer_outputs(model: Any, dataset: TaggingDataset) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per sentence, the input of the emission layer ``(length, dim)`` and the token tag
    distribution ``(length, n_tags)`` (CRF marginals with a CRF, else softmax), at the
    model's final weights: the model's own ``token_last_layer_outputs(dataset)`` (labelwise's
    ``TransformerTagger``, ``BiLSTMCRFTagger`` and ``EmbeddingTagger`` have one)."""
    own = getattr(model, "token_last_layer_outputs", None)
    if not callable(own):
        raise CapabilityError(f"TracIn for tagging cannot read the last layer of {type(model).__name__}. Give it a "
                              "token_last_layer_outputs(dataset) method returning, per sentence, (features, "
                              "token probabilities), or pass tracin_filter_fraction=0.")
    return list(own(dataset))


def tagging_self_influence(outputs: Sequence[tuple[np.ndarray, np.ndarray]], tags: Sequence[Sequence[int]],
                           *, include_bias: bool = True) -> np.ndarray:
    """TracIn self-influence per sentence ``(n,)`` from the last-layer gradient summed over
    its tokens: ``sum_{t,s} (r_t . r_s)(h_t . h_s + 1)`` with ``r_t = p_t - onehot(y_t)``."""
    if len(outputs) != len(tags):
        raise DataError(f"{len(outputs)} sentences of outputs but {len(tags)} tag sequences.")
    result = np.zeros(len(outputs), dtype=np.float64)
    for i, ((features, probabilities), sentence_tags) in enumerate(zip(outputs, tags, strict=True)):
        residual = np.array(probabilities, dtype=np.float64)
        labels = np.asarray(sentence_tags, dtype=np.int64)
        if residual.ndim != 2 or residual.shape[0] != labels.shape[0]:
            raise DataError(f"sentence {i}: probabilities {residual.shape} do not match {labels.shape[0]} tags.")
        if labels.size and (labels.min() < 0 or labels.max() >= residual.shape[1]):
            raise DataError(f"sentence {i}: tag ids must lie in 0..{residual.shape[1] - 1}.")
        residual[np.arange(labels.size), labels] -= 1.0
        features = np.asarray(features, dtype=np.float64)
        gram = features @ features.T + (1.0 if include_bias else 0.0)
        result[i] = float(np.sum((residual @ residual.T) * gram))
    return result


# ---- the pipeline ------------------------------------------------------------------------
@dataclass
class PlasmTaggingResult:
    """What :func:`plasm_tagging` produced.

    Attributes:
        model: the successor trained on gold + kept pseudo-labelled sentences.
        dataset: that training set (gold sentences first, unchanged).
        n_gold: gold sentences at the head of ``dataset``.
        pseudo: the pseudo-labelled pool sentences (before TracIn).
        self_influence: TracIn self-influence of each, ``(m,)`` (zeros without TracIn).
        dropped_indices: pool positions TracIn dropped.
        kept_indices: pool positions kept, in ``dataset`` order.
        timings: seconds per phase (``train_labeler``, ``pseudo_label``, ``train_tracin``,
            ``tracin``, ``train_final``, ``total``).
        tracin_model: the tagger TracIn read (trained on gold + every pseudo-label).
    """

    model: Any
    dataset: TaggingDataset
    n_gold: int
    pseudo: TokenPseudoLabels
    self_influence: np.ndarray
    dropped_indices: np.ndarray
    kept_indices: np.ndarray
    timings: dict[str, float] = field(default_factory=dict)
    tracin_model: Any = None


def _fit(factory: Callable[[], Any], seed: int, everything: TaggingDataset, training: TaggingDataset) -> Any:
    model = factory()
    if hasattr(model, "random_state"):
        model.random_state = seed
    if callable(getattr(model, "prepare", None)):
        model.prepare(everything)
    return model.fit(training) or model


def _with_pseudo(acquired: TaggingDataset, unlabeled: TaggingDataset, indices: np.ndarray,
                 tags: Sequence[Sequence[int]]) -> TaggingDataset:
    names = acquired.tag_names
    return TaggingDataset(acquired.tokens + tuple(unlabeled.tokens[i] for i in indices),
                          acquired.tags + tuple(tuple(names[t] for t in row) for row in tags), names)


def plasm_tagging(acquired: TaggingDataset, pool: TaggingDataset, successor_factory: Callable[[], Any], *,
                  acquisition_model: Any = None, tracin_factory: Callable[[], Any] | None = None,
                  pseudo_label_fraction: float | None = 0.2, confidence: str = "mnlp",
                  confidence_threshold: float | None = None, require_entities: bool = False,
                  tracin_filter_fraction: float = 0.1, random_state: RandomState = 0,
                  timer: Callable[[], float] = time.perf_counter) -> PlasmTaggingResult:
    """Train a successor tagger with PLASM.

    Args:
        acquired: the gold sentences AL acquired.
        pool: the unlabeled sentences (tags, if any, are ignored).
        successor_factory: builds a fresh, unfitted successor tagger.
        acquisition_model: the fitted acquisition model; it pseudo-labels the pool (no
            successor training is spent on it). ``None``: the successor is trained on the
            gold sentences and pseudo-labels the pool itself.
        tracin_factory: builds the tagger trained on gold + pseudo-labels whose
            self-influence ranks them (``TransformerTagger`` or ``BiLSTMCRFTagger``).
            Default: a fresh copy of the acquisition model (cheap), else the successor.
        pseudo_label_fraction: fraction of the pool sentences kept, most confident first.
        confidence: ``"mnlp"`` (best path log-probability / length) or ``"mean_max"``.
        confidence_threshold: minimum sentence confidence, or ``None``.
        require_entities: pseudo-label only sentences with a predicted entity (a tag other
            than ``"O"``); the fraction still counts the whole pool.
        tracin_filter_fraction: fraction of the pseudo-labelled sentences with the highest
            self-influence dropped (0 skips TracIn and its training).
        random_state: seeds the trainings.
        timer: the clock of ``timings`` (e.g. ``time.process_time`` for CPU seconds).
    """
    if not isinstance(acquired, TaggingDataset) or acquired.tags is None or len(acquired) == 0:
        raise DataError("plasm_tagging(): acquired must be a tagged TaggingDataset with at least one sentence.")
    if not isinstance(pool, TaggingDataset):
        raise DataError(f"plasm_tagging(): the pool must be a TaggingDataset, got {type(pool).__name__}.")
    if tuple(pool.tag_names) != tuple(acquired.tag_names):
        raise DataError(f"the pool's tag names {pool.tag_names} differ from the acquired data's {acquired.tag_names}.",
                        fix="load both with the same tag_names.")
    tracin_filter_fraction = number(tracin_filter_fraction, "tracin_filter_fraction", low=0.0, high=1.0,
                                    high_open=True)
    if confidence not in CONFIDENCES:
        raise ConfigError(f"confidence must be one of {CONFIDENCES}, got {confidence!r}.")
    rng = check_random_state(random_state)
    unlabeled = pool.without_labels()
    everything = TaggingDataset(acquired.tokens + unlabeled.tokens, None, acquired.tag_names)
    timings: dict[str, float] = {"train_labeler": 0.0, "train_tracin": 0.0, "tracin": 0.0}
    total_started = timer()
    labeler = acquisition_model
    if labeler is None:
        started = timer()
        labeler = _fit(successor_factory, derive_seed(rng), everything, acquired)
        timings["train_labeler"] = timer() - started
    started = timer()
    pseudo = pseudo_label_tagger(labeler, unlabeled, confidence=confidence, top_fraction=pseudo_label_fraction,
                                 threshold=confidence_threshold, require_entities=require_entities)
    timings["pseudo_label"] = timer() - started
    influence = np.zeros(len(pseudo), dtype=np.float64)
    keep = np.ones(len(pseudo), dtype=bool)
    n_drop = int(round(float(tracin_filter_fraction) * len(pseudo)))
    tracin_model = None
    if n_drop > 0:
        if tracin_factory is None:
            if acquisition_model is not None:
                from sklearn.base import clone

                tracin_factory = lambda: clone(acquisition_model)  # noqa: E731
            else:
                tracin_factory = successor_factory
        started = timer()
        tracin_model = _fit(tracin_factory, derive_seed(rng), everything,
                            _with_pseudo(acquired, unlabeled, pseudo.indices, pseudo.tags))
        timings["train_tracin"] = timer() - started
        started = timer()
        outputs = token_last_layer_outputs(tracin_model, unlabeled.subset(pseudo.indices))
        influence = tagging_self_influence(outputs, pseudo.tags)
        keep[np.lexsort((pseudo.indices, -influence))[:n_drop]] = False
        timings["tracin"] = timer() - started
    kept = pseudo.indices[keep]
    combined = _with_pseudo(acquired, unlabeled, kept, [pseudo.tags[i] for i in np.flatnonzero(keep)])
    started = timer()
    final = _fit(successor_factory, derive_seed(rng), everything, combined)
    timings["train_final"] = timer() - started
    timings["total"] = timer() - total_started
    return PlasmTaggingResult(final, combined, len(acquired), pseudo, influence, np.sort(pseudo.indices[~keep]),
                              kept, timings, tracin_model)
