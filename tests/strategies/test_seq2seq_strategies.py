"""NSP, ENSP, BLEUVar and IDDS on hand-built outputs (no model)."""

import numpy as np
import pytest

from labelwise.errors import ConfigError
from labelwise.outputs import ModelOutputs
from labelwise.strategies import QueryContext, available_strategies, get_strategy
from labelwise.strategies.seq2seq import (
    bleu_variance,
    bleuvar_scores,
    ensp_scores,
    idds_scores,
    nsp_scores,
)


def test_nsp_ranks_least_probable_sequence_first():
    log_probs = np.log(np.array([0.9, 0.2, 0.5, 0.05]))
    outputs = ModelOutputs.from_arrays(sequence_scores=log_probs.astype(np.float32))
    selection = get_strategy("nsp").select(outputs, 2, QueryContext.build(4, random_state=0))
    assert selection.indices.tolist() == [3, 1]
    np.testing.assert_allclose(selection.scores, [0.95, 0.8], atol=1e-6)


def test_nsp_log_kind_gives_same_order_as_probability_kind():
    log_probs = np.array([-0.1, -3.0, -0.7, -1.5])
    assert np.argsort(nsp_scores(log_probs, "log")).tolist() == np.argsort(nsp_scores(log_probs)).tolist()
    np.testing.assert_allclose(nsp_scores(log_probs, "log"), [0.1, 3.0, 0.7, 1.5])
    with pytest.raises(ConfigError):
        nsp_scores(log_probs, "entropy")


def test_ensp_averages_probabilities_over_mc_runs_not_log_probabilities():
    # Row 0: always p=0.5. Row 1: p=0.9 once and p~0 once: mean probability 0.45 < 0.5,
    # so row 1 is more uncertain, although its mean log-probability is far lower too.
    # Row 2: confidently p=0.9 both times.
    mc = np.log(np.array([[0.5, 0.5], [0.9, 1e-9], [0.9, 0.9]]))
    np.testing.assert_allclose(ensp_scores(mc), [0.5, 0.55, 0.1], atol=1e-6)
    outputs = ModelOutputs.from_arrays(mc_sequence_scores=mc.astype(np.float32))
    selection = get_strategy("ensp").select(outputs, 3, QueryContext.build(3, random_state=0))
    assert selection.indices.tolist() == [1, 0, 2]


def test_bleuvar_is_zero_for_identical_generations():
    assert bleu_variance(["the meeting is moved to friday"] * 4) == 0.0
    assert bleu_variance(["", "", ""]) == 0.0


def test_bleuvar_grows_with_disagreement():
    same = ["budget meeting on friday afternoon"] * 3
    one_off = ["budget meeting on friday afternoon", "budget meeting on friday afternoon", "budget meeting on monday"]
    all_differ = ["budget meeting on friday afternoon", "printer moved upstairs", "gas contract draft attached"]
    values = bleuvar_scores(np.array([same, one_off, all_differ], dtype=object))
    assert values[0] == 0.0
    assert 0.0 < values[1] < values[2] <= 1.0


def test_bleuvar_strategy_reads_tuple_rows_as_model_outputs_cache_them():
    rows = np.empty(3, dtype=object)
    rows[0] = ("a b c d", "a b c d")
    rows[1] = ("a b c d", "x y z w")
    rows[2] = ("a b c d", "a b c e")
    outputs = ModelOutputs.from_arrays(mc_generations=rows)
    selection = get_strategy("bleuvar").select(outputs, 1, QueryContext.build(3, random_state=0))
    assert selection.indices.tolist() == [1]


def _cluster_with_outlier(rng):
    centre = np.array([1.0, 1.0, 0.0, 0.0])
    cluster = centre + 0.05 * rng.standard_normal((30, 4))
    outlier = np.array([[0.0, 0.0, 1.5, -1.5]])
    return np.vstack([cluster, outlier])


def test_idds_prefers_a_representative_point_over_an_outlier():
    embeddings = _cluster_with_outlier(np.random.default_rng(0))
    outputs = ModelOutputs.from_arrays(embeddings=embeddings.astype(np.float32))
    selection = get_strategy("idds").select(outputs, 1, QueryContext.build(len(embeddings), random_state=0))
    assert selection.indices[0] != 30
    scores = selection.pool_scores(len(embeddings))
    assert scores[30] == scores.min()


def test_idds_penalises_similarity_to_the_labeled_set():
    # Two equally typical groups; the one already labeled loses.
    rng = np.random.default_rng(1)
    group_a = np.array([1.0, 0.0]) + 0.01 * rng.standard_normal((10, 2))
    group_b = np.array([0.0, 1.0]) + 0.01 * rng.standard_normal((10, 2))
    embeddings = np.vstack([group_a, group_b])
    outputs = ModelOutputs.from_arrays(embeddings=embeddings)
    context = QueryContext.build(20, labeled_indices=[0, 1, 2, 3, 4], random_state=0)
    selection = get_strategy("idds").select(outputs, 3, context)
    assert (selection.indices >= 10).all()


def test_idds_matches_the_pairwise_definition():
    rng = np.random.default_rng(2)
    embeddings = rng.standard_normal((12, 5))
    labeled, unlabeled = np.arange(4), np.arange(4, 12)
    lam = 0.67
    expected = [lam * (embeddings[i] @ embeddings[unlabeled].T).mean()
                - (1 - lam) * (embeddings[i] @ embeddings[labeled].T).mean() for i in unlabeled]
    got = idds_scores(embeddings[unlabeled], embeddings[unlabeled], embeddings[labeled], lam=lam, block_rows=3)
    np.testing.assert_allclose(got, expected, rtol=1e-10)
    normed = embeddings / np.linalg.norm(embeddings, axis=1, keepdims=True)
    cosine = idds_scores(embeddings[unlabeled], embeddings[unlabeled], embeddings[labeled], similarity="cosine")
    np.testing.assert_allclose(cosine, idds_scores(normed[unlabeled], normed[unlabeled], normed[labeled]), rtol=1e-10)


def test_seq2seq_strategies_are_registered_for_the_seq2seq_task():
    names = available_strategies("seq2seq")
    assert {"nsp", "ensp", "bleuvar", "idds", "random"} <= set(names)
    assert "nsp" not in available_strategies("classification")


def test_bleuvar_squares_one_minus_bleu_over_ordered_pairs():
    import sacrebleu

    first, second = "the budget meeting is on friday afternoon", "the budget meeting is on monday afternoon"

    def bleu(hypothesis, reference):
        return sacrebleu.sentence_bleu(hypothesis, [reference], smooth_method="exp").score / 100.0

    forward, backward = bleu(first, second), bleu(second, first)
    assert 0.0 < forward < 1.0 and 0.0 < backward < 1.0  # a partial match: squaring matters
    expected = ((1.0 - forward) ** 2 + (1.0 - backward) ** 2) / 2.0  # Xiao et al. (2020), eq. 5
    assert bleu_variance([first, second]) == pytest.approx(expected, rel=1e-9)
    assert bleu_variance([first, second]) < ((1.0 - forward) + (1.0 - backward)) / 2.0
