"""Random, Least Confidence, Entropy and Breaking Ties on hand-built probabilities."""

from __future__ import annotations

import numpy as np
import pytest

from labelwise.errors import CapabilityError, ConfigError, SelectionError
from labelwise.outputs import ModelOutputs
from labelwise.strategies import QueryContext, get_strategy, top_k
from labelwise.strategies import scores as heuristics

PROBABILITIES = np.array(
    [
        [0.98, 0.01, 0.01],  # 0 confident
        [0.34, 0.33, 0.33],  # 1 nearly uniform: highest entropy, lowest confidence
        [0.50, 0.50, 0.00],  # 2 an exact tie between two classes: smallest margin
        [0.60, 0.20, 0.20],  # 3 moderately confident
        [0.45, 0.40, 0.15],  # 4 small margin
    ],
    dtype=np.float32,
)


def select(name, k, labeled=(), probabilities=PROBABILITIES, seed=0, **params):
    outputs = ModelOutputs.from_arrays(probabilities=probabilities)
    context = QueryContext.build(len(probabilities), labeled, random_state=seed)
    return get_strategy(name, **params).select(outputs, k, context)


def test_least_confidence_picks_the_flattest_row_first():
    assert select("least_confidence", 2).indices.tolist() == [1, 4]


def test_entropy_ranks_uniform_above_a_two_way_tie_and_confident_last():
    selection = select("entropy", 5)
    assert selection.indices[0] == 1
    assert selection.indices[-1] == 0
    assert np.all(np.diff(selection.scores) <= 0)


def test_breaking_ties_picks_the_exact_tie_first_and_its_score_is_highest():
    selection = select("breaking_ties", 2)
    assert selection.indices.tolist() == [2, 1]
    # higher = more informative: the tie (margin 0) scores above the confident row.
    scores = heuristics.margin(PROBABILITIES)
    assert scores[2] == pytest.approx(0.0) and scores[0] < scores[3] < scores[4]


def test_entropy_of_zero_probabilities_is_finite_and_correct():
    values = heuristics.entropy(np.array([[1.0, 0.0], [0.5, 0.5]], dtype=np.float32))
    assert np.all(np.isfinite(values))
    assert values[0] == pytest.approx(0.0)
    assert values[1] == pytest.approx(np.log(2), rel=1e-6)


def test_float16_probabilities_are_scored_in_float32_without_renormalising():
    half = PROBABILITIES.astype(np.float16)
    assert select("entropy", 1, probabilities=half).indices.tolist() == [1]
    assert heuristics.least_confidence(half).dtype == np.float32


def test_bald_heuristic_is_mutual_information():
    agree = np.tile([[0.5, 0.5]], (4, 1))  # every sample uncertain: MI = 0
    disagree = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [0.0, 1.0]])  # confident, conflicting
    values = heuristics.bald(np.stack([agree, disagree]))
    assert values[0] == pytest.approx(0.0, abs=1e-6)
    assert values[1] == pytest.approx(np.log(2), rel=1e-5)


def test_labeled_rows_are_never_selected():
    selection = select("entropy", 3, labeled=[1, 2])
    assert set(selection.indices.tolist()).isdisjoint({1, 2})
    assert selection.indices.tolist() == [4, 3, 0]


def test_random_is_reproducible_and_seed_dependent():
    many = np.full((200, 2), 0.5, dtype=np.float32)
    first = select("random", 10, probabilities=many, seed=3).indices
    again = select("random", 10, probabilities=many, seed=3).indices
    other = select("random", 10, probabilities=many, seed=4).indices
    assert first.tolist() == again.tolist()
    assert first.tolist() != other.tolist()
    assert len(set(first.tolist())) == 10


def test_multi_label_entropy_scores_rows_near_one_half_highest():
    multi = np.array([[0.9, 0.05, 0.95], [0.5, 0.45, 0.55], [0.99, 0.99, 0.01]], dtype=np.float32)
    for name in ("entropy", "least_confidence", "breaking_ties"):
        assert select(name, 1, probabilities=multi, multi_label=True).indices.tolist() == [1], name


def test_candidate_scores_cover_every_candidate():
    selection = select("least_confidence", 2, labeled=[0])
    assert selection.candidate_indices.tolist() == [1, 2, 3, 4]
    expected = heuristics.least_confidence(PROBABILITIES)[[1, 2, 3, 4]]
    np.testing.assert_allclose(selection.candidate_scores, expected, rtol=1e-6)
    pool_scores = selection.pool_scores(5)
    assert np.isnan(pool_scores[0]) and pool_scores[1] == pytest.approx(expected[0])


def test_k_larger_than_candidates_fails_before_work():
    with pytest.raises(SelectionError, match="only 3 unlabeled candidates"):
        select("entropy", 4, labeled=[0, 1])


def test_missing_probabilities_give_capability_error():
    outputs = ModelOutputs.from_arrays(embeddings=np.zeros((5, 3), dtype=np.float32))
    context = QueryContext.build(5, random_state=0)
    with pytest.raises(CapabilityError, match="needs \\['probabilities'\\]"):
        get_strategy("entropy").select(outputs, 1, context)


def test_nan_scores_are_reported_not_sorted_last():
    broken = PROBABILITIES.copy()
    broken[3] = np.nan
    with pytest.raises(SelectionError, match="'probabilities' holds nan at pool position 3"):
        select("entropy", 1, probabilities=broken)


def test_unknown_strategy_suggests_close_names():
    with pytest.raises(ConfigError, match="Did you mean 'entropy'"):
        get_strategy("entropi")


def test_aliases_resolve_to_the_same_strategy():
    assert get_strategy("margin").name == "breaking_ties"
    assert get_strategy("LC").name == "least_confidence"


def test_strategy_loaded_from_a_file_path(tmp_path):
    path = tmp_path / "mine.py"
    path.write_text(
        "import numpy as np\n"
        "from labelwise.strategies import ScoringStrategy\n"
        "class Shortest(ScoringStrategy):\n"
        "    name = 'shortest'\n"
        "    def score(self, outputs, context):\n"
        "        return -context.candidate_indices.astype(float)\n"
    )
    selection = select(f"{path}:Shortest", 2)
    assert selection.indices.tolist() == [0, 1]
    with pytest.raises(ConfigError, match="has no 'Missing'"):
        get_strategy(f"{path}:Missing")


@pytest.mark.parametrize("k", [1, 5, 50, 199])
def test_top_k_equals_a_full_stable_sort_with_and_without_boundary_ties(k):
    rng = np.random.default_rng(k)
    for scores in (rng.random(200), rng.integers(0, 7, size=200).astype(float)):  # distinct, then many ties
        expected = np.lexsort((np.arange(200), -scores))[:k]
        assert top_k(scores, k).tolist() == expected.tolist()


def test_multi_label_rows_are_detected_on_a_large_pool():
    rng = np.random.default_rng(0)
    probabilities = rng.random((50_000, 3)).astype(np.float32)  # independent sigmoids
    probabilities[:, 0] = 0.5  # label 0 undecided on every row, the others mostly decided
    probabilities[7, 1:] = 0.5  # row 7 undecided on every label
    assert select("least_confidence", 1, probabilities=probabilities).indices.tolist() == [7]


def test_top_k_breaks_ties_by_position_and_orders_best_first():
    scores = np.array([0.1, 0.9, 0.5, 0.9, 0.5, 0.5])
    assert top_k(scores, 3).tolist() == [1, 3, 2]
    assert top_k(scores, 4).tolist() == [1, 3, 2, 4]
    assert top_k(scores, 6).tolist() == [1, 3, 2, 4, 5, 0]
