"""Multi-label strategies (known answers worked by hand) and the multi-label declaration
from the data to the strategies' context."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from labelwise.data import ClassificationDataset, load_classification
from labelwise.errors import ConfigError, DataError
from labelwise.loop import ActiveLearner
from labelwise.outputs import ModelOutputs
from labelwise.strategies import QueryContext, ScoringStrategy, get_strategy
from labelwise.strategies.multi_label import (
    indicator_labels,
    label_cardinality_inconsistency,
    margin_rank_scores,
    mmc_scores,
    predict_label_counts,
    separation_margin,
    vector_inconsistency,
)

LN2 = math.log(2.0)


def _context(n_pool, labeled=(), labels=None, seed=0):
    return QueryContext.build(n_pool, np.asarray(labeled, dtype=np.int64), random_state=seed, labels=labels,
                              multi_label=True)


def _scores(name, probabilities, labeled=(), labels=None, **params):
    probabilities = np.asarray(probabilities, dtype=np.float32)
    outputs = ModelOutputs.from_arrays(probabilities=probabilities)
    context = _context(len(probabilities), labeled, labels)
    strategy = get_strategy(name, **params) if params else get_strategy(name)
    return strategy.score(outputs, context)


# ---- binary relevance ---------------------------------------------------------------------------
def test_br_least_confidence_mean_and_max_over_labels():
    rows = [[0.9, 0.5], [0.1, 0.2]]  # per label 1 - max(p, 1-p): [0.1, 0.5], [0.1, 0.2]
    np.testing.assert_allclose(_scores("br_least_confidence", rows), [0.3, 0.15], atol=1e-6)
    np.testing.assert_allclose(_scores("br_least_confidence", rows, reduction="max"), [0.5, 0.2], atol=1e-6)


def test_br_margin_is_one_minus_the_binary_margin():
    # |2p - 1|: 0.8 and 0 -> 1 - margin: 0.2 and 1
    np.testing.assert_allclose(_scores("br_margin", [[0.9, 0.5]]), [0.6], atol=1e-6)
    np.testing.assert_allclose(_scores("br_margin", [[0.9, 0.5]], reduction="max"), [1.0], atol=1e-6)


def test_br_entropy_is_the_binary_entropy_with_zero_log_zero_zero():
    scores = _scores("br_entropy", [[0.5, 0.5], [0.0, 1.0]])
    np.testing.assert_allclose(scores, [LN2, 0.0], atol=1e-6)


def test_br_bald_is_binary_mutual_information_per_label():
    # label 0: samples 0 and 1 disagree fully (MI = ln 2); label 1: both 0.5 (MI = 0)
    samples = np.array([[[0.0, 0.5], [1.0, 0.5]], [[0.5, 0.5], [0.5, 0.5]]], dtype=np.float32)
    outputs = ModelOutputs.from_arrays(mc_probabilities=samples)
    scores = get_strategy("br_bald").score(outputs, _context(2))
    np.testing.assert_allclose(scores, [LN2 / 2, 0.0], atol=1e-6)
    scores = get_strategy("br_bald", reduction="max").score(outputs, _context(2))
    np.testing.assert_allclose(scores, [LN2, 0.0], atol=1e-6)


def test_reduction_must_be_mean_or_max():
    with pytest.raises(ConfigError, match="reduction"):
        get_strategy("br_entropy", reduction="sum")


def test_br_badge_starts_from_the_longest_binary_gradient_not_the_most_confident_row():
    # Row 0 is certain (p equals its predicted labels): zero gradient despite huge features.
    # A BADGE without the predicted-label term (-p ⊗ h) would start from it.
    probabilities = np.array([[1.0, 0.0], [0.6, 0.45], [0.9, 0.1]], dtype=np.float32)
    features = np.array([[100.0, 0.0], [1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
    outputs = ModelOutputs.from_arrays(probabilities=probabilities, last_layer_features=features)
    selection = get_strategy("br_badge").select(outputs, 1, _context(3))
    # ||p - ŷ||² ||h||²: row 1: (0.16 + 0.2025) * 1 = 0.3625; row 2: 0.02 * 1; row 0: 0
    assert selection.indices.tolist() == [1]
    np.testing.assert_allclose(selection.scores, [0.3625], atol=1e-5)


def test_br_badge_same_seed_same_batch():
    rng = np.random.default_rng(3)
    outputs = ModelOutputs.from_arrays(probabilities=rng.random((60, 4)).astype(np.float32),
                                       last_layer_features=rng.normal(size=(60, 5)).astype(np.float32))
    first = get_strategy("br_badge").select(outputs, 6, _context(60, seed=11))
    second = get_strategy("br_badge").select(outputs, 6, _context(60, seed=11))
    assert first.indices.tolist() == second.indices.tolist()


# ---- MMC ----------------------------------------------------------------------------------------
def test_mmc_score_is_the_expected_loss_reduction_of_the_predicted_label_vector():
    row = np.array([[0.9, 0.6, 0.2]])  # f = [0.8, 0.2, -0.6]
    # one label: y = [+1, -1, -1] -> (0.2 + 1.2 + 0.4) / 2 = 0.9
    np.testing.assert_allclose(mmc_scores(row, np.array([1])), [0.9])
    # two labels: y = [+1, +1, -1] -> (0.2 + 0.8 + 0.4) / 2 = 0.7
    np.testing.assert_allclose(mmc_scores(row, np.array([2])), [0.7])


def test_mmc_label_count_predictor_learns_counts_from_sorted_normalised_probabilities():
    one = [[0.95, 0.05, 0.05], [0.05, 0.9, 0.05], [0.05, 0.05, 0.92]]
    two = [[0.9, 0.92, 0.05], [0.05, 0.9, 0.95], [0.93, 0.05, 0.9]]
    labeled_probabilities = np.array(one + two)
    labeled_rows = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0], [0, 1, 1], [1, 0, 1]])
    candidates = np.array([[0.04, 0.97, 0.03], [0.91, 0.04, 0.94]])
    counts = predict_label_counts(labeled_probabilities, labeled_rows, candidates)
    assert counts.tolist() == [1, 2]


def test_mmc_label_count_predictor_falls_back_without_two_counts():
    candidates = np.array([[0.9, 0.8], [0.1, 0.2]])
    assert predict_label_counts(np.zeros((0, 2)), np.zeros((0, 2)), candidates).tolist() == [1, 1]
    labeled = np.array([[1, 1], [1, 1]])
    assert predict_label_counts(np.array([[0.9, 0.9], [0.8, 0.7]]), labeled, candidates).tolist() == [2, 2]


def test_mmc_strategy_reads_labels_from_the_context():
    probabilities = np.array([[0.9, 0.9], [0.8, 0.7], [0.9, 0.6], [0.55, 0.45]])
    scores = _scores("mmc", probabilities, labeled=[0, 1], labels=np.array([[1, 1], [1, 1]]))
    # every row predicted to carry 2 labels: rows 2, 3: y = [+1, +1]
    np.testing.assert_allclose(scores, [(0.2 + 0.8) / 2, (0.9 + 1.1) / 2], atol=1e-6)


# ---- Adaptive and label cardinality inconsistency ------------------------------------------------
def test_separation_margin_between_lowest_positive_and_highest_negative():
    rows = np.array([[0.9, 0.6, 0.2],   # positives f 0.8, 0.2; negative -0.6 -> 0.8
                     [0.4, 0.1, 0.1],   # no positive: the top label counts: -0.2 - (-0.8) = 0.6
                     [0.9, 0.7, 0.8]])  # all positive: 0.4 - (-1) = 1.4
    np.testing.assert_allclose(separation_margin(rows), [0.8, 0.6, 1.4], atol=1e-9)


def test_label_cardinality_inconsistency_against_the_labeled_mean():
    labeled = np.array([[1, 0, 0], [0, 1, 0]])  # mean cardinality 1
    rows = np.array([[0.9, 0.6, 0.2], [0.9, 0.1, 0.1], [0.1, 0.1, 0.1]])
    np.testing.assert_allclose(label_cardinality_inconsistency(rows, labeled), [1.0, 0.0, 1.0])


def test_adaptive_mixes_margin_uncertainty_and_cardinality_inconsistency_by_beta():
    rows = np.array([[0.9, 0.6, 0.2], [0.9, 0.1, 0.1]])
    labels = np.array([[1, 0, 0], [0, 1, 0]])
    data = np.vstack([rows, [[0.9, 0.1, 0.1], [0.1, 0.9, 0.1]]])
    scores = _scores("adaptive", data, labeled=[2, 3], labels=labels)
    # row 0: u = 1 / 0.8, c = 1 -> sqrt(1.25); row 1: c = 0 -> 0
    np.testing.assert_allclose(scores, [math.sqrt(1.25), 0.0], atol=1e-5)
    only_margin = _scores("adaptive", data, labeled=[2, 3], labels=labels, beta=1.0)
    np.testing.assert_allclose(only_margin, [1.25, 1 / 1.6], atol=1e-5)  # row 1: 0.8 - (-0.8)
    with pytest.raises(ConfigError, match="beta"):
        get_strategy("adaptive", beta=2.0)


def test_lci_strategy_equals_adaptive_with_beta_zero():
    rng = np.random.default_rng(0)
    probabilities = rng.random((30, 5))
    labels = (rng.random((5, 5)) > 0.5).astype(np.int8)
    lci = _scores("lci", probabilities, labeled=range(5), labels=labels)
    adaptive = _scores("adaptive", probabilities, labeled=range(5), labels=labels, beta=0.0)
    np.testing.assert_allclose(lci, adaptive, atol=1e-6)


# ---- CVIRS --------------------------------------------------------------------------------------
def test_cvirs_margin_ranks_are_a_borda_count():
    # one label, margins [0, 0.8, 0.4] -> ranks [1, 3, 2] -> (3 - rank) / (1 * 2)
    np.testing.assert_allclose(margin_rank_scores(np.array([[0.5], [0.9], [0.7]])), [1.0, 0.0, 0.5])
    # two labels: label 0 ranks [1, 2], label 1 ranks [2, 1] -> both (1 + 0) / (2 * 1)
    np.testing.assert_allclose(margin_rank_scores(np.array([[0.5, 0.0], [0.9, 0.5]])), [0.5, 0.5])


def test_cvirs_vector_inconsistency_is_the_normalised_information_distance():
    labeled = np.array([[1, 0, 0, 0]])
    predicted = np.array([[1, 0, 0, 0], [0, 1, 1, 1], [1, 1, 0, 0]])
    # third row: cells (both, only predicted, only labeled, neither) = (1, 1, 0, 2) of 4
    joint = -(2 * 0.25 * math.log2(0.25) + 0.5 * math.log2(0.5))
    h_predicted = 1.0
    h_labeled = -(0.25 * math.log2(0.25) + 0.75 * math.log2(0.75))
    expected = (2 * joint - h_predicted - h_labeled) / joint
    np.testing.assert_allclose(vector_inconsistency(predicted, labeled), [0.0, 1.0, expected], atol=1e-9)


def test_cvirs_score_is_rank_times_inconsistency_and_ranks_alone_before_labels():
    probabilities = np.array([[0.55, 0.1], [0.9, 0.2], [0.6, 0.45], [0.9, 0.1]])
    cold = _scores("cvirs", probabilities)
    np.testing.assert_allclose(cold, margin_rank_scores(probabilities.astype(np.float32)), atol=1e-6)
    warm = _scores("cvirs", probabilities, labeled=[3], labels=np.array([[1, 0]]))
    candidates = probabilities[:3].astype(np.float32).astype(np.float64)
    expected = margin_rank_scores(candidates) * vector_inconsistency((candidates > 0.5).astype(int),
                                                                      np.array([[1, 0]]))
    np.testing.assert_allclose(warm, expected, atol=1e-6)


# ---- labels and context -----------------------------------------------------------------------
def test_class_ids_read_as_one_hot_rows():
    np.testing.assert_array_equal(indicator_labels(np.array([1, -1, 0]), 3), [[0, 1, 0], [0, 0, 0], [1, 0, 0]])
    with pytest.raises(ConfigError, match="columns"):
        indicator_labels(np.ones((2, 4)), 3)


class _Recorder(ScoringStrategy):
    name = "recorder"
    requires = ("probabilities",)

    def __init__(self):
        self.contexts = []

    def score(self, outputs, context):
        self.contexts.append(context)
        return np.zeros(len(context.candidate_indices))


def _multi_label_pool():
    texts = [f"text {i} alpha" if i % 2 else f"text {i} beta" for i in range(12)]
    labels = np.array([[1, 0, 1] if i % 2 else [0, 1, 0] for i in range(12)], dtype=np.int8)
    return ClassificationDataset(texts, labels, ("a", "b", "c"))


def test_an_indicator_matrix_declares_multi_label_without_a_flag():
    pool = _multi_label_pool()
    assert pool.multi_label is True
    assert ClassificationDataset(["x", "y"], np.array([0, 1]), ("a", "b")).multi_label is False
    assert pool.subset([0, 1]).multi_label is True


def test_the_learner_carries_the_datasets_multi_label_to_the_context():
    from labelwise.models import TfidfLogisticRegression

    pool = _multi_label_pool()
    recorder = _Recorder()
    learner = ActiveLearner(TfidfLogisticRegression(), pool, recorder, random_state=0)
    learner.teach([0, 1, 2, 3], [pool.labels[i] for i in range(4)])
    learner.query(2)
    context = recorder.contexts[-1]
    assert context.multi_label is True
    assert context.labels.shape == (4, 3)


def test_load_classification_declares_multi_label_from_list_labels(tmp_path):
    path = tmp_path / "data.jsonl"
    rows = [{"text": "один", "label": ["a", "b"]}, {"text": "два", "label": ["b"]}, {"text": "три", "label": []}]
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    dataset = load_classification(path)
    assert dataset.multi_label is True
    np.testing.assert_array_equal(dataset.labels, [[1, 1], [0, 1], [0, 0]])
    with pytest.raises(DataError, match="multi_label=True"):
        load_classification(path, multi_label=False)


def test_scalar_labels_with_a_separator_stay_single_label(tmp_path):
    path = tmp_path / "data.jsonl"
    rows = [{"text": "x", "label": "a,b"}, {"text": "y", "label": "c"}]
    path.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    dataset = load_classification(path)
    assert dataset.multi_label is False and dataset.label_names == ("a,b", "c")


def test_a_declared_multi_label_pool_overrides_softmax_looking_rows():
    # Rows sum to 1 (they look like a softmax), but the context says multi-label:
    # entropy scores binary per-label entropies, not the categorical entropy.
    probabilities = np.array([[0.5, 0.5], [0.9, 0.1]], dtype=np.float32)
    outputs = ModelOutputs.from_arrays(probabilities=probabilities)
    scores = get_strategy("entropy").score(outputs, _context(2))
    np.testing.assert_allclose(scores, [LN2, -(0.9 * math.log(0.9) + 0.1 * math.log(0.1))], atol=1e-6)
