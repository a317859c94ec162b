"""Known answers for the small-text / modAL compatibility layer (fakes, and the real
libraries when installed)."""

from __future__ import annotations

import numpy as np
import pytest

from known_answer_helpers import FakeSurprisalModel, blobs, context, numbered_pool
from labelwise.errors import SelectionError
from labelwise.loop import ActiveLearner
from labelwise.outputs import ModelOutputs
from labelwise.strategies import get_strategy
from labelwise.strategies.compat import ModALQueryFunction, SmallTextStrategy, as_small_text


def seals_arrays():
    vectors, blob = blobs([[1, 0, 0], [0, 1, 0], [0, 0, 1]], 12, spread=0.1, seed=3)
    rng = np.random.default_rng(4)
    probabilities = rng.dirichlet(np.ones(3), size=len(vectors)).astype(np.float32)
    return ModelOutputs.from_arrays(embeddings=vectors, probabilities=probabilities), vectors, blob


class FakeSmallTextDataset:
    def __init__(self, rows):
        self.rows = np.asarray(rows)

    def __len__(self):
        return len(self.rows)

    def __getitem__(self, indices):
        return FakeSmallTextDataset(self.rows[indices])


class FakeSmallTextClassifier:
    """predict_proba/embed read fixed tables by the row ids the dataset holds."""

    def __init__(self, probabilities, embeddings):
        self.probabilities = probabilities
        self.embeddings = embeddings

    def predict_proba(self, dataset):
        return self.probabilities[dataset.rows]

    def embed(self, dataset, return_proba=False, **kwargs):
        vectors = self.embeddings[dataset.rows]
        return (vectors, self.predict_proba(dataset)) if return_proba else vectors


class FakeSmallTextLeastConfidence:
    """A small-text style strategy: scores the whole dataset, masks the labeled rows."""

    def query(self, clf, dataset, indices_unlabeled, indices_labeled, y, n=10):
        confidence = clf.predict_proba(dataset).max(axis=1)
        confidence[indices_labeled] = np.inf
        order = np.argsort(confidence[indices_unlabeled], kind="stable")[:n]
        return np.asarray(indices_unlabeled)[order]


@pytest.mark.parametrize("name", ["entropy", "seals", "actune", "random"])
def test_a_labelwise_strategy_through_as_small_text_picks_as_directly(name):
    outputs, vectors, _ = seals_arrays()
    clf = FakeSmallTextClassifier(outputs.get("probabilities"), vectors)
    dataset = FakeSmallTextDataset(np.arange(len(vectors)))
    labeled = np.array([0, 13, 30])
    unlabeled = np.setdiff1d(np.arange(len(vectors)), labeled)
    adapter = as_small_text(name, random_state=5)
    picked = adapter.query(clf, dataset, unlabeled, labeled, np.array([0, 1, 2]), n=4)
    direct = get_strategy(name).select(outputs, 4, context(len(vectors), labeled, seed=5, labels=np.array([0, 1, 2])))
    assert picked.tolist() == direct.indices.tolist()


def test_a_small_text_strategy_runs_inside_the_active_learner():
    probabilities = np.tile(np.array([[0.9, 0.1]], dtype=np.float32), (12, 1))
    probabilities[[4, 9]] = [[0.6, 0.4], [0.52, 0.48]]
    model = FakeSurprisalModel(np.zeros((12, 2), dtype=np.float32), probabilities)
    learner = ActiveLearner(model, numbered_pool(12), SmallTextStrategy(FakeSmallTextLeastConfidence()),
                            random_state=0)
    learner.teach([0, 1], [0, 1])
    selection = learner.query(2)
    assert selection.indices.tolist() == [9, 4]
    assert learner.history[-1].strategy == "small_text"


def test_a_small_text_strategy_returning_a_labeled_row_is_rejected():
    class Bad:
        def query(self, clf, dataset, indices_unlabeled, indices_labeled, y, n=10):
            return np.asarray(indices_labeled)[:n]

    outputs = ModelOutputs.from_arrays(probabilities=np.full((6, 2), 0.5, dtype=np.float32))
    with pytest.raises(SelectionError, match="not an unlabeled candidate"):
        SmallTextStrategy(Bad()).select(outputs, 1, context(6, [2]))


def modal_margin_sampling(classifier, X_pool, n_instances=1, random_tie_break=True):
    """modAL's shape: returns (indices, instances); ties broken by np.random."""
    probabilities = classifier.predict_proba(X_pool)
    part = np.sort(probabilities, axis=1)
    margin = part[:, -1] - part[:, -2]
    if random_tie_break:
        margin = margin + 1e-9 * np.random.random(len(margin))  # noqa: NPY002  (modAL style)
    indices = np.argsort(margin)[:n_instances]
    return indices, X_pool[indices]


def test_a_modal_query_function_runs_inside_the_active_learner_reproducibly():
    probabilities = np.tile(np.array([[0.9, 0.1]], dtype=np.float32), (12, 1))
    probabilities[[3, 7, 8]] = [[0.5, 0.5], [0.7, 0.3], [0.55, 0.45]]

    def run(seed):
        model = FakeSurprisalModel(np.zeros((12, 2), dtype=np.float32), probabilities)
        learner = ActiveLearner(model, numbered_pool(12), ModALQueryFunction(modal_margin_sampling),
                                random_state=seed)
        learner.teach([0, 1], [0, 1])  # two classes: one class keeps the learner on its cold start
        return learner.query(3).indices.tolist()

    assert run(1) == [3, 8, 7] == run(1)


def test_a_modal_function_reading_features_gets_candidate_embeddings():
    vectors = np.arange(12, dtype=np.float32).reshape(6, 2)
    probabilities = np.full((6, 2), 0.5, dtype=np.float32)

    def farthest_from_origin(classifier, X_pool, n_instances=1):
        assert classifier.predict_proba(X_pool[:2]).shape == (2, 2)
        return np.argsort(-np.linalg.norm(X_pool, axis=1))[:n_instances]

    outputs = ModelOutputs.from_arrays(embeddings=vectors, probabilities=probabilities)
    strategy = ModALQueryFunction(farthest_from_origin, pool="embeddings")
    assert strategy.select(outputs, 2, context(6, [5])).indices.tolist() == [4, 3]


def test_real_small_text_strategy_if_installed():
    small_text = pytest.importorskip("small_text")
    probabilities = np.tile(np.array([[0.9, 0.1]], dtype=np.float32), (12, 1))
    probabilities[[4, 9]] = [[0.6, 0.4], [0.52, 0.48]]
    outputs = ModelOutputs.from_arrays(probabilities=probabilities)
    strategy = SmallTextStrategy(small_text.LeastConfidence())
    selection = strategy.select(outputs, 2, context(12, [0, 1], labels=np.array([0, 1])))
    assert set(selection.indices.tolist()) == {4, 9}


def test_as_small_text_inside_a_real_small_text_learner_matches_its_own_least_confidence():
    small_text = pytest.importorskip("small_text")
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    features = rng.standard_normal((60, 4))
    gold = (features[:, 0] > 0).astype(int)
    train = small_text.SklearnDataset(features, gold, target_labels=np.arange(2))
    factory = small_text.SklearnClassifierFactory(LogisticRegression(), 2)
    picks = []
    for strategy in (as_small_text("least_confidence"), small_text.LeastConfidence()):
        learner = small_text.PoolBasedActiveLearner(factory, strategy, train)
        learner.initialize_data(np.array([0, 1, 2, 3]), gold[[0, 1, 2, 3]])
        picks.append(sorted(learner.query(num_samples=5).tolist()))
    assert picks[0] == picks[1]
