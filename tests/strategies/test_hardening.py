"""Regression tests for the strategy defects of issue #13 (Hardening), each failing on 0a64a1d."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from labelwise.data import ClassificationDataset
from labelwise.errors import CapabilityError, SelectionError
from labelwise.outputs import ModelOutputs
from labelwise.strategies import (
    QueryContext,
    available_strategies,
    get_strategy,
    strategy_class,
    top_k,
)

N_POOL, N_CLASSES, N_SAMPLES, DIM = 60, 3, 5, 8


def _arrays(rng: np.random.Generator, n: int = N_POOL) -> dict[str, np.ndarray]:
    return {
        "probabilities": rng.dirichlet(np.ones(N_CLASSES), size=n).astype(np.float32),
        "mc_probabilities": rng.dirichlet(np.ones(N_CLASSES), size=(n, N_SAMPLES)).astype(np.float32),
        "embeddings": rng.normal(size=(n, DIM)).astype(np.float32),
        "last_layer_features": rng.normal(size=(n, DIM)).astype(np.float32),
        "surprisal_embeddings": rng.gamma(2.0, size=(n, DIM)).astype(np.float32),
    }


def _context(labeled=range(0, 20, 2), n: int = N_POOL, seed: int = 0, **extra) -> QueryContext:
    labeled = np.asarray(list(labeled), dtype=np.int64)
    extra.setdefault("labels", np.arange(len(labeled)) % N_CLASSES)
    return QueryContext.build(n, labeled, random_state=seed, n_classes=N_CLASSES, **extra)


CLASSIFICATION = available_strategies("classification")


# ---- 1. Coreset: exactly k unique rows -----------------------------------------------------

@pytest.mark.parametrize("labeled", [[], [0, 1]], ids=["no labels", "labels"])
def test_coreset_returns_k_unique_rows_when_every_candidate_is_at_distance_zero(labeled):
    embeddings = np.ones((12, 4), dtype=np.float32)  # collapsed embeddings: all rows equal
    outputs = ModelOutputs.from_arrays(embeddings=embeddings)
    k = 12 - len(labeled)  # k = the whole pool of candidates
    selection = get_strategy("coreset").select(outputs, k, QueryContext.build(12, labeled, random_state=3))
    assert sorted(selection.indices.tolist()) == sorted(set(range(12)) - set(labeled))


def test_coreset_takes_each_duplicate_text_once_before_repeating_none():
    distinct = np.eye(3, 4, dtype=np.float32) * 5.0
    embeddings = np.repeat(distinct, 4, axis=0)  # 3 texts, each 4 times
    outputs = ModelOutputs.from_arrays(embeddings=embeddings)
    selection = get_strategy("coreset").select(outputs, 8, QueryContext.build(12, random_state=0))
    picked = selection.indices.tolist()
    assert len(set(picked)) == 8
    assert {p // 4 for p in picked[:3]} == {0, 1, 2}  # the first three picks cover the 3 texts
    assert np.isfinite(selection.scores).all() and np.isfinite(selection.candidate_scores).all()


def test_coreset_refuses_a_nan_embedding_instead_of_picking_it_first():
    embeddings = np.random.default_rng(0).normal(size=(20, 4)).astype(np.float32)
    embeddings[13, 2] = np.nan
    outputs = ModelOutputs.from_arrays(embeddings=embeddings)
    with pytest.raises(SelectionError, match="'embeddings' holds nan at pool position 13"):
        get_strategy("coreset").select(outputs, 3, QueryContext.build(20, [0, 1], random_state=0))


# ---- 2. Non-finite outputs: one check, naming the kind and the pool position ---------------

def _float_kinds(name):
    return [kind for kind in strategy_class(name).requires if kind in _arrays(np.random.default_rng(0), 1)]


NON_FINITE_CASES = [(name, kind) for name in CLASSIFICATION for kind in _float_kinds(name)]


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf], ids=["nan", "inf", "-inf"])
@pytest.mark.parametrize(("name", "kind"), NON_FINITE_CASES)
def test_non_finite_output_raises_selection_error_naming_kind_and_pool_position(name, kind, bad):
    arrays = _arrays(np.random.default_rng(1))
    array = arrays[kind]
    array[37] = bad  # a candidate row (37 is unlabeled)
    outputs = ModelOutputs.from_arrays(**arrays)
    with pytest.raises(SelectionError, match=f"'{kind}' holds -?(nan|inf) at pool position 37"):
        get_strategy(name).select(outputs, 5, _context())


@pytest.mark.parametrize("name", ["coreset", "cal", "dal", "mahalanobis"])
def test_non_finite_labeled_row_is_named_too(name):
    arrays = _arrays(np.random.default_rng(2))
    arrays["embeddings"][4] = np.nan  # a labeled row: these strategies read labeled embeddings
    with pytest.raises(SelectionError, match="pool position 4"):
        get_strategy(name).select(ModelOutputs.from_arrays(**arrays), 5, _context())


def test_non_finite_sparse_features_are_caught_for_badge():
    arrays = _arrays(np.random.default_rng(3))
    features = sp.random(N_POOL, 30, density=0.3, format="csr", random_state=0, dtype=np.float32)
    features[25, features[25].indices[0] if features[25].nnz else 0] = np.nan
    arrays["last_layer_features"] = features.tocsr()
    with pytest.raises(SelectionError, match="'last_layer_features' holds nan at pool position 25"):
        get_strategy("badge").select(ModelOutputs.from_arrays(**arrays), 4, _context())


def test_minus_infinity_log_probability_is_accepted_by_nsp():
    log_probs = np.array([-0.1, -np.inf, -2.0, -0.5], dtype=np.float32)  # -inf: probability 0
    outputs = ModelOutputs.from_arrays(sequence_scores=log_probs)
    selection = get_strategy("nsp").select(outputs, 1, QueryContext.build(4, random_state=0))
    assert selection.indices.tolist() == [1]


def test_finite_check_does_not_copy_or_alter_the_outputs():
    arrays = _arrays(np.random.default_rng(4))
    outputs = ModelOutputs.from_arrays(**arrays)
    before = outputs._arrays["probabilities"]
    get_strategy("entropy").select(outputs, 3, _context())
    assert outputs._arrays["probabilities"] is before
    np.testing.assert_array_equal(before, arrays["probabilities"])


# ---- 3. Softmax-only strategies refuse multi-label outputs ---------------------------------

SOFTMAX_ONLY = {"badge", "egl", "bait", "bald", "batchbald", "cal", "cluster_margin"}


def test_the_softmax_only_strategies_declare_it():
    declared = {name for name in CLASSIFICATION if not strategy_class(name).supports_multi_label}
    assert declared == SOFTMAX_ONLY


def _sigmoid_arrays(seed: int = 5) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    arrays = _arrays(rng)
    arrays["probabilities"] = rng.random((N_POOL, N_CLASSES)).astype(np.float32)  # rows do not sum to 1
    arrays["mc_probabilities"] = rng.random((N_POOL, N_SAMPLES, N_CLASSES)).astype(np.float32)
    return arrays


@pytest.mark.parametrize("name", sorted(SOFTMAX_ONLY))
def test_softmax_only_strategy_refuses_sigmoid_rows(name):
    outputs = ModelOutputs.from_arrays(**_sigmoid_arrays())
    with pytest.raises(CapabilityError, match=f"{name}.*multi-label"):
        get_strategy(name).select(outputs, 4, _context())


@pytest.mark.parametrize("name", sorted(SOFTMAX_ONLY))
def test_softmax_only_strategy_refuses_an_explicit_multi_label_context(name):
    outputs = ModelOutputs.from_arrays(**_arrays(np.random.default_rng(6)))  # rows sum to 1 here
    with pytest.raises(CapabilityError, match="multi_label=True"):
        get_strategy(name).select(outputs, 4, _context(multi_label=True))


@pytest.mark.parametrize("name", sorted(SOFTMAX_ONLY))
def test_softmax_only_strategy_refuses_a_multi_label_pool(name):
    outputs = ModelOutputs.from_arrays(**_arrays(np.random.default_rng(7)))
    outputs.pool = ClassificationDataset([f"text {i}" for i in range(N_POOL)], None, ("a", "b", "c"),
                                         multi_label=True)
    with pytest.raises(CapabilityError, match="multi-label"):
        get_strategy(name).select(outputs, 4, _context())


def test_multi_label_indicator_labels_are_a_signal_too():
    outputs = ModelOutputs.from_arrays(**_arrays(np.random.default_rng(8)))
    indicators = np.random.default_rng(0).integers(0, 2, size=(10, N_CLASSES))
    with pytest.raises(CapabilityError, match="multi-label"):
        get_strategy("bald").select(outputs, 4, _context(labels=indicators))


@pytest.mark.parametrize("name", ["least_confidence", "entropy", "breaking_ties", "coreset", "random"])
def test_strategies_that_handle_multi_label_still_accept_it(name):
    outputs = ModelOutputs.from_arrays(**_sigmoid_arrays())
    selection = get_strategy(name).select(outputs, 4, _context(multi_label=True))
    assert len(set(selection.indices.tolist())) == 4


def test_an_explicit_single_label_context_wins_over_the_row_sums():
    arrays = _arrays(np.random.default_rng(9))
    arrays["probabilities"] = arrays["probabilities"] * 0.9  # rows sum to 0.9: looks multi-label
    outputs = ModelOutputs.from_arrays(**arrays)
    selection = get_strategy("egl").select(outputs, 4, _context(multi_label=False))
    assert len(selection) == 4


# ---- 4. One class; malformed contexts ------------------------------------------------------

def test_breaking_ties_with_one_class_raises_a_clear_selection_error():
    outputs = ModelOutputs.from_arrays(probabilities=np.ones((6, 1), dtype=np.float32))
    with pytest.raises(SelectionError, match="two most probable classes.*1 column"):
        get_strategy("breaking_ties").select(outputs, 2, QueryContext.build(6, random_state=0))


@pytest.mark.parametrize(
    ("labeled", "candidates", "message"),
    [
        ([0, 1], [2, 3, 3, 4], "candidate_indices lists pool position 3 more than once"),
        ([0, 1, 1], [2, 3], "labeled_indices lists pool position 1 more than once"),
        ([0, 1], [1, 2, 3], "pool position 1 is both labeled and a candidate"),
        ([0], [2, 10], "position 10, outside the pool"),
        ([-1], [2, 3], "position -1, outside the pool"),
        ([0], [[2, 3]], "1-D array of integer pool positions"),
        ([0], [2.0, 3.0], "1-D array of integer pool positions"),
    ],
)
def test_query_context_refuses_malformed_positions(labeled, candidates, message):
    with pytest.raises(SelectionError, match=message):
        QueryContext.build(10, labeled, candidates, random_state=0)
    with pytest.raises(SelectionError, match=message):
        QueryContext(10, np.asarray(labeled), np.asarray(candidates), np.random.default_rng(0))


def test_duplicate_candidates_can_no_longer_produce_a_duplicate_pick():
    outputs = ModelOutputs.from_arrays(probabilities=np.full((5, 2), 0.5, dtype=np.float32))
    with pytest.raises(SelectionError, match="more than once"):
        get_strategy("entropy").select(outputs, 2, QueryContext.build(5, [], [1, 1, 2], random_state=0))


# ---- 5. Ties in top_k are broken by the run's generator ------------------------------------

def test_untrained_model_does_not_always_query_the_first_rows():
    uniform = np.full((100, 4), 0.25, dtype=np.float32)  # an untrained model: every row ties
    outputs = ModelOutputs.from_arrays(probabilities=uniform)
    picks = [tuple(get_strategy("entropy").select(outputs, 5, QueryContext.build(100, random_state=seed)).indices)
             for seed in range(10)]
    assert len(set(picks)) == 10  # ten seeds, ten different batches
    assert all(set(p) != set(range(5)) for p in picks)
    again = get_strategy("entropy").select(outputs, 5, QueryContext.build(100, random_state=3)).indices
    assert tuple(again) == picks[3]  # the same seed still gives the same selection


def test_top_k_draws_only_from_the_tied_boundary_group():
    scores = np.array([1.0, 3.0, 3.0, 9.0, 3.0, 3.0, 0.5, 7.0])
    seen = set()
    for seed in range(40):
        chosen = top_k(scores, 4, np.random.default_rng(seed))
        assert chosen[:2].tolist() == [3, 7]  # strictly better rows always, best first
        assert set(chosen[2:].tolist()) <= {1, 2, 4, 5}
        seen |= set(chosen[2:].tolist())
    assert seen == {1, 2, 4, 5}  # every tied row gets its chance
    assert top_k(scores, 4).tolist() == [3, 7, 1, 2]  # without a generator: lowest position


def test_top_k_orders_equal_scores_at_random_but_reproducibly():
    scores = np.zeros(6)
    orders = {tuple(top_k(scores, 6, np.random.default_rng(seed))) for seed in range(20)}
    assert len(orders) > 1 and all(sorted(order) == list(range(6)) for order in orders)
    assert top_k(scores, 6, np.random.default_rng(1)).tolist() == top_k(scores, 6, np.random.default_rng(1)).tolist()


# ---- 6. Tests that wrong code used to pass -------------------------------------------------

def test_cal_scores_kl_from_the_neighbour_to_the_candidate_not_the_reverse():
    # One labeled neighbour q. Candidate 1 puts almost no mass where q puts 0.1, so
    # KL(q || p1) is large while KL(p1 || q) is small; candidate 2 is the opposite.
    q = [0.9, 0.1]
    p_sharp, p_flat = [0.9999, 0.0001], [0.5, 0.5]
    probabilities = np.array([q, p_sharp, p_flat], dtype=np.float64)
    embeddings = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
    outputs = ModelOutputs.from_arrays(probabilities=probabilities, embeddings=embeddings)
    context = QueryContext.build(3, [0], random_state=0, labels=np.array([0]))
    selection = get_strategy("cal", n_neighbors=1).select(outputs, 1, context)

    def kl(a, b):
        a, b = np.asarray(a), np.asarray(b)
        return float((a * np.log(a / b)).sum())

    assert kl(q, p_sharp) > kl(q, p_flat) and kl(p_sharp, q) < kl(p_flat, q)  # the case is asymmetric
    assert selection.indices.tolist() == [1]
    scores = dict(zip(selection.candidate_indices.tolist(), selection.candidate_scores, strict=True))
    assert scores[1] == pytest.approx(kl(q, p_sharp), rel=1e-6)
    assert scores[2] == pytest.approx(kl(q, p_flat), rel=1e-6)


def test_badge_samples_the_next_centre_by_squared_distance():
    # Gradient embeddings differ only through the features: row 0 is the longest (the first
    # centre), 90 rows lie at distance 1 from it and one row (91) at distance 10. k-means++
    # takes row 91 second with probability 100 / (100 + 90) = 0.53 under squared distances,
    # 10 / (10 + 90) = 0.10 under plain distances.
    features = np.zeros((92, 2), dtype=np.float32)
    features[0] = [30.0, 0.0]
    features[1:91] = [29.0, 0.0]
    features[91] = [20.0, 0.0]
    probabilities = np.tile(np.array([[0.6, 0.4]], dtype=np.float32), (92, 1))
    outputs = ModelOutputs.from_arrays(probabilities=probabilities, last_layer_features=features)
    runs = 300
    far = 0
    for seed in range(runs):
        selection = get_strategy("badge").select(outputs, 2, QueryContext.build(92, random_state=seed))
        assert selection.indices[0] == 0
        far += int(selection.indices[1] == 91)
    # Binomial(300, 0.53) lies in [0.40, 0.66] with probability > 0.999; Binomial(300, 0.10) never does.
    assert 0.40 <= far / runs <= 0.66
