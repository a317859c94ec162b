"""Issue #13 (learner): one-class first batches, load() with a classmethod load, damaged
save folders, labels validated instead of truncated, subsamplers told the query size."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from labelwise.data import ClassificationDataset, gold_labels
from labelwise.errors import DataError, SelectionError
from labelwise.loop import ActiveLearner
from labelwise.models import TfidfLogisticRegression
from labelwise.subsampling import NaiveSubsampler, UPSSubsampler


def _pool(n=40):
    words = ["match goal", "market shares", "election war", "rain cloud"]
    return ClassificationDataset([f"{words[i % 4]} item {i}" for i in range(n)], np.arange(n) % 4,
                                 ["Sports", "Business", "World", "Weather"])


class PlainModel:
    """A picklable model without save(): the learner stores it with joblib."""

    def fit(self, dataset):
        self.n_classes_ = dataset.n_classes
        return self

    def predict_proba(self, dataset):
        return np.full((len(dataset), self.n_classes_), 1.0 / self.n_classes_, dtype=np.float32)


class ClassLoadModel:
    """A model whose load is a classmethod returning a NEW fitted object (as
    TransformerSeq2Seq's): the learner must keep what load returns."""

    def __init__(self, marker="unfitted"):
        self.marker = marker

    def fit(self, dataset):
        self.marker = "fitted"
        self.fitted_ = True
        return self

    def save(self, path):
        path.mkdir(parents=True, exist_ok=True)
        (path / "marker.txt").write_text(self.marker)

    @classmethod
    def load(cls, path):
        model = cls((path / "marker.txt").read_text())
        model.fitted_ = True
        return model


# ---- a first batch with one class ------------------------------------------------------
def test_a_first_batch_of_one_class_keeps_querying_cold_and_says_why():
    pool = _pool()
    learner = ActiveLearner(TfidfLogisticRegression(embedding_dim=4), pool.without_labels(), "entropy",
                            random_state=0)
    first = learner.query(4)
    with pytest.warns(UserWarning, match=r"class 'Sports'.*at least 2 classes.*'random'"):
        learner.teach(first.indices, ["Sports"] * 4)
    second = learner.query(4)  # was: "call fit() first"
    assert learner.history[-1].strategy == "random"
    assert not set(second.indices) & set(first.indices)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # two classes: trains without a warning
        learner.teach(second.indices, ["Sports", "World", "World", "Sports"])
    assert learner.fit_blocker() is None and learner.model_is_fitted
    learner.query(4)
    assert learner.history[-1].strategy == "entropy"


# ---- load --------------------------------------------------------------------------------
def test_load_keeps_the_model_a_classmethod_load_returns(tmp_path):
    pool = _pool()
    learner = ActiveLearner(ClassLoadModel(), pool.without_labels(), "random", random_state=0)
    picked = learner.query(4).indices
    learner.teach(picked, gold_labels(pool, picked))
    learner.save(tmp_path / "run")
    resumed = ActiveLearner.load(tmp_path / "run", pool.without_labels(), model=ClassLoadModel())
    assert resumed.model.marker == "fitted", "the learner kept the unfitted object passed in"
    assert resumed.model_is_fitted


@pytest.mark.slow
def test_load_with_a_tiny_seq2seq_returns_a_fitted_model(tmp_path):
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from labelwise.data import Seq2SeqDataset
    from labelwise.models import TransformerSeq2Seq
    from tiny_models import save_tiny_bart

    save_tiny_bart(tmp_path / "bart", width=16, layers=1, max_positions=32)
    pairs = Seq2SeqDataset(["the cat sat", "dogs bark", "rain is wet", "sun is hot"],
                           ["cat", "dogs", "rain", "sun"])

    def model():
        return TransformerSeq2Seq(str(tmp_path / "bart"), max_source_length=8, max_target_length=4, num_beams=1,
                                  batch_size=4, epochs=1, random_state=0)

    learner = ActiveLearner(model(), pairs.without_labels(), "random", random_state=0)
    learner.teach([0, 1], ["cat", "dogs"])
    learner.save(tmp_path / "run")
    resumed = ActiveLearner.load(tmp_path / "run", pairs.without_labels(), model=model())
    assert resumed.model_is_fitted
    assert len(resumed.model.predict(pairs.subset([2]).without_labels())) == 1


# ---- damaged save folders ----------------------------------------------------------------
@pytest.fixture
def saved(tmp_path):
    pool = _pool()
    learner = ActiveLearner(PlainModel(), pool.without_labels(), "random", random_state=0)
    picked = learner.query(4).indices
    learner.teach(picked, gold_labels(pool, picked))
    learner.query(2)
    folder = learner.save(tmp_path / "run")
    assert (folder / "model.joblib").exists()
    return folder, pool.without_labels()


def _edit_state(folder, change):
    path = folder / "state.json"
    state = json.loads(path.read_text())
    change(state)
    path.write_text(json.dumps(state))


def test_a_truncated_model_file_names_the_file(saved):
    folder, pool = saved
    data = (folder / "model.joblib").read_bytes()
    (folder / "model.joblib").write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match=r"model\.joblib.*cannot be read"):
        ActiveLearner.load(folder, pool)


@pytest.mark.parametrize("field", ["labels", "rng_state", "history"])
def test_a_state_file_without_a_field_names_the_field(saved, field):
    folder, pool = saved
    _edit_state(folder, lambda state: state.pop(field))
    with pytest.raises(DataError, match=rf"state\.json.*{field}"):
        ActiveLearner.load(folder, pool)


@pytest.mark.parametrize("change, message", [
    (lambda s: s["labels"].__setitem__(0, [s["labels"][0][0], 7]), "outside 0..3"),
    (lambda s: s["labels"].__setitem__(0, [s["labels"][0][0], 1.5]), "class name or an integer"),
    (lambda s: s["labels"].__setitem__(0, [99, 1]), "'labels'"),
    (lambda s: s["labels"].__setitem__(0, [2.5, 1]), "'labels'"),
    (lambda s: s["labels"].__setitem__(0, [True, 1]), "'labels'"),
    (lambda s: s["pending"].append(1000), "'pending'"),
    (lambda s: s.__setitem__("previous_scores", s["previous_scores"][:3]), "'previous_scores'"),
    (lambda s: s.__setitem__("rng_class", "seed"), "'rng_class'"),
])
def test_bad_labels_or_positions_in_a_save_folder_are_refused(saved, change, message):
    folder, pool = saved
    _edit_state(folder, change)
    with pytest.raises(DataError, match=message) as caught:
        ActiveLearner.load(folder, pool)
    assert "state.json" in str(caught.value)


# ---- labels are validated, never truncated -------------------------------------------------
@pytest.mark.parametrize("label", [1.9, None, [1], float("nan"), True, "Unknown"])
def test_teach_refuses_labels_that_are_no_class_with_data_error(label):
    learner = ActiveLearner(PlainModel(), _pool().without_labels(), "random", random_state=0)
    with pytest.raises(DataError, match="position 3"):
        learner.teach([3], [label], retrain=False)
    assert len(learner.labeled_indices) == 0


def test_teach_accepts_integral_floats_and_numpy_ids():
    learner = ActiveLearner(PlainModel(), _pool().without_labels(), "random", random_state=0)
    learner.teach([3, 4], [2.0, np.int64(1)], retrain=False)
    assert learner.labels_of([3, 4]) == [2, 1]


def test_multi_label_indicators_must_be_zero_or_one():
    pool = ClassificationDataset(["a", "b", "c"], None, ["x", "y"], multi_label=True)
    learner = ActiveLearner(PlainModel(), pool, "random", random_state=0)
    with pytest.raises(DataError, match="indicators"):
        learner.teach([0], [[0.5, 1]], retrain=False)
    learner.teach([0], [[0, 1]], retrain=False)
    assert learner.labels_of([0]) == [[0, 1]]


# ---- subsampling inside the learner ---------------------------------------------------------
@pytest.mark.parametrize("subsampler", [UPSSubsampler(gamma=0.02, temperature=0.001, rescore_iterations=(0,)),
                                        NaiveSubsampler(gamma=0.02, rescore_iterations=(0,))])
def test_a_subsampler_keeps_at_least_the_query_size(subsampler):
    pool = _pool(300)
    learner = ActiveLearner(TfidfLogisticRegression(embedding_dim=4), pool.without_labels(), "entropy",
                            random_state=0, subsampler=subsampler)
    seed = np.arange(0, 300, 15)
    learner.teach(seed, gold_labels(pool, seed))
    learner.teach(learner.query(5).indices, gold_labels(pool, learner.history[-1].selected))  # full rescoring
    selection = learner.query(30)  # the subsample alone keeps about 6 rows
    assert len(selection.indices) == len(set(selection.indices.tolist())) == 30
    assert len(selection.candidate_indices) >= 30


def test_a_custom_subsampler_returning_too_few_rows_gets_a_clear_error():
    class Tiny:
        def subsample(self, unlabeled_indices, *, iteration, previous_scores, rng):
            return unlabeled_indices[:2]

    learner = ActiveLearner(PlainModel(), _pool().without_labels(), "random", random_state=0, subsampler=Tiny())
    with pytest.raises(SelectionError, match="Tiny kept 2 candidates for a query of 5.*query_size"):
        learner.query(5)
