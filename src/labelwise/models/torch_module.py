"""Wrap your own ``torch.nn.Module`` as a labelwise model."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from labelwise.data.datasets import ClassificationDataset
from labelwise.errors import ConfigError
from labelwise.models._estimator import WEIGHTS_FILE, load_state_dict, save_state_dict
from labelwise.models._torch_classifier import TorchTextClassifier


class TorchModuleClassifier(TorchTextClassifier):
    """A text classifier around any ``torch.nn.Module`` you write.

    You give two functions: ``tokenize(texts) -> token ids per text`` (lists of ints; they
    are truncated to ``max_length``, cached by text, and padded per batch with ``pad_id``)
    and ``module_factory(n_classes) -> nn.Module``, called afresh (and seeded) on every
    :meth:`fit`. The module is called as ``module(input_ids, attention_mask)`` with two
    ``(batch, length)`` int64 tensors and must return logits ``(batch, n_classes)``.

    labelwise supplies the rest: the training loop (cross-entropy, or binary cross-entropy
    for multi-label data; AdamW with linear warm-up/decay; autocast on CUDA), batched
    length-sorted inference, ``predict_proba`` ``(n, n_classes)``, MC dropout
    ``predict_proba_mc`` ``(n, n_samples, n_classes)`` (any ``nn.Dropout`` in your module),
    and ``last_layer_features`` = ``embed`` ``(n, in_features)``: the input of the final
    linear layer, read by a forward hook on the layer named ``final_layer`` (by default the
    last ``nn.Linear`` with ``n_classes`` outputs).

    Example::

        import zlib

        from torch import nn

        class MeanOfWords(nn.Module):
            def __init__(self, n_classes, vocabulary_size=5000, dim=64):
                super().__init__()
                self.embedding = nn.Embedding(vocabulary_size, dim, padding_idx=0)
                self.dropout = nn.Dropout(0.2)
                self.out = nn.Linear(dim, n_classes)

            def forward(self, input_ids, attention_mask):
                mask = attention_mask.unsqueeze(-1).float()
                mean = (self.embedding(input_ids) * mask).sum(1) / mask.sum(1)
                return self.out(self.dropout(mean))

        def tokenize(texts):  # deterministic across processes (unlike hash()), 0 is padding
            return [[zlib.crc32(word.encode()) % 4999 + 1 for word in text.lower().split()] for text in texts]

        model = TorchModuleClassifier(MeanOfWords, tokenize, final_layer="out", epochs=5)
        model.fit(labeled)                    # a ClassificationDataset
        probabilities = model.predict_proba(pool)

    Args:
        module_factory: ``n_classes -> torch.nn.Module`` (a class or a function).
        tokenize: ``list[str] -> list[list[int]]``; must be deterministic (ids are cached).
        final_layer: dotted name of the final ``nn.Linear`` in the module (None: found).
        pad_id: id used to pad batches (where ``attention_mask`` is 0).
        max_length, batch_size, inference_batch_size, epochs, learning_rate, weight_decay,
        warmup_ratio, device, mixed_precision, checkpoint_dir, random_state, progress, validation_fraction: as
            for :class:`~labelwise.models.TransformerClassifier`.
    """

    def __init__(
        self,
        module_factory: Callable[[int], Any],
        tokenize: Callable[[list[str]], Sequence[Sequence[int]]],
        *,
        final_layer: str | None = None,
        pad_id: int = 0,
        max_length: int = 128,
        batch_size: int = 32,
        inference_batch_size: int = 128,
        epochs: int = 5,
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

    def _tokenizer_key(self) -> Any:
        return self.max_length, id(self.tokenize)

    def _tokenize(self, texts: list[str]) -> list[Sequence[int]]:
        encoded = list(self.tokenize(list(texts)))
        if len(encoded) != len(texts):
            raise ConfigError(f"tokenize() returned {len(encoded)} sequences for {len(texts)} texts; "
                              "it must return one list of token ids per text.")
        return [list(ids)[: self.max_length] or [self.pad_id] for ids in encoded]

    def _pad_id(self) -> int:
        return int(self.pad_id)

    def _new_module(self, dataset: ClassificationDataset | None = None) -> Any:
        import torch

        module = self.module_factory(self.n_classes_)
        if not isinstance(module, torch.nn.Module):
            raise ConfigError(f"module_factory must return a torch.nn.Module, got {type(module).__name__}.")
        return module

    def _final_linear(self, module: Any) -> Any:
        if self.final_layer is None:
            return super()._final_linear(module)
        import torch

        try:
            layer = module.get_submodule(self.final_layer)
        except AttributeError:
            names = [name for name, m in module.named_modules() if isinstance(m, torch.nn.Linear)]
            raise ConfigError(f"final_layer={self.final_layer!r} is not in the module; its Linear layers: {names}.") from None
        if not isinstance(layer, torch.nn.Linear):
            raise ConfigError(f"final_layer={self.final_layer!r} is a {type(layer).__name__}, not a torch.nn.Linear.")
        return layer

    def _save_weights(self, folder: Path) -> None:
        """The module's ``state_dict`` as safetensors. Loading needs the same
        ``module_factory`` and ``tokenize``: ``model.load(folder)`` on an instance built
        with them, or ``TorchModuleClassifier.load(folder, module_factory=..., tokenize=...)``."""
        save_state_dict(self.module_, folder / WEIGHTS_FILE)

    def _restore_module(self, folder: Path, state: dict[str, Any]) -> None:
        module = load_state_dict(folder / WEIGHTS_FILE, self._new_module())
        self.module_ = module.to(self.device_).eval()
