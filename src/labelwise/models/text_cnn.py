"""A convolutional text classifier trained from scratch (Kim 2014)."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from labelwise.data import segmentation
from labelwise.data.datasets import ClassificationDataset
from labelwise.errors import DataError
from labelwise.models._estimator import WEIGHTS_FILE, load_state_dict, save_state_dict
from labelwise.models._torch_classifier import TorchTextClassifier

PAD, UNK = "<pad>", "<unk>"


def word_tokens(text: str) -> list[str]:
    """Lower-cased word and punctuation tokens; characters in scripts written without
    spaces (Chinese, Japanese, Thai, ...), see :mod:`labelwise.data.segmentation`."""
    return segmentation.word_tokens(text)


class KimCNN(nn.Module):
    """Embedding → parallel 1-D convolutions (one per filter width) → ReLU → max over time →
    dropout → linear. Convolutions are *wide* (zero-padded by ``width - 1`` on both sides)
    and the max ignores positions that only see padding, so a text's output does not depend
    on how long the other texts of its batch are."""

    def __init__(self, vocabulary_size: int, n_classes: int, embedding_dim: int = 128,
                 n_filters: int = 100, filter_widths: Sequence[int] = (3, 4, 5), dropout: float = 0.5) -> None:
        super().__init__()
        self.filter_widths = tuple(int(w) for w in filter_widths)
        self.embedding = nn.Embedding(vocabulary_size, embedding_dim, padding_idx=0)
        self.convolutions = nn.ModuleList(
            nn.Conv1d(embedding_dim, n_filters, width, padding=width - 1) for width in self.filter_widths
        )
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(n_filters * len(self.filter_widths), n_classes)

    def pooled(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Max-pooled convolution features ``(batch, n_filters * n_widths)``."""
        embedded = self.embedding(input_ids).transpose(1, 2)  # (batch, dim, length)
        lengths = attention_mask.sum(dim=1, keepdim=True)
        features = []
        for width, convolution in zip(self.filter_widths, self.convolutions, strict=True):
            activations = torch.relu(convolution(embedded))  # (batch, filters, length + width - 1)
            positions = torch.arange(activations.shape[2], device=activations.device)
            seen = (positions[None, :] < lengths + width - 1).unsqueeze(1)
            features.append(activations.masked_fill(~seen, float("-inf")).amax(dim=2))
        return torch.cat(features, dim=1)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.dropout(self.pooled(input_ids, attention_mask)))


class TextCNN(TorchTextClassifier):
    """Kim's (2014) CNN for sentence classification, with its own word vocabulary and
    embeddings trained from scratch: a fast, small neural model with real MC dropout and
    last-layer features for gradient-based strategies.

    The vocabulary (lower-cased word and punctuation tokens seen at least ``min_count``
    times, the ``max_vocabulary`` most frequent) is built by :meth:`prepare` from the whole
    pool (unsupervised), else by the first :meth:`fit` from its texts; words outside it map
    to ``<unk>``. Token ids are cached by text, as for the transformer.

    Outputs (float32 numpy, rows in input order): ``predict_proba`` ``(n, n_classes)``
    (softmax; sigmoid for multi-label), ``embed`` = ``last_layer_features`` ``(n,
    n_filters * len(filter_widths))`` the max-pooled features the final linear layer reads,
    ``predict_proba_mc`` ``(n, n_samples, n_classes)`` with the dropout before that layer.

    Args:
        embedding_dim, n_filters, filter_widths, dropout: the architecture.
        min_count, max_vocabulary: the vocabulary.
        max_length: tokens per text after truncation.
        batch_size, inference_batch_size, epochs, learning_rate, weight_decay,
        warmup_ratio: training (AdamW with a linear warm-up and decay).
        device, mixed_precision, checkpoint_dir, random_state, progress, validation_fraction: as for
            :class:`~labelwise.models.TransformerClassifier`.

    References:
        Kim (2014), Convolutional neural networks for sentence classification. EMNLP.
    """

    def __init__(
        self,
        *,
        embedding_dim: int = 128,
        n_filters: int = 100,
        filter_widths: Sequence[int] = (3, 4, 5),
        dropout: float = 0.5,
        min_count: int = 1,
        max_vocabulary: int = 30_000,
        max_length: int = 128,
        batch_size: int = 32,
        inference_batch_size: int = 256,
        epochs: int = 10,
        learning_rate: float = 1e-3,
        weight_decay: float = 0.0,
        warmup_ratio: float = 0.0,
        device: str | None = None,
        mixed_precision: bool = True,
        checkpoint_dir: str | os.PathLike | None = None,
        random_state: Any = 0,
        progress: bool = False,
        validation_fraction: float = 0.0,
    ) -> None:
        self._store_params(locals())

    # ---- vocabulary --------------------------------------------------------------------------
    def build_vocabulary(self, texts: Sequence[str]) -> dict[str, int]:
        """Word → id (0 = padding, 1 = unknown), most frequent words first, ties alphabetical."""
        counts = Counter(token for text in texts for token in word_tokens(text))
        words = sorted((w for w, c in counts.items() if c >= self.min_count), key=lambda w: (-counts[w], w))
        return {PAD: 0, UNK: 1, **{word: i + 2 for i, word in enumerate(words[: max(0, self.max_vocabulary - 2)])}}

    def prepare(self, pool: Any) -> None:
        """Build the vocabulary from the whole pool and cache its token ids."""
        texts = list(pool.inputs)
        self.vocabulary_ = self.build_vocabulary(texts)
        self._encode(texts)

    def _ensure_tokenizer(self, texts: Sequence[str]) -> None:
        if not hasattr(self, "vocabulary_"):
            self.vocabulary_ = self.build_vocabulary(texts)

    def _tokenizer_key(self) -> Any:
        vocabulary = getattr(self, "vocabulary_", None)
        return self.max_length, id(vocabulary), len(vocabulary or ())

    def _tokenize(self, texts: list[str]) -> list[Sequence[int]]:
        vocabulary = self.vocabulary_
        encoded = []
        for text in texts:
            ids = [vocabulary.get(token, 1) for token in word_tokens(text)[: self.max_length]]
            encoded.append(ids or [1])  # an empty text reads as one unknown word
        return encoded

    # ---- module ------------------------------------------------------------------------------
    def _new_module(self, dataset: ClassificationDataset | None = None) -> KimCNN:
        if not self.filter_widths or min(self.filter_widths) < 1:
            raise DataError(f"filter_widths must be positive integers, got {self.filter_widths!r}.")
        return KimCNN(len(self.vocabulary_), self.n_classes_, self.embedding_dim, self.n_filters,
                      self.filter_widths, self.dropout)

    def _final_linear(self, module: Any) -> Any:
        return module.classifier

    # ---- persistence -------------------------------------------------------------------------
    def _save_weights(self, folder: Path) -> None:
        save_state_dict(self.module_, folder / WEIGHTS_FILE)

    def _fitted_state(self) -> dict[str, Any]:
        return {**super()._fitted_state(), "vocabulary": self.vocabulary_}

    def _restore_module(self, folder: Path, state: dict[str, Any]) -> None:
        self.vocabulary_ = dict(state["vocabulary"])
        module = load_state_dict(folder / WEIGHTS_FILE, self._new_module())
        self.module_ = module.to(self.device_).eval()

    @property
    def vocabulary_size(self) -> int:
        return len(getattr(self, "vocabulary_", ()))
