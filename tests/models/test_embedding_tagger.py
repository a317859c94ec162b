"""EmbeddingTagger: frozen encoder word vectors cached once per sentence, a head per fit.

The encoder is a tiny random-initialised BERT with the packaged MiniLM tokenizer, so the
tests take seconds; the word-shape features carry the toy task.
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from labelwise.data import TaggingDataset  # noqa: E402
from labelwise.loop import ActiveLearner  # noqa: E402
from labelwise.metrics import span_f1  # noqa: E402
from labelwise.models import EmbeddingTagger, get_model  # noqa: E402
from labelwise.models.embedding_tagger import WordEncoder, get_word_encoder  # noqa: E402
from labelwise.outputs.tagging import pad_token_rows  # noqa: E402

TAGS = ("O", "B-PER", "I-PER")
NAMES = ["Anna", "Boris", "Carla", "Dmitri", "Elena", "Farid", "Greta", "Hugo", "Ines", "Jonas",
         "Kofi", "Lena", "Marek", "Nadia", "Oskar", "Paula", "Quentin", "Rosa", "Sven", "Tariq"]
VERBS = ["met", "called", "saw", "thanked", "visited"]


def _toy(names: list[str], n: int, seed: int) -> TaggingDataset:
    """Sentences 'the <verb> ... <Name> ...': the one capitalised word is a person."""
    rng = np.random.default_rng(seed)
    sentences, tags = [], []
    for _ in range(n):
        words = ["the", "man", str(rng.choice(VERBS)), "my", "friend"]
        position = int(rng.integers(1, len(words)))
        words.insert(position, str(rng.choice(names)))
        sentences.append(tuple(words))
        tags.append(tuple("B-PER" if i == position else "O" for i in range(len(words))))
    return TaggingDataset(sentences, tags, TAGS)


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory):
    from tiny_models import save_tiny_bert

    return save_tiny_bert(tmp_path_factory.mktemp("tiny_bert_tagger"), hidden=16, layers=1, max_positions=64)


@pytest.fixture(scope="module")
def train():
    return _toy(NAMES[:12], 40, seed=0)


@pytest.fixture(scope="module")
def fitted(tiny_bert, train):
    return EmbeddingTagger(tiny_bert, max_length=32, epochs=20, random_state=0).fit(train)


def _fresh_encoder(path, **settings) -> WordEncoder:
    return WordEncoder(path, normalize=False, **settings)


def test_each_sentence_is_embedded_once(tiny_bert, train):
    model = EmbeddingTagger(tiny_bert, max_length=32, epochs=1, encode_batch_size=7, random_state=0)
    encoder = model.word_encoder()
    before = encoder.n_encoded
    model.prepare(train)
    model.fit(train.subset(range(10)))
    model.token_marginals(train)
    model.best_paths(train)
    model.embed(train)
    model.fit(train)
    assert encoder.n_encoded - before == len(set(train.tokens))


def test_the_disk_cache_is_read_by_a_new_encoder(tiny_bert, train, tmp_path):
    first = _fresh_encoder(tiny_bert, max_length=32, cache_dir=tmp_path)
    vectors = first.embed_words(train.tokens)
    second = _fresh_encoder(tiny_bert, max_length=32, cache_dir=tmp_path)
    again = second.embed_words(train.tokens)
    assert second.n_encoded == 0
    for a, b in zip(vectors, again, strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_word_of_several_pieces_gets_one_vector_from_its_first_piece(tiny_bert):
    from transformers import AutoModel, AutoTokenizer

    words = ("Schwarzenegger", "visited", "Llanfairpwllgwyngyll", "today")
    tokenizer = AutoTokenizer.from_pretrained(tiny_bert)
    assert len(tokenizer.tokenize(words[0])) > 1 and len(tokenizer.tokenize(words[2])) > 1
    vectors = _fresh_encoder(tiny_bert, max_length=32).embed_words([words])[0]
    assert vectors.shape == (len(words), 16)
    encoding = tokenizer(list(words), is_split_into_words=True, return_tensors="pt")
    with torch.inference_mode():
        hidden = AutoModel.from_pretrained(tiny_bert)(**encoding).last_hidden_state[0].numpy()
    word_ids = encoding.word_ids(0)
    first_pieces = [word_ids.index(w) for w in range(len(words))]
    np.testing.assert_allclose(vectors, hidden[first_pieces], rtol=1e-5, atol=1e-5)


def test_a_sentence_longer_than_max_length_gets_a_vector_for_every_word(tiny_bert):
    words = tuple(f"word{i}" for i in range(40))  # several pieces each: far beyond 16 pieces
    vectors = _fresh_encoder(tiny_bert, max_length=16).embed_words([words])[0]
    assert vectors.shape == (40, 16)
    assert np.all(np.abs(vectors).sum(axis=1) > 0)


def test_output_shapes_masks_and_probabilities(fitted, train):
    marginals = fitted.token_marginals(train)
    paths, log_probabilities = fitted.best_paths(train)
    assert len(marginals) == len(paths) == len(train)
    for sentence, marginal, path in zip(train.tokens, marginals, paths, strict=True):
        assert marginal.shape == (len(sentence), len(TAGS)) and marginal.dtype == np.float32
        assert len(path) == len(sentence)
        np.testing.assert_allclose(marginal.sum(axis=1), 1.0, rtol=1e-5)
    padded, mask = pad_token_rows(marginals)
    np.testing.assert_array_equal(mask.sum(axis=1), train.token_counts)
    assert np.all(log_probabilities <= 1e-6)
    assert fitted.embed(train).shape == (len(train), 16)


def test_softmax_head_probabilities_sum_to_one_and_greedy_paths(tiny_bert, train):
    model = EmbeddingTagger(tiny_bert, crf=False, hidden=8, context_window=1, max_length=32, epochs=5,
                            random_state=0).fit(train)
    marginals = model.token_marginals(train)
    paths, log_probabilities = model.best_paths(train)
    for marginal, path, log_probability in zip(marginals, paths, log_probabilities, strict=True):
        np.testing.assert_allclose(marginal.sum(axis=1), 1.0, rtol=1e-5)
        assert [TAGS[i] for i in marginal.argmax(axis=1)] == list(path)
        np.testing.assert_allclose(log_probability, np.log(marginal.max(axis=1)).sum(), rtol=1e-4)


def test_save_then_load_gives_identical_predictions(fitted, train, tmp_path):
    folder = fitted.save(tmp_path / "tagger")
    loaded = EmbeddingTagger.load(folder)
    assert loaded.predict(train) == fitted.predict(train)
    for a, b in zip(loaded.token_marginals(train), fitted.token_marginals(train), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6)


def test_the_same_seed_gives_the_same_model_and_another_seed_another(tiny_bert, train):
    def marginals(seed):
        model = EmbeddingTagger(tiny_bert, max_length=32, epochs=3, random_state=seed).fit(train)
        return np.concatenate(model.token_marginals(train))

    np.testing.assert_array_equal(marginals(4), marginals(4))
    assert not np.allclose(marginals(4), marginals(5))


def test_learns_a_toy_tagging_task(fitted):
    unseen = _toy(NAMES[12:], 30, seed=1)  # names never seen in training
    assert span_f1(unseen.tags, fitted.predict(unseen))["f1"] >= 0.9


def test_runs_in_an_active_learner_with_mnlp(tiny_bert, train):
    model = get_model("embedding_tagger", encoder=tiny_bert, max_length=32, epochs=2, random_state=0)
    pool = train.without_labels()
    learner = ActiveLearner(model, pool, "mnlp", random_state=0)
    first = learner.query(30, unit="tokens")
    learner.teach(first.indices, [train.tags[i] for i in first.indices])
    second = learner.query(30, unit="tokens")
    assert learner.history[1].strategy == "mnlp"
    assert set(second.indices.tolist()).isdisjoint(first.indices.tolist())
    assert 30 <= train.token_counts[second.indices].sum() < 30 + train.token_counts.max()


def test_shared_encoders_are_reused_and_bad_settings_are_config_errors(tiny_bert):
    from labelwise.errors import ConfigError

    assert get_word_encoder(tiny_bert, max_length=32) is get_word_encoder(tiny_bert, max_length=32)
    with pytest.raises(ConfigError, match="context_window"):
        EmbeddingTagger(tiny_bert, context_window=-1).word_encoder()
    with pytest.raises(ConfigError, match="embed_words"):
        get_word_encoder(tiny_bert, max_length=32).embed(["a text"])
