"""The stopping interface: a state in, a decision out.

A criterion is a small object: ``update(state) -> StopDecision``. It sees one
:class:`StoppingState` per model version (after each retraining), keeps whatever history it
needs (the last predictions, a window of kappas, the best held-out score) and says whether
labelling may stop, why, and the number it compared with its threshold. ``reset()`` forgets
the history for a new run. Criteria compose: ``AnyOf(a, b)`` (also ``a | b``) stops when one
of them does, ``AllOf(a, b)`` (``a & b``) when all of them do.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from labelwise.errors import CapabilityError, ConfigError, DataError

TASKS = ("classification", "tagging", "seq2seq")


@dataclass(frozen=True)
class StopDecision:
    """What a criterion concluded from one state.

    Attributes:
        stop: True when labelling may stop.
        reason: one sentence a person can read ("kappa 0.995 >= 0.99 over the last 3 models").
        value: the number the criterion compared with its threshold (a kappa, an
            uncertainty, a count), or None when there was nothing to compare yet.
    """

    stop: bool
    reason: str
    value: float | None = None

    def __bool__(self) -> bool:
        return self.stop


@dataclass(frozen=True, eq=False)
class StoppingState:
    """Everything a criterion may read about one model version.

    Give what the run has; each criterion says which fields it needs and raises
    :class:`~labelwise.errors.CapabilityError` naming a missing one.

    Attributes:
        iteration: number of the model version (increase it each time the model is
            retrained). Criteria with a history ignore a second update with the same
            iteration and return their previous decision.
        n_labeled: labels taught so far.
        task: ``"classification"``, ``"tagging"`` or ``"seq2seq"``.
        stop_set_predictions: predictions on a fixed stop set (the same rows every time):
            class ids ``(n_stop,)`` for classification; for tagging one tag sequence per
            sentence (sequence level) or the flattened token tags (token level); generated
            texts for seq2seq.
        stop_set_probabilities: class probabilities on the stop set ``(n_stop, C)``;
            predictions default to their argmax when ``stop_set_predictions`` is None.
        pool_indices: the unlabeled pool positions the ``pool_*`` arrays describe ``(m,)``.
        pool_probabilities: probabilities on those positions: ``(m, C)`` for
            classification, ``(m, L, C)`` token probabilities for tagging.
        pool_mask: ``(m, L)`` bool, True on real tokens (tagging; all True when None).
        pool_predictions: predictions on the pool positions (as for the stop set);
            default: the argmax of ``pool_probabilities``.
        selected_indices: the batch the strategy just chose from these outputs (pool
            positions, all present in ``pool_indices``).
        held_out_score: the model's score on held-out labelled data, if any (higher is
            better unless the criterion says otherwise).
        cost: annotation cost spent so far (seconds, money, tokens: the unit is yours).
    """

    iteration: int
    n_labeled: int
    task: str = "classification"
    stop_set_predictions: Any = None
    stop_set_probabilities: np.ndarray | None = None
    pool_indices: np.ndarray | None = None
    pool_probabilities: np.ndarray | None = None
    pool_mask: np.ndarray | None = None
    pool_predictions: Any = None
    selected_indices: np.ndarray | None = None
    held_out_score: float | None = None
    cost: float | None = None

    def __post_init__(self) -> None:
        for name in ("iteration", "n_labeled"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
                raise ConfigError(
                    f"StoppingState.{name} must be a non-negative integer, got {value!r}."
                )
        if self.task not in TASKS:
            raise ConfigError(f"StoppingState.task must be one of {TASKS}, got {self.task!r}.")
        for name in ("stop_set_probabilities", "pool_probabilities", "pool_mask"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, np.asarray(value))
        for name in ("pool_indices", "selected_indices"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, np.asarray(value, dtype=np.int64).reshape(-1))
        for name in ("held_out_score", "cost"):
            value = getattr(self, name)
            if value is not None and not (
                isinstance(value, (int, float, np.number)) and math.isfinite(value)
            ):
                raise DataError(
                    f"StoppingState.{name} must be a finite number or None, got {value!r}."
                )
        self._check_pool_rows()

    def _check_pool_rows(self) -> None:
        rows = {}
        if self.pool_indices is not None:
            rows["pool_indices"] = len(self.pool_indices)
        if self.pool_probabilities is not None:
            rows["pool_probabilities"] = self.pool_probabilities.shape[0]
        if self.pool_mask is not None:
            rows["pool_mask"] = self.pool_mask.shape[0]
        if self.pool_predictions is not None:
            rows["pool_predictions"] = len(self.pool_predictions)
        if len(set(rows.values())) > 1:
            raise DataError(
                f"StoppingState: the pool fields need one row per pool position; got {rows}."
            )
        if (
            self.stop_set_predictions is not None
            and self.stop_set_probabilities is not None
            and len(self.stop_set_predictions) != self.stop_set_probabilities.shape[0]
        ):
            raise DataError(
                f"StoppingState: {len(self.stop_set_predictions)} stop-set predictions but "
                f"{self.stop_set_probabilities.shape[0]} rows of stop-set probabilities."
            )


def require(state: StoppingState, field: str, who: str, fix: str) -> Any:
    """The value of ``field`` or a CapabilityError that names it and the fix."""
    value = getattr(state, field)
    if value is None:
        raise CapabilityError(
            f"stopping criterion {who!r} needs StoppingState.{field}, which is None. {fix}"
        )
    return value


class StoppingCriterion(ABC):
    """Base class. Subclasses set ``name``, ``tasks`` (with ``not_applicable`` saying why
    for the others), validate their parameters in ``__init__`` and implement ``_update``.

    ``stateful`` criteria keep a history across model versions; for them a second update
    with the same ``iteration`` returns the previous decision (so polling twice cannot
    compare a model with itself), and an iteration that goes back is an error.
    """

    name: ClassVar[str] = ""
    tasks: ClassVar[tuple[str, ...]] = TASKS
    #: task -> why the criterion does not apply to it.
    not_applicable: ClassVar[dict[str, str]] = {}
    stateful: ClassVar[bool] = False
    #: the StoppingState fields the criterion reads (besides iteration, n_labeled, task), so
    #: a caller computes only those (e.g. no pool inference for a label budget). One of a
    #: group ``"a|b"`` is enough.
    needs: ClassVar[tuple[str, ...]] = ()

    _last_iteration: int | None = None
    _last_decision: StopDecision | None = None

    def update(self, state: StoppingState) -> StopDecision:
        if not isinstance(state, StoppingState):
            raise ConfigError(
                f"{self.name}.update() needs a StoppingState, got {type(state).__name__}."
            )
        if state.task not in self.tasks:
            why = self.not_applicable.get(state.task, "")
            raise CapabilityError(
                f"stopping criterion {self.name!r} does not apply to {state.task}: {why}"
            )
        if self.stateful and self._last_iteration is not None:
            if state.iteration == self._last_iteration and self._last_decision is not None:
                return self._last_decision
            if state.iteration < self._last_iteration:
                raise ConfigError(
                    f"{self.name}: iteration went back from {self._last_iteration} to {state.iteration}; "
                    "call reset() before a new run."
                )
        decision = self._update(state)
        self._last_iteration = state.iteration
        self._last_decision = decision
        return decision

    @abstractmethod
    def _update(self, state: StoppingState) -> StopDecision: ...

    def reset(self) -> None:
        """Forget the history (a new run starts)."""
        self._last_iteration = None
        self._last_decision = None
        self._reset()

    def _reset(self) -> None:  # noqa: B027  (a no-op by default: stateless criteria keep nothing)
        """Subclasses with a history clear it here."""

    def get_params(self) -> dict[str, Any]:
        return {key: value for key, value in vars(self).items() if not key.startswith("_")}

    def __or__(self, other: StoppingCriterion) -> AnyOf:
        return AnyOf(self, other)

    def __and__(self, other: StoppingCriterion) -> AllOf:
        return AllOf(self, other)

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({params})"


class _Composite(StoppingCriterion):
    combine: ClassVar[Any] = any
    word: ClassVar[str] = ""

    def __init__(self, *criteria: StoppingCriterion) -> None:
        if (
            len(criteria) == 1
            and isinstance(criteria[0], Sequence)
            and not isinstance(criteria[0], str)
        ):
            criteria = tuple(criteria[0])
        if not criteria:
            raise ConfigError(f"{type(self).__name__} needs at least one stopping criterion.")
        for criterion in criteria:
            if not isinstance(criterion, StoppingCriterion):
                raise ConfigError(
                    f"{type(self).__name__} takes stopping criteria, got {type(criterion).__name__}; "
                    "build one with get_stopping_criterion(name, **params)."
                )
        self.criteria = tuple(criteria)

    def update(self, state: StoppingState) -> StopDecision:
        # Every child sees every state, even once the outcome is known: each keeps its history.
        decisions = [criterion.update(state) for criterion in self.criteria]
        stop = type(self).combine(d.stop for d in decisions)
        # When AnyOf stops, name only the criteria that fired; otherwise show every one.
        only_fired = stop and type(self).combine is any
        reason = f" {self.word} ".join(
            f"{c.name}: {d.reason}"
            for c, d in zip(self.criteria, decisions, strict=True)
            if d.stop or not only_fired
        )
        return StopDecision(stop, reason, None)

    def _update(
        self, state: StoppingState
    ) -> StopDecision:  # pragma: no cover - update is overridden
        raise NotImplementedError

    def reset(self) -> None:
        for criterion in self.criteria:
            criterion.reset()

    @property
    def needs(self) -> tuple[str, ...]:  # type: ignore[override]
        fields: list[str] = []
        for criterion in self.criteria:
            fields += [f for f in criterion.needs if f not in fields]
        return tuple(fields)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(repr(c) for c in self.criteria)})"


class AnyOf(_Composite):
    """Stop when at least one criterion says stop; the reason lists those that did."""

    name = "any_of"
    combine = any
    word = "|"


class AllOf(_Composite):
    """Stop when every criterion says stop; the reason lists all of them."""

    name = "all_of"
    combine = all
    word = "&"


def check_number(
    who: str,
    name: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    integer: bool = False,
) -> None:
    """ConfigError unless ``value`` is a (integer) number within the given bounds."""
    kinds = (int, np.integer) if integer else (int, float, np.integer, np.floating)
    ok = not isinstance(value, bool) and isinstance(value, kinds) and math.isfinite(value)
    if ok and low is not None:
        ok = value > low if low_open else value >= low
    if ok and high is not None:
        ok = value <= high
    if not ok:
        kind = "an integer" if integer else "a number"
        bounds = ""
        if low is not None:
            bounds += f" {'>' if low_open else '>='} {low}"
        if high is not None:
            bounds += f"{' and' if bounds else ''} <= {high}"
        raise ConfigError(
            f"stopping criterion {who!r}: {name} must be {kind}{bounds}, got {value!r}."
        )
