"""ActiveLearner: queries, teaching, schedules, reproducibility and persistence."""

from __future__ import annotations

import numpy as np
import pytest

from labelwise.data import ClassificationDataset, TaggingDataset, gold_labels
from labelwise.errors import CapabilityError, DataError, SelectionError
from labelwise.loop import ActiveLearner, StrategySchedule, initial_indices
from labelwise.models import TfidfLogisticRegression


def run(pool, strategy="entropy", seed=0, steps=3, k=10):
    learner = ActiveLearner(TfidfLogisticRegression(), pool.without_labels(), strategy, random_state=seed)
    picks = []
    for _ in range(steps):
        selection = learner.query(k)
        picks.append(selection.indices.tolist())
        learner.teach(selection.indices, gold_labels(pool, selection.indices))
    return learner, picks


def test_first_query_without_labels_uses_the_cold_start_strategy(small_pool):
    pool, _ = small_pool
    learner = ActiveLearner(TfidfLogisticRegression(), pool, "entropy", random_state=0)
    learner.query(5)
    assert learner.history[0].strategy == "random"


def test_queries_return_exactly_k_new_unlabeled_positions(small_pool):
    pool, _ = small_pool
    learner, picks = run(pool, steps=4, k=12)
    flat = [p for batch in picks for p in batch]
    assert all(len(batch) == 12 for batch in picks)
    assert len(set(flat)) == len(flat)
    assert learner.history[1].strategy == "entropy"
    assert sorted(learner.labeled_indices.tolist()) == sorted(flat)


def test_pending_positions_are_not_returned_twice(small_pool):
    pool, _ = small_pool
    learner, _ = run(pool, steps=1)
    first = learner.query(10).indices
    second = learner.query(10).indices
    assert set(first.tolist()).isdisjoint(second.tolist())
    learner.release(first)
    assert set(first.tolist()) <= set(learner.unlabeled_indices.tolist())


def test_same_seed_same_run_different_seed_different_run(small_pool):
    pool, _ = small_pool
    _, first = run(pool, seed=7)
    _, again = run(pool, seed=7)
    _, other = run(pool, seed=8)
    assert first == again
    assert first != other


def test_save_and_load_continue_exactly_as_without(small_pool, tmp_path):
    pool, _ = small_pool
    straight, _ = run(pool, seed=3, steps=2)
    expected = [straight.query(10).indices.tolist()]
    straight.teach(expected[0], gold_labels(pool, expected[0]))
    expected.append(straight.query(10).indices.tolist())

    paused, _ = run(pool, seed=3, steps=2)
    paused.save(tmp_path / "run")
    resumed = ActiveLearner.load(tmp_path / "run", pool.without_labels())
    got = [resumed.query(10).indices.tolist()]
    resumed.teach(got[0], gold_labels(pool, got[0]))
    got.append(resumed.query(10).indices.tolist())
    assert got == expected
    assert [r.selected for r in resumed.history] == [r.selected for r in straight.history]


def test_load_refuses_a_different_pool(small_pool, tmp_path):
    pool, _ = small_pool
    learner, _ = run(pool, steps=1)
    learner.save(tmp_path / "run")
    with pytest.raises(DataError, match="pool differs"):
        ActiveLearner.load(tmp_path / "run", pool.subset(range(299)))


def test_schedule_switches_strategy_by_iteration(small_pool):
    pool, _ = small_pool
    schedule = StrategySchedule({0: "random", 2: "least_confidence"})
    learner, _ = run(pool, strategy=schedule, steps=4)
    assert [r.strategy for r in learner.history] == ["random", "random", "least_confidence", "least_confidence"]


def test_history_records_phase_durations_and_sizes(small_pool):
    pool, _ = small_pool
    learner, _ = run(pool, steps=3)
    second = learner.history[1]
    assert set(second.durations) == {"train", "inference", "selection"}
    assert second.durations["train"] > 0 and second.durations["inference"] > 0
    assert [r.n_labeled for r in learner.history] == [0, 10, 20]


def test_teach_accepts_label_names_and_rejects_unknown_ones(small_pool):
    pool, _ = small_pool
    learner = ActiveLearner(TfidfLogisticRegression(), pool, "entropy", random_state=0)
    selection = learner.query(4)
    names = [pool.label_names[pool.labels[i]] for i in selection.indices]
    learner.teach(selection.indices, names)
    assert learner.labels_of(selection.indices) == [int(pool.labels[i]) for i in selection.indices]
    with pytest.raises(DataError, match="unknown label 'Gossip'"):
        learner.teach([learner.unlabeled_indices[0]], ["Gossip"])


def test_teach_rejects_mismatched_lengths_and_out_of_range_ids(small_pool):
    pool, _ = small_pool
    learner = ActiveLearner(TfidfLogisticRegression(), pool, "entropy", random_state=0)
    with pytest.raises(DataError, match="2 positions but 1 labels"):
        learner.teach([0, 1], [0])
    with pytest.raises(DataError, match="outside 0..3"):
        learner.teach([0], [9])


def test_query_on_an_exhausted_pool_fails_clearly():
    pool = ClassificationDataset(["a", "b"], np.array([0, 1]), ["x", "y"])
    learner = ActiveLearner(TfidfLogisticRegression(), pool, "random", random_state=0)
    learner.teach([0, 1], [0, 1])
    with pytest.raises(SelectionError, match="nothing left"):
        learner.query(1)


def test_initial_indices_one_per_class_covers_every_class(small_pool):
    pool, _ = small_pool
    positions = initial_indices(len(pool), 1, labels=pool.labels, per_class=True, random_state=0)
    assert sorted(pool.labels[positions].tolist()) == [0, 1, 2, 3]
    assert initial_indices(len(pool), 5, random_state=1).tolist() == initial_indices(
        len(pool), 5, random_state=1).tolist()


class _LengthTagger:
    """A stand-in tagging model: enough of the protocol for token-budget queries."""

    def fit(self, dataset):
        self.fitted_ = True
        return self

    def predict(self, dataset):
        return [("O",) * len(s) for s in dataset.tokens]


def test_token_budget_is_met_and_exceeded_by_at_most_one_sentence():
    rng = np.random.default_rng(0)
    sentences = [tuple(f"w{j}" for j in range(int(n))) for n in rng.integers(1, 15, size=60)]
    pool = TaggingDataset(sentences, [("O",) * len(s) for s in sentences])
    learner = ActiveLearner(_LengthTagger(), pool, "random", random_state=0)
    selection = learner.query(50, unit="tokens")
    tokens = pool.token_counts[selection.indices]
    assert tokens.sum() >= 50
    assert tokens[:-1].sum() < 50
    everything = ActiveLearner(_LengthTagger(), pool, "random", random_state=0).query(10_000, unit="tokens")
    assert sorted(everything.indices.tolist()) == list(range(60))


def test_token_seed_reaches_its_budget_and_overshoots_by_less_than_one_sentence():
    token_counts = np.random.default_rng(3).integers(1, 40, size=500)
    for budget in (10, 100, 1000):
        positions = initial_indices(500, budget, token_counts=token_counts, random_state=budget)
        tokens = token_counts[positions]
        assert len(set(positions.tolist())) == len(positions)
        assert tokens.sum() >= budget
        assert tokens.sum() - tokens.max() < budget  # dropping any one sentence falls short


def test_token_seed_rejects_a_budget_beyond_the_pool_and_per_class_mixing():
    token_counts = np.array([3, 4, 5])
    with pytest.raises(SelectionError, match="12 tokens"):
        initial_indices(3, 13, token_counts=token_counts, random_state=0)
    with pytest.raises(SelectionError, match="per-class"):
        initial_indices(3, 2, token_counts=token_counts, per_class=True, labels=np.array([0, 1, 0]))


class _LengthSurprisal:
    """A stand-in language model: 'surprisal' = one-hot text length bucket; records what
    it was prepared on."""

    prepared_on = None

    def prepare(self, pool):
        self.prepared_on = len(pool)

    def surprisal_embeddings(self, dataset):
        buckets = np.minimum(np.array([len(t) // 40 for t in dataset.inputs]), 7)
        return np.eye(8, dtype=np.float32)[buckets]


def test_alps_cold_start_then_least_confidence_beside_a_classifier_without_a_language_model(small_pool, tmp_path):
    pool, _ = small_pool
    language_model = _LengthSurprisal()
    learner = ActiveLearner(TfidfLogisticRegression(), pool.without_labels(), {0: "alps", 1: "least_confidence"},
                            output_options={"language_model": language_model}, random_state=0)
    first = learner.query(8)
    assert language_model.prepared_on == len(pool)
    buckets = np.minimum(np.array([len(pool.inputs[i]) // 40 for i in first.indices]), 7)
    # ALPS on 8 length buckets takes one row per occupied bucket before repeating any.
    occupied = np.unique(np.minimum(np.array([len(t) // 40 for t in pool.inputs]), 7))
    assert set(buckets.tolist()) == set(occupied.tolist())
    learner.teach(first.indices, pool.labels[first.indices])
    learner.query(4)
    assert [record.strategy for record in learner.history] == ["alps", "least_confidence"]
    # The language model is an object: save leaves it out, load takes it again.
    learner.save(tmp_path / "run")
    restored = ActiveLearner.load(tmp_path / "run", pool.without_labels(),
                                  output_options={"language_model": language_model})
    assert restored.output_options["language_model"] is language_model


def test_alps_without_any_language_model_says_what_is_missing(small_pool):
    pool, _ = small_pool
    learner = ActiveLearner(TfidfLogisticRegression(), pool.without_labels(), "alps", random_state=0)
    with pytest.raises(CapabilityError, match="surprisal_embeddings"):
        learner.query(4)
