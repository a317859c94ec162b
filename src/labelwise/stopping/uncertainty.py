"""Confidence-based criteria of Zhu, Wang & Hovy (2008): overall uncertainty, maximum
uncertainty, minimum expected error. Each reads the current model's probabilities on the
unlabeled pool and needs no history.

Uncertainty is the entropy of a row's class distribution, divided by ``log C`` when
``normalize`` (so 0 = certain, 1 = uniform, whatever the number of classes). A tagging row
is a sentence: its uncertainty is the mean token entropy over real tokens and its expected
error is the chance that the most probable tag of at least one token is wrong,
``1 - prod_t max_c p_t(c)``.

Seq2seq does not apply: a generated text has no finite label distribution, so there is no
entropy over outputs nor an expected error of the argmax output (the log-probability of
one hypothesis is not a distribution over outputs). Use stabilizing predictions or
classification change on the texts, a held-out plateau, or a budget.

References:
    Zhu, Wang & Hovy (2008). Multi-criteria-based strategy to stop active learning for data
    annotation. COLING.
    Zhu & Hovy (2007). Active learning for word sense disambiguation with methods for
    addressing the class imbalance problem. EMNLP-CoNLL. (Max-confidence.)
"""

from __future__ import annotations

import numpy as np

from labelwise.errors import DataError
from labelwise.stopping.base import (
    StopDecision,
    StoppingCriterion,
    StoppingState,
    check_number,
    require,
)
from labelwise.strategies.scores import entropy

_SEQ2SEQ = (
    "a generated text has no finite label distribution, so neither its entropy nor its expected "
    "error is defined; use 'stabilizing_predictions', 'classification_change', 'held_out_plateau' "
    "or a budget."
)
_FIX = "Give the current model's probabilities on the unlabeled pool (with pool_mask for tagging)."


def _probabilities(state: StoppingState, who: str) -> np.ndarray:
    probabilities = np.asarray(require(state, "pool_probabilities", who, _FIX), dtype=np.float32)
    expected = 2 if state.task == "classification" else 3
    if probabilities.ndim != expected:
        shape = "(m, C)" if expected == 2 else "(m, L, C)"
        raise DataError(
            f"stopping criterion {who!r}: pool_probabilities for {state.task} must be {shape}, "
            f"got shape {probabilities.shape}."
        )
    if probabilities.shape[0] == 0:
        raise DataError(
            f"stopping criterion {who!r}: pool_probabilities has no rows; the pool is exhausted."
        )
    return probabilities


def _token_mask(state: StoppingState, probabilities: np.ndarray) -> np.ndarray:
    if state.pool_mask is None:
        return np.ones(probabilities.shape[:2], dtype=bool)
    mask = np.asarray(state.pool_mask, dtype=bool)
    if mask.shape != probabilities.shape[:2]:
        raise DataError(
            f"pool_mask has shape {mask.shape}, expected {probabilities.shape[:2]} (rows, tokens)."
        )
    return mask


def instance_uncertainty(state: StoppingState, who: str, normalize: bool = True) -> np.ndarray:
    """Entropy per pool row ``(m,)`` (mean over real tokens for tagging)."""
    probabilities = _probabilities(state, who)
    n_classes = probabilities.shape[-1]
    values = entropy(probabilities)
    if normalize:
        values = values / np.log(n_classes) if n_classes > 1 else np.zeros_like(values)
    if state.task == "tagging":
        mask = _token_mask(state, probabilities)
        values = np.where(mask, values, 0.0).sum(axis=1) / np.maximum(mask.sum(axis=1), 1)
    return np.asarray(values, dtype=np.float64)


def instance_expected_error(state: StoppingState, who: str) -> np.ndarray:
    """``1 - max_c p(c)`` per pool row; for a sentence ``1 - prod_t max_c p_t(c)``."""
    probabilities = _probabilities(state, who)
    top = probabilities.max(axis=-1).astype(np.float64)
    if state.task == "tagging":
        mask = _token_mask(state, probabilities)
        top = np.exp(np.where(mask, np.log(np.maximum(top, 1e-300)), 0.0).sum(axis=1))
    return 1.0 - top


class _ThresholdBelow(StoppingCriterion):
    tasks = ("classification", "tagging")
    not_applicable = {"seq2seq": _SEQ2SEQ}
    needs = ("pool_probabilities", "pool_mask")
    measure = ""

    def _set_threshold(self, threshold: float, normalize: bool) -> None:
        """A threshold in (0, 1] for normalised entropy, > 0 otherwise."""
        check_number(self.name, "threshold", threshold, low=0.0, low_open=True,
                     high=1.0 if normalize is True else None)
        self.threshold = threshold
        self.normalize = bool(normalize)

    def _verdict(self, value: float, what: str) -> StopDecision:
        stop = value < self.threshold
        return StopDecision(
            stop, f"{what} {value:.4f} {'<' if stop else '>='} {self.threshold}", value
        )


class OverallUncertainty(_ThresholdBelow):
    """Stop when the mean uncertainty of all unlabeled rows falls below ``threshold``
    (Zhu, Wang & Hovy 2008, "overall uncertainty"): the model is confident about the
    pool as a whole.

    Tasks: classification, tagging (sequence level). Not seq2seq (see the module).

    Args:
        threshold: mean (normalised) entropy below which to stop, in (0, 1] when normalised.
        normalize: divide entropy by ``log C``.
    """

    name = "overall_uncertainty"

    def __init__(self, threshold: float = 0.05, normalize: bool = True) -> None:
        self._set_threshold(threshold, normalize)

    def _update(self, state: StoppingState) -> StopDecision:
        value = float(instance_uncertainty(state, self.name, self.normalize).mean())
        return self._verdict(value, "mean pool uncertainty")


class MaxUncertainty(_ThresholdBelow):
    """Stop when even the most uncertain row is below ``threshold`` (Zhu, Wang & Hovy 2008,
    "maximum uncertainty"; Zhu & Hovy 2007 "max-confidence"): the rows active learning
    picks next are already predicted confidently.

    With ``selected_indices`` (the batch the strategy just chose) the maximum runs over
    that batch, as in the paper, where every selected example must be below the threshold;
    without it over the whole pool (what uncertainty sampling would select).

    Tasks: classification, tagging (sequence level). Not seq2seq (see the module).

    Args:
        threshold: (normalised) entropy below which to stop.
        normalize: divide entropy by ``log C``.
    """

    name = "max_uncertainty"
    needs = ("pool_probabilities", "pool_mask", "pool_indices", "selected_indices")

    def __init__(self, threshold: float = 0.1, normalize: bool = True) -> None:
        self._set_threshold(threshold, normalize)

    def _update(self, state: StoppingState) -> StopDecision:
        values = instance_uncertainty(state, self.name, self.normalize)
        if state.selected_indices is None:
            return self._verdict(float(values.max()), "largest pool uncertainty")
        positions = require(
            state,
            "pool_indices",
            self.name,
            "selected_indices are pool positions; give the positions of the pool rows too.",
        )
        order = np.argsort(positions, kind="stable")
        found = np.searchsorted(positions, state.selected_indices, sorter=order)
        found = np.minimum(found, len(positions) - 1)
        rows = order[found]
        missing = positions[rows] != state.selected_indices
        if missing.any():
            raise DataError(
                f"stopping criterion {self.name!r}: selected position "
                f"{int(state.selected_indices[missing][0])} is not among pool_indices."
            )
        if len(rows) == 0:
            return StopDecision(False, "no selected rows to judge", None)
        return self._verdict(float(values[rows].max()), "largest uncertainty in the selected batch")


class MinExpectedError(_ThresholdBelow):
    """Stop when the expected error on the unlabeled pool, the mean of ``1 - max_c p(c|x)``,
    falls below ``threshold`` (Zhu, Wang & Hovy 2008, "minimum expected error"): if the
    model is calibrated this estimates its error rate on the rows still unlabeled.

    Tasks: classification, tagging (sentence error ``1 - prod_t max_c p_t(c)``). Not
    seq2seq (see the module).

    Args:
        threshold: expected error rate below which to stop, in (0, 1].
    """

    name = "min_expected_error"

    def __init__(self, threshold: float = 0.05) -> None:
        check_number(self.name, "threshold", threshold, low=0.0, low_open=True, high=1.0)
        self.threshold = threshold

    def _update(self, state: StoppingState) -> StopDecision:
        value = float(instance_expected_error(state, self.name).mean())
        return self._verdict(value, "expected pool error")
