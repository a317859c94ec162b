"""Fixtures of the tagging PLASM tests: a tiny random BERT and a few CoNLL sentences."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory):
    """A 2-layer, 32-wide BERT with the packaged MiniLM tokenizer and no MLM head."""
    pytest.importorskip("transformers")
    from tiny_models import save_tiny_bert

    return save_tiny_bert(tmp_path_factory.mktemp("tiny_bert"))


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
