"""Fixtures shared by the model tests."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory):
    """A 2-layer, 32-wide BERT encoder with random weights and MiniLM's tokenizer, saved to a
    folder. A test module that needs another network defines its own ``tiny_bert``."""
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    from labelwise.models.pretrained import default_encoder_path

    folder = tmp_path_factory.mktemp("tiny_bert_encoder")
    tokenizer = transformers.AutoTokenizer.from_pretrained(default_encoder_path())
    config = transformers.BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2,
                                     num_attention_heads=2, intermediate_size=64, max_position_embeddings=128)
    with torch.random.fork_rng():
        torch.manual_seed(0)
        transformers.BertModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return str(folder)
