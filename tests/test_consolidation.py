"""Consolidations of #14 outside the model layer: output kinds and stopping criteria on
the one Registry (one naming, one did-you-mean, one file.py:Class loader)."""

from __future__ import annotations

import pytest

from labelwise.errors import CapabilityError, ConfigError
from labelwise.outputs import known_outputs
from labelwise.outputs.producers import OUTPUT_KINDS, output_kind
from labelwise.stopping import LabelBudget, available_stopping_criteria, get_stopping_criterion
from labelwise.stopping.registry import STOPPING_CRITERIA


def test_output_kinds_live_on_a_registry_and_an_unknown_kind_suggests_the_closest():
    assert OUTPUT_KINDS.kind == "output kind"
    assert set(known_outputs()) == set(OUTPUT_KINDS.names())
    assert output_kind("probabilities").name == "probabilities"
    with pytest.raises(CapabilityError, match=r"unknown output 'probabilites'\. Did you mean 'probabilities'"):
        output_kind("probabilites")


def test_stopping_criteria_live_on_a_registry_with_aliases_and_normalised_names():
    assert STOPPING_CRITERIA.kind == "stopping criterion"
    assert "label_budget" in available_stopping_criteria()
    budget = get_stopping_criterion("Label-Budget", max_labels=5)
    assert isinstance(budget, LabelBudget) and budget.max_labels == 5
    assert isinstance(get_stopping_criterion("max_labels", max_labels=3), LabelBudget)
    with pytest.raises(ConfigError, match="Did you mean 'label_budget'"):
        get_stopping_criterion("label_budgett", max_labels=3)
    with pytest.raises(ConfigError, match=r"label_budget.*max_label"):
        get_stopping_criterion("label_budget", max_label=3)


def test_a_stopping_criterion_of_your_own_loads_from_a_file(tmp_path):
    path = tmp_path / "my_stop.py"
    path.write_text(
        "from labelwise.stopping import StopDecision, StoppingCriterion\n"
        "class Never(StoppingCriterion):\n"
        "    name = 'never'\n"
        "    def _update(self, state):\n"
        "        return StopDecision(False, 'never', None)\n")
    criterion = get_stopping_criterion(f"{path}:Never")
    assert type(criterion).__name__ == "Never"
