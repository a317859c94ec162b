"""TransformerClassifier on the packaged MiniLM, on a few dozen AG News texts."""

from __future__ import annotations

import os

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from labelwise.data import ClassificationDataset, load_ag_news_sample  # noqa: E402
from labelwise.errors import ConfigError, NotFittedError  # noqa: E402
from labelwise.models import TransformerClassifier  # noqa: E402

TINY = {"max_length": 32, "epochs": 1, "batch_size": 16, "inference_batch_size": 8, "random_state": 3}


class CountingTokenizer:
    """Delegates to a tokenizer and counts how often it is called."""

    def __init__(self, inner):
        self.inner = inner
        self.calls = 0

    def __call__(self, *args, **kwargs):
        self.calls += 1
        return self.inner(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self.inner, name)


@pytest.fixture(scope="module")
def data():
    train, test = load_ag_news_sample()
    return train.subset(range(48)), test.subset(range(20))


@pytest.fixture(scope="module")
def fitted(data):
    """A model prepared on the pool, then fitted on 32 of its rows with a counting tokenizer."""
    pool, _ = data
    model = TransformerClassifier(**TINY)
    model.prepare(pool.without_labels())
    counting = CountingTokenizer(model.tokenizer_)
    model.tokenizer_ = counting
    model.fit(pool.subset(range(32)))
    model.predict_proba(pool)
    calls_after_fit_and_pool_inference = counting.calls
    model.tokenizer_ = counting.inner
    return model, calls_after_fit_and_pool_inference


def test_probabilities_are_distributions_over_the_label_names(fitted, data):
    model, _ = fitted
    _, test = data
    probabilities = model.predict_proba(test)
    assert probabilities.dtype == np.float32
    assert probabilities.shape == (len(test), len(test.label_names))
    assert model.label_names_ == test.label_names
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(model.predict(test), probabilities.argmax(axis=1))


def test_pool_texts_are_tokenized_once_and_new_texts_on_the_fly(fitted, data):
    model, calls = fitted
    assert calls == 0  # fit and pool inference read the cache filled by prepare()
    counting = CountingTokenizer(model.tokenizer_)
    model.tokenizer_ = counting
    try:
        unseen = ClassificationDataset((f"an unseen headline number {i}" for i in range(5)), None,
                                       data[1].label_names)
        model.predict_proba(unseen)
        assert counting.calls == 1  # one batched call for the unseen texts
        model.embed(unseen)
        assert counting.calls == 1  # now cached too
    finally:
        model.tokenizer_ = counting.inner


def test_last_layer_features_are_the_input_of_the_classifier(fitted, data):
    model, _ = fitted
    _, test = data
    features = model.last_layer_features(test)
    module = model.module_
    encoded = model.tokenizer_(list(test.texts), truncation=True, max_length=TINY["max_length"],
                               padding=True, return_tensors="pt")
    with torch.no_grad():
        pooled = module.bert(**encoded).pooler_output  # BertForSequenceClassification's head input
        logits = module.classifier(pooled)
    assert features.shape == (len(test), module.config.hidden_size)
    np.testing.assert_allclose(features, pooled.numpy(), atol=2e-5)
    np.testing.assert_allclose(model.embed(test), features, atol=1e-6)  # BERT: embed = pooler output
    np.testing.assert_allclose(model.predict_proba(test), torch.softmax(logits, -1).numpy(), atol=2e-5)


def test_outputs_do_not_depend_on_input_order_or_batching(fitted, data):
    model, _ = fitted
    _, test = data
    probabilities = model.predict_proba(test)
    reverse = np.arange(len(test))[::-1]
    np.testing.assert_allclose(model.predict_proba(test.subset(reverse)), probabilities[reverse], atol=1e-5)
    one_by_one = np.concatenate([model.predict_proba(test.subset([i])) for i in range(len(test))])
    np.testing.assert_allclose(one_by_one, probabilities, atol=1e-5)  # no padding at all


def test_mc_dropout_samples_differ_but_a_seed_reproduces_them(fitted, data):
    model, _ = fitted
    _, test = data
    samples = model.predict_proba_mc(test, n_samples=4, random_state=7)
    assert samples.shape == (len(test), 4, len(test.label_names))
    np.testing.assert_allclose(samples.sum(axis=2), 1.0, atol=1e-5)
    assert not np.allclose(samples[:, 0], samples[:, 1])
    np.testing.assert_array_equal(samples, model.predict_proba_mc(test, n_samples=4, random_state=7))
    assert not np.allclose(samples, model.predict_proba_mc(test, n_samples=4, random_state=8))
    # MC dropout leaves the module in eval mode: plain inference is deterministic again
    np.testing.assert_array_equal(model.predict_proba(test), model.predict_proba(test))
    assert not model.module_.training


def test_the_same_seed_gives_the_same_model(fitted, data):
    model, _ = fitted
    pool, test = data
    again = TransformerClassifier(**TINY).fit(pool.subset(range(32)))
    np.testing.assert_array_equal(again.predict_proba(test), model.predict_proba(test))
    other = TransformerClassifier(**{**TINY, "random_state": 4}).fit(pool.subset(range(32)))
    assert not np.allclose(other.predict_proba(test), model.predict_proba(test))


def test_save_and_load_give_identical_outputs(fitted, data, tmp_path):
    model, _ = fitted
    _, test = data
    model.save(tmp_path / "model")
    restored = TransformerClassifier().load(tmp_path / "model")
    assert restored.label_names_ == model.label_names_
    assert restored.max_length == TINY["max_length"]
    np.testing.assert_array_equal(restored.predict_proba(test), model.predict_proba(test))
    np.testing.assert_array_equal(restored.embed(test), model.embed(test))


def test_the_active_learner_round_trips_a_transformer(fitted, data, tmp_path):
    from labelwise.loop import ActiveLearner

    model, _ = fitted
    pool, _ = data
    learner = ActiveLearner(model, pool.without_labels(), "entropy", random_state=0, retrain=False)
    learner.teach(np.arange(4), pool.labels[:4])
    learner.save(tmp_path / "run")
    restored = ActiveLearner.load(tmp_path / "run", pool.without_labels(), model=TransformerClassifier())
    np.testing.assert_array_equal(restored.model.predict_proba(pool), model.predict_proba(pool))
    np.testing.assert_array_equal(restored.labeled_indices, learner.labeled_indices)


def test_multi_label_data_gives_independent_sigmoids(data):
    pool, test = data
    indicators = np.zeros((32, 3), dtype=np.int8)
    indicators[np.arange(32), np.asarray(pool.labels[:32]) % 3] = 1
    indicators[::4, 2] = 1
    multi = ClassificationDataset(pool.texts[:32], indicators, ("a", "b", "c"), multi_label=True)
    model = TransformerClassifier(**TINY).fit(multi)
    assert model.module_.config.problem_type == "multi_label_classification"
    features = torch.from_numpy(model.last_layer_features(test))
    with torch.no_grad():
        expected = torch.sigmoid(model.module_.classifier(features)).numpy()
    probabilities = model.predict_proba(test)
    assert probabilities.shape == (len(test), 3)
    np.testing.assert_allclose(probabilities, expected, atol=2e-5)
    assert not np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-3)
    assert model.predict(test).dtype == np.int8


def test_checkpoints_hold_weights_and_learning_rate_per_epoch(data, tmp_path):
    pool, _ = data
    model = TransformerClassifier(**{**TINY, "epochs": 2, "batch_size": 8},
                                  checkpoint_dir=tmp_path).fit(pool.subset(range(16)))
    assert [path.name for path in model.checkpoints_] == ["epoch_000.pt", "epoch_001.pt"]
    last = torch.load(model.checkpoints_[-1])
    assert 0 < last["learning_rate"] <= 5e-5
    for name, tensor in model.module_.state_dict().items():
        torch.testing.assert_close(last["state_dict"][name], tensor)


def test_a_bad_model_path_is_a_config_error(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    tiny = ClassificationDataset(("a text", "another"), np.array([0, 1]), ("x", "y"))
    with pytest.raises(ConfigError, match="HF_HUB_OFFLINE"):
        TransformerClassifier("no-such-org/no-such-model", **TINY).fit(tiny)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="config.json"):
        TransformerClassifier(tmp_path / "empty", **TINY).fit(tiny)


def test_outputs_before_fit_raise_not_fitted(data):
    with pytest.raises(NotFittedError):
        TransformerClassifier().predict_proba(data[1])


@pytest.mark.slow
def test_fine_tuning_minilm_on_the_sample_beats_chance_clearly():
    train, test = load_ag_news_sample()
    labeled = train.subset(np.random.default_rng(0).choice(len(train), 200, replace=False))
    held_out = test.subset(range(100))
    model = TransformerClassifier(max_length=64, epochs=4, batch_size=16, learning_rate=1e-4, random_state=0)
    accuracy = float((model.fit(labeled).predict(held_out) == held_out.labels).mean())
    assert accuracy > 0.5, accuracy  # chance is 0.25 (4 balanced classes)


def test_head_learning_rate_applies_to_the_classifier_head_only(data):
    pool, _ = data
    model = TransformerClassifier(**{**TINY, "learning_rate": 1e-4}, head_learning_rate=3e-3)
    model.fit(pool.subset(range(16)))
    module = model.module_
    head = {id(p) for p in module.classifier.parameters()}
    groups = model._parameter_groups(module)
    rates = {id(p): g.get("lr", model.learning_rate) for g in groups for p in g["params"]}
    assert {rates[i] for i in head} == {3e-3}
    assert {rate for pid, rate in rates.items() if pid not in head} == {1e-4}
    assert len(rates) == sum(1 for p in module.parameters() if p.requires_grad)  # every weight in one group
