"""Active Learning by Learning: EXP4.P by hand, rewards from the labels that came back."""

from __future__ import annotations

import math

import numpy as np
import pytest

from labelwise.errors import ConfigError, SelectionError
from labelwise.outputs import ModelOutputs
from labelwise.strategies import QueryContext, QueryStrategy, Selection, get_strategy
from labelwise.strategies.albl import ActiveLearningByLearning


class FixedPicks(QueryStrategy):
    """An expert that proposes its preferred positions that are still candidates, then the
    other candidates in order, always exactly ``k``."""

    name = "fixed_picks"

    def __init__(self, preferred) -> None:
        self.preferred = list(preferred)

    def _select(self, outputs, k, context):
        candidates = context.candidate_indices.tolist()
        allowed = set(candidates)
        preferred = [p for p in self.preferred if p in allowed]
        rest = [p for p in candidates if p not in set(preferred)]
        picks = (preferred + rest)[:k]
        return Selection(picks, np.ones(len(picks)))


def outputs_with_predictions(predicted: np.ndarray, n_classes: int = 2) -> ModelOutputs:
    probabilities = np.full((len(predicted), n_classes), 0.1 / (n_classes - 1), dtype=np.float32)
    probabilities[np.arange(len(predicted)), predicted] = 0.9
    return ModelOutputs.from_arrays(probabilities=probabilities)


def context(n_pool, labeled, labels, seed, candidates=None):
    return QueryContext.build(
        n_pool,
        labeled,
        candidates,
        random_state=seed,
        labels=np.asarray(labels, dtype=np.int64),
        n_classes=2,
    )


def test_query_probabilities_and_weight_update_match_exp4p_by_hand():
    # Two experts (no uniform one), k = 1, p_min = 0.1, T = 10 rounds, delta = 0.1.
    albl = ActiveLearningByLearning(
        [FixedPicks([0]), FixedPicks([1])], uniform_expert=False, rounds=10, p_min=0.1, delta=0.1
    )
    outputs = outputs_with_predictions(np.array([1, 0, 0, 0]))
    first = albl.select(outputs, 1, context(4, [], [], seed=2))
    # p = (1 - 2 * 0.1) * (1/2, 1/2) + 0.1 = (0.5, 0.5); q(row) = sum_i p_i xi_i(row).
    np.testing.assert_allclose(first.candidate_scores, [0.5, 0.5, 0.0, 0.0])
    assert first.indices.tolist() == [0]  # this seed follows expert A
    # Label 1 comes back for position 0 and the retrained model predicts 1 there: correct.
    albl.select(outputs, 1, context(4, [0], [1], seed=1))
    # IW-ACC = W * 1 / (n_pool * T * k) with W = 1 / 0.5: 2 / 40 = 0.05.
    assert albl.rewards == [pytest.approx(0.05)]
    # y_A = 0.05 / 0.5 = 0.1, y_B = 0; v_A = v_B = 1 / 0.5 = 2;
    # log w_i = (0.1 / 2) * (y_i + v_i * sqrt(ln(2 / 0.1) / (2 * 10))).
    bonus = 2 * math.sqrt(math.log(20) / 20)
    np.testing.assert_allclose(albl.log_weights, [0.05 * (0.1 + bonus), 0.05 * bonus])
    assert albl.weights[0] > albl.weights[1]


def test_the_second_round_follows_the_updated_weights():
    albl = ActiveLearningByLearning(
        [FixedPicks([0, 2]), FixedPicks([1, 3])],
        uniform_expert=False,
        rounds=10,
        p_min=0.1,
        delta=0.1,
    )
    outputs = outputs_with_predictions(np.array([1, 0, 0, 0]))
    albl.select(outputs, 1, context(4, [], [], seed=2))  # follows A, picks 0
    second = albl.select(outputs, 1, context(4, [0], [1], seed=1))
    # log w_A - log w_B = 0.05 * 0.1 (the shared bonus cancels in the shares);
    # p_A = 0.8 * e^0.005 / (e^0.005 + 1) + 0.1; candidates 1, 2, 3 get p_B, p_A, 0.
    p_a = 0.8 * math.exp(0.005) / (math.exp(0.005) + 1) + 0.1
    np.testing.assert_allclose(second.candidate_scores, [1 - p_a, p_a, 0.0])


def test_a_wrong_prediction_on_the_picked_row_earns_no_reward():
    albl = ActiveLearningByLearning(
        [FixedPicks([0]), FixedPicks([1])], uniform_expert=False, rounds=10, p_min=0.1
    )
    outputs = outputs_with_predictions(np.array([1, 0, 0, 0]))
    albl.select(outputs, 1, context(4, [], [], seed=2))
    albl.select(outputs, 1, context(4, [0], [0], seed=1))  # model predicts 1, label is 0
    assert albl.rewards == [0.0]
    assert albl.log_weights[0] == pytest.approx(albl.log_weights[1])


def test_a_round_asked_again_before_labels_came_back_is_replaced_not_rewarded():
    albl = ActiveLearningByLearning(
        [FixedPicks([0]), FixedPicks([1])], uniform_expert=False, rounds=10, p_min=0.1
    )
    outputs = outputs_with_predictions(np.array([1, 0, 0, 0]))
    albl.select(outputs, 1, context(4, [], [], seed=2))
    albl.select(outputs, 2, context(4, [], [], seed=0))  # e.g. the token-budget loop
    assert albl.rewards == [] and np.all(albl.log_weights == 0)


def test_the_expert_that_earns_reward_gains_weight():
    # The retrained "model" is right on every row after a round that followed the good
    # expert and wrong on every row after one that followed the bad expert.
    n_pool, rounds = 300, 30
    gold = np.random.default_rng(3).integers(0, 2, n_pool)
    good, bad = FixedPicks(range(0, 150)), FixedPicks(range(150, 300))
    albl = ActiveLearningByLearning([good, bad], uniform_expert=True, rounds=rounds)
    labeled: list[int] = []
    outputs = outputs_with_predictions(gold)
    for t in range(rounds + 1):
        selection = albl.select(outputs, 1, context(n_pool, labeled, gold[labeled], seed=t))
        labeled += selection.indices.tolist()
        followed_good = selection.indices[0] < 150
        outputs = outputs_with_predictions(gold if followed_good else 1 - gold)
    assert len(albl.rewards) == rounds
    assert albl.weights[0] > albl.weights[1]
    assert albl.weights[0] > albl.weights[2]
    assert albl.expert_names == ["fixed_picks", "fixed_picks", "uniform"]


def test_picks_only_candidates_and_the_same_seed_gives_the_same_picks():
    rng = np.random.default_rng(0)
    outputs = ModelOutputs.from_arrays(
        probabilities=rng.dirichlet(np.ones(3), size=100).astype(np.float32)
    )
    candidates = np.arange(40, 90)
    picks = []
    for _ in range(2):
        albl = get_strategy("albl", strategies=["least_confidence", "breaking_ties", "random"])
        ctx = QueryContext.build(
            100, np.arange(10), candidates, random_state=7, labels=np.arange(10) % 3, n_classes=3
        )
        selection = albl.select(outputs, 12, ctx)
        assert set(selection.indices.tolist()) <= set(candidates.tolist())
        assert len(set(selection.indices.tolist())) == 12
        picks.append(selection.indices.tolist())
    assert picks[0] == picks[1]


def test_default_p_min_follows_exp4p():
    albl = ActiveLearningByLearning(["least_confidence", "entropy"], rounds=5)  # N = 3 with uniform
    assert albl.effective_p_min() == pytest.approx(math.sqrt(math.log(3) / (3 * 5)))
    outputs = outputs_with_predictions(np.zeros(50, dtype=np.int64))
    selection = albl.select(outputs, 1, context(50, [], [], seed=0))
    # Before any reward every expert is followed with probability 1/3.
    assert selection.candidate_scores.min() == pytest.approx(1 / 3 / 50)
    assert selection.candidate_scores.sum() == pytest.approx(1.0)


@pytest.mark.parametrize(
    "params",
    [
        {"rounds": 0},
        {"rounds": 2.5},
        {"p_min": -0.1},
        {"p_min": 0.3},
        {"delta": 1.0},
        {"uniform_expert": "yes"},
        {"strategies": [], "uniform_expert": False},
        {"strategies": ["albl"]},
        {"strategies": ["nope"]},
    ],
)
def test_bad_parameters_raise_config_error(params):
    albl = get_strategy("albl", **params)
    with pytest.raises(ConfigError):
        albl.select(
            outputs_with_predictions(np.zeros(10, dtype=np.int64)), 1, context(10, [], [], seed=0)
        )


def test_missing_labels_of_earlier_picks_are_a_selection_error():
    albl = ActiveLearningByLearning([FixedPicks([0])], rounds=10)
    outputs = outputs_with_predictions(np.zeros(4, dtype=np.int64))
    albl.select(outputs, 1, context(4, [], [], seed=2))
    drawn = albl._round["positions"].tolist()
    ctx = QueryContext.build(4, drawn, random_state=0, labels=None)
    with pytest.raises(SelectionError, match="labels"):
        albl.select(outputs, 1, ctx)
