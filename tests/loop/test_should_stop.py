"""ActiveLearner(stopping=...) and should_stop() on a real TF-IDF learner."""

from __future__ import annotations

import numpy as np
import pytest

from labelwise.data import gold_labels
from labelwise.errors import ConfigError
from labelwise.loop import ActiveLearner
from labelwise.models import TfidfLogisticRegression
from labelwise.stopping import KappaAverage, LabelBudget, MaxUncertainty, StoppingState


def run(learner, pool, steps, k=15, poll=None):
    decisions = []
    for _ in range(steps):
        selection = learner.query(k)
        learner.teach(selection.indices, gold_labels(pool, selection.indices))
        decisions.append(learner.should_stop() if poll is None else poll(learner))
    return decisions


def test_should_stop_matches_the_criterion_fed_by_hand(small_pool):
    pool, _ = small_pool
    unlabeled = pool.without_labels()
    learner = ActiveLearner(TfidfLogisticRegression(), unlabeled, "entropy", random_state=0,
                            stopping=KappaAverage(threshold=0.55, window=2), stop_set=80)
    by_hand = KappaAverage(threshold=0.55, window=2)
    expected = []

    def poll(learner):
        probabilities = learner.model.predict_proba(unlabeled.subset(learner.stop_set_positions))
        expected.append(by_hand.update(StoppingState(learner.model_version, len(learner.labeled_indices),
                                                     stop_set_probabilities=probabilities)))
        return learner.should_stop()

    decisions = run(learner, pool, 8, poll=poll)
    assert [(d.stop, d.value) for d in decisions] == [(d.stop, d.value) for d in expected]
    assert any(d.stop for d in decisions) and not decisions[0].stop  # the mean kappa passes 0.55 within 8 versions here
    assert len(learner.stop_set_positions) == 80 and len(set(learner.stop_set_positions.tolist())) == 80
    assert learner.last_stop_decision == decisions[-1]


def test_a_label_budget_stops_at_the_budget_and_the_version_counts_retrainings(small_pool):
    pool, _ = small_pool
    learner = ActiveLearner(TfidfLogisticRegression(), pool.without_labels(), "random", random_state=1,
                            stopping={"label_budget": {"max_labels": 60}})
    decisions = run(learner, pool, 6)
    assert [d.stop for d in decisions] == [False, False, False, True, True, True]  # 15, 30, 45, 60 ...
    assert learner.model_version == 6 and learner.iteration == 6


def test_the_stop_set_leaves_the_runs_selections_unchanged(small_pool):
    pool, _ = small_pool

    def selections(**stopping):
        learner = ActiveLearner(TfidfLogisticRegression(), pool.without_labels(), "entropy", random_state=3,
                                **stopping)
        picked = []
        for _ in range(4):
            selection = learner.query(10)
            picked.append(selection.indices.tolist())
            learner.teach(selection.indices, gold_labels(pool, selection.indices))
            if stopping:
                learner.should_stop()
        return picked

    assert selections() == selections(stopping="stabilizing_predictions")


def test_before_training_the_answer_is_not_yet(small_pool):
    pool, _ = small_pool
    learner = ActiveLearner(TfidfLogisticRegression(), pool.without_labels(), stopping="kappa_average")
    decision = learner.should_stop()
    assert not decision.stop and "not yet" in decision.reason
    with pytest.raises(ConfigError, match="stopping="):
        ActiveLearner(TfidfLogisticRegression(), pool.without_labels()).should_stop()


def test_selected_indices_only_from_the_model_that_chose_them(small_pool):
    pool, _ = small_pool
    learner = ActiveLearner(TfidfLogisticRegression(), pool.without_labels(), "entropy", random_state=0)
    run(learner, pool, 2, poll=lambda learner: None)
    assert learner.stopping_state(MaxUncertainty.needs).selected_indices is None  # chosen by the old model
    selection = learner.query(10)
    state = learner.stopping_state(MaxUncertainty.needs)
    assert state.selected_indices.tolist() == selection.indices.tolist()
    assert set(selection.indices.tolist()) <= set(state.pool_indices.tolist())  # pending rows stay in the pool
    assert state.stop_set_probabilities is None  # not needed, not computed


def test_stopping_state_survives_save_and_load(small_pool, tmp_path):
    pool, _ = small_pool
    unlabeled = pool.without_labels()
    learner = ActiveLearner(TfidfLogisticRegression(), unlabeled, "entropy", random_state=0,
                            stopping={"any": ["kappa_average", {"label_budget": {"max_labels": 30}}]})
    decisions = run(learner, pool, 2)
    assert decisions[-1].stop
    learner.save(tmp_path / "saved")
    loaded = ActiveLearner.load(tmp_path / "saved", unlabeled)
    assert loaded.last_stop_decision == learner.last_stop_decision
    assert loaded.model_version == learner.model_version == 2
    np.testing.assert_array_equal(loaded.stop_set_positions, learner.stop_set_positions)
    assert loaded.should_stop().stop  # the spec was restored: the budget still holds
    assert isinstance(LabelBudget(1), type(loaded.stopping.criteria[1]))
