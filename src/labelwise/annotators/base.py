"""Annotator records: who labels (a person or an LLM), what a label costs, how reliable
the labels are (estimated online from agreement on items labeled by several annotators)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from labelwise.errors import ConfigError

KINDS = ("human", "llm")


@dataclass
class Annotator:
    """One annotator and its running reliability.

    Cost of one item: ``cost_per_item + cost_per_token * n_tokens`` (people are paid per
    item, LLMs per token). Reliability is the posterior mean of a Beta prior on the
    probability of a correct label, ``(prior_accuracy * prior_strength + agreements) /
    (prior_strength + n_compared)``, updated by :meth:`observe` (agreement with the
    consensus on items someone else labeled too) or replaced by a Dawid-Skene confusion
    matrix (:meth:`set_confusion`, :func:`~labelwise.annotators.update_reliability`).

    Attributes:
        id: a unique name (``"alice"``, ``"llm:gpt-4o-mini"``), stored with each decision.
        kind: ``"human"`` or ``"llm"``.
        cost_per_item / cost_per_token: in any currency unit, the same for every annotator.
        prior_accuracy: the accuracy assumed before any overlap is seen.
        prior_strength: how many items of evidence the prior is worth.
        min_overlap: items compared with others before the reliability counts as known
            (proactive assignment keeps giving an unknown annotator overlapping items).
    """

    id: str
    kind: str = "human"
    cost_per_item: float = 1.0
    cost_per_token: float = 0.0
    prior_accuracy: float = 0.7
    prior_strength: float = 4.0
    min_overlap: int = 20
    agreements: float = 0.0
    n_compared: float = 0.0
    confusion: np.ndarray | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id.strip():
            raise ConfigError(f"Annotator id must be a non-empty string, got {self.id!r}. Fix: name it, e.g. 'alice'.")
        if self.kind not in KINDS:
            raise ConfigError(f"Annotator {self.id!r}: kind must be one of {list(KINDS)}, got {self.kind!r}.")
        for name in ("cost_per_item", "cost_per_token", "prior_strength"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise ConfigError(f"Annotator {self.id!r}: {name} must be a finite number >= 0, got {value!r}.")
        if self.cost_per_item == 0 and self.cost_per_token == 0:
            raise ConfigError(f"Annotator {self.id!r}: give a cost_per_item or a cost_per_token above 0 "
                              "(assignment divides information by cost).")
        if not 0.0 < self.prior_accuracy < 1.0:
            raise ConfigError(f"Annotator {self.id!r}: prior_accuracy must lie in (0, 1), got {self.prior_accuracy!r}.")

    def cost(self, n_tokens: int | np.ndarray = 0) -> float | np.ndarray:
        """Cost of one item of ``n_tokens`` tokens (an array gives one cost per item)."""
        if np.ndim(n_tokens):
            return self.cost_per_item + self.cost_per_token * np.asarray(n_tokens, dtype=np.float64)
        return self.cost_per_item + self.cost_per_token * float(n_tokens)

    @property
    def reliability(self) -> float:
        """Estimated probability that a label of this annotator is correct."""
        if self.confusion is not None and self._class_prior is not None:
            return float(np.sum(self._class_prior * np.diag(self.confusion)))
        return (self.prior_accuracy * self.prior_strength + self.agreements) / (self.prior_strength + self.n_compared)

    @property
    def known(self) -> bool:
        """Whether enough overlap was seen to trust :attr:`reliability`."""
        return self.n_compared >= self.min_overlap

    def observe(self, agreed: float | np.ndarray) -> None:
        """Count agreement with the consensus on overlapping items: 1/0 per item, or the
        consensus posterior of the annotator's answer (soft agreement)."""
        values = np.asarray(agreed, dtype=np.float64).reshape(-1)
        self.agreements += float(values.sum())
        self.n_compared += float(values.size)

    def set_confusion(self, confusion: np.ndarray, class_prior: np.ndarray | None = None) -> None:
        """Use a confusion matrix ``(n_classes, n_classes)`` (rows: true class, columns:
        the label given) estimated by Dawid-Skene; ``class_prior`` weighs its diagonal
        into :attr:`reliability`."""
        matrix = np.asarray(confusion, dtype=np.float64)
        if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
            raise ConfigError(f"Annotator {self.id!r}: a confusion matrix is square, got shape {matrix.shape}.")
        self.confusion = matrix
        n = matrix.shape[0]
        self._class_prior = np.full(n, 1.0 / n) if class_prior is None else np.asarray(class_prior, np.float64)

    _class_prior: np.ndarray | None = field(default=None, init=False, repr=False)

    def confusion_matrix(self, n_classes: int) -> np.ndarray:
        """The estimated confusion matrix, or (before one is estimated) the symmetric one of
        :attr:`reliability`: ``r`` on the diagonal, ``(1 - r) / (n_classes - 1)`` elsewhere."""
        if self.confusion is not None and self.confusion.shape == (n_classes, n_classes):
            return self.confusion
        return symmetric_confusion(self.reliability, n_classes)


def symmetric_confusion(accuracy: float, n_classes: int) -> np.ndarray:
    """``(n_classes, n_classes)``: ``accuracy`` on the diagonal, the rest spread evenly."""
    off = (1.0 - accuracy) / max(n_classes - 1, 1)
    matrix = np.full((n_classes, n_classes), off)
    np.fill_diagonal(matrix, accuracy)
    return matrix
