"""The transformer tagger: word alignment, windows for long sentences, training, save/load."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("transformers")

from labelwise.data import TaggingDataset, load_conll_sample  # noqa: E402
from labelwise.models import TransformerTagger  # noqa: E402

AWKWARD = ("Zürich", "naïve", "Ελλάδα", "supercalifragilisticexpialidocious" * 3, "!!!???...", "\u200b", "—", "🙂")


@pytest.fixture(scope="module")
def tiny():
    train, _ = load_conll_sample()
    return train.subset(range(8))


@pytest.fixture(scope="module", params=[False, True], ids=["softmax", "crf"])
def fitted(request, tiny):
    return TransformerTagger(crf=request.param, max_length=24, stride=6, epochs=2, batch_size=4,
                             learning_rate=1e-4, random_state=0).fit(tiny)


def test_awkward_and_long_sentences_get_one_output_per_word(fitted):
    long_sentence = AWKWARD + tuple(f"token{i}" for i in range(40))  # far beyond 24 pieces
    dataset = TaggingDataset([AWKWARD, long_sentence], None, fitted.tag_names_)
    assert len(fitted._windows(long_sentence)) > 1  # it really is windowed
    predictions = fitted.predict(dataset)
    marginals = fitted.token_marginals(dataset)
    assert [len(p) for p in predictions] == [len(AWKWARD), len(long_sentence)]
    assert [m.shape[0] for m in marginals] == [len(AWKWARD), len(long_sentence)]
    for marginal in marginals:
        np.testing.assert_allclose(marginal.sum(axis=1), 1.0, rtol=1e-4)


def test_every_word_is_covered_by_some_window(fitted):
    long_sentence = tuple(f"w{i}" for i in range(60))
    covered = set()
    for window in fitted._windows(long_sentence):
        covered.update(w for w in window.word_ids if w >= 0)
    assert covered == set(range(60))


def test_labels_sit_on_the_first_piece_of_each_word(fitted):
    window = fitted._windows(("unbelievably", "long", "words"))[0]
    positions, words = fitted._first_pieces(window)
    assert words == [0, 1, 2]
    assert all(window.word_ids[p] == w for p, w in zip(positions, words, strict=True))
    assert all(window.word_ids[p - 1] != w for p, w in zip(positions, words, strict=True))


def test_training_lowers_the_loss(tiny, fitted):
    untrained = TransformerTagger(crf=fitted.crf, max_length=24, stride=6, epochs=0, random_state=0).fit(tiny)
    assert fitted.loss(tiny) < untrained.loss(tiny)


def test_best_path_log_probability_matches_its_marginals_without_crf(tiny, fitted):
    if fitted.crf:
        pytest.skip("with a CRF the path probability is not a product of marginals")
    paths, log_probabilities = fitted.best_paths(tiny)
    marginals = fitted.token_marginals(tiny)
    for path, log_probability, marginal in zip(paths, log_probabilities, marginals, strict=True):
        ids = [fitted.tag_names_.index(t) for t in path]
        assert log_probability == pytest.approx(np.log(marginal[np.arange(len(ids)), ids]).sum(), rel=1e-4)


def test_save_and_load_reproduce_predictions(tiny, fitted, tmp_path):
    fitted.save(tmp_path / "tagger")
    loaded = TransformerTagger().load(tmp_path / "tagger")
    assert loaded.predict(tiny) == fitted.predict(tiny)
