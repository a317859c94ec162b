"""Distillation of a tagger and domain adaptation on a tagging pool."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")

from labelwise.errors import DataError  # noqa: E402
from labelwise.models import BiLSTMCRFTagger  # noqa: E402
from labelwise.plasm.distillation import distill_tagger, token_kl_to_teacher  # noqa: E402


def test_distilling_into_a_bilstm_crf_lowers_its_token_kl_to_the_teacher(teacher, sentences):
    pool = sentences.without_labels()
    student = BiLSTMCRFTagger(word_dim=16, char_dim=8, char_filters=8, hidden=16, random_state=1)
    result = distill_tagger(teacher, pool, student, epochs=4, batch_size=8, learning_rate=1e-2, random_state=1)
    assert result.kl_after < 0.5 * result.kl_before
    assert result.model is student and student.tag_names_ == teacher.tag_names_
    np.testing.assert_allclose(token_kl_to_teacher(student.token_marginals(pool), teacher.token_marginals(pool)),
                               result.kl_after, rtol=1e-6)
    assert len(student.predict(pool)[0]) == len(pool.tokens[0])


def test_distilling_into_a_transformer_tagger_lowers_its_token_kl(teacher, sentences, tiny_bert):
    from labelwise.models import TransformerTagger

    student = TransformerTagger(tiny_bert, max_length=96, random_state=0)
    result = distill_tagger(teacher, sentences.subset(range(12)).without_labels(), student, epochs=3, batch_size=4,
                            learning_rate=5e-3, random_state=0)
    assert result.kl_after < result.kl_before


def test_token_kl_is_zero_for_the_same_distributions_and_refuses_other_tags():
    rows = [np.array([[0.2, 0.8], [0.5, 0.5]])]
    assert token_kl_to_teacher(rows, rows) == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(DataError, match="same tags"):
        token_kl_to_teacher([np.ones((2, 3)) / 3], rows)


def test_adapt_encoder_accepts_a_tagging_pool(sentences, tiny_bert, tmp_path):
    from labelwise.plasm import adapt_encoder

    pool = sentences.without_labels()
    result = adapt_encoder(pool, tmp_path / "adapted", tiny_bert, steps=3, batch_size=4, max_length=32,
                           eval_size=4, random_state=0)
    joined = {" ".join(s) for s in pool.tokens}
    assert result.held_out_texts and set(result.held_out_texts) <= joined
    assert result.n_train_texts == len(pool) - len(result.held_out_texts)
    assert np.isfinite(result.loss_after) and (tmp_path / "adapted" / "config.json").exists()


def test_adapt_encoder_names_a_row_that_is_neither_text_nor_tokens():
    from labelwise.plasm.domain_adaptation import pool_texts

    class Pool:
        inputs = ("a text", ("two", "tokens"), 3)

    with pytest.raises(DataError, match="pool row 2"):
        pool_texts(Pool())
    assert pool_texts(type("P", (), {"inputs": ("a", ("b", "c"))})()) == ["a", "b c"]
