"""Criteria that stop when consecutive models agree: stabilizing predictions, the kappa
average, classification change.

References:
    Bloodgood & Vijay-Shanker (2009). A method for stopping active learning based on
    stabilizing predictions and the need for user-adjustable stopping. CoNLL.
    Zhu, Wang & Hovy (2008). Multi-criteria-based strategy to stop active learning for data
    annotation. COLING.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import numpy as np

from labelwise.errors import CapabilityError, DataError
from labelwise.stopping.base import (
    StopDecision,
    StoppingCriterion,
    StoppingState,
    check_number,
)


def _hashable(item: Any) -> Hashable:
    if isinstance(item, np.ndarray):
        return tuple(item.tolist())
    if isinstance(item, list | tuple):
        return tuple(_hashable(part) for part in item)
    return item


def encode(predictions: Any, codes: dict[Hashable, int]) -> np.ndarray:
    """Integer category ids ``(n,)`` for any predictions: class ids pass through a shared
    code book, a tag sequence or a text becomes one category (sequence level)."""
    if (
        isinstance(predictions, np.ndarray)
        and predictions.ndim == 1
        and predictions.dtype.kind in "iub"
    ):
        values, inverse = np.unique(predictions, return_inverse=True)
        mapped = np.array([codes.setdefault(int(v), len(codes)) for v in values], dtype=np.int64)
        return mapped[inverse] if len(values) else np.empty(0, dtype=np.int64)
    return np.array(
        [codes.setdefault(_hashable(p), len(codes)) for p in predictions], dtype=np.int64
    )


def cohen_kappa(first: Any, second: Any) -> float:
    """Cohen's kappa between two labelings of the same rows: ``(p_o - p_e) / (1 - p_e)``
    with ``p_o`` the observed agreement and ``p_e`` the agreement expected from the two
    marginal label distributions. Labels may be class ids, tag sequences or texts (each
    distinct value is one category). Two identical labelings give 1.0, also when both use
    a single category (where the formula is 0/0)."""
    codes: dict[Hashable, int] = {}
    a, b = encode(first, codes), encode(second, codes)
    if len(a) != len(b):
        raise DataError(
            f"cohen_kappa needs two labelings of the same rows; got {len(a)} and {len(b)}."
        )
    if len(a) == 0:
        raise DataError("cohen_kappa needs at least one row; the stop set is empty.")
    n_categories = len(codes)
    table = np.bincount(a * n_categories + b, minlength=n_categories**2).reshape(
        n_categories, n_categories
    )
    n = float(len(a))
    observed = np.trace(table) / n
    expected = float(table.sum(axis=1) @ table.sum(axis=0)) / n**2
    if observed == 1.0:
        return 1.0
    return float((observed - expected) / (1.0 - expected))


def stop_set_predictions(state: StoppingState, who: str) -> Any:
    if state.stop_set_predictions is not None:
        return state.stop_set_predictions
    if state.stop_set_probabilities is not None and state.task == "classification":
        return np.asarray(state.stop_set_probabilities).argmax(axis=-1)
    raise CapabilityError(
        f"stopping criterion {who!r} needs StoppingState.stop_set_predictions (or stop_set_probabilities "
        "for classification): predict a fixed stop set (e.g. 1,000 unlabeled rows drawn once) after each "
        "retraining."
    )


class _KappaWindow(StoppingCriterion):
    """Shared history: the previous stop-set predictions and the last ``window`` kappas."""

    stateful = True
    needs = ("stop_set_predictions|stop_set_probabilities",)

    def __init__(self, threshold: float = 0.99, window: int = 3) -> None:
        check_number(self.name, "threshold", threshold, low=-1.0, high=1.0)
        check_number(self.name, "window", window, low=1, integer=True)
        self.threshold = threshold
        self.window = window
        self._reset()

    def _reset(self) -> None:
        self._previous: Any = None
        self._kappas: list[float] = []

    @property
    def kappas(self) -> list[float]:
        """The kappas of the last ``window`` consecutive model pairs, oldest first."""
        return list(self._kappas)

    def _update(self, state: StoppingState) -> StopDecision:
        current = stop_set_predictions(state, self.name)
        previous, self._previous = self._previous, current
        if previous is None:
            return StopDecision(False, "first model: nothing to compare with yet", None)
        if len(previous) != len(current):
            raise DataError(
                f"stopping criterion {self.name!r}: the stop set changed size from {len(previous)} to "
                f"{len(current)}; predict the same rows every time (call reset() for a new stop set)."
            )
        self._kappas = (self._kappas + [cohen_kappa(previous, current)])[-self.window :]
        if len(self._kappas) < self.window:
            return StopDecision(
                False,
                f"{len(self._kappas)} of {self.window} model pairs compared so far",
                self._kappas[-1],
            )
        return self._decide(np.asarray(self._kappas))

    def _decide(self, kappas: np.ndarray) -> StopDecision:
        raise NotImplementedError


class StabilizingPredictions(_KappaWindow):
    """Stop when the predictions on a fixed stop set have stabilized: Cohen's kappa between
    each pair of consecutive models stayed at or above ``threshold`` for the last
    ``window`` pairs (the smallest of them is the value).

    Bloodgood & Vijay-Shanker (2009) measure the agreement of consecutive models on a
    stop set of unlabeled rows with kappa and stop once it stays high (0.99 over three
    comparisons). This class asks every kappa in the window to clear the threshold;
    :class:`KappaAverage` asks their mean to, which tolerates one dip.

    Tasks: classification (class ids), tagging (one category per tag sequence, sequence
    level; give flattened token tags for token level), seq2seq (one category per generated
    text: exact agreement corrected for chance; near-identical texts count as disagreement,
    so it stops late or not at all with sampled decoding; use greedy or beam decoding).

    Args:
        threshold: kappa at or above which two consecutive models agree, in [-1, 1].
        window: number of consecutive model pairs that must agree.

    References:
        Bloodgood & Vijay-Shanker (2009). A method for stopping active learning based on
        stabilizing predictions and the need for user-adjustable stopping. CoNLL.
    """

    name = "stabilizing_predictions"

    def _decide(self, kappas: np.ndarray) -> StopDecision:
        lowest = float(kappas.min())
        if lowest >= self.threshold:
            return StopDecision(
                True,
                f"kappa >= {self.threshold} for the last {self.window} model pairs "
                f"(lowest {lowest:.4f})",
                lowest,
            )
        return StopDecision(
            False,
            f"lowest kappa of the last {self.window} model pairs is {lowest:.4f} "
            f"< {self.threshold}",
            lowest,
        )


class KappaAverage(_KappaWindow):
    """Stop when the mean of the last ``window`` consecutive-model kappas on the stop set is
    at or above ``threshold`` (the averaged form of stabilizing predictions).

    Tasks, arguments and reference as :class:`StabilizingPredictions`. (small-text's
    class of the same name stops on the mean *change* of kappa within the window instead.)
    """

    name = "kappa_average"

    def _decide(self, kappas: np.ndarray) -> StopDecision:
        mean = float(kappas.mean())
        if mean >= self.threshold:
            return StopDecision(
                True,
                f"mean kappa {mean:.4f} >= {self.threshold} over the last "
                f"{self.window} model pairs",
                mean,
            )
        return StopDecision(
            False,
            f"mean kappa {mean:.4f} < {self.threshold} over the last {self.window} model pairs",
            mean,
        )


class ClassificationChange(StoppingCriterion):
    """Stop when the predicted labels of the unlabeled pool stop changing between two
    consecutive models (Zhu, Wang & Hovy 2008): the share of pool rows whose prediction
    changed is at most ``threshold`` (0: no change at all, as in the paper).

    Rows are matched by pool position (``pool_indices``), so the rows labeled in between
    drop out of the comparison; without ``pool_indices`` the pool must keep its size.

    Tasks: classification (class ids), tagging (a sentence changes when any of its tags
    changes; from ``pool_probabilities`` ``(m, L, C)`` with ``pool_mask`` or from
    ``pool_predictions``), seq2seq (a generated text changes when it differs in any
    character; give ``pool_predictions``; with sampled decoding nothing is ever stable).

    Args:
        threshold: largest share of changed rows that still counts as "no change", in [0, 1].

    References:
        Zhu, Wang & Hovy (2008). Multi-criteria-based strategy to stop active learning for
        data annotation. COLING.
    """

    name = "classification_change"
    stateful = True
    needs = ("pool_predictions|pool_probabilities", "pool_indices")

    def __init__(self, threshold: float = 0.0) -> None:
        check_number(self.name, "threshold", threshold, low=0.0, high=1.0)
        self.threshold = threshold
        self._reset()

    def _reset(self) -> None:
        self._previous: tuple[np.ndarray, np.ndarray] | None = None
        self._codes: dict[Hashable, int] = {}

    def _rows(self, state: StoppingState) -> tuple[np.ndarray, np.ndarray]:
        """Pool positions ``(m,)`` and predictions as an int matrix ``(m, width)``; -1 pads."""
        if state.pool_predictions is not None:
            predictions = encode(state.pool_predictions, self._codes)[:, None]
        elif state.pool_probabilities is not None and state.task == "classification":
            predictions = np.asarray(state.pool_probabilities).argmax(axis=-1)[:, None]
        elif state.pool_probabilities is not None and state.task == "tagging":
            predictions = np.asarray(state.pool_probabilities).argmax(axis=-1).astype(np.int64)
            if state.pool_mask is not None:
                predictions = np.where(np.asarray(state.pool_mask, dtype=bool), predictions, -1)
        else:
            raise CapabilityError(
                f"stopping criterion {self.name!r} needs StoppingState.pool_predictions (or "
                "pool_probabilities for classification and tagging) on the unlabeled pool."
            )
        positions = (
            state.pool_indices if state.pool_indices is not None else np.arange(len(predictions))
        )
        return positions, predictions

    def _update(self, state: StoppingState) -> StopDecision:
        positions, predictions = self._rows(state)
        previous, self._previous = self._previous, (positions, predictions)
        if previous is None:
            return StopDecision(False, "first model: nothing to compare with yet", None)
        old_positions, old_predictions = previous
        if state.pool_indices is None and len(old_positions) != len(positions):
            raise DataError(
                f"stopping criterion {self.name!r}: the pool changed size from {len(old_positions)} to "
                f"{len(positions)}; give StoppingState.pool_indices so rows can be matched."
            )
        _, old_rows, new_rows = np.intersect1d(
            old_positions, positions, assume_unique=True, return_indices=True
        )
        if len(old_rows) == 0:
            return StopDecision(False, "no pool row is shared with the previous model", None)
        before, after = old_predictions[old_rows], predictions[new_rows]
        width = max(before.shape[1], after.shape[1])
        before = np.pad(before, ((0, 0), (0, width - before.shape[1])), constant_values=-1)
        after = np.pad(after, ((0, 0), (0, width - after.shape[1])), constant_values=-1)
        changed = float(np.any(before != after, axis=1).mean())
        verdict = "<=" if changed <= self.threshold else ">"
        return StopDecision(
            changed <= self.threshold,
            f"{changed:.2%} of {len(old_rows)} pool predictions changed ({verdict} "
            f"{self.threshold:.2%})",
            changed,
        )
