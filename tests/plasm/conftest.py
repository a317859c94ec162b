"""Fixtures of the tagging PLASM tests: a tiny random BERT and a few CoNLL sentences."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory):
    """A 2-layer, 32-wide BERT with the packaged MiniLM tokenizer and no MLM head."""
    transformers = pytest.importorskip("transformers")
    import torch

    from labelwise.models.pretrained import default_encoder_path

    folder = tmp_path_factory.mktemp("tiny_bert")
    tokenizer = transformers.AutoTokenizer.from_pretrained(default_encoder_path())
    config = transformers.BertConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2,
                                     num_attention_heads=2, intermediate_size=64, max_position_embeddings=128)
    torch.manual_seed(0)
    transformers.BertModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return str(folder)


@pytest.fixture(scope="session")
def sentences():
    from labelwise.data import load_conll_sample

    train, _ = load_conll_sample()
    return train.subset(range(24))


@pytest.fixture(scope="session")
def teacher(sentences):
    pytest.importorskip("torch")
    from labelwise.models import BiLSTMCRFTagger

    return BiLSTMCRFTagger(word_dim=16, char_dim=8, char_filters=8, hidden=16, epochs=4, random_state=0).fit(sentences)
