"""The BiLSTM-CRF tagger: training lowers its loss, outputs are consistent, save/load."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")

from labelwise.data import TaggingDataset, load_conll_sample  # noqa: E402
from labelwise.loop import ActiveLearner  # noqa: E402
from labelwise.models import BiLSTMCRFTagger  # noqa: E402


@pytest.fixture(scope="module")
def tiny():
    train, _ = load_conll_sample()
    return train.subset(range(24))


@pytest.fixture(scope="module")
def fitted(tiny):
    return BiLSTMCRFTagger(word_dim=16, char_dim=8, char_filters=8, hidden=16, epochs=3, random_state=0).fit(tiny)


def test_training_lowers_the_loss(tiny, fitted):
    untrained = BiLSTMCRFTagger(word_dim=16, char_dim=8, char_filters=8, hidden=16, epochs=0, random_state=0).fit(tiny)
    assert fitted.loss(tiny) < untrained.loss(tiny)
    assert fitted.train_losses_[-1] < fitted.train_losses_[0]


def test_outputs_agree_with_each_other(tiny, fitted):
    paths, log_probabilities = fitted.best_paths(tiny)
    marginals = fitted.token_marginals(tiny)
    for sentence, path, marginal in zip(tiny.tokens, paths, marginals, strict=True):
        assert len(path) == len(sentence) == marginal.shape[0]
        np.testing.assert_allclose(marginal.sum(axis=1), 1.0, rtol=1e-4)
    assert np.all(log_probabilities <= 1e-6)
    # The best path is at least as probable as any single token's best tag allows.
    for log_probability, marginal in zip(log_probabilities, marginals, strict=True):
        assert np.exp(log_probability) <= marginal.max(axis=1).min() + 1e-5


def test_mc_dropout_samples_vary_and_repeat_under_the_same_seed(tiny, fitted):
    first = fitted.token_marginals_mc(tiny.subset(range(3)), n_samples=3, random_state=1)
    again = fitted.token_marginals_mc(tiny.subset(range(3)), n_samples=3, random_state=1)
    assert first[0].shape == (3, len(tiny.tokens[0]), len(fitted.tag_names_))
    assert not np.allclose(first[0][0], first[0][1])
    np.testing.assert_allclose(first[0], again[0])


def test_save_and_load_reproduce_predictions(tiny, fitted, tmp_path):
    fitted.save(tmp_path / "tagger")
    loaded = BiLSTMCRFTagger().load(tmp_path / "tagger")
    assert loaded.predict(tiny) == fitted.predict(tiny)


def test_unknown_words_and_characters_are_handled(fitted):
    strange = TaggingDataset([("Zürich", "überquert", "—", "🙂")], None, fitted.tag_names_)
    assert len(fitted.predict(strange)[0]) == 4


def test_mnlp_runs_in_the_learner_with_a_token_budget(tiny):
    model = BiLSTMCRFTagger(word_dim=8, char_dim=4, char_filters=4, hidden=8, epochs=1, random_state=0)
    learner = ActiveLearner(model, tiny, "mnlp", random_state=0)
    first = learner.query(40, unit="tokens")
    learner.teach(first.indices, [tiny.tags[i] for i in first.indices])
    second = learner.query(40, unit="tokens")
    assert learner.history[1].strategy == "mnlp"
    counts = tiny.token_counts[second.indices]
    assert counts.sum() >= 40 and counts[:-1].sum() < 40
    assert set(second.indices.tolist()).isdisjoint(first.indices.tolist())
