"""Aggregation: Dawid-Skene recovers known confusion matrices; votes; tagging; summaries;
teaching the aggregate with its confidence."""

from __future__ import annotations

import numpy as np
import pytest

from labelwise.annotators import (
    Annotator,
    aggregate,
    aggregate_tags,
    confusion_priors,
    dawid_skene,
    majority_vote,
    rouge_l,
    summary_consensus,
    teach_aggregate,
    update_reliability,
    vote_matrix,
    weighted_vote,
)
from labelwise.errors import DataError


def _simulate(confusions: np.ndarray, prior: np.ndarray, n_items: int, seed: int, missing: float = 0.0):
    rng = np.random.default_rng(seed)
    truth = rng.choice(len(prior), size=n_items, p=prior)
    votes = np.empty((n_items, len(confusions)), dtype=np.int64)
    for j, confusion in enumerate(confusions):
        cumulative = confusion[truth].cumsum(axis=1)
        votes[:, j] = (rng.random((n_items, 1)) > cumulative).sum(axis=1)
    votes[rng.random(votes.shape) < missing] = -1
    return truth, votes


def _random_confusion(rng: np.random.Generator, n_classes: int, accuracy: float) -> np.ndarray:
    """Rows with ``accuracy`` on the diagonal and the rest spread unevenly (class-dependent)."""
    off = rng.dirichlet(np.ones(n_classes - 1), size=n_classes) * (1 - accuracy)
    matrix = np.empty((n_classes, n_classes))
    for k in range(n_classes):
        matrix[k] = np.insert(off[k], k, accuracy)
    return matrix


def test_dawid_skene_recovers_known_confusion_matrices_and_beats_majority():
    # 8000 items, 4 classes (prior 0.3/0.3/0.2/0.2), 5 annotators (accuracy 0.9 .. 0.55),
    # 30 % of votes missing. The rarest class has ~1600 items, so each row of a confusion
    # matrix rests on ~1100 votes: an entry p has standard error sqrt(p(1-p)/1100) <= 0.015.
    # The tolerance 0.06 is 4 standard errors (the max over 80 entries, plus the error of
    # the latent labels themselves and the < 0.001 bias of the 2/1 smoothing). Measured
    # over data seeds 0-7: max error 0.023-0.038, class prior within 0.012.
    rng = np.random.default_rng(0)
    accuracies = [0.9, 0.8, 0.7, 0.6, 0.55]
    truth_confusions = np.stack([_random_confusion(rng, 4, a) for a in accuracies])
    prior = np.array([0.3, 0.3, 0.2, 0.2])
    truth, votes = _simulate(truth_confusions, prior, 8000, seed=1, missing=0.3)
    result = dawid_skene(votes, 4)
    assert result.converged
    assert np.abs(result.confusions - truth_confusions).max() < 0.06
    assert np.abs(result.class_prior - prior).max() < 0.03
    ds_accuracy = (result.labels == truth).mean()
    majority_accuracy = (majority_vote(votes, 4).labels == truth).mean()
    assert ds_accuracy > majority_accuracy + 0.02
    # the confidence is calibrated: among items with confidence >= 0.9, >= 0.85 are right
    sure = result.confidence >= 0.9
    assert (result.labels[sure] == truth[sure]).mean() > 0.85


def test_dawid_skene_finds_an_adversarial_annotator_that_majority_follows():
    # annotator 0 always answers (true + 1) mod 3: perfectly informative, never right.
    rng = np.random.default_rng(3)
    truth = rng.integers(0, 3, 1500)
    votes = np.stack([(truth + 1) % 3, truth, truth], axis=1)
    flip = rng.random((1500, 2)) < 0.35
    votes[:, 1:][flip] = rng.integers(0, 3, flip.sum())
    result = dawid_skene(votes, 3)
    assert result.confusions[0][np.arange(3), (np.arange(3) + 1) % 3].min() > 0.9
    assert (result.labels == truth).mean() > 0.95


def test_items_without_votes_get_no_label_and_the_prior():
    votes = np.array([[0, 0], [1, 1], [-1, -1]])
    result = dawid_skene(votes, 2)
    assert result.labels[2] == -1 and result.confidence[2] == 0.0
    assert result.labeled.tolist() == [True, True, False]


def test_weighted_vote_lets_one_reliable_annotator_outvote_two_poor_ones():
    votes = np.array([[2, 0, 0]])
    assert majority_vote(votes, 3).labels[0] == 0
    assert weighted_vote(votes, 3, [0.98, 0.4, 0.4]).labels[0] == 2


def test_update_reliability_counts_agreement_on_overlapping_items_only():
    votes = np.array([[0, 0], [1, 1], [1, 0], [0, -1]])
    people = [Annotator("a", prior_accuracy=0.5), Annotator("b", prior_accuracy=0.5)]
    result = majority_vote(votes, 2)
    update_reliability(people, votes, result)
    assert people[0].n_compared == 3 and people[1].n_compared == 3
    # item 2 is a tie (0.5 each): each gets 0.5 agreement there
    assert people[0].agreements == pytest.approx(2.5)


def test_vote_matrix_builds_from_store_triples_and_refuses_unknown_labels():
    triples = [(10, "alice", "Sports"), (10, "bob", "World"), (11, "alice", 1), (99, "alice", "World")]
    votes = vote_matrix(triples, [10, 11], ["alice", "bob"], ["World", "Sports"])
    assert votes.tolist() == [[1, 0], [1, -1]]
    with pytest.raises(DataError, match="unknown label 'Cars'"):
        vote_matrix([(10, "alice", "Cars")], [10], ["alice"], ["World", "Sports"])


def test_token_level_aggregation_repairs_iob2_and_rejects_wrong_lengths():
    names = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
    sentences = [
        {"a": ["B-PER", "I-PER", "O"], "b": ["B-PER", "I-PER", "O"], "c": ["O", "I-PER", "O"]},
        {"a": ["O", "I-LOC"], "b": ["O", "I-LOC"], "c": ["O", "O"]},
    ]
    result = aggregate_tags(sentences, ["a", "b", "c"], names, method="majority")
    assert result.tags == [("B-PER", "I-PER", "O"), ("O", "B-LOC")]
    assert result.confidence.shape == (2,)
    with pytest.raises(DataError, match="2 tags for 3 tokens"):
        aggregate_tags([{"a": ["O", "O", "O"], "b": ["O", "O"]}], ["a", "b"], names)


def test_summary_consensus_picks_the_medoid_and_scores_agreement():
    texts = {"a": "stocks fall on rate fears", "b": "stocks fall as rate fears grow", "c": "football team wins cup"}
    result = summary_consensus([texts])
    assert result.texts[0] in (texts["a"], texts["b"])
    assert result.agreement["c"] < 0.2 < result.agreement["a"]
    assert rouge_l("a b c d", "a c d") == pytest.approx(2 * 1.0 * 0.75 / 1.75)


def test_teach_aggregate_passes_confidence_as_sample_weight_when_fit_accepts_it():
    from labelwise.data import ClassificationDataset
    from labelwise.loop import ActiveLearner

    class Weighted:
        def fit(self, dataset, sample_weight=None):
            self.seen = (dataset.labels.tolist(), None if sample_weight is None else list(sample_weight))
            return self

        def predict_proba(self, dataset):
            return np.full((len(dataset), 2), 0.5, dtype=np.float32)

    pool = ClassificationDataset([f"t{i}" for i in range(6)], None, ["A", "B"])
    model = Weighted()
    learner = ActiveLearner(model, pool, "random", random_state=0)
    teach_aggregate(learner, [0, 1, 2], [0, 1, -1], [0.9, 0.6, 0.0])
    assert model.seen == ([0, 1], [0.9, 0.6])
    learner.teach([3], ["A"])  # plain labels weigh 1
    assert model.seen[1] == [0.9, 0.6, 1.0]


def test_annotator_priors_anchor_dawid_skene_when_a_trusted_expert_mostly_labels_alone():
    # The shape of a proactive run: cheap annotators overlap among themselves, the expert
    # labels 66 items alone and overlaps with one crowd worker on 17. Without priors EM
    # cannot tell the expert from the rest (its solo items confirm whatever it said) and
    # rates it about 0.5; its prior accuracy and strength keep it near what it is.
    rng = np.random.default_rng(0)
    n_classes, accuracy = 4, {"expert": 0.98, "c1": 0.8, "c2": 0.75, "c3": 0.7, "llm": 0.85}
    ids = list(accuracy)
    truth, rows = [], []
    for n_items, who in ((20, ["c1", "c2", "llm"]), (66, ["expert"]), (17, ["expert", "c3"]),
                         (20, ["c1", "c3", "llm"])):
        for _ in range(n_items):
            true = int(rng.integers(n_classes))
            row = [-1] * len(ids)
            for name in who:
                wrong = [k for k in range(n_classes) if k != true]
                row[ids.index(name)] = true if rng.random() < accuracy[name] else int(rng.choice(wrong))
            truth.append(true)
            rows.append(row)
    votes, truth = np.array(rows), np.array(truth)
    team = [Annotator(name, prior_accuracy=0.95 if name == "expert" else 0.7,
                      prior_strength=20.0 if name == "expert" else 4.0) for name in ids]
    anchored = aggregate(votes, n_classes, "dawid_skene", annotators=team)
    update_reliability(team, votes, anchored)
    assert team[0].reliability > 0.85
    assert (anchored.labels == truth).mean() >= (dawid_skene(votes, n_classes).labels == truth).mean()
    priors = confusion_priors(team, n_classes)
    assert priors.shape == (5, 4, 4) and priors[0, 0, 0] == pytest.approx(0.95 * 20 + 0.05)
    with pytest.raises(DataError, match="confusion_priors"):
        dawid_skene(votes, n_classes, confusion_priors=priors[:2])
