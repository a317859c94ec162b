"""Taggers take ``validation_fraction`` like the classifiers: a held-out share of the
labeled sentences, its loss per epoch, and the best epoch's weights kept."""

from __future__ import annotations

import numpy as np
import pytest

from labelwise.data import load_conll_sample
from labelwise.errors import ConfigError

pytest.importorskip("torch")


@pytest.fixture(scope="module")
def sentences():
    train, _ = load_conll_sample()
    return train.subset(range(40))


def bilstm(**params):
    from labelwise.models import BiLSTMCRFTagger

    return BiLSTMCRFTagger(word_dim=16, char_dim=8, char_filters=8, hidden=16, epochs=6, random_state=0, **params)


def embedding(tiny_bert, **params):
    from labelwise.models import EmbeddingTagger

    return EmbeddingTagger(tiny_bert, max_length=32, epochs=6, min_steps=0, batch_size=8, random_state=0, **params)


@pytest.mark.parametrize("kind", ["bilstm", "embedding"])
def test_a_held_out_share_gives_per_epoch_losses_and_keeps_the_best_epoch(kind, sentences, tiny_bert):
    build = bilstm if kind == "bilstm" else (lambda **p: embedding(tiny_bert, **p))
    held = build(validation_fraction=0.25).fit(sentences)
    assert 1 <= len(held.validation_losses_) <= 6
    assert held.validation_losses_[held.best_epoch_] == min(held.validation_losses_)
    assert held.get_params()["validation_fraction"] == 0.25
    plain = build().fit(sentences)
    assert plain.validation_losses_ == [] and plain.best_epoch_ is None
    # A quarter held out (and possibly fewer epochs): not the model trained on everything.
    assert not np.allclose(held.token_marginals(sentences)[0], plain.token_marginals(sentences)[0])


def test_an_invalid_fraction_names_the_parameter(sentences):
    with pytest.raises(ConfigError, match="validation_fraction"):
        bilstm(validation_fraction=1.5).fit(sentences)


def test_the_transformer_tagger_declares_the_parameter():
    from labelwise.models import TransformerTagger

    assert TransformerTagger(validation_fraction=0.1).get_params()["validation_fraction"] == 0.1
