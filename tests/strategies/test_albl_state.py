"""ALBL's bandit (weights, round, pending query probabilities) survives ActiveLearner.save/load."""

from __future__ import annotations

import json

import numpy as np
import pytest

from labelwise.data import gold_labels
from labelwise.errors import DataError
from labelwise.loop import ActiveLearner
from labelwise.models import TfidfLogisticRegression

ALBL = ("albl", {"strategies": [("entropy", {}), "breaking_ties"], "rounds": 10})


def _run(pool, rounds: int) -> ActiveLearner:
    learner = ActiveLearner(TfidfLogisticRegression(), pool.without_labels(), ALBL, random_state=3)
    for _ in range(rounds):
        picks = learner.query(10).indices
        learner.teach(picks, gold_labels(pool, picks))
    return learner


def test_albl_state_survives_save_and_load_with_the_same_next_picks(small_pool, tmp_path):
    pool = small_pool[0].subset(range(200))
    learner = _run(pool, 5)
    bandit = learner.schedule.strategy_for(learner.iteration)
    assert bandit._round is not None  # the last round waits for its reward: it must be saved
    learner.save(tmp_path / "saved")
    loaded = ActiveLearner.load(tmp_path / "saved", pool.without_labels())
    restored = loaded.schedule.strategy_for(loaded.iteration)
    assert restored is not bandit
    np.testing.assert_allclose(restored.log_weights, bandit.log_weights)
    assert restored.rewards == bandit.rewards

    for _ in range(3):  # the rewards of the pending round and later ones match, and so do the picks
        mine, theirs = learner.query(10).indices, loaded.query(10).indices
        np.testing.assert_array_equal(mine, theirs)
        learner.teach(mine, gold_labels(pool, mine))
        loaded.teach(theirs, gold_labels(pool, theirs))
    np.testing.assert_allclose(restored.log_weights, bandit.log_weights)
    assert restored.rewards == pytest.approx(bandit.rewards)
    assert len(restored.rewards) == len(bandit.rewards) == 6  # 8 queries: cold start, then 7 albl rounds


def test_a_bandit_state_that_does_not_fit_the_experts_is_a_data_error(small_pool, tmp_path):
    pool = small_pool[0].subset(range(200))
    _run(pool, 3).save(tmp_path / "saved")
    path = tmp_path / "saved" / "learner.json"
    if not path.exists():
        path = next(p for p in (tmp_path / "saved").iterdir() if p.suffix == ".json")
    state = json.loads(path.read_text())
    state["strategy_states"][0][2]["log_weights"] = [0.0] * 7
    path.write_text(json.dumps(state))
    with pytest.raises(DataError, match="strategy_states"):
        ActiveLearner.load(tmp_path / "saved", pool.without_labels())
