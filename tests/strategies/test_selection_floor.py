"""Selection at the floor (#22): scoring the stored pool array in place picks exactly what
scoring a gathered copy of the candidate rows picks; the two-pass top k equals a plain
one; k-means and Coreset against plain references."""

from __future__ import annotations

import numpy as np
import pytest

from labelwise.outputs import ModelOutputs
from labelwise.strategies import QueryContext, get_strategy
from labelwise.strategies import _rowwise as rowwise
from labelwise.strategies.base import top_k

UNCERTAINTY = ["least_confidence", "entropy", "breaking_ties"]


class _GatherOnly:
    """ModelOutputs without ``stored``: strategies must gather the candidate rows."""

    def __init__(self, outputs: ModelOutputs) -> None:
        self._outputs = outputs

    def get(self, kind, positions=None):
        return self._outputs.get(kind, positions)

    def require(self, kinds, who="x"):
        self._outputs.require(kinds, who)


def _probabilities(rng, n, n_classes, quantised):
    p = rng.random((n, n_classes)).astype(np.float32)
    if quantised:  # few distinct values: many exact ties in every score
        p = np.round(p * 3) + 1
    return (p / p.sum(axis=1, keepdims=True)).astype(np.float32)


def _both(name, arrays, labeled, k, seed, **params):
    outputs = ModelOutputs.from_arrays(**arrays)
    n = len(next(iter(arrays.values())))
    picks = []
    for source in (outputs, _GatherOnly(outputs)):
        context = QueryContext.build(n, labeled, random_state=seed)
        picks.append(get_strategy(name, **params).select(source, k, context))
    return picks


@pytest.mark.parametrize("name", UNCERTAINTY)
@pytest.mark.parametrize("quantised", [False, True])
@pytest.mark.parametrize("n_classes", [2, 4, 20])
def test_in_place_scoring_picks_exactly_what_gathering_picks(name, quantised, n_classes):
    rng = np.random.default_rng(n_classes + 7 * quantised)
    n = 30_000  # above the two-pass top-k threshold for k = 50
    arrays = {"probabilities": _probabilities(rng, n, n_classes, quantised)}
    labeled = rng.choice(n, 700, replace=False)
    for k in (1, 50, 400):
        in_place, gathered = _both(name, arrays, labeled, k, seed=3)
        np.testing.assert_array_equal(in_place.indices, gathered.indices)
        np.testing.assert_array_equal(in_place.scores, gathered.scores)
        np.testing.assert_array_equal(in_place.candidate_scores, gathered.candidate_scores)
        assert not np.isin(in_place.indices, labeled).any()


@pytest.mark.parametrize("name", UNCERTAINTY)
def test_multi_label_in_place_equals_gather(name):
    rng = np.random.default_rng(5)
    arrays = {"probabilities": np.round(rng.random((20_000, 6)).astype(np.float32) * 4) / 4}
    labeled = rng.choice(20_000, 300, replace=False)
    in_place, gathered = _both(name, arrays, labeled, 60, seed=1, multi_label=True)
    np.testing.assert_array_equal(in_place.indices, gathered.indices)
    np.testing.assert_array_equal(in_place.candidate_scores, gathered.candidate_scores)


@pytest.mark.parametrize("quantised", [False, True])
def test_bald_in_place_equals_gather(quantised):
    rng = np.random.default_rng(11)
    mc = rng.random((20_000, 5, 3)).astype(np.float32)
    if quantised:
        mc = np.round(mc * 2) + 1
    mc = (mc / mc.sum(axis=2, keepdims=True)).astype(np.float32)
    labeled = rng.choice(20_000, 500, replace=False)
    in_place, gathered = _both("bald", {"mc_probabilities": mc}, labeled, 80, seed=2)
    np.testing.assert_array_equal(in_place.indices, gathered.indices)
    np.testing.assert_array_equal(in_place.candidate_scores, gathered.candidate_scores)


def test_in_place_path_is_taken_and_never_writes_the_stored_array():
    rng = np.random.default_rng(0)
    probabilities = _probabilities(rng, 5000, 4, False)
    outputs = ModelOutputs.from_arrays(probabilities=probabilities.copy())
    context = QueryContext.build(5000, np.arange(10), random_state=0)
    stored = outputs.stored("probabilities")
    assert not stored.flags.writeable
    assert np.shares_memory(stored, outputs.get("probabilities", None)) is False  # get copies
    assert rowwise.stored_rows(outputs, "probabilities", context) is not None
    get_strategy("entropy").select(outputs, 20, context)
    np.testing.assert_array_equal(outputs.stored("probabilities"), probabilities)


def test_unordered_or_few_candidates_fall_back_to_gathering():
    outputs = ModelOutputs.from_arrays(probabilities=np.full((100, 2), 0.5, dtype=np.float32))
    few = QueryContext.build(100, [], candidate_indices=np.arange(10), random_state=0)
    unordered = QueryContext.build(100, [], candidate_indices=np.arange(100)[::-1].copy(), random_state=0)
    assert rowwise.stored_rows(outputs, "probabilities", few) is None
    assert rowwise.stored_rows(outputs, "probabilities", unordered) is None


def _plain_top_k(scores, k, rng):
    """base.top_k's contract written with a full sort of the candidates' positions."""
    order = np.argsort(-scores, kind="stable")
    threshold = scores[order[k - 1]]
    above = np.flatnonzero(scores > threshold)
    tied = np.flatnonzero(scores == threshold)
    if len(above) + len(tied) == k:  # no tie crosses the boundary: the set, in position order
        chosen = np.sort(np.concatenate([above, tied]))
    else:  # the boundary group is drawn from
        chosen = np.concatenate([above, rng.choice(tied, k - len(above), replace=False)])
    values = scores[chosen]
    ordered = np.sort(values)
    tie_order = rng.permutation(len(chosen)) if (ordered[1:] == ordered[:-1]).any() else chosen
    return chosen[np.lexsort((tie_order, -values))]


@pytest.mark.parametrize("levels", [3, 50, None])
def test_two_pass_top_k_equals_a_full_sort(levels):
    rng = np.random.default_rng(4)
    scores = rng.random(100_003).astype(np.float32)
    if levels:
        scores = np.floor(scores * levels)
    scores[rng.choice(len(scores), 1000, replace=False)] = -np.inf
    for k in (1, 10, 333):
        np.testing.assert_array_equal(top_k(scores, k, np.random.default_rng(9)),
                                      _plain_top_k(scores, k, np.random.default_rng(9)))


def test_kmeans_inertia_is_within_one_percent_of_scikit_learn_on_blobs():
    from sklearn.cluster import KMeans
    from sklearn.datasets import make_blobs

    from labelwise.strategies._geometry import kmeans

    points, _ = make_blobs(n_samples=6000, centers=40, n_features=16, cluster_std=2.0, random_state=0)
    points = points.astype(np.float32)
    labels, centres = kmeans(points, 40, seed=0)
    ours = float(((points - centres[labels]) ** 2).sum())
    theirs = KMeans(40, n_init=1, random_state=0).fit(points).inertia_
    assert ours <= 1.01 * theirs
    assert len(np.unique(labels)) == 40


def test_kmeans_never_switches_to_minibatch_unless_asked(monkeypatch):
    import sklearn.cluster

    from labelwise.strategies._geometry import kmeans

    def refuse(*args, **kwargs):
        raise AssertionError("mini-batch k-means was not asked for")

    monkeypatch.setattr(sklearn.cluster, "MiniBatchKMeans", refuse)
    points = np.random.default_rng(0).standard_normal((30_000, 4)).astype(np.float32)
    labels, centres = kmeans(points, 5, seed=1)
    assert centres.shape == (5, 4) and labels.shape == (30_000,)


def _plain_coreset(points, labeled, k):
    """Greedy k-center as in Sener & Savarese: distances recomputed from scratch, float64."""
    points = points.astype(np.float64)
    centres = list(labeled)
    candidates = [i for i in range(len(points)) if i not in set(labeled)]
    chosen = []
    for _ in range(k):
        reference = points[centres]
        nearest = ((points[candidates][:, None, :] - reference[None, :, :]) ** 2).sum(axis=2).min(axis=1)
        pick = candidates[int(np.argmax(nearest))]
        chosen.append(pick)
        centres.append(pick)
        candidates.remove(pick)
    return chosen


def test_coreset_picks_equal_a_plain_greedy_k_center():
    rng = np.random.default_rng(3)
    points = rng.standard_normal((600, 8)).astype(np.float32)
    labeled = rng.choice(600, 20, replace=False).tolist()
    outputs = ModelOutputs.from_arrays(embeddings=points)
    selection = get_strategy("coreset").select(outputs, 25, QueryContext.build(600, labeled, random_state=0))
    assert selection.indices.tolist() == _plain_coreset(points, labeled, 25)


@pytest.mark.parametrize("n_labeled", [0, 15])
@pytest.mark.parametrize("subset", [False, True])
def test_coreset_on_the_stored_pool_equals_coreset_on_gathered_candidates(n_labeled, subset):
    rng = np.random.default_rng(8)
    points = np.round(rng.standard_normal((3000, 6)).astype(np.float32) * 2) / 2  # ties
    labeled = rng.choice(3000, n_labeled, replace=False)
    unlabeled = np.setdiff1d(np.arange(3000), labeled)
    candidates = unlabeled[rng.random(len(unlabeled)) < 0.8] if subset else unlabeled
    outputs = ModelOutputs.from_arrays(embeddings=points)
    assert rowwise.stored_rows(outputs, "embeddings", QueryContext.build(3000, labeled, candidates)) is not None
    picks = []
    for source in (outputs, _GatherOnly(outputs)):
        context = QueryContext.build(3000, labeled, candidates, random_state=4)
        picks.append(get_strategy("coreset").select(source, 40, context))
    np.testing.assert_array_equal(picks[0].indices, picks[1].indices)
    np.testing.assert_array_equal(picks[0].scores, picks[1].scores)
    np.testing.assert_array_equal(picks[0].candidate_indices, picks[1].candidate_indices)
    np.testing.assert_allclose(picks[0].candidate_scores, picks[1].candidate_scores, rtol=1e-5, atol=1e-5)
    assert np.isin(picks[0].indices, candidates).all()


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("row", [0, 12_345, 40_960])  # the last row lies past the BLAS view
def test_non_finite_probabilities_in_a_large_pool_name_their_position(bad, row):
    from labelwise.errors import SelectionError

    probabilities = np.full((40_960, 3), 1 / 3, dtype=np.float32)
    probabilities = np.concatenate([probabilities, probabilities[:1]])  # size not a multiple of 1024
    probabilities[row, 1] = bad
    outputs = ModelOutputs.from_arrays(probabilities=probabilities)
    context = QueryContext.build(len(probabilities), np.arange(5), random_state=0)
    with pytest.raises(SelectionError, match=f"pool position {row}"):
        get_strategy("least_confidence").select(outputs, 10, context)


def test_reassigned_candidates_are_rechecked_for_order():
    outputs = ModelOutputs.from_arrays(probabilities=np.full((100, 2), 0.5, dtype=np.float32))
    context = QueryContext.build(100, [], random_state=0)
    assert context.candidates_increasing is True
    assert rowwise.stored_rows(outputs, "probabilities", context) is not None
    context.candidate_indices = np.arange(100)[::-1].copy()
    assert context.candidates_increasing is None
    assert rowwise.stored_rows(outputs, "probabilities", context) is None
