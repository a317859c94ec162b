"""TransformerSeq2Seq (BERT2BERT from the packaged MiniLM), kept tiny: 8 emails, 32/16 tokens."""

import numpy as np
import pytest

from labelwise.data import Seq2SeqDataset, load_aeslc_sample
from labelwise.errors import ConfigError, NotFittedError
from labelwise.outputs import ModelOutputs

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from labelwise.models import TransformerSeq2Seq  # noqa: E402


def _tiny_model(**overrides):
    params = dict(max_source_length=32, max_target_length=16, num_beams=2, batch_size=4, epochs=4,
                  learning_rate=5e-4, random_state=0)
    params.update(overrides)
    return TransformerSeq2Seq(**params)


@pytest.fixture(scope="module")
def train_set():
    train, _ = load_aeslc_sample()
    return train.subset(range(8))


@pytest.fixture(scope="module")
def fitted(train_set):
    return _tiny_model().fit(train_set)


@pytest.mark.slow
def test_fine_tuning_lowers_the_loss_on_the_training_set(fitted, train_set):
    warm_start = _tiny_model()  # unfitted: the BERT2BERT warm start, same seed
    before = warm_start.sequence_log_prob(train_set.sources, train_set.targets)
    after = fitted.sequence_log_prob(train_set.sources, train_set.targets)
    assert after.mean() > before.mean() + 0.5  # mean token log-likelihood went up
    assert fitted.loss_history_[-1] < fitted.loss_history_[0]


@pytest.mark.slow
def test_beam_scores_match_teacher_forced_log_probabilities(fitted, train_set):
    network = fitted.network_
    tokenizer = fitted.tokenizer_
    eos = network.generation_config.eos_token_id
    for row in range(3):
        one = train_set.subset([row]).without_labels()
        texts, scores = fitted.generate_with_scores(one, num_beams=2)
        encoded = tokenizer(list(one.sources), truncation=True, max_length=32, return_tensors="pt")
        with torch.inference_mode():
            sequences = network.generate(**encoded, num_beams=2, do_sample=False, max_new_tokens=16,
                                         early_stopping=True)
            labels = sequences[:, 1:].clone()
            ended = (torch.cumsum((labels == eos).long(), 1) - (labels == eos).long()) > 0
            labels[ended] = -100
            # Hugging Face's own loss: mean token NLL of the labels under teacher forcing.
            loss = network(**encoded, labels=labels).loss
        assert texts[0] == tokenizer.decode(sequences[0], skip_special_tokens=True).strip()
        assert scores[0] == pytest.approx(-float(loss), abs=1e-3)


@pytest.mark.slow
def test_outputs_cache_generations_and_scores_from_one_pass(fitted, train_set):
    pool = train_set.without_labels()
    outputs = ModelOutputs(fitted, pool)
    scores = outputs.get("sequence_scores", [0, 2])
    texts = outputs.get("generations", [0, 2])
    assert scores.shape == (2,) and scores.dtype == np.float32 and (scores < 0).all()
    assert texts.dtype == object and all(isinstance(t, str) for t in texts)
    assert texts.tolist() == fitted.predict(pool.subset([0, 2]))


@pytest.mark.slow
def test_mc_dropout_generations_are_seeded_and_vary(fitted, train_set):
    pool = train_set.subset(range(3)).without_labels()
    texts, scores = fitted.generate_mc(pool, n_samples=3, random_state=7)
    assert texts.shape == (3, 3) and scores.shape == (3, 3)
    again, again_scores = _copy_without_memo(fitted).generate_mc(pool, n_samples=3, random_state=7)
    assert again.tolist() == texts.tolist()
    np.testing.assert_allclose(again_scores, scores, atol=1e-5)
    assert np.isfinite(scores).all() and (scores < 0).all()
    # Dropout is on: the samples of every row differ (equal ones would be plain decoding),
    # and another seed draws other samples.
    assert (np.ptp(scores, axis=1) > 0).all()
    _, other_scores = _copy_without_memo(fitted).generate_mc(pool, n_samples=3, random_state=8)
    assert not np.allclose(other_scores, scores)
    outputs = ModelOutputs(fitted, pool, options={"mc_samples": 3, "random_state": 7})
    rows = outputs.get("mc_generations")
    assert rows.shape == (3,) and all(len(r) == 3 for r in rows)


def _copy_without_memo(model):
    model._memo = {}
    return model


@pytest.mark.slow
def test_embed_returns_mean_pooled_encoder_states(fitted, train_set):
    vectors = fitted.embed(train_set.subset(range(4)))
    hidden = fitted.network_.config.encoder.hidden_size
    assert vectors.shape == (4, hidden) and vectors.dtype == np.float32
    single = fitted.embed(train_set.subset([3]))
    np.testing.assert_allclose(single[0], vectors[3], atol=1e-4)  # padding does not leak in


@pytest.mark.slow
def test_save_and_load_reproduce_generations(fitted, train_set, tmp_path):
    pool = train_set.subset(range(4)).without_labels()
    fitted.save(tmp_path / "model")
    loaded = TransformerSeq2Seq.load(tmp_path / "model")
    assert loaded.predict(pool) == fitted.predict(pool)


def test_unfitted_model_refuses_to_generate(train_set):
    with pytest.raises(NotFittedError):
        _tiny_model().predict(train_set)


def test_bad_model_path_gives_config_error_offline(monkeypatch, tmp_path, train_set):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ConfigError, match="HF_HUB_OFFLINE"):
        _tiny_model(model_name_or_path="no-such-org/no-such-summarizer").fit(train_set)
    with pytest.raises(ConfigError, match="config.json"):
        _tiny_model(model_name_or_path=str(tmp_path)).fit(train_set)


def test_fit_needs_targets():
    with pytest.raises(Exception, match="targets"):
        _tiny_model().fit(Seq2SeqDataset(("an email",), None))


@pytest.mark.slow
def test_validation_fraction_holds_out_pairs_and_keeps_the_best_epoch(train_set):
    model = _tiny_model(epochs=3, batch_size=2, validation_fraction=0.25).fit(train_set)
    assert 1 <= len(model.validation_losses_) <= 3
    assert model.validation_losses_[model.best_epoch_] == min(model.validation_losses_)
    assert model.get_params()["validation_fraction"] == 0.25
    # 2 of the 8 pairs held out, batch 2: three steps per epoch (four on all 8).
    assert len(model.loss_history_) == 3 * len(model.validation_losses_)
    plain = _tiny_model(epochs=1).fit(train_set)
    assert plain.validation_losses_ == [] and plain.best_epoch_ is None
