"""Stop when a held-out score stops improving (early stopping on the learning curve)."""

from __future__ import annotations

from labelwise.errors import ConfigError
from labelwise.stopping.base import (
    StopDecision,
    StoppingCriterion,
    StoppingState,
    check_number,
    require,
)


class HeldOutPlateau(StoppingCriterion):
    """Stop when the held-out score has not beaten its best by more than ``min_delta`` for
    ``patience`` consecutive model versions. The value is that count.

    Only when labelled held-out data exists (a benchmark's test split, or a validation set
    the user labelled): active learning usually has none, which is why the agreement and
    confidence criteria exist. Works for every task: the score is yours (accuracy, span
    F1, ROUGE).

    Args:
        patience: model versions without improvement before stopping (>= 1).
        min_delta: an improvement must exceed this to count (>= 0, in the score's units).
        mode: ``"max"`` when higher scores are better, ``"min"`` for a loss.
    """

    name = "held_out_plateau"
    stateful = True
    needs = ("held_out_score",)

    def __init__(self, patience: int = 3, min_delta: float = 0.0, mode: str = "max") -> None:
        check_number(self.name, "patience", patience, low=1, integer=True)
        check_number(self.name, "min_delta", min_delta, low=0.0)
        if mode not in ("max", "min"):
            raise ConfigError(
                f"stopping criterion {self.name!r}: mode must be 'max' or 'min', got {mode!r}."
            )
        self.patience = patience
        self.min_delta = min_delta
        self.mode = mode
        self._reset()

    def _reset(self) -> None:
        self._best: float | None = None
        self._best_iteration: int | None = None
        self._waited = 0

    def _update(self, state: StoppingState) -> StopDecision:
        score = float(
            require(
                state,
                "held_out_score",
                self.name,
                "Give the score on labelled held-out data, or use 'stabilizing_predictions'.",
            )
        )
        sign = 1.0 if self.mode == "max" else -1.0
        if self._best is None or sign * (score - self._best) > self.min_delta:
            self._best, self._best_iteration, self._waited = score, state.iteration, 0
        else:
            self._waited += 1
        stop = self._waited >= self.patience
        reason = (
            f"held-out score {score:.4f}; best {self._best:.4f} at iteration {self._best_iteration}, "
            f"{self._waited} of {self.patience} versions without an improvement > {self.min_delta}"
        )
        return StopDecision(stop, reason, float(self._waited))
