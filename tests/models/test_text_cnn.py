"""TextCNN (Kim 2014) on a few dozen AG News texts."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from labelwise.data import ClassificationDataset, load_ag_news_sample  # noqa: E402
from labelwise.models import TextCNN  # noqa: E402
from labelwise.models import text_cnn as text_cnn_module  # noqa: E402

SMALL = {"embedding_dim": 16, "n_filters": 8, "max_length": 40, "epochs": 3, "batch_size": 8,
         "inference_batch_size": 8, "random_state": 5}


@pytest.fixture(scope="module")
def data():
    train, test = load_ag_news_sample()
    return train.subset(range(60)), test.subset(range(20))


@pytest.fixture(scope="module")
def fitted(data):
    pool, _ = data
    model = TextCNN(**SMALL)
    model.prepare(pool.without_labels())
    return model.fit(pool.subset(range(40)))


def test_the_vocabulary_is_lower_cased_words_by_frequency_with_a_minimum_count():
    pool = ClassificationDataset(("The cat, the DOG.", "the cat sat", "a bird"), None, ("x",))
    model = TextCNN(min_count=2)
    model.prepare(pool)
    assert model.vocabulary_ == {"<pad>": 0, "<unk>": 1, "the": 2, "cat": 3}
    assert model._tokenize(["The bird CAT", ""]) == [[2, 1, 3], [1]]
    assert len(TextCNN(max_vocabulary=4).build_vocabulary(pool.texts)) == 4


def test_probabilities_are_distributions_over_the_label_names(fitted, data):
    _, test = data
    probabilities = fitted.predict_proba(test)
    assert probabilities.dtype == np.float32
    assert probabilities.shape == (len(test), len(test.label_names))
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    assert fitted.label_names_ == test.label_names


def test_training_fits_the_training_texts():
    train, _ = load_ag_news_sample()
    labeled = train.subset(range(40))
    model = TextCNN(**{**SMALL, "epochs": 15, "dropout": 0.0, "learning_rate": 1e-2}).fit(labeled)
    assert (model.predict(labeled) == labeled.labels).mean() > 0.9


def test_last_layer_features_are_the_pooled_input_of_the_final_linear(fitted, data):
    _, test = data
    features = fitted.last_layer_features(test)
    assert features.shape == (len(test), SMALL["n_filters"] * 3)
    np.testing.assert_array_equal(fitted.embed(test), features)
    batch = fitted._collate(fitted._encode(list(test.texts)))
    with torch.no_grad():
        pooled = fitted.module_.pooled(batch["input_ids"], batch["attention_mask"])
        probabilities = torch.softmax(fitted.module_.classifier(pooled), dim=-1)
    np.testing.assert_allclose(features, pooled.numpy(), atol=1e-5)
    np.testing.assert_allclose(fitted.predict_proba(test), probabilities.numpy(), atol=1e-5)


def test_outputs_do_not_depend_on_input_order_or_padding(fitted, data):
    _, test = data
    probabilities = fitted.predict_proba(test)
    reverse = np.arange(len(test))[::-1]
    np.testing.assert_allclose(fitted.predict_proba(test.subset(reverse)), probabilities[reverse], atol=1e-6)
    one_by_one = np.concatenate([fitted.predict_proba(test.subset([i])) for i in range(len(test))])
    np.testing.assert_allclose(one_by_one, probabilities, atol=1e-6)


def test_mc_dropout_samples_differ_but_a_seed_reproduces_them(fitted, data):
    _, test = data
    samples = fitted.predict_proba_mc(test, n_samples=3, random_state=1)
    assert samples.shape == (len(test), 3, len(test.label_names))
    assert not np.allclose(samples[:, 0], samples[:, 1])
    np.testing.assert_array_equal(samples, fitted.predict_proba_mc(test, n_samples=3, random_state=1))
    assert not fitted.module_.training


def test_the_same_seed_gives_the_same_model(fitted, data):
    pool, test = data
    again = TextCNN(**SMALL)
    again.prepare(pool.without_labels())
    np.testing.assert_array_equal(again.fit(pool.subset(range(40))).predict_proba(test), fitted.predict_proba(test))


def test_pool_texts_are_tokenized_once(data, monkeypatch):
    pool, test = data
    calls = []
    original = text_cnn_module.word_tokens
    monkeypatch.setattr(text_cnn_module, "word_tokens", lambda text: calls.append(text) or original(text))
    model = TextCNN(**{**SMALL, "epochs": 1})
    model.prepare(pool.without_labels())
    after_prepare = len(calls)
    model.fit(pool.subset(range(40)))
    model.predict_proba(pool)
    assert len(calls) == after_prepare
    model.predict_proba(test)
    assert len(calls) == after_prepare + len(set(test.texts) - set(pool.texts))


def test_save_and_load_give_identical_outputs(fitted, data, tmp_path):
    _, test = data
    fitted.save(tmp_path / "cnn")
    restored = TextCNN().load(tmp_path / "cnn")
    assert restored.n_filters == SMALL["n_filters"]
    np.testing.assert_array_equal(restored.predict_proba(test), fitted.predict_proba(test))


def test_multi_label_data_gives_sigmoid_outputs(data):
    pool, test = data
    indicators = np.zeros((40, 2), dtype=np.int8)
    indicators[:, 0] = np.asarray(pool.labels[:40]) < 2
    indicators[::3, 1] = 1
    multi = ClassificationDataset(pool.texts[:40], indicators, ("a", "b"), multi_label=True)
    model = TextCNN(**SMALL).fit(multi)
    features = torch.from_numpy(model.last_layer_features(test))
    with torch.no_grad():
        expected = torch.sigmoid(model.module_.classifier(features)).numpy()
    np.testing.assert_allclose(model.predict_proba(test), expected, atol=1e-6)


def test_joint_outputs_equal_the_separate_calls_and_take_one_forward_pass(fitted, data):
    from labelwise.outputs import ModelOutputs

    pool, _ = data
    joint = fitted.joint_outputs(pool, ["probabilities", "embeddings", "last_layer_features"])
    np.testing.assert_allclose(joint["probabilities"], fitted.predict_proba(pool), atol=1e-6)
    np.testing.assert_allclose(joint["embeddings"], fitted.embed(pool), atol=1e-6)
    np.testing.assert_allclose(joint["last_layer_features"], fitted.last_layer_features(pool), atol=1e-6)

    passes = []
    original = fitted._run
    fitted._run = lambda dataset, want, n_samples=0: passes.append(tuple(want)) or original(dataset, want, n_samples)
    try:
        outputs = ModelOutputs(fitted, pool, expected=("probabilities", "embeddings"))
        outputs.get("probabilities", np.arange(10, 30))
        outputs.get("embeddings", np.arange(10, 30))  # filled by the same pass
        outputs.get("embeddings", np.arange(0, 5))  # new rows: a pass of their own
    finally:
        fitted._run = original
    assert [set(p) for p in passes] == [{"probabilities", "embeddings"}] * 2
