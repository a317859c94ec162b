"""The learner trains its own clone of a scikit-learn style model; the caller's object is
never prepared, re-seeded or fitted (issue #14)."""

from __future__ import annotations

import numpy as np
import pytest

from labelwise.data import gold_labels
from labelwise.errors import ConfigError
from labelwise.loop import ActiveLearner
from labelwise.models import TfidfLogisticRegression
from labelwise.models.base import is_fitted


def _teach_twice(learner, pool):
    for _ in range(2):
        selection = learner.query(12)
        learner.teach(selection.indices, gold_labels(pool, selection.indices))


def test_the_callers_model_keeps_its_parameters_and_stays_unfitted(small_pool):
    pool, _ = small_pool
    model = TfidfLogisticRegression(random_state=None)
    before = model.get_params()
    learner = ActiveLearner(model, pool.without_labels(), "entropy", random_state=0)
    _teach_twice(learner, pool)
    assert model.get_params() == before
    assert not is_fitted(model)


def test_learner_model_is_the_fitted_clone_seeded_through_set_params(small_pool):
    pool, _ = small_pool
    model = TfidfLogisticRegression()
    learner = ActiveLearner(model, pool.without_labels(), "entropy", random_state=0)
    _teach_twice(learner, pool)
    assert learner.model is not model and type(learner.model) is type(model)
    assert learner.model_is_fitted
    assert isinstance(learner.model.get_params()["random_state"], int)


def test_one_model_object_serves_two_learners_with_the_same_results(small_pool):
    pool, _ = small_pool
    model = TfidfLogisticRegression()
    first = ActiveLearner(model, pool.without_labels(), "entropy", random_state=3)
    _teach_twice(first, pool)
    second = ActiveLearner(model, pool.without_labels(), "entropy", random_state=3)
    _teach_twice(second, pool)
    assert first.labeled_indices.tolist() == second.labeled_indices.tolist()
    unlabeled = pool.without_labels()
    np.testing.assert_allclose(first.model.predict_proba(unlabeled), second.model.predict_proba(unlabeled))


def test_a_model_without_get_params_is_used_as_it_is(small_pool):
    pool, _ = small_pool

    class Plain:
        def fit(self, dataset):
            self.n_classes_ = dataset.n_classes
            return self

        def predict_proba(self, dataset):
            return np.full((len(dataset), self.n_classes_), 1.0 / self.n_classes_, dtype=np.float32)

    model = Plain()
    learner = ActiveLearner(model, pool.without_labels(), "entropy", random_state=0)
    _teach_twice(learner, pool)
    assert learner.model is model and is_fitted(model)


def test_a_model_that_breaks_the_clone_contract_gets_a_config_error(small_pool):
    pool, _ = small_pool

    class Renaming(TfidfLogisticRegression):
        def __init__(self, max_features=5000):
            super().__init__()
            self.max_features = max_features * 2  # not stored unchanged: clone refuses

    with pytest.raises(ConfigError, match="clone"):
        ActiveLearner(Renaming(), pool.without_labels(), "entropy", random_state=0)


def test_a_fitted_model_is_copied_with_its_weights_and_the_callers_object_stays_as_it_was(small_pool):
    pool, test = small_pool
    model = TfidfLogisticRegression(random_state=0).fit(pool.subset(range(40)))
    before = model.predict_proba(test)
    learner = ActiveLearner(model, pool.without_labels(), "entropy", random_state=0, retrain=False)
    assert learner.model is not model and learner.model_is_fitted
    np.testing.assert_array_equal(learner.model.predict_proba(test), before)
    learner.teach(np.arange(4), gold_labels(pool, np.arange(4)))  # retrain=False: no fit
    first = learner.query(5)
    assert len(first.indices) == 5
    np.testing.assert_array_equal(model.predict_proba(test), before)
