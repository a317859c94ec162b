import numpy as np
import pytest

from labelwise.data import load_ag_news_sample
from labelwise.data.datasets import gold_labels
from labelwise.errors import ConfigError
from labelwise.loop import ActiveLearner
from labelwise.models import TfidfLogisticRegression
from labelwise.subsampling import (
    NaiveSubsampler,
    RandomSubsampler,
    Subsampler,
    UPSSubsampler,
    get_subsampler,
    uncertainty_ranks,
)


def _scores(n, seed=0):
    return np.random.default_rng(seed).random(n)


def test_ups_keeps_the_top_gamma_and_about_T_more():
    n = 5000
    scores = _scores(n)
    unlabeled = np.arange(n)
    ups = UPSSubsampler(gamma=0.1, temperature=0.01, rescore_iterations=())
    kept = ups.subsample(unlabeled, iteration=3, previous_scores=scores, rng=np.random.default_rng(1))
    top = np.argsort(-scores)[:500]
    assert set(top) <= set(kept.tolist())
    expected = 0.1 + 0.01 * (1 - np.exp(-0.9 / 0.01))
    assert abs(len(kept) / n - expected) < 0.005


def test_ups_extra_rows_come_from_just_below_the_cut():
    n = 5000
    scores = _scores(n, 2)
    kept = UPSSubsampler(rescore_iterations=()).subsample(np.arange(n), iteration=2, previous_scores=scores,
                                                          rng=np.random.default_rng(0))
    ranks = uncertainty_ranks(scores, np.random.default_rng(0))
    assert np.median(ranks[kept][ranks[kept] >= 0.1]) < 0.13


def test_subsamplers_never_pick_a_labeled_position():
    n = 1000
    scores = _scores(n)
    labeled = np.random.default_rng(3).choice(n, 300, replace=False)
    scores[labeled] = 10.0  # stale high scores of rows since labeled must not matter
    unlabeled = np.setdiff1d(np.arange(n), labeled)
    for subsampler in (UPSSubsampler(rescore_iterations=()), NaiveSubsampler(rescore_iterations=()),
                       RandomSubsampler(rescore_iterations=())):
        kept = subsampler.subsample(unlabeled, iteration=5, previous_scores=scores, rng=np.random.default_rng(0))
        assert not np.intersect1d(kept, labeled).size
        assert np.isin(kept, unlabeled).all()


def test_naive_and_random_keep_exactly_the_fraction():
    unlabeled = np.arange(0, 2000, 2)
    scores = _scores(2000)
    naive = NaiveSubsampler(gamma=0.25, rescore_iterations=()).subsample(
        unlabeled, iteration=1, previous_scores=scores, rng=np.random.default_rng(0))
    assert len(naive) == 250
    assert set(naive) == set(unlabeled[np.argsort(-scores[unlabeled])[:250]])
    rand = RandomSubsampler(gamma=0.25, rescore_iterations=()).subsample(
        unlabeled, iteration=1, previous_scores=scores, rng=np.random.default_rng(0))
    assert len(rand) == 250 and len(np.unique(rand)) == 250


def test_never_scored_rows_come_first():
    scores = _scores(100)
    scores[[7, 42]] = np.nan
    kept = NaiveSubsampler(gamma=0.05, rescore_iterations=()).subsample(
        np.arange(100), iteration=1, previous_scores=scores, rng=np.random.default_rng(0))
    assert {7, 42} <= set(kept.tolist())


def test_rescore_iterations_return_the_whole_unlabeled_pool():
    ups = UPSSubsampler(rescore_iterations=(0, 1, 4, 8))
    unlabeled = np.arange(50, 300)
    for iteration in (0, 1, 4, 8):
        kept = ups.subsample(unlabeled, iteration=iteration, previous_scores=_scores(300), rng=np.random.default_rng(0))
        assert np.array_equal(kept, unlabeled)
    assert len(ups.subsample(unlabeled, iteration=2, previous_scores=_scores(300), rng=np.random.default_rng(0))) < 100


def test_same_seed_same_subsample():
    scores = _scores(800)
    a = UPSSubsampler(rescore_iterations=()).subsample(np.arange(800), iteration=1, previous_scores=scores,
                                                       rng=np.random.default_rng(5))
    b = UPSSubsampler(rescore_iterations=()).subsample(np.arange(800), iteration=1, previous_scores=scores,
                                                       rng=np.random.default_rng(5))
    assert np.array_equal(a, b)


def test_registry_names_and_path(tmp_path):
    assert isinstance(get_subsampler("ups", gamma=0.2), UPSSubsampler)
    assert isinstance(get_subsampler("naive"), NaiveSubsampler)
    assert isinstance(get_subsampler("random_subsample"), RandomSubsampler)
    assert isinstance(get_subsampler("ups"), Subsampler)
    source = tmp_path / "mine.py"
    source.write_text("import numpy as np\nclass Every:\n    def __init__(self, k=3):\n        self.k = k\n"
                      "    def subsample(self, unlabeled_indices, *, iteration, previous_scores, rng):\n"
                      "        return unlabeled_indices[: self.k]\n")
    custom = get_subsampler(f"{source}:Every", k=2)
    assert custom.subsample(np.arange(5), iteration=0, previous_scores=None, rng=None).tolist() == [0, 1]
    with pytest.raises(ConfigError, match="unknown subsampler"):
        get_subsampler("upss")
    with pytest.raises(ConfigError, match="gamma"):
        get_subsampler("ups", gamma=1.5)


class _Recording:
    """Wraps a subsampler and records what it returned each iteration."""

    def __init__(self, inner):
        self.inner = inner
        self.calls = []

    def subsample(self, unlabeled_indices, *, iteration, previous_scores, rng):
        kept = self.inner.subsample(unlabeled_indices, iteration=iteration, previous_scores=previous_scores, rng=rng)
        self.calls.append((iteration, np.array(unlabeled_indices), kept, previous_scores.copy()))
        return kept


def test_ups_inside_an_active_learner_on_ag_news():
    train, _ = load_ag_news_sample()
    pool = train.subset(np.arange(600))
    recorder = _Recording(UPSSubsampler(gamma=0.1, rescore_iterations=(0, 2)))
    learner = ActiveLearner(TfidfLogisticRegression(max_features=3000, embedding_dim=8), pool, "entropy",
                            random_state=0, subsampler=recorder)
    seed = np.arange(0, 600, 30)
    learner.teach(seed, gold_labels(pool, seed))
    for _ in range(4):
        before = learner.previous_scores.copy()
        selection = learner.query(10)
        iteration, unlabeled, kept, _ = recorder.calls[-1]
        labeled = learner.labeled_indices
        assert not np.isin(selection.indices, labeled).any()
        assert not np.isin(kept, labeled).any()
        assert np.isin(selection.indices, kept).all()
        if iteration in (0, 2):
            assert np.array_equal(kept, unlabeled)
            # every unlabeled row got a fresh score from the retrained model
            assert np.isfinite(learner.previous_scores[unlabeled]).all()
            assert not np.allclose(learner.previous_scores[unlabeled], before[unlabeled], equal_nan=True)
        else:
            assert 0.1 * len(unlabeled) <= len(kept) <= 0.16 * len(unlabeled)
            untouched = np.setdiff1d(unlabeled, kept)
            assert np.array_equal(learner.previous_scores[untouched], before[untouched])
        learner.teach(selection.indices, gold_labels(pool, selection.indices))
    outputs = learner.last_outputs
    assert outputs.is_computed("probabilities", recorder.calls[-1][2]).all()
    assert outputs.is_computed("probabilities", np.arange(len(pool))).sum() == len(recorder.calls[-1][2])


@pytest.mark.parametrize("subsampler", [UPSSubsampler(gamma=0.01, temperature=0.001, rescore_iterations=()),
                                        NaiveSubsampler(gamma=0.01, rescore_iterations=()),
                                        RandomSubsampler(gamma=0.01, rescore_iterations=())])
def test_the_subsample_keeps_at_least_the_query_size(subsampler):
    scores = _scores(1000)
    kept = subsampler.subsample(np.arange(1000), iteration=3, previous_scores=scores,
                                rng=np.random.default_rng(0), query_size=50)
    assert len(kept) >= 50 and len(np.unique(kept)) == len(kept)
    small = subsampler.subsample(np.arange(20), iteration=3, previous_scores=scores, rng=np.random.default_rng(0),
                                 query_size=50)
    assert np.array_equal(np.sort(small), np.arange(20))  # fewer unlabeled rows than k: all of them
