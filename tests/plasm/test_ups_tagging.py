"""UPS on a tagging pool: scores from the previous iteration (MNLP), enough rows and tokens."""

from __future__ import annotations

import numpy as np
import pytest

from labelwise.errors import ConfigError
from labelwise.subsampling import UPSSubsampler


def test_keeps_at_least_query_size_rows_and_the_top_previous_scores():
    rng = np.random.default_rng(0)
    previous = rng.normal(size=200)  # MNLP scores of the last iteration (higher = more informative)
    unlabeled = np.arange(200)
    ups = UPSSubsampler(gamma=0.05, temperature=0.001)
    candidates = ups.subsample(unlabeled, iteration=1, previous_scores=previous, rng=np.random.default_rng(1),
                               query_size=40)
    assert len(candidates) >= 40
    top = np.argsort(-previous)[:10]  # the top gamma share by the previous scores is always kept
    assert set(top.tolist()) <= set(candidates.tolist())
    # With the previous scores reversed, a different set is kept: they are really used.
    other = ups.subsample(unlabeled, iteration=1, previous_scores=-previous, rng=np.random.default_rng(1),
                          query_size=40)
    assert set(np.argsort(previous)[:10].tolist()) <= set(other.tolist())
    assert len(set(candidates.tolist()) & set(other.tolist())) < len(candidates) // 2


def test_a_token_budget_is_covered_by_the_candidates():
    previous = np.linspace(1.0, 0.0, 100)
    counts = np.full(100, 3)
    counts[:5] = 1  # the five best-scored sentences are short
    candidates = UPSSubsampler(gamma=0.05, temperature=0.001).subsample(
        np.arange(100), iteration=2, previous_scores=previous, rng=np.random.default_rng(0), query_size=1,
        token_counts=counts, query_tokens=30)
    assert counts[candidates].sum() >= 30
    assert set(range(5)) <= set(candidates.tolist())
    with pytest.raises(ConfigError, match="token_counts"):
        UPSSubsampler().subsample(np.arange(10), iteration=2, previous_scores=np.zeros(10),
                                  rng=np.random.default_rng(0), query_tokens=5)


def test_learner_scores_only_the_subsample_with_mnlp_on_a_tagger():
    pytest.importorskip("torch")
    from labelwise.data import load_conll_sample
    from labelwise.loop import ActiveLearner
    from labelwise.models import BiLSTMCRFTagger

    train, _ = load_conll_sample()
    pool = train.subset(range(60))
    seen: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    class Recording(UPSSubsampler):
        def subsample(self, unlabeled_indices, **options):
            candidates = super().subsample(unlabeled_indices, **options)
            seen.append((options["previous_scores"].copy(), np.asarray(unlabeled_indices), candidates))
            return candidates

    learner = ActiveLearner(BiLSTMCRFTagger(word_dim=8, char_dim=4, char_filters=4, hidden=8, epochs=1),
                            pool, "mnlp", random_state=0, subsampler=Recording(gamma=0.1, temperature=0.001))
    for _ in range(3):
        batch = learner.query(5)
        learner.teach(batch.indices, [pool.tags[i] for i in batch.indices])
    previous, unlabeled, candidates = seen[-1]
    scored = np.intersect1d(np.flatnonzero(~np.isnan(previous)), unlabeled)
    assert len(scored) > 0 and 5 <= len(candidates) < len(unlabeled)
    # gamma = 10 % of the unlabeled rows: the best-scored ones of the previous iteration.
    best = scored[np.argsort(-previous[scored])][: int(np.ceil(0.1 * len(unlabeled)))]
    assert set(best.tolist()) <= set(candidates.tolist())


def test_learner_gives_ups_the_token_budget_so_a_query_fills_it():
    pytest.importorskip("torch")
    from labelwise.data import load_conll_sample
    from labelwise.loop import ActiveLearner
    from labelwise.models import BiLSTMCRFTagger

    train, _ = load_conll_sample()
    pool = train.subset(range(60))
    budget = 150
    learner = ActiveLearner(BiLSTMCRFTagger(word_dim=8, char_dim=4, char_filters=4, hidden=8, epochs=1),
                            pool, "mnlp", random_state=0, subsampler=UPSSubsampler(gamma=0.02, temperature=0.001))
    for _ in range(3):
        batch = learner.query(budget, unit="tokens")
        # UPS's own share (gamma) holds fewer tokens than the budget; the query still meets it
        assert pool.token_counts[batch.indices].sum() >= budget
        assert pool.token_counts[batch.candidate_indices].sum() >= budget
        learner.teach(batch.indices, [pool.tags[i] for i in batch.indices])
    assert len(batch.candidate_indices) < len(learner.unlabeled_indices) + len(batch.indices)
