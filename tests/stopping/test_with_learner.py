"""The stopping criteria and albl on a real learner loop (TF-IDF + logistic regression),
building StoppingState the way the loop integration is meant to."""

from __future__ import annotations

import numpy as np

from labelwise.data import gold_labels
from labelwise.loop import ActiveLearner
from labelwise.models import TfidfLogisticRegression
from labelwise.stopping import KappaAverage, LabelBudget, OverallUncertainty, StoppingState


def test_criteria_follow_a_real_run_and_albl_learns_from_the_taught_labels(small_pool):
    pool, test = small_pool
    stop_set = pool.subset(range(200, 300)).without_labels()  # fixed rows, never queried below
    learner = ActiveLearner(
        TfidfLogisticRegression(), pool.subset(range(200)).without_labels(), "albl", random_state=0
    )
    criterion = KappaAverage(threshold=0.99, window=2) | LabelBudget(120) | OverallUncertainty(0.01)
    decisions = []
    for version in range(8):
        selection = learner.query(15)
        learner.teach(selection.indices, gold_labels(pool, selection.indices))
        unlabeled = learner.unlabeled_indices
        state = StoppingState(
            iteration=version,
            n_labeled=len(learner.labeled_indices),
            stop_set_probabilities=learner.model.predict_proba(stop_set),
            pool_indices=unlabeled,
            pool_probabilities=learner.model.predict_proba(learner.pool.subset(unlabeled)),
            held_out_score=float((learner.model.predict(test) == test.labels).mean()),
        )
        decisions.append(criterion.update(state))
    assert [d.stop for d in decisions].index(True) <= 7  # 120 labels at the latest
    assert all(d.reason for d in decisions)
    albl = learner.schedule.strategy_for(1)
    assert len(albl.rewards) == 6  # every query after the cold start, but the first albl one
    assert np.isclose(albl.weights.sum(), 1.0)
