"""Known answers for the uncertainty family on multi-label (sigmoid) rows."""

from __future__ import annotations

import numpy as np
import pytest

from known_answer_helpers import context
from labelwise.outputs import ModelOutputs
from labelwise.strategies import get_strategy


@pytest.mark.parametrize("name", ["least_confidence", "entropy", "breaking_ties"])
def test_uncertainty_ranks_multi_label_rows_by_closeness_to_the_decision_boundary(name):
    probabilities = np.array(
        [[0.99, 0.01, 0.98, 0.02],   # sure of every label
         [0.50, 0.45, 0.55, 0.50],   # every label undecided
         [0.90, 0.10, 0.60, 0.05]],  # one label fairly open
        dtype=np.float32,
    )
    outputs = ModelOutputs.from_arrays(probabilities=probabilities)
    selection = get_strategy(name).select(outputs, 3, context(3))
    assert selection.indices.tolist() == [1, 2, 0]
