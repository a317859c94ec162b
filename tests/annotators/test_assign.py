"""Proactive assignment on constructed cases: cheap annotators for easy items, experts for
hard ones, overlap while a reliability is unknown, budgets respected."""

from __future__ import annotations

import numpy as np
import pytest

from labelwise.annotators import Annotator, assign, expected_accuracy, symmetric_confusion
from labelwise.errors import ConfigError


def _team(known: bool = True):
    overlap = 0 if known else 50
    return [Annotator("expert", cost_per_item=10, prior_accuracy=0.98, min_overlap=0),
            Annotator("crowd", cost_per_item=1, prior_accuracy=0.75, min_overlap=overlap)]


def test_expected_accuracy_matches_a_hand_computed_case():
    # Uniform prior over 2 classes, one annotator of accuracy 0.8: the label is right 80 %.
    prior = np.full((1, 2), 0.5)
    assert expected_accuracy(prior, [symmetric_confusion(0.8, 2)])[0] == pytest.approx(0.8)
    # Three such annotators, majority of three: 0.8^3 + 3 * 0.8^2 * 0.2 = 0.896.
    three = [symmetric_confusion(0.8, 2)] * 3
    assert expected_accuracy(prior, three)[0] == pytest.approx(0.896)
    # Nobody: what the model knows.
    assert expected_accuracy(np.array([[0.7, 0.3]]), [])[0] == pytest.approx(0.7)


def test_cheap_annotators_get_easy_items_and_the_expert_hard_ones():
    probabilities = np.array([[0.97, 0.01, 0.01, 0.01],   # easy: the model is nearly sure
                              [0.25, 0.25, 0.25, 0.25]])  # hard: the model knows nothing
    result = assign(_team(), probabilities, target=0.95, max_per_item=3)
    assert result.plans[0] == (1,)          # one crowd label confirms the model
    assert result.plans[1] == (0,)          # 3 crowd labels reach only ~0.90 < 0.95: the expert
    assert result.by_annotator() == {"expert": [1], "crowd": [0]}
    assert result.total_cost == pytest.approx(11)


def test_several_cheap_labels_replace_the_expert_when_they_reach_the_target_for_less():
    team = _team() + [Annotator("crowd-2", cost_per_item=1, prior_accuracy=0.9),
                      Annotator("crowd-3", cost_per_item=1, prior_accuracy=0.9)]
    result = assign(team, np.full((1, 4), 0.25), target=0.95, max_per_item=3)
    assert 0 not in result.plans[0] and len(result.plans[0]) == 3
    assert result.expected_accuracy[0] >= 0.95 and result.costs[0] == 3


def test_an_unknown_annotator_overlaps_with_planned_items():
    probabilities = np.tile([[0.25, 0.25, 0.25, 0.25]], (10, 1))
    result = assign(_team(known=False), probabilities, target=0.95, explore=0.3)
    crowd_items = [i for i, plan in enumerate(result.plans) if 1 in plan]
    assert len(crowd_items) == 3
    assert all(0 in result.plans[i] for i in crowd_items)  # always beside the expert
    known = assign(_team(), probabilities, target=0.95, explore=0.3)
    assert not any(1 in plan for plan in known.plans)


def test_the_budget_is_never_exceeded_and_the_most_valuable_items_come_first():
    probabilities = np.tile([[0.25, 0.25, 0.25, 0.25]], (5, 1))
    values = np.array([0.1, 0.9, 0.5, 0.3, 0.2])
    result = assign(_team(), probabilities, values=values, target=0.95, budget=21, objective="target")
    assert result.total_cost <= 21
    assert result.plans[1] == (0,) and result.plans[2] == (0,)  # the two most valuable: the expert
    assert result.plans[3] == (1,)  # one crowd label fits in what is left
    assert result.plans[0] == () and result.plans[4] == ()


def _cold_team():
    # reliabilities as estimated early in a run: cheap annotators look mediocre
    return [Annotator("expert", cost_per_item=10, prior_accuracy=0.95, min_overlap=0),
            Annotator("crowd", cost_per_item=1, prior_accuracy=0.65, min_overlap=0),
            Annotator("llm", kind="llm", cost_per_item=0.2, prior_accuracy=0.7, min_overlap=0)]


def test_per_cost_buys_more_information_than_the_quality_target_for_the_same_budget():
    # 10 items the model knows nothing about, a budget of 20: no cheap set reaches 0.9, so
    # the target rule sends two items to the expert and leaves eight unlabeled; information
    # per unit of cost labels all ten with the LLM (ratio 0.45 / 0.2) and, since a second
    # cheap vote cannot change the expected accuracy of two voters, upgrades only the most
    # valuable item to the expert with what is left.
    probabilities = np.full((10, 4), 0.25)
    values = np.arange(10.0)
    per_cost = assign(_cold_team(), probabilities, values=values, target=0.9, budget=20)
    quality = assign(_cold_team(), probabilities, values=values, target=0.9, budget=20, objective="target")
    assert [plan for plan in quality.plans if plan] == [(0,), (0,)]
    assert all(plan for plan in per_cost.plans)            # every item labeled
    assert per_cost.plans[:9] == [(2,)] * 9 and per_cost.plans[9] == (0,)
    assert per_cost.total_cost <= 20
    gained = lambda result: float(np.sum(result.expected_accuracy - 0.25))  # noqa: E731
    assert gained(per_cost) > 2 * gained(quality)


def test_per_cost_labels_uncertain_items_first_and_sends_the_hard_ones_to_the_expert():
    # the crowd worker barely beats chance: on the hard item one crowd label is the best
    # first buy, then the expert; the easy item (the model is fairly sure) gains nothing
    # from a crowd label and gets the expert only if money is left after the hard one.
    team = [Annotator("expert", cost_per_item=10, prior_accuracy=0.98, min_overlap=0),
            Annotator("crowd", cost_per_item=1, prior_accuracy=0.4, min_overlap=0)]
    probabilities = np.array([[0.7, 0.1, 0.1, 0.1], [0.25, 0.25, 0.25, 0.25]])
    tight = assign(team, probabilities, target=0.95, budget=10, max_per_item=1)
    assert tight.plans == [(), (0,)]
    roomy = assign(team, probabilities, target=0.95, budget=20, max_per_item=1)
    assert roomy.plans == [(0,), (0,)]


def test_per_cost_sets_overlap_aside_for_an_unknown_annotator_under_a_tight_budget():
    team = [Annotator("expert", cost_per_item=10, prior_accuracy=0.98, min_overlap=0),
            Annotator("llm", kind="llm", cost_per_item=0.2, prior_accuracy=0.7, min_overlap=20)]
    result = assign(team, np.full((10, 4), 0.25), target=0.99, budget=30, explore=0.2)
    assert result.total_cost <= 30 + 1e-9
    assert sum(1 in plan for plan in result.plans) >= 2    # the llm overlaps on 20 % at least
    assert any(plan == (0, 1) for plan in result.plans)    # beside the expert: a reference


def test_tagging_items_cost_per_token_and_average_over_tokens():
    llm = Annotator("llm", kind="llm", cost_per_item=0.0, cost_per_token=0.01, prior_accuracy=0.9, min_overlap=0)
    sentences = [np.full((3, 5), 0.2), np.full((7, 5), 0.2)]
    result = assign([llm], sentences, target=0.5)
    assert result.costs.tolist() == pytest.approx([0.03, 0.07])
    assert result.expected_accuracy == pytest.approx([0.9, 0.9])


def test_bad_arguments_raise_config_error():
    with pytest.raises(ConfigError, match="target"):
        assign(_team(), np.full((1, 2), 0.5), target=1.5)
    with pytest.raises(ConfigError, match="unique"):
        assign([Annotator("a"), Annotator("a")], np.full((1, 2), 0.5))
    with pytest.raises(ConfigError, match="objective"):
        assign(_team(), np.full((1, 2), 0.5), objective="cheapest")
    with pytest.raises(ConfigError, match="cost"):
        Annotator("free", cost_per_item=0)


def test_overlap_stops_at_what_an_unknown_annotator_still_needs():
    team = [Annotator("expert", cost_per_item=10, prior_accuracy=0.98, min_overlap=0),
            Annotator("crowd", cost_per_item=1, prior_accuracy=0.75, min_overlap=5, n_compared=3)]
    result = assign(team, np.full((100, 4), 0.25), target=0.95, explore=0.2, objective="target")
    assert sum(1 in plan for plan in result.plans) == 2   # 5 - 3, not 20 % of 100
