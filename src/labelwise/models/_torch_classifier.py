"""The machinery shared by the PyTorch text classifiers (transformer, text CNN, a user's
own module): a token-id cache, the seeded training loop, batched inference with
per-batch padding, forward hooks for features, MC dropout, and save/load.

Subclasses say how texts become token ids (``_tokenize``), how a fresh module is built
(``_new_module``), how it is called on a padded batch (``_forward``), and which layer is
the final linear one (``_final_linear``). Everything else lives here, once.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from labelwise.data.datasets import ClassificationDataset
from labelwise.errors import CapabilityError, ConfigError, DataError
from labelwise.models._estimator import LabelwiseModel, resolve_seed, seeded
from labelwise.models._training import TrainingConfig, parameter_groups, train
from labelwise.models.torch_utils import (
    autocast,
    choose_device,
    enable_dropout,
    length_sorted_batches,
)

_TOKENIZE_CHUNK = 4096


def as_seed(random_state: Any) -> int:
    """An int seed from an int, a ``numpy.random.Generator`` or None (fresh entropy)."""
    return resolve_seed(random_state)


class TorchTextClassifier(LabelwiseModel):
    """Base class; see the module docstring. Not meant to be used directly."""

    provides = ("probabilities", "embeddings", "last_layer_features", "mc_probabilities")

    #: minimum padded length of a batch (a CNN needs at least its widest filter)
    _min_batch_length = 1

    def _store_params(self, arguments: dict[str, Any]) -> None:
        """Store every ``__init__`` argument under its own name, nothing more (scikit-learn's
        rule). Each subclass keeps its explicit signature, which ``get_params`` and ``clone``
        read, and ends its ``__init__`` with ``self._store_params(locals())``."""
        for name, parameter in inspect.signature(type(self).__init__).parameters.items():
            if name != "self" and parameter.kind not in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
                setattr(self, name, arguments[name])

    # ---- what subclasses provide ---------------------------------------------------------
    def _tokenize(self, texts: list[str]) -> list[Sequence[int]]:
        raise NotImplementedError

    def _tokenizer_key(self) -> Any:
        """Anything that changes the token ids (e.g. ``max_length``): a change clears the cache."""
        return self.max_length

    def _ensure_tokenizer(self, texts: Sequence[str]) -> None:
        """Make ``_tokenize`` usable (load a tokenizer, build a vocabulary, ...)."""

    def _pad_id(self) -> int:
        return 0

    def _new_module(self, dataset: ClassificationDataset) -> Any:
        raise NotImplementedError

    def _forward(self, module: Any, batch: dict[str, Any]) -> Any:
        return module(batch["input_ids"], batch["attention_mask"])

    def _final_linear(self, module: Any) -> Any:
        """The last ``torch.nn.Linear`` producing one output per class."""
        import torch

        found = None
        for layer in module.modules():
            if isinstance(layer, torch.nn.Linear) and layer.out_features == self.n_classes_:
                found = layer
        if found is None:
            raise ConfigError(
                f"{type(self).__name__}: found no torch.nn.Linear with {self.n_classes_} outputs in the module; "
                "its final layer must be a Linear layer with one output per class."
            )
        return found

    def _embedding_source(self, module: Any) -> Any:
        """The module whose input is the pooled representation ``embed`` returns."""
        return self._final_linear(module)

    # ---- token-id cache ------------------------------------------------------------------
    def prepare(self, pool: Any) -> None:
        """Tokenize the whole pool once (unsupervised) and cache the ids by text, so no
        later iteration tokenizes a pool text again."""
        texts = list(pool.inputs)
        self._ensure_tokenizer(texts)
        self._encode(texts)

    def _encode(self, texts: Sequence[str]) -> list[np.ndarray]:
        """Token ids per text, from the cache; texts not cached yet are tokenized (in
        batches) and added to it."""
        self._ensure_tokenizer(texts)
        key = self._tokenizer_key()
        if getattr(self, "_cache_key", None) != key:
            self._token_cache: dict[str, np.ndarray] = {}
            self._cache_key = key
        cache = self._token_cache
        missing = [text for text in dict.fromkeys(texts) if text not in cache]
        if missing:
            for start in range(0, len(missing), _TOKENIZE_CHUNK):
                chunk = missing[start : start + _TOKENIZE_CHUNK]
                for text, ids in zip(chunk, self._tokenize(chunk), strict=True):
                    cache[text] = np.asarray(ids, dtype=np.int64)
        return [cache[text] for text in texts]

    def _collate(self, sequences: Sequence[np.ndarray]) -> dict[str, Any]:
        """Pad one batch to its own longest sequence: ``input_ids`` and ``attention_mask``,
        both ``(batch, length)`` int64."""
        import torch

        length = max(self._min_batch_length, max((len(s) for s in sequences), default=1))
        ids = np.full((len(sequences), length), self._pad_id(), dtype=np.int64)
        mask = np.zeros((len(sequences), length), dtype=np.int64)
        for row, sequence in enumerate(sequences):
            ids[row, : len(sequence)] = sequence
            mask[row, : len(sequence)] = 1
        return {"input_ids": torch.from_numpy(ids).to(self.device_),
                "attention_mask": torch.from_numpy(mask).to(self.device_)}

    # ---- training ------------------------------------------------------------------------
    def fit(self, dataset: ClassificationDataset) -> TorchTextClassifier:
        """Train a fresh module (re-initialised on every call, as AL retrains from scratch)
        on every row of ``dataset`` with AdamW and a linear warm-up/decay schedule."""
        import torch

        if not isinstance(dataset, ClassificationDataset):
            raise DataError(f"{type(self).__name__}.fit() needs a ClassificationDataset, got {type(dataset).__name__}.")
        if dataset.labels is None or len(dataset) == 0:
            raise DataError(f"{type(self).__name__}.fit() needs a non-empty labeled dataset.")
        if not dataset.multi_label and (np.asarray(dataset.labels) < 0).any():
            raise DataError("fit() got unlabeled rows (label -1); pass only labeled rows.")
        self.device_ = choose_device(self.device)
        self.label_names_ = tuple(dataset.label_names)
        self.multi_label_ = bool(dataset.multi_label)
        self.n_classes_ = len(self.label_names_)
        texts = list(dataset.inputs)
        self._ensure_tokenizer(texts)
        sequences = self._encode(texts)
        dtype = torch.float32 if self.multi_label_ else torch.int64
        targets = torch.as_tensor(np.array(dataset.labels), dtype=dtype)
        self.checkpoints_: list[Path] = []
        self.__dict__.pop("module_", None)
        config = TrainingConfig(
            epochs=self.epochs, batch_size=self.batch_size, learning_rate=self.learning_rate,
            weight_decay=self.weight_decay, warmup_ratio=self.warmup_ratio, max_grad_norm=1.0,
            mixed_precision=self.mixed_precision, progress=self.progress, description=f"{type(self).__name__} fit",
            validation_fraction=getattr(self, "validation_fraction", 0.0))
        with seeded(self._seed(), self.device_) as generator:
            module = self._new_module(dataset).to(self.device_)

            def batch_loss(rows: np.ndarray) -> Any:
                logits = self._forward(module, self._collate([sequences[i] for i in rows]))
                return self._loss(logits.float(), targets[rows].to(self.device_))

            def checkpoint(epoch: int, rate: float) -> None:
                if self.checkpoint_dir is not None:
                    self.checkpoints_.append(self._save_checkpoint(module, epoch, rate))

            result = train(module, len(sequences), batch_loss, config, device=self.device_, generator=generator,
                           groups=self._parameter_groups(module), on_epoch_end=checkpoint)
        self.train_losses_ = result.epoch_losses
        self.module_ = module
        return self

    def _loss(self, logits: Any, labels: Any) -> Any:
        import torch.nn.functional as F

        if self.multi_label_:
            return F.binary_cross_entropy_with_logits(logits, labels)
        return F.cross_entropy(logits, labels)

    def _parameter_groups(self, module: Any) -> list[dict[str, Any]]:
        """No weight decay on biases and normalisation weights (as in BERT's recipe); the
        classification head at ``head_learning_rate`` when one is set."""
        head_rate = getattr(self, "head_learning_rate", None)
        rates = {}
        if head_rate is not None:
            rates = {id(p): head_rate for p in self._embedding_source(module).parameters()}
        return parameter_groups(module, self.weight_decay, rates)

    def _save_checkpoint(self, module: Any, epoch: int, learning_rate: float) -> Path:
        """One file per epoch: ``{"state_dict", "learning_rate", "epoch"}``; the learning
        rate is the mean step size of that epoch (what TracIn weights the checkpoint by)."""
        import torch

        folder = Path(self.checkpoint_dir)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"epoch_{epoch:03d}.pt"
        state = {name: tensor.detach().cpu().clone() for name, tensor in module.state_dict().items()}
        torch.save({"state_dict": state, "learning_rate": learning_rate, "epoch": epoch}, path)
        return path

    # ---- inference -----------------------------------------------------------------------
    def _batches(self, dataset: Any) -> Iterator[tuple[np.ndarray, dict[str, Any]]]:
        sequences = self._encode(list(dataset.inputs))
        lengths = np.fromiter((len(s) for s in sequences), dtype=np.int64, count=len(sequences))
        for rows in length_sorted_batches(lengths, self.inference_batch_size):
            yield rows, self._collate([sequences[i] for i in rows])

    def _run(self, dataset: Any, want: Sequence[str], n_samples: int = 0) -> dict[str, np.ndarray]:
        """One pass over ``dataset`` in length-sorted batches, results scattered back to
        input order. ``want`` names any of ``probabilities``, ``features`` (input of the
        final linear layer) and ``embeddings`` (input of the embedding source). With
        ``n_samples > 0``, ``probabilities`` is ``(n, n_samples, C)`` from that many
        stochastic passes (the caller sets the dropout layers to train mode)."""
        import torch

        self._check_fitted()
        module = self.module_
        n = len(dataset)
        captured: dict[str, Any] = {}
        handles = []
        sources = {}
        if "features" in want:
            sources["features"] = self._final_linear(module)
        if "embeddings" in want:
            sources["embeddings"] = self._embedding_source(module)
        for name, layer in sources.items():
            handles.append(layer.register_forward_hook(_capture_input(captured, name)))
        results: dict[str, np.ndarray] = {}
        bar = _progress(math.ceil(n / self.inference_batch_size), f"{type(self).__name__} inference",
                        self.progress and n > self.inference_batch_size)
        try:
            with torch.inference_mode(), autocast(self.device_, self.mixed_precision):
                for rows, batch in self._batches(dataset):
                    passes = max(1, n_samples)
                    for sample in range(passes):
                        captured.clear()
                        logits = self._forward(module, batch).float()
                        if "probabilities" in want:
                            probabilities = self._probabilities(logits).cpu().numpy()
                            if n_samples:
                                _store(results, "probabilities", rows, probabilities, n, (n_samples,), sample)
                            else:
                                _store(results, "probabilities", rows, probabilities, n)
                        if sample == 0:
                            for name in sources:
                                values = captured[name].float()
                                if values.ndim == 3:  # a head that reads the first token itself
                                    values = values[:, 0]
                                _store(results, name, rows, values.cpu().numpy(), n)
                    bar.update(1)
        finally:
            for handle in handles:
                handle.remove()
            bar.close()
        for name in want:
            if name not in results:  # an empty dataset
                width = self._width(name, module)
                shape = (0, n_samples, width) if (name == "probabilities" and n_samples) else (0, width)
                results[name] = np.zeros(shape, dtype=np.float32)
        return results

    def _width(self, name: str, module: Any) -> int:
        if name == "probabilities":
            return self.n_classes_
        layer = self._final_linear(module) if name == "features" else self._embedding_source(module)
        return int(getattr(layer, "in_features", 0))

    def _probabilities(self, logits: Any) -> Any:
        import torch

        return torch.sigmoid(logits) if self.multi_label_ else torch.softmax(logits, dim=-1)

    joint_output_kinds = ("probabilities", "embeddings", "last_layer_features")

    def joint_outputs(self, dataset: Any, kinds: Sequence[str]) -> dict[str, np.ndarray]:
        """Several of ``probabilities``, ``embeddings`` and ``last_layer_features`` from ONE
        forward pass over ``dataset`` (ModelOutputs uses it when a strategy needs more than
        one of them, halving inference for BADGE, CAL, Cluster-Margin, ...)."""
        names = {"probabilities": "probabilities", "embeddings": "embeddings", "last_layer_features": "features"}
        unknown = [kind for kind in kinds if kind not in names]
        if unknown:
            raise CapabilityError(f"joint_outputs cannot compute {unknown}; it computes {sorted(names)}.")
        results = self._run(dataset, tuple(names[kind] for kind in kinds))
        return {kind: results[names[kind]] for kind in kinds}

    def predict_proba(self, dataset: Any) -> np.ndarray:
        """Class probabilities ``(n, n_classes)`` float32: softmax rows summing to 1, or
        independent sigmoids for multi-label data. Columns follow ``label_names_``."""
        return self._run(dataset, ("probabilities",))["probabilities"]

    def predict(self, dataset: Any) -> np.ndarray:
        """Class ids ``(n,)``, or ``(n, n_classes)`` 0/1 indicators (int8) for multi-label."""
        probabilities = self.predict_proba(dataset)
        if self.multi_label_:
            return (probabilities >= 0.5).astype(np.int8)
        return probabilities.argmax(axis=1)

    def embed(self, dataset: Any) -> np.ndarray:
        """The pooled representation the classification head reads, ``(n, dim)`` float32."""
        return self._run(dataset, ("embeddings",))["embeddings"]

    def last_layer_features(self, dataset: Any) -> np.ndarray:
        """Exactly the input of the final linear layer, ``(n, in_features)`` float32 (with
        the dropout layers in eval mode), so that the gradient embedding of BADGE is
        ``(p - onehot(ŷ)) ⊗ h`` with these ``h``."""
        return self._run(dataset, ("features",))["features"]

    def predict_proba_mc(self, dataset: Any, n_samples: int = 10, random_state: Any = 0) -> np.ndarray:
        """MC-dropout class probabilities ``(n, n_samples, n_classes)`` float32: only the
        dropout layers are in train mode; the same ``random_state`` gives the same samples.

        References:
            Gal & Ghahramani (2016), Dropout as a Bayesian approximation. ICML.
        """
        import torch

        if n_samples < 1:
            raise ConfigError(f"n_samples must be at least 1, got {n_samples}.")
        self._check_fitted()
        devices = [self.device_] if self.device_.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(as_seed(random_state))
            enable_dropout(self.module_)
            try:
                return self._run(dataset, ("probabilities",), n_samples=n_samples)["probabilities"]
            finally:
                self.module_.eval()

    # ---- persistence ---------------------------------------------------------------------
    def _fitted_state(self) -> dict[str, Any]:
        return {"label_names": list(self.label_names_), "multi_label": self.multi_label_}

    def _restore(self, folder: Path, state: dict[str, Any]) -> None:
        self.label_names_ = tuple(state["label_names"])
        self.multi_label_ = bool(state["multi_label"])
        self.n_classes_ = len(self.label_names_)
        self.device_ = choose_device(self.device)
        self._restore_module(folder, state)

    def _restore_module(self, folder: Path, state: dict[str, Any]) -> None:
        raise NotImplementedError


def _capture_input(captured: dict[str, Any], name: str):
    def hook(_module: Any, inputs: tuple[Any, ...], _output: Any) -> None:
        captured[name] = inputs[0]

    return hook


def _store(results: dict[str, np.ndarray], name: str, rows: np.ndarray, values: np.ndarray, n: int,
           extra: tuple[int, ...] = (), sample: int | None = None) -> None:
    if name not in results:
        results[name] = np.zeros((n, *extra, *values.shape[1:]), dtype=np.float32)
    if sample is None:
        results[name][rows] = values
    else:
        results[name][rows, sample] = values


class _NoBar:
    def update(self, _: int) -> None:
        pass

    def close(self) -> None:
        pass


def _progress(total: int, description: str, enabled: bool) -> Any:
    if not enabled:
        return _NoBar()
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=description, leave=False)
