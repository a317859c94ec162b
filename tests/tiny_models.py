"""Tiny random transformers saved as folders, with the packaged MiniLM tokenizer (on
pytest's ``pythonpath``: the model, PLASM and contract tests build them from here)."""

from __future__ import annotations

from pathlib import Path


def save_tiny_bert(folder: Path, *, hidden: int = 32, layers: int = 2, max_positions: int = 128,
                   head: str = "BertModel") -> str:
    """A BERT with random weights (seeded without touching the global generator) of width
    ``hidden`` and ``layers`` layers; ``head`` is the transformers class saved (e.g.
    ``"BertForMaskedLM"`` for a masked-LM head). Returns the folder as a string."""
    import torch
    import transformers

    from labelwise.models.pretrained import default_encoder_path

    tokenizer = transformers.AutoTokenizer.from_pretrained(default_encoder_path())
    config = transformers.BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=hidden, num_hidden_layers=layers,
                                     num_attention_heads=2, intermediate_size=2 * hidden,
                                     max_position_embeddings=max_positions)
    with torch.random.fork_rng():
        torch.manual_seed(0)
        getattr(transformers, head)(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return str(folder)


def save_tiny_bart(folder: Path, *, width: int = 32, layers: int = 2, max_positions: int = 64) -> str:
    """A BART for conditional generation with random weights (seeded without touching the
    global generator), the MiniLM WordPiece tokenizer, [CLS] as start and [SEP] as end."""
    import torch
    import transformers

    from labelwise.models.pretrained import default_encoder_path

    tokenizer = transformers.AutoTokenizer.from_pretrained(default_encoder_path())
    config = transformers.BartConfig(
        vocab_size=len(tokenizer), d_model=width, encoder_layers=layers, decoder_layers=layers,
        encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=2 * width, decoder_ffn_dim=2 * width,
        max_position_embeddings=max_positions, pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.cls_token_id, eos_token_id=tokenizer.sep_token_id,
        decoder_start_token_id=tokenizer.cls_token_id)
    with torch.random.fork_rng():
        torch.manual_seed(0)
        transformers.BartForConditionalGeneration(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return str(folder)
