"""Hugging Face transformers for sequence classification (fine-tuned from a pretrained
encoder; the packaged MiniLM by default)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from labelwise.data.datasets import ClassificationDataset
from labelwise.errors import ConfigError
from labelwise.models._torch_classifier import TorchTextClassifier
from labelwise.models.pretrained import resolve_model_path

#: config fields that hold a dropout probability the ``dropout`` argument overrides
_DROPOUT_FIELDS = ("hidden_dropout_prob", "classifier_dropout", "dropout", "seq_classif_dropout",
                   "hidden_dropout", "summary_last_dropout")


class TransformerClassifier(TorchTextClassifier):
    """Fine-tune a pretrained transformer (``AutoModelForSequenceClassification``).

    Every :meth:`fit` starts again from the pretrained weights (active learning retrains
    from scratch each iteration), seeded from ``random_state``; AdamW with a linear
    warm-up and decay; automatic mixed precision (bf16, else fp16 with loss scaling) on
    CUDA; plain float32 on the CPU. :meth:`prepare` tokenizes the pool once and caches
    the token ids by text; inference sorts texts by length, pads per batch and runs
    under ``torch.inference_mode()``.

    Outputs (all float32 numpy, rows in input order):

    - ``predict_proba``: ``(n, n_classes)`` softmax, or sigmoid for multi-label data
      (``problem_type="multi_label_classification"``).
    - ``embed``: ``(n, hidden)`` the pooled vector the classification head reads. For
      BERT-like models (MiniLM, BERT, DistilBERT) that is the input of the ``classifier``
      Linear: the pooler output ``tanh(W·h_[CLS])`` (DistilBERT: after its pre-classifier).
      For models whose head reads the sequence itself (RoBERTa, ELECTRA, DeBERTa) it is the
      final hidden state of the first token, as the head receives it.
    - ``last_layer_features``: ``(n, in_features)`` exactly the input of the final Linear
      layer (found with a forward hook, whatever the architecture); for BERT-like models
      the same as ``embed``.
    - ``predict_proba_mc``: ``(n, n_samples, n_classes)`` MC dropout.

    Args:
        model_name_or_path: a local model folder, a hub name (needs the network or the hub
            cache; fails clearly under ``HF_HUB_OFFLINE=1``), or None / ``"minilm"`` for the
            packaged all-MiniLM-L6-v2 encoder.
        max_length: tokens per text after truncation.
        batch_size: training batch size.
        inference_batch_size: batch size for every inference output.
        epochs: training epochs.
        learning_rate: peak AdamW learning rate.
        head_learning_rate: peak learning rate of the new classification head (None: the
            same as the encoder). With a few dozen labels an AL fit takes only a handful of
            steps; a head rate ~10x the encoder's (e.g. 1e-3 vs 1e-4) lets the random head
            fit in those steps while the pretrained encoder moves gently.
        weight_decay: AdamW weight decay (not applied to biases and LayerNorm).
        warmup_ratio: fraction of the steps spent warming up linearly.
        dropout: override the model's dropout probabilities (None keeps the config's).
        device: ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ... (None: CUDA when present).
        mixed_precision: autocast on CUDA (no effect on the CPU).
        checkpoint_dir: if given, one checkpoint per epoch is written there
            (``{"state_dict", "learning_rate", "epoch"}``, see ``checkpoints_``), e.g. for TracIn.
        random_state: int seed (or Generator); the same seed gives the same model.
        progress: show tqdm bars for training and long inference.
        validation_fraction: share of the labeled rows held out for early stopping (the
            epoch with the lowest held-out loss is kept; 0: train on every row, no stopping).

    Attributes:
        label_names_, multi_label_, n_classes_, module_ (the torch module), tokenizer_,
        device_, checkpoints_ (paths, one per epoch), train_losses_ (mean loss per epoch).

    References:
        Devlin et al. (2019), BERT. NAACL. Wang et al. (2020), MiniLM. NeurIPS.
    """

    def __init__(
        self,
        model_name_or_path: str | os.PathLike | None = None,
        *,
        max_length: int = 128,
        batch_size: int = 16,
        inference_batch_size: int = 64,
        epochs: int = 5,
        learning_rate: float = 5e-5,
        weight_decay: float = 0.01,
        warmup_ratio: float = 0.1,
        dropout: float | None = None,
        device: str | None = None,
        mixed_precision: bool = True,
        checkpoint_dir: str | os.PathLike | None = None,
        random_state: Any = 0,
        progress: bool = False,
        validation_fraction: float = 0.0,
        head_learning_rate: float | None = None,
    ) -> None:
        self._store_params(locals())

    # ---- tokenizer -------------------------------------------------------------------------
    def _model_path(self) -> str:
        return resolve_model_path(self.model_name_or_path)

    def _ensure_tokenizer(self, texts: Sequence[str]) -> None:
        source = str(self.model_name_or_path)
        if getattr(self, "tokenizer_", None) is not None and getattr(self, "_tokenizer_source", None) == source:
            return
        from transformers import AutoTokenizer

        path = self._model_path()
        with _loading_errors(path):
            self.tokenizer_ = AutoTokenizer.from_pretrained(path)
        self._tokenizer_source = source

    def _tokenizer_key(self) -> Any:
        return self.max_length, getattr(self, "_tokenizer_source", None)

    def _tokenize(self, texts: list[str]) -> list[Sequence[int]]:
        return self.tokenizer_(texts, truncation=True, max_length=self.max_length)["input_ids"]

    def _pad_id(self) -> int:
        pad = self.tokenizer_.pad_token_id
        return 0 if pad is None else int(pad)

    # ---- module ----------------------------------------------------------------------------
    def _new_module(self, dataset: ClassificationDataset) -> Any:
        from transformers import AutoConfig, AutoModelForSequenceClassification

        path = self._model_path()
        names = list(dataset.label_names)
        with _loading_errors(path):
            config = AutoConfig.from_pretrained(
                path,
                num_labels=len(names),
                id2label=dict(enumerate(names)),
                label2id={name: i for i, name in enumerate(names)},
                problem_type="multi_label_classification" if dataset.multi_label else "single_label_classification",
            )
            if config.pad_token_id is None and getattr(self, "tokenizer_", None) is not None:
                config.pad_token_id = self.tokenizer_.pad_token_id
            if self.dropout is not None:
                for field in _DROPOUT_FIELDS:
                    if hasattr(config, field):
                        setattr(config, field, float(self.dropout))
            with _quiet_transformers():
                return AutoModelForSequenceClassification.from_pretrained(path, config=config)

    def _forward(self, module: Any, batch: dict[str, Any]) -> Any:
        return module(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits

    def _embedding_source(self, module: Any) -> Any:
        head = getattr(module, "classifier", None) or getattr(module, "score", None)
        return head if head is not None else self._final_linear(module)

    def _width(self, name: str, module: Any) -> int:
        if name == "embeddings" and not hasattr(self._embedding_source(module), "in_features"):
            return int(module.config.hidden_size)
        return super()._width(name, module)

    # ---- persistence -------------------------------------------------------------------------
    def _save_weights(self, folder: Path) -> None:
        """The fine-tuned model (``save_pretrained``: config.json + model.safetensors) and
        its tokenizer. A loaded model's later :meth:`fit` starts from ``model_name_or_path``."""
        self.module_.save_pretrained(folder, safe_serialization=True)
        self.tokenizer_.save_pretrained(folder)

    def _restore_module(self, folder: Path, state: dict[str, Any]) -> None:
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        with _loading_errors(str(folder)):
            self.tokenizer_ = AutoTokenizer.from_pretrained(folder)
            with _quiet_transformers():
                module = AutoModelForSequenceClassification.from_pretrained(folder, use_safetensors=True)
        self.module_ = module.to(self.device_).eval()
        self._tokenizer_source = str(self.model_name_or_path)  # the saved copy of that tokenizer

    def __getstate__(self) -> dict[str, Any]:
        # The token cache is rebuilt cheaply; keep pickles (e.g. Dask workers) small.
        state = dict(self.__dict__)
        state.pop("_token_cache", None)
        state.pop("_cache_key", None)
        return state


@contextlib.contextmanager
def _loading_errors(path: str):
    """Turn the loaders' OSError / ValueError into a ConfigError that names the path."""
    try:
        yield
    except (OSError, ValueError) as error:
        raise ConfigError(
            f"could not load a Hugging Face model from {path!r} ({type(error).__name__}: {error}). "
            "Pass a local model folder with config.json and weights, a hub name reachable online, "
            "or None for the packaged MiniLM."
        ) from error


@contextlib.contextmanager
def _quiet_transformers():
    """Silence 'some weights were newly initialised' (expected: the head is new)."""
    from transformers.utils import logging

    previous = logging.get_verbosity()
    bars = logging.is_progress_bar_enabled()
    logging.set_verbosity_error()
    logging.disable_progress_bar()
    try:
        yield
    finally:
        logging.set_verbosity(previous)
        if bars:
            logging.enable_progress_bar()
