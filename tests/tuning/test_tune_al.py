"""tune_al: replaying AL on the labeled set ranks query sizes and models."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import BaseEstimator

from labelwise.data.datasets import ClassificationDataset
from labelwise.errors import ConfigError, DataError
from labelwise.tuning import tune_al

N_GROUPS = 40
COPIES = 8


class GroupMemorizer(BaseEstimator):
    """Remembers the label of every text it was trained on. An unseen text ``g<i>`` gets
    class 1 with probability 0.5 + 0.001 i, so the unseen group 0 is the most uncertain, and
    all copies of one group tie: a query of k > 1 takes k copies of the same group."""

    def fit(self, dataset):
        self.memory_ = dict(zip(dataset.texts, dataset.labels.tolist(), strict=True))
        return self

    def predict_proba(self, dataset):
        rows = []
        for text in dataset.texts:
            if text in self.memory_:
                rows.append([1.0, 0.0] if self.memory_[text] == 0 else [0.0, 1.0])
            else:
                p = 0.5 + 0.001 * int(text[1:])
                rows.append([1.0 - p, p])
        return np.asarray(rows)

    def predict(self, dataset):
        return self.predict_proba(dataset).argmax(axis=1)


def grouped_dataset() -> ClassificationDataset:
    texts = [f"g{group}" for group in range(N_GROUPS) for _ in range(COPIES)]
    labels = np.asarray([group % 2 for group in range(N_GROUPS) for _ in range(COPIES)])
    return ClassificationDataset(texts, labels, ("even", "odd"))


def test_the_query_size_that_learns_a_new_group_per_label_clearly_wins():
    # Entropy with a large query spends it on copies of one group; one label per query
    # learns a new group each time, so its held-out accuracy climbs fastest.
    result = tune_al(grouped_dataset(), {"query_size": [16, 1, 4], "model": [GroupMemorizer()]},
                     strategy="entropy", seeds=[0, 1], held_out=0.3, initial_size=2, budget=34)
    assert [row.query_size for row in result.rows] == [1, 4, 16]
    assert [row.rank for row in result.rows] == [1, 2, 3]
    assert result.best.query_size == 1
    assert result.best.auc[0] > result.rows[1].auc[0] + 5  # points of accuracy, not a tie
    for row in result.rows:  # every curve spans the same labels: 2 -> 34
        assert all(curve[0][0] == 2 and curve[-1][0] == 34 for curve in row.curves.values())
    assert result.n_replay + result.n_held_out == N_GROUPS * COPIES
    table = result.to_markdown()
    assert "| 1 | 1 | GroupMemorizer |" in table


def test_models_are_candidates_too_and_the_same_seed_gives_the_same_table():
    data = grouped_dataset()
    candidates = {"query_size": [4], "model": ["tfidf_lr", GroupMemorizer()]}
    first = tune_al(data, candidates, seeds=[0], initial_size=4, budget=24)
    again = tune_al(data, candidates, seeds=[0], initial_size=4, budget=24)
    assert {row.model for row in first.rows} == {"tfidf_lr", "GroupMemorizer"}
    assert [(r.model, r.auc) for r in first.rows] == [(r.model, r.auc) for r in again.rows]


@pytest.mark.parametrize("candidates, match", [
    ({"query_size": [10]}, r"non-empty list for \['model'\]"),
    ({"query_size": [0], "model": ["tfidf_lr"]}, "positive ints"),
    ({"query_size": [5], "model": ["tfidf_lr"], "epochs": [1]}, "unknown key"),
    ({"query_size": [5], "model": ["no_such_model"]}, "no_such_model"),
    ({"query_size": [5], "model": [{"nam": "tfidf_lr"}]}, r"candidates\['model'\]\[0\]"),
    ([5, 10], "expected a mapping"),
])
def test_bad_candidates_are_config_errors(candidates, match):
    with pytest.raises(ConfigError, match=match):
        tune_al(grouped_dataset(), candidates)


def test_too_few_labels_or_a_bad_budget_are_explained():
    data = grouped_dataset()
    with pytest.raises(ConfigError, match="label more rows"):
        tune_al(data.subset(range(3)), {"query_size": [2], "model": ["tfidf_lr"]})
    with pytest.raises(ConfigError, match="budget"):
        tune_al(data, {"query_size": [2], "model": ["tfidf_lr"]}, budget=10_000)
    with pytest.raises(ConfigError, match="held_out"):
        tune_al(data, {"query_size": [2], "model": ["tfidf_lr"]}, held_out=1.5)
    unlabeled = ClassificationDataset(data.texts, None, data.label_names)
    with pytest.raises(DataError, match="labeled dataset"):
        tune_al(unlabeled, {"query_size": [2], "model": ["tfidf_lr"]})
