"""When to stop labelling: stopping criteria as small objects, ``update(state) ->
StopDecision``, composable with :class:`AnyOf` / :class:`AllOf` (``a | b``, ``a & b``).

>>> criterion = get_stopping_criterion("stabilizing_predictions") | LabelBudget(2000)
>>> decision = criterion.update(StoppingState(iteration=4, n_labeled=500,
...                                           stop_set_predictions=model_predictions))
>>> decision.stop, decision.reason
"""

from labelwise.stopping.agreement import (
    ClassificationChange,
    KappaAverage,
    StabilizingPredictions,
    cohen_kappa,
)
from labelwise.stopping.base import AllOf, AnyOf, StopDecision, StoppingCriterion, StoppingState
from labelwise.stopping.budget import CostBudget, LabelBudget
from labelwise.stopping.plateau import HeldOutPlateau
from labelwise.stopping.registry import (
    available_stopping_criteria,
    get_stopping_criterion,
    register_stopping_criterion,
    stopping_from_config,
)
from labelwise.stopping.uncertainty import MaxUncertainty, MinExpectedError, OverallUncertainty

__all__ = [
    "AllOf",
    "AnyOf",
    "ClassificationChange",
    "CostBudget",
    "HeldOutPlateau",
    "KappaAverage",
    "LabelBudget",
    "MaxUncertainty",
    "MinExpectedError",
    "OverallUncertainty",
    "StabilizingPredictions",
    "StopDecision",
    "StoppingCriterion",
    "StoppingState",
    "available_stopping_criteria",
    "cohen_kappa",
    "get_stopping_criterion",
    "register_stopping_criterion",
    "stopping_from_config",
]
