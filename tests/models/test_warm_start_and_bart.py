"""The label-free Lead warm-up of a seq2seq model, and the BART path of TransformerSeq2Seq
on a tiny randomly initialised BART saved as a local folder (no BART weights exist here)."""

import numpy as np
import pytest

from labelwise.data import Seq2SeqDataset, load_aeslc_sample

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from labelwise.models import TransformerSeq2Seq  # noqa: E402
from labelwise.models.hf_seq2seq import lead_pseudo_summary  # noqa: E402
from labelwise.plasm.domain_adaptation import warm_start_seq2seq  # noqa: E402


def test_lead_pseudo_summary_takes_the_first_non_empty_sentence_cut_to_max_words():
    assert lead_pseudo_summary("\n\nHi Sara.  The meeting moved to 3pm today!  Bring slides.", 8) == "Hi Sara."
    text = "Attached is the Grande Communications Service Agreement for the new lease.\nThanks"
    assert lead_pseudo_summary(text, 4) == "Attached is the Grande"
    assert lead_pseudo_summary("   \n ", 4) == ""


@pytest.mark.slow
def test_warm_start_learns_the_lead_task_and_saves_a_loadable_model(tmp_path):
    train, _ = load_aeslc_sample()
    pool = train.subset(range(40)).without_labels()
    result = warm_start_seq2seq(pool, tmp_path / "warm", max_words=6, epochs=3, eval_size=8,
                                max_source_length=32, max_target_length=10, batch_size=8, learning_rate=5e-4,
                                num_beams=1)
    assert result.loss_after < result.loss_before - 0.5  # held-out Lead pairs, never trained on
    model = TransformerSeq2Seq(result.path, max_source_length=32, max_target_length=10, epochs=1, num_beams=1)
    fitted = model.fit(train.subset(range(4)))
    assert len(fitted.predict(train.subset(range(2)).without_labels())) == 2
    assert np.isfinite(fitted.loss_history_).all()


@pytest.fixture(scope="module")
def tiny_bart(tmp_path_factory):
    """A 2-layer BART with random weights and the MiniLM WordPiece tokenizer, saved as a folder."""
    from tiny_models import save_tiny_bart

    folder = tmp_path_factory.mktemp("tiny_bart")
    save_tiny_bart(folder)
    return folder


def test_a_local_bart_folder_fine_tunes_generates_and_scores_consistently(tiny_bart):
    pairs = Seq2SeqDataset(["the cat sat on the mat", "dogs bark at night", "rain is wet"] * 2,
                           ["cat mat", "dogs bark", "rain wet"] * 2)
    model = TransformerSeq2Seq(str(tiny_bart), max_source_length=16, max_target_length=6, num_beams=2,
                               batch_size=3, epochs=30, learning_rate=3e-3, random_state=0)
    before = model.sequence_log_prob(pairs.sources, pairs.targets).mean()
    model.fit(pairs)
    assert type(model.network_).__name__ == "BartForConditionalGeneration"
    after = model.sequence_log_prob(pairs.sources, pairs.targets).mean()
    assert after > before + 1.0
    texts, scores = model.generate_with_scores(pairs.without_labels(), num_beams=1)
    assert len(texts) == len(pairs) and np.all(scores <= 0)
    # Greedy output's own score equals the teacher-forced log-probability of that output.
    rescored = model.sequence_log_prob(pairs.sources, texts)
    np.testing.assert_allclose(scores, rescored, atol=0.15)


def test_bert2bert_new_decoder_weights_start_from_self_attention_and_an_identity_head():
    network = TransformerSeq2Seq(max_source_length=16, random_state=0).network_
    for layer in network.decoder.bert.encoder.layer:
        for name in ("query", "key", "value"):
            torch.testing.assert_close(getattr(layer.crossattention.self, name).weight,
                                       getattr(layer.attention.self, name).weight)
        torch.testing.assert_close(layer.crossattention.output.dense.weight, layer.attention.output.dense.weight)
    dense = network.decoder.cls.predictions.transform.dense
    torch.testing.assert_close(dense.weight, torch.eye(dense.weight.shape[0]))


@pytest.mark.slow
def test_lead_warm_up_in_prepare_is_cached_per_pool_and_every_fit_starts_from_it():
    from labelwise.models import hf_seq2seq

    train, _ = load_aeslc_sample()
    pool = train.subset(range(24)).without_labels()
    params = dict(max_source_length=24, max_target_length=8, batch_size=8, epochs=1, num_beams=1,
                  lead_warm_up_epochs=3, lead_max_words=5, random_state=3)
    leads = [lead_pseudo_summary(s, 5) for s in pool.sources]
    first = TransformerSeq2Seq(**params)
    before = first.sequence_log_prob(pool.sources, leads).mean()
    hf_seq2seq._LEAD_WARMED.clear()
    first.prepare(pool)
    after = first.sequence_log_prob(pool.sources, leads).mean()  # the network holds the warmed weights
    assert after > before + 0.5
    second = TransformerSeq2Seq(**params)
    second.prepare(pool)  # same pool and settings: no second warm-up
    assert len(hf_seq2seq._LEAD_WARMED) == 1 and second._initial_state is first._initial_state
    second.fit(train.subset(range(2)))
    second._network.load_state_dict(second._initial_state)
    np.testing.assert_allclose(second.sequence_log_prob(pool.sources, leads).mean(), after, rtol=1e-5)
