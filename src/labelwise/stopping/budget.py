"""Stop when a label or cost budget is spent."""

from __future__ import annotations

from labelwise.stopping.base import (
    StopDecision,
    StoppingCriterion,
    StoppingState,
    check_number,
    require,
)


class LabelBudget(StoppingCriterion):
    """Stop once ``max_labels`` labels have been taught. Every task.

    Args:
        max_labels: the number of labels you can afford (>= 1).
    """

    name = "label_budget"

    def __init__(self, max_labels: int) -> None:
        check_number(self.name, "max_labels", max_labels, low=1, integer=True)
        self.max_labels = max_labels

    def _update(self, state: StoppingState) -> StopDecision:
        stop = state.n_labeled >= self.max_labels
        return StopDecision(
            stop, f"{state.n_labeled} of {self.max_labels} labels spent", float(state.n_labeled)
        )


class CostBudget(StoppingCriterion):
    """Stop once the annotation cost reaches ``max_cost`` (seconds, money, tokens: the unit
    of ``StoppingState.cost``). Every task.

    Args:
        max_cost: the budget (> 0).
    """

    name = "cost_budget"
    needs = ("cost",)

    def __init__(self, max_cost: float) -> None:
        check_number(self.name, "max_cost", max_cost, low=0.0, low_open=True)
        self.max_cost = max_cost

    def _update(self, state: StoppingState) -> StopDecision:
        cost = float(
            require(
                state, "cost", self.name, "Give the cost spent so far (e.g. annotation seconds)."
            )
        )
        return StopDecision(
            cost >= self.max_cost, f"cost {cost:g} of {self.max_cost:g} spent", cost
        )
