"""Domain adaptation: continue masked-LM training of an encoder on the unlabeled pool.

Before AL starts, a few hundred MLM steps on the pool's own texts adapt the encoder's
vocabulary statistics to the domain (Gururangan et al. 2020, "Don't Stop Pretraining").
The adapted encoder is saved as a folder that any transformer adapter takes as
``model_name_or_path``.

**Caveat: the MLM head is new.** Neither packaged encoder (MiniLM, MPNet) ships the
weights of its masked-LM head — sentence-transformers checkpoints keep only the
encoder. ``AutoModelForMaskedLM.from_pretrained`` therefore creates a freshly
initialised head (transformers warns that ``cls.predictions.*`` / ``lm_head.*`` weights
were newly initialised). We tie the head's decoder to the input embeddings (as BERT and
MPNet were pretrained) so only the transform layer and bias start from scratch, and
train it on the pool. Its first losses are therefore high (near ``log(vocab)``), and
the first steps mostly train the head: give it enough steps (hundreds) before judging
the encoder. The saved folder keeps the trained head, so a later run starts warm.

References:
    Devlin et al. (2019). BERT. (Masking: 15 % of tokens; 80 % [MASK], 10 % random,
    10 % unchanged.)
    Gururangan et al. (2020). Don't Stop Pretraining: Adapt Language Models to Domains
    and Tasks. ACL 2020.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from labelwise.errors import ConfigError, DataError
from labelwise.models.masked_lm import (  # noqa: F401 (re-exported: the MLM plumbing lives in models)
    load_masked_lm,
    mask_tokens,
    masked_lm_loss,
    train_masked_lm,
)
from labelwise.plasm._checks import require


@dataclass
class DomainAdaptationResult:
    """Where the adapted encoder went and how the MLM loss moved.

    Attributes:
        path: the saved folder (encoder + trained MLM head + tokenizer).
        loss_before: mean MLM loss before training (fixed masks) on the held-out texts.
        loss_after: the same after training.
        losses: training loss per step.
        new_head: names of the weights transformers initialised fresh.
        seconds: training time.
        held_out_texts: the pool texts held out of training for the two losses
            (``warm_start_seq2seq``: empty, its held-out pairs are Lead pairs).
        n_train_texts: pool texts trained on.
    """

    path: str
    loss_before: float
    loss_after: float
    losses: list[float] = field(default_factory=list)
    new_head: list[str] = field(default_factory=list)
    seconds: float = 0.0
    held_out_texts: list[str] = field(default_factory=list)
    n_train_texts: int = 0


def split_held_out(texts: list[str], eval_size: int, random_state: int) -> tuple[list[str], list[str]]:
    """(training texts, held-out texts): a seeded random ``eval_size`` of the distinct
    texts (at most half of them) is held out, and every copy of a held-out text stays out
    of training, so the held-out loss is measured on text the model never saw."""
    distinct = list(dict.fromkeys(texts))
    if len(distinct) < 2:
        raise DataError(f"the pool holds {len(distinct)} distinct text(s); domain adaptation needs at least two: "
                        "one to train on and one held out to measure the MLM loss.")
    if isinstance(eval_size, bool) or not isinstance(eval_size, (int, np.integer)) or eval_size < 1:
        raise ConfigError(f"eval_size must be an integer of at least 1 (texts held out to measure the MLM "
                          f"loss), got {eval_size!r}.")
    n_held = min(int(eval_size), len(distinct) // 2)
    chosen = np.random.default_rng(random_state).permutation(len(distinct))[:n_held]
    held_set = {distinct[i] for i in chosen}
    held = [distinct[i] for i in np.sort(chosen)]
    return [t for t in texts if t not in held_set], held


def pool_texts(pool: Any) -> list[str]:
    """The pool's texts for the MLM: a classification pool's texts as they are; a tagging
    pool's sentences with their tokens joined by spaces (the tokenizer splits them again)."""
    texts = []
    for number, item in enumerate(pool.inputs):
        if isinstance(item, str):
            texts.append(item)
        elif isinstance(item, (list, tuple)) and all(isinstance(token, str) for token in item):
            texts.append(" ".join(item))
        else:
            raise DataError(f"pool row {number} is a {type(item).__name__}, not a text or a list of tokens; "
                            "domain adaptation reads classification texts or tagging sentences.")
    return texts


def adapt_encoder(pool: Any, output_dir: str | Path, model_name_or_path: str | None = None, *,
                  steps: int = 200, batch_size: int = 16, max_length: int = 64, learning_rate: float = 5e-5,
                  mlm_probability: float = 0.15, eval_size: int = 256, random_state: int = 0,
                  device: Any = None, progress: bool = False) -> DomainAdaptationResult:
    """Continue MLM training of an encoder on ``pool``'s texts (a tagging pool's sentences
    joined into texts) and save it to
    ``output_dir`` (loadable by ``AutoModel*.from_pretrained``, e.g. as a
    ``TransformerClassifier``'s ``model_name_or_path``).

    The MLM head is freshly initialised for the packaged encoders (see module docs).
    ``eval_size`` distinct texts (at most half of them, chosen with ``random_state``) are
    held out of training; ``loss_before`` and ``loss_after`` are measured on them.
    """
    require("torch", "transformers", "adapt_encoder()")
    require("transformers", "transformers", "adapt_encoder()")
    from labelwise.models._estimator import seeded
    from labelwise.models.torch_utils import choose_device

    texts = [t for t in pool_texts(pool) if t.strip()]
    if not texts:
        raise DataError("the pool holds no text to adapt the encoder on.")
    train_texts, held = split_held_out(texts, eval_size, random_state)
    device = choose_device(device)
    with seeded(int(random_state), device):  # the fresh MLM head's initialisation: global generator forked
        model, tokenizer, missing = load_masked_lm(model_name_or_path, device=device)
    before = masked_lm_loss(model, tokenizer, held, max_length=max_length, mlm_probability=mlm_probability)
    started = time.perf_counter()
    losses = train_masked_lm(model, tokenizer, train_texts, steps=steps, batch_size=batch_size, max_length=max_length,
                             learning_rate=learning_rate, mlm_probability=mlm_probability,
                             random_state=random_state, progress=progress)
    seconds = time.perf_counter() - started
    after = masked_lm_loss(model, tokenizer, held, max_length=max_length, mlm_probability=mlm_probability)
    output = Path(output_dir)
    output.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(output)
    tokenizer.save_pretrained(output)
    return DomainAdaptationResult(str(output), before, after, losses, missing, seconds, held, len(train_texts))


def warm_start_seq2seq(pool: Any, output_dir: str | Path, model_name_or_path: str | None = None, *,
                       max_words: int = 8, epochs: int = 1, max_rows: int | None = None, eval_size: int = 64,
                       random_state: int = 0, **model_params: Any) -> DomainAdaptationResult:
    """Train a seq2seq model to write each pool source's first words (its Lead
    pseudo-summary) and save it to ``output_dir``. No labels are used.

    Why: a BERT2BERT model warm-started from an encoder has random cross-attention and a
    decoder that has never generated; the 10-100 labeled pairs of an AL run cannot teach
    it to write at all (ROUGE stays near 0). The Lead task teaches it to attend to the
    source and produce fluent short text, on the pool itself, before any label exists.
    Real seq2seq checkpoints (BART, T5, PEGASUS) already generate and do not need it.

    ``model_params`` go to :class:`~labelwise.models.TransformerSeq2Seq` (lengths, batch
    size, learning rate, device). The result's losses are mean token losses on held-out
    Lead pairs, and ``path`` a ``TransformerSeq2Seq.save`` folder.
    """
    from labelwise.data import Seq2SeqDataset
    from labelwise.models import TransformerSeq2Seq
    from labelwise.models.hf_seq2seq import lead_pairs

    pairs = lead_pairs(pool.sources, max_words)
    if len(pairs) < 2:
        raise DataError("the pool holds fewer than two non-empty sources to warm the seq2seq model up on.")
    rng = np.random.default_rng(random_state)
    order = rng.permutation(len(pairs))
    held = [pairs[i] for i in order[: min(eval_size, len(pairs) // 2)]]
    train = [pairs[i] for i in order[len(held):]]
    if max_rows is not None:
        train = train[:max_rows]
    model = TransformerSeq2Seq(model_name_or_path, epochs=epochs, random_state=random_state, **model_params)
    held_sources, held_targets = [s for s, _ in held], [t for _, t in held]
    before = -float(np.mean(model.sequence_log_prob(held_sources, held_targets)))
    started = time.perf_counter()
    model.fit(Seq2SeqDataset([s for s, _ in train], [t for _, t in train]))
    seconds = time.perf_counter() - started
    after = -float(np.mean(model.sequence_log_prob(held_sources, held_targets)))
    path = model.save(output_dir)
    return DomainAdaptationResult(str(path), before, after, list(model.loss_history_), [], seconds)
