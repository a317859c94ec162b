"""Known answers for AcTune (annotate the uncertain regions, pseudo-label the confident ones)
and the learner's pseudo-label path it drives."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from known_answer_helpers import FakeSurprisalModel, blobs, context, numbered_pool
from labelwise.loop import ActiveLearner
from labelwise.outputs import ModelOutputs
from labelwise.strategies.hybrid import AcTune


def actune_arrays():
    vectors, region = blobs([[1, 0, 0], [0, 1, 0]], 10, spread=0.02)
    probabilities = np.empty((20, 3), dtype=np.float32)
    probabilities[:10] = [0.40, 0.35, 0.25]      # region 0: uncertain
    probabilities[10:] = [0.05, 0.93, 0.02]      # region 1: confident, class 1
    probabilities[3] = [0.34, 0.33, 0.33]        # the most uncertain row
    probabilities[15] = [0.10, 0.80, 0.10]       # region 1 but below the 0.9 threshold
    probabilities[12] = [0.96, 0.02, 0.02]       # region 1, confident in class 0
    return ModelOutputs.from_arrays(embeddings=vectors, probabilities=probabilities), region


@pytest.mark.parametrize("base", ["entropy", "least_confidence"])
def test_actune_sends_the_uncertain_region_to_annotation(base):
    outputs, region = actune_arrays()
    selection = AcTune(base=base, n_regions=2).select(outputs, 4, context(20))
    assert (region[selection.indices] == 0).all()
    assert selection.indices[0] == 3


def test_actune_widens_to_the_next_region_when_the_uncertain_one_is_too_small():
    outputs, region = actune_arrays()
    selection = AcTune(n_regions=2).select(outputs, 12, context(20))
    assert (region[selection.indices] == 0).sum() == 10


def test_actune_pseudo_labels_only_confident_rows_of_certain_regions_with_argmax():
    outputs, region = actune_arrays()
    positions, labels, weights = AcTune(n_regions=2).pseudo_labels(outputs, context(20))
    assert (region[positions] == 1).all()
    assert 15 not in positions  # below the confidence threshold
    assert set(positions.tolist()) == set(range(10, 20)) - {15}
    probabilities = outputs.get("probabilities", positions)
    assert labels.tolist() == probabilities.argmax(axis=1).tolist()
    assert labels[positions.tolist().index(12)] == 0
    np.testing.assert_allclose(weights, probabilities.max(axis=1))
    excluded, _, _ = AcTune(n_regions=2).pseudo_labels(outputs, context(20), exclude=[10, 11])
    assert not {10, 11} & set(excluded.tolist())


class WeightedFit(FakeSurprisalModel):
    def fit(self, dataset, sample_weight=None):
        self.fitted_on.append((self._rows(dataset).tolist(), np.asarray(dataset.labels).tolist(),
                               None if sample_weight is None else np.asarray(sample_weight).tolist()))
        self.classes_ = np.arange(2)
        return self


def test_learner_trains_on_pseudo_labels_with_weights_and_gold_labels_win():
    probabilities = np.tile(np.array([[0.6, 0.4]], dtype=np.float32), (10, 1))
    model = WeightedFit(np.zeros((10, 2), dtype=np.float32), probabilities)
    learner = ActiveLearner(model, numbered_pool(10), "least_confidence", random_state=0)
    learner.teach([0, 1], [0, 1])
    assert model.fitted_on[-1] == ([0, 1], [0, 1], None)  # unchanged without pseudo-labels
    learner.teach_pseudo([5, 6], [1, 0], [0.9, 0.7], retrain=True)
    assert model.fitted_on[-1] == ([0, 1, 5, 6], [0, 1, 1, 0], [1.0, 1.0, 0.9, 0.7])
    assert sorted(learner.labeled_indices.tolist()) == [0, 1]
    assert 5 in learner.unlabeled_indices
    learner.teach([5], [0])  # gold label replaces the pseudo-label
    assert learner.pseudo_indices.tolist() == [6]
    assert model.fitted_on[-1] == ([0, 1, 5, 6], [0, 1, 0, 0], [1.0, 1.0, 1.0, 0.7])
    learner.clear_pseudo()
    learner.fit()
    assert model.fitted_on[-1] == ([0, 1, 5], [0, 1, 0], None)


class FakeEmbeddingModel(WeightedFit):
    def __init__(self, embeddings, probabilities):
        super().__init__(np.zeros((len(embeddings), 1), dtype=np.float32), probabilities)
        self.embeddings = embeddings

    def embed(self, dataset):
        return self.embeddings[self._rows(dataset)]


def test_learner_self_trains_with_actune_on_the_confident_region_only():
    outputs, region = actune_arrays()
    model = FakeEmbeddingModel(outputs.get("embeddings"), outputs.get("probabilities"))
    learner = ActiveLearner(model, numbered_pool(20, n_classes=3), ("actune", {"n_regions": 2}), random_state=0)
    learner.teach([0, 19], [0, 1])
    queried = learner.query(2)
    assert (region[queried.indices] == 0).all()
    positions, labels, weights = learner.self_train()
    assert len(positions) and (region[positions] == 1).all() and 19 not in positions
    rows, taught, sample_weight = model.fitted_on[-1]
    assert rows == [0, 19, *positions.tolist()]
    assert taught == [0, 1, *labels.tolist()]
    assert sample_weight[2:] == weights.tolist()


def test_learner_pseudo_labels_reach_a_model_without_sample_weight():
    model = FakeSurprisalModel(np.zeros((6, 2), dtype=np.float32), np.full((6, 2), 0.5, dtype=np.float32))
    assert "sample_weight" not in inspect.signature(model.fit).parameters
    learner = ActiveLearner(model, numbered_pool(6), "least_confidence", random_state=0)
    learner.teach([0], [1])
    learner.teach_pseudo([3], [0], [0.5], retrain=True)
    assert model.fitted_on[-1] == [0, 3]
