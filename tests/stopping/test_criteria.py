"""Known answers for every stopping criterion, their composition and their errors."""

from __future__ import annotations

import numpy as np
import pytest

from labelwise.errors import CapabilityError, ConfigError, DataError
from labelwise.stopping import (
    AllOf,
    AnyOf,
    ClassificationChange,
    CostBudget,
    HeldOutPlateau,
    KappaAverage,
    LabelBudget,
    MaxUncertainty,
    MinExpectedError,
    OverallUncertainty,
    StabilizingPredictions,
    StoppingState,
    available_stopping_criteria,
    cohen_kappa,
    get_stopping_criterion,
    stopping_from_config,
)


def state(iteration: int, **fields) -> StoppingState:
    fields.setdefault("n_labeled", 10 * iteration)
    return StoppingState(iteration=iteration, **fields)


def first_stop(criterion, states) -> int | None:
    for s in states:
        if criterion.update(s).stop:
            return s.iteration
    return None


# ---- Cohen's kappa ------------------------------------------------------------------------
def labelings_from_table(table: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    """Two labelings whose confusion table (rows: first, columns: second) is ``table``."""
    first, second = [], []
    for i, row in enumerate(table):
        for j, count in enumerate(row):
            first += [i] * count
            second += [j] * count
    return np.array(first), np.array(second)


def test_kappa_of_a_two_by_two_table_matches_the_hand_computation():
    # n = 50, p_o = (20 + 15) / 50 = 0.7; marginals (25, 25) and (30, 20):
    # p_e = (25*30 + 25*20) / 50^2 = 0.5; kappa = (0.7 - 0.5) / (1 - 0.5) = 0.4.
    first, second = labelings_from_table([[20, 5], [10, 15]])
    assert cohen_kappa(first, second) == pytest.approx(0.4)


def test_kappa_of_a_three_class_table_matches_the_hand_computation():
    # n = 20, p_o = (5 + 4 + 5) / 20 = 0.7; rows (7, 6, 7), columns (8, 6, 6):
    # p_e = (7*8 + 6*6 + 7*6) / 400 = 134 / 400 = 0.335; kappa = 0.365 / 0.665.
    first, second = labelings_from_table([[5, 1, 1], [2, 4, 0], [1, 1, 5]])
    assert len(first) == 20
    assert cohen_kappa(first, second) == pytest.approx((0.7 - 0.335) / (1 - 0.335))


def test_kappa_is_one_for_identical_labelings_even_with_a_single_class():
    assert cohen_kappa(np.zeros(5, int), np.zeros(5, int)) == 1.0
    assert cohen_kappa(np.array([0, 1, 2]), np.array([0, 1, 2])) == 1.0


def test_kappa_treats_tag_sequences_and_texts_as_categories():
    first = [("B-PER", "O"), ("O", "O"), ("B-LOC",)]
    second = [["B-PER", "O"], ["O", "O"], ["O"]]
    codes_a = np.array([0, 1, 2])  # the same table with integer categories
    codes_b = np.array([0, 1, 3])  # ("O",) is a fourth category, not ("O", "O")
    assert cohen_kappa(first, second) == pytest.approx(cohen_kappa(codes_a, codes_b))
    assert cohen_kappa(["a cat", "a dog"], ["a cat", "a dog"]) == 1.0


def test_kappa_agrees_with_scikit_learn_on_random_labelings():
    from sklearn.metrics import cohen_kappa_score

    rng = np.random.default_rng(0)
    first, second = rng.integers(0, 4, 200), rng.integers(0, 4, 200)
    second[:120] = first[:120]
    assert cohen_kappa(first, second) == pytest.approx(cohen_kappa_score(first, second))


# ---- stabilizing predictions / kappa average -----------------------------------------------
def stop_set_sequence(kappa_pattern: list[bool], n: int = 100) -> list[StoppingState]:
    """Stop-set predictions where model t+1 equals model t (kappa 1) when the pattern says
    True and flips 30 rows otherwise."""
    predictions = np.arange(n) % 2
    states = [state(0, stop_set_predictions=predictions.copy())]
    for t, agree in enumerate(kappa_pattern, start=1):
        if not agree:
            predictions = predictions.copy()
            predictions[:30] = 1 - predictions[:30]
        states.append(state(t, stop_set_predictions=predictions.copy()))
    return states


def test_stabilizing_predictions_stops_at_the_first_iteration_with_window_agreeing_pairs():
    # pairs: (0,1) differ, (1,2) agree, (2,3) agree, (3,4) differ, (4,5..7) agree.
    states = stop_set_sequence([False, True, True, False, True, True, True, True])
    assert first_stop(StabilizingPredictions(threshold=0.99, window=3), states) == 7


def test_kappa_average_tolerates_one_dip_that_stabilizing_predictions_does_not():
    # kappa of the flip pair: 30 of 100 rows flipped on a balanced set.
    states = stop_set_sequence([True, True, False, True, True, True])
    flips = cohen_kappa(states[2].stop_set_predictions, states[3].stop_set_predictions)
    criterion = KappaAverage(threshold=(2 + flips) / 3 - 1e-9, window=3)
    assert first_stop(criterion, states) == 3  # mean of (1, 1, flips) clears the threshold
    assert first_stop(StabilizingPredictions(threshold=(2 + flips) / 3, window=3), states) == 6


def test_kappa_criterion_reports_the_mean_of_the_window_as_its_value():
    states = stop_set_sequence([True, False, True])
    criterion = KappaAverage(window=3)
    decisions = [criterion.update(s) for s in states]
    expected = (
        1 + cohen_kappa(states[1].stop_set_predictions, states[2].stop_set_predictions) + 1
    ) / 3
    assert decisions[-1].value == pytest.approx(expected)
    assert decisions[0].value is None and not decisions[0].stop


def test_a_repeated_iteration_does_not_compare_a_model_with_itself():
    states = stop_set_sequence([False, False, False])
    criterion = StabilizingPredictions(window=1)
    for s in states:
        criterion.update(s)
        again = criterion.update(s)  # a second poll of the same model version
        assert not again.stop
    assert len(criterion.kappas) == 1


def test_reset_forgets_the_history_and_going_back_without_it_is_an_error():
    states = stop_set_sequence([True, True, True])
    criterion = StabilizingPredictions(window=3)
    assert first_stop(criterion, states) == 3
    with pytest.raises(ConfigError, match="reset"):
        criterion.update(states[0])
    criterion.reset()
    assert not criterion.update(states[0]).stop
    assert criterion.kappas == []


def test_stop_set_probabilities_stand_in_for_predictions_in_classification():
    probabilities = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]])
    criterion = StabilizingPredictions(window=1)
    criterion.update(state(0, stop_set_probabilities=probabilities))
    assert criterion.update(state(1, stop_set_probabilities=probabilities)).stop


def test_a_stop_set_that_changes_size_is_a_data_error():
    criterion = KappaAverage(window=1)
    criterion.update(state(0, stop_set_predictions=np.array([0, 1, 1])))
    with pytest.raises(DataError, match="stop set changed size"):
        criterion.update(state(1, stop_set_predictions=np.array([0, 1])))


def test_agreement_criteria_need_stop_set_predictions():
    with pytest.raises(CapabilityError, match="stop_set_predictions"):
        StabilizingPredictions().update(state(0, held_out_score=0.5))


def test_stabilizing_predictions_on_seq2seq_texts():
    texts = ["a b", "c d", "e"]
    criterion = StabilizingPredictions(window=2)
    results = [
        criterion.update(state(t, task="seq2seq", stop_set_predictions=list(texts))).stop
        for t in range(3)
    ]
    assert results == [False, False, True]


# ---- classification change ------------------------------------------------------------------
def test_classification_change_compares_only_rows_still_in_the_pool():
    criterion = ClassificationChange()
    criterion.update(state(0, pool_indices=[0, 1, 2, 3], pool_predictions=np.array([0, 1, 1, 0])))
    # Row 0 was labeled in between; rows 1-3 keep their predictions; row 9 is new here.
    decision = criterion.update(
        state(1, pool_indices=[1, 2, 3], pool_predictions=np.array([1, 1, 0]))
    )
    assert decision.stop and decision.value == 0.0
    decision = criterion.update(state(2, pool_indices=[2, 3], pool_predictions=np.array([0, 0])))
    assert not decision.stop and decision.value == pytest.approx(0.5)


def test_classification_change_threshold_allows_a_share_of_changes():
    criterion = ClassificationChange(threshold=0.25)
    probabilities = np.array([[0.9, 0.1], [0.8, 0.2], [0.7, 0.3], [0.6, 0.4]])
    criterion.update(state(0, pool_probabilities=probabilities))
    flipped = probabilities.copy()
    flipped[0] = [0.1, 0.9]
    assert criterion.update(state(1, pool_probabilities=flipped)).stop  # 1 of 4 = 25 %


def test_classification_change_on_tagging_counts_a_sentence_with_any_changed_tag():
    probabilities = np.zeros((2, 3, 2))
    probabilities[..., 0] = 0.9
    probabilities[..., 1] = 0.1
    mask = np.array([[True, True, False], [True, True, True]])
    criterion = ClassificationChange()
    criterion.update(state(0, task="tagging", pool_probabilities=probabilities, pool_mask=mask))
    changed = probabilities.copy()
    changed[0, 2] = [0.1, 0.9]  # a padding token: not a change
    changed[1, 1] = [0.1, 0.9]  # a real token of sentence 1
    decision = criterion.update(
        state(1, task="tagging", pool_probabilities=changed, pool_mask=mask)
    )
    assert decision.value == pytest.approx(0.5)


# ---- confidence-based criteria (Zhu, Wang & Hovy 2008) -------------------------------------
def test_overall_uncertainty_is_the_mean_normalised_entropy_of_the_pool():
    probabilities = np.array([[0.5, 0.5], [1.0, 0.0]])  # normalised entropies 1 and 0
    decision = OverallUncertainty(threshold=0.6).update(state(0, pool_probabilities=probabilities))
    assert decision.value == pytest.approx(0.5) and decision.stop
    assert (
        not OverallUncertainty(threshold=0.5)
        .update(state(0, pool_probabilities=probabilities))
        .stop
    )


def test_overall_uncertainty_stops_at_the_iteration_the_pool_becomes_confident():
    def pool(confidence):
        return np.array([[confidence, 1 - confidence]] * 4)

    # normalised binary entropies: 0.9 -> 0.469, 0.99 -> 0.0808, 0.999 -> 0.0114
    states = [
        state(t, pool_probabilities=pool(c)) for t, c in enumerate([0.6, 0.9, 0.99, 0.999, 0.9999])
    ]
    assert first_stop(OverallUncertainty(threshold=0.05), states) == 3


def test_max_uncertainty_looks_at_the_selected_batch_when_given():
    probabilities = np.array([[0.5, 0.5], [0.99, 0.01], [0.999, 0.001]])
    positions = np.array([7, 3, 5])
    pool_wide = MaxUncertainty(threshold=0.1).update(
        state(0, pool_indices=positions, pool_probabilities=probabilities)
    )
    assert pool_wide.value == pytest.approx(1.0) and not pool_wide.stop
    batch = MaxUncertainty(threshold=0.1).update(
        state(0, pool_indices=positions, pool_probabilities=probabilities, selected_indices=[5, 3])
    )
    h = -(0.99 * np.log(0.99) + 0.01 * np.log(0.01)) / np.log(2)
    assert batch.value == pytest.approx(h, rel=1e-5) and batch.stop


def test_max_uncertainty_rejects_a_selected_position_outside_the_pool():
    with pytest.raises(DataError, match="not among pool_indices"):
        MaxUncertainty().update(
            state(0, pool_indices=[1, 2], pool_probabilities=np.eye(2), selected_indices=[4])
        )


def test_min_expected_error_is_the_mean_of_one_minus_the_top_probability():
    probabilities = np.array([[0.7, 0.2, 0.1], [0.95, 0.05, 0.0]])  # errors 0.3 and 0.05
    decision = MinExpectedError(threshold=0.2).update(state(0, pool_probabilities=probabilities))
    assert decision.value == pytest.approx(0.175) and decision.stop


def test_tagging_uses_sentence_level_uncertainty_and_error_over_real_tokens():
    probabilities = np.array([[[0.9, 0.1], [0.8, 0.2], [0.5, 0.5]]])  # last token is padding
    mask = np.array([[True, True, False]])
    tagging = state(0, task="tagging", pool_probabilities=probabilities, pool_mask=mask)
    error = MinExpectedError(threshold=0.5).update(tagging)
    assert error.value == pytest.approx(1 - 0.9 * 0.8)

    def h(p):
        return -(p * np.log(p) + (1 - p) * np.log(1 - p)) / np.log(2)

    uncertainty = OverallUncertainty(threshold=0.9).update(tagging)
    assert uncertainty.value == pytest.approx((h(0.9) + h(0.8)) / 2, rel=1e-5)


@pytest.mark.parametrize("criterion", [OverallUncertainty(), MaxUncertainty(), MinExpectedError()])
def test_confidence_criteria_do_not_apply_to_seq2seq(criterion):
    with pytest.raises(CapabilityError, match="seq2seq"):
        criterion.update(state(0, task="seq2seq", stop_set_predictions=["a"]))


# ---- held-out plateau ------------------------------------------------------------------------
def test_plateau_stops_after_patience_versions_without_an_improvement_above_min_delta():
    scores = [0.50, 0.60, 0.65, 0.655, 0.659, 0.658, 0.70, 0.701, 0.702, 0.699]
    states = [state(t, held_out_score=s) for t, s in enumerate(scores)]
    # best 0.65 at t=2; 0.655 / 0.659 / 0.658 improve by < 0.01: three waits, stop at t=5.
    assert first_stop(HeldOutPlateau(patience=3, min_delta=0.01), states) == 5
    # 0.70 at t=6 resets the wait; 0.701 / 0.702 / 0.699 never make four waits in a row.
    assert first_stop(HeldOutPlateau(patience=4, min_delta=0.01), states) is None
    # Started at t=6, the same criterion waits at t=7, 8, 9.
    assert first_stop(HeldOutPlateau(patience=3, min_delta=0.01), states[6:]) == 9


def test_plateau_in_min_mode_waits_for_a_loss_that_stops_falling():
    states = [state(t, held_out_score=s) for t, s in enumerate([1.0, 0.8, 0.81, 0.79, 0.9])]
    assert first_stop(HeldOutPlateau(patience=2, mode="min"), states) is None
    states.append(state(5, held_out_score=0.85))
    assert first_stop(HeldOutPlateau(patience=2, mode="min"), states) == 5


def test_plateau_needs_a_held_out_score():
    with pytest.raises(CapabilityError, match="held_out_score"):
        HeldOutPlateau().update(state(0))


# ---- budgets -------------------------------------------------------------------------------
def test_label_budget_stops_when_the_labels_are_spent():
    states = [StoppingState(iteration=t, n_labeled=n) for t, n in enumerate([0, 40, 80, 100, 120])]
    assert first_stop(LabelBudget(100), states) == 3


def test_cost_budget_reads_the_cost_and_needs_it():
    assert CostBudget(60.0).update(state(1, cost=61.5)).stop
    assert not CostBudget(60.0).update(state(1, cost=59.0)).stop
    with pytest.raises(CapabilityError, match="cost"):
        CostBudget(60.0).update(state(1))


# ---- composition -----------------------------------------------------------------------------
def test_any_of_stops_at_the_first_criterion_and_names_it():
    states = stop_set_sequence([True] * 6)
    criterion = AnyOf(StabilizingPredictions(window=3), LabelBudget(20))
    decisions = [criterion.update(s) for s in states]
    assert [d.stop for d in decisions].index(True) == 2  # 20 labels at t=2; SP would stop at t=3
    assert "label_budget" in decisions[2].reason and "stabilizing" not in decisions[2].reason


def test_all_of_waits_for_every_criterion_while_each_keeps_its_history():
    states = stop_set_sequence([True] * 6)
    criterion = StabilizingPredictions(window=3) & LabelBudget(50)
    assert isinstance(criterion, AllOf)
    assert first_stop(criterion, states) == 5
    assert len(criterion.criteria[0].kappas) == 3


def test_composite_reset_resets_its_children():
    states = stop_set_sequence([True] * 3)
    criterion = StabilizingPredictions(window=1) | KappaAverage(window=1)
    first_stop(criterion, states)
    criterion.reset()
    assert all(c.kappas == [] for c in criterion.criteria)


# ---- registry and parameters ---------------------------------------------------------------
def test_registry_builds_every_criterion_by_name_and_alias():
    assert isinstance(get_stopping_criterion("sp"), StabilizingPredictions)
    assert get_stopping_criterion("kappa_average", threshold=0.95).threshold == 0.95
    assert isinstance(get_stopping_criterion("Max-Confidence"), MaxUncertainty)
    assert "overall_uncertainty" not in available_stopping_criteria("seq2seq")
    assert "stabilizing_predictions" in available_stopping_criteria("seq2seq")


def test_config_specs_compose():
    criterion = stopping_from_config(
        {"any": ["kappa_average", {"label_budget": {"max_labels": 500}}]}
    )
    assert isinstance(criterion, AnyOf)
    assert criterion.criteria[1].max_labels == 500


@pytest.mark.parametrize(
    "name, params",
    [
        ("stabilizing_predictions", {"threshold": 1.5}),
        ("kappa_average", {"window": 0}),
        ("kappa_average", {"window": 2.5}),
        ("classification_change", {"threshold": -0.1}),
        ("overall_uncertainty", {"threshold": 0}),
        ("max_uncertainty", {"threshold": float("nan")}),
        ("min_expected_error", {"threshold": 2}),
        ("held_out_plateau", {"patience": 0}),
        ("held_out_plateau", {"mode": "up"}),
        ("label_budget", {"max_labels": True}),
        ("cost_budget", {"max_cost": -1}),
        ("label_budget", {}),
        ("kappa_average", {"kappa": 0.9}),
    ],
)
def test_bad_parameters_raise_config_error(name, params):
    with pytest.raises(ConfigError, match=name):
        get_stopping_criterion(name, **params)


def test_unknown_names_and_bad_specs_raise_config_error():
    with pytest.raises(ConfigError, match="Did you mean"):
        get_stopping_criterion("kapa_average")
    with pytest.raises(ConfigError):
        stopping_from_config({"any": "kappa_average"})
    with pytest.raises(ConfigError):
        AnyOf()
    with pytest.raises(ConfigError):
        AnyOf("kappa_average")


def test_state_validates_its_fields():
    with pytest.raises(ConfigError, match="iteration"):
        StoppingState(iteration=-1, n_labeled=0)
    with pytest.raises(ConfigError, match="task"):
        StoppingState(iteration=0, n_labeled=0, task="ner")
    with pytest.raises(DataError, match="one row per pool position"):
        StoppingState(iteration=0, n_labeled=0, pool_indices=[1, 2], pool_probabilities=np.eye(3))
    with pytest.raises(DataError, match="held_out_score"):
        StoppingState(iteration=0, n_labeled=0, held_out_score=float("nan"))


def test_criteria_declare_the_state_fields_they_read_so_callers_compute_only_those():
    assert LabelBudget(10).needs == ()
    assert HeldOutPlateau().needs == ("held_out_score",)
    combined = StabilizingPredictions() | LabelBudget(10) | OverallUncertainty()
    assert set(combined.needs) == {
        "stop_set_predictions|stop_set_probabilities",
        "pool_probabilities",
        "pool_mask",
    }
