"""The machinery shared by the PyTorch text classifiers (transformer, text CNN, a user's
own module): a token-id cache, the seeded training loop, batched inference with
per-batch padding, forward hooks for features, MC dropout, and save/load.

Subclasses say how texts become token ids (``_tokenize``), how a fresh module is built
(``_new_module``), how it is called on a padded batch (``_forward``), and which layer is
the final linear one (``_final_linear``). Everything else lives here, once.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator

from labelwise._random import check_random_state, derive_seed
from labelwise.data.datasets import ClassificationDataset
from labelwise.errors import ConfigError, DataError, NotFittedError
from labelwise.models.torch_utils import (
    autocast,
    choose_device,
    enable_dropout,
    length_sorted_batches,
    seed_everything,
)

ADAPTER_FILE = "labelwise_adapter.json"
_TOKENIZE_CHUNK = 4096


def as_seed(random_state: Any) -> int:
    """An int seed from an int, a ``numpy.random.Generator`` or None (0)."""
    if random_state is None:
        return 0
    if isinstance(random_state, (int, np.integer)):
        return int(random_state)
    return derive_seed(check_random_state(random_state))


class TorchTextClassifier(BaseEstimator):
    """Base class; see the module docstring. Not meant to be used directly."""

    #: minimum padded length of a batch (a CNN needs at least its widest filter)
    _min_batch_length = 1

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
        seed = as_seed(self.random_state)
        generator = seed_everything(seed)
        self.device_ = choose_device(self.device)
        self.label_names_ = tuple(dataset.label_names)
        self.multi_label_ = bool(dataset.multi_label)
        self.n_classes_ = len(self.label_names_)
        texts = list(dataset.inputs)
        self._ensure_tokenizer(texts)
        sequences = self._encode(texts)
        module = self._new_module(dataset).to(self.device_)
        dtype = torch.float32 if self.multi_label_ else torch.int64
        targets = torch.as_tensor(np.array(dataset.labels), dtype=dtype)

        optimizer = torch.optim.AdamW(self._parameter_groups(module), lr=self.learning_rate)
        steps_per_epoch = math.ceil(len(sequences) / self.batch_size)
        total_steps = max(1, steps_per_epoch * self.epochs)
        warmup_steps = int(self.warmup_ratio * total_steps)
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, _linear_schedule(warmup_steps, total_steps))
        scaler = torch.amp.GradScaler("cuda", enabled=self._uses_fp16())
        self.checkpoints_: list[Path] = []
        self.train_losses_: list[float] = []

        bar = _progress(total_steps, f"{type(self).__name__} fit", self.progress)
        module.train()
        for epoch in range(self.epochs):
            order = torch.randperm(len(sequences), generator=generator).numpy()
            epoch_loss, rates = 0.0, []
            for start in range(0, len(order), self.batch_size):
                rows = order[start : start + self.batch_size]
                batch = self._collate([sequences[i] for i in rows])
                labels = targets[rows].to(self.device_)
                rates.append(scheduler.get_last_lr()[0])
                with autocast(self.device_, self.mixed_precision):
                    logits = self._forward(module, batch)
                loss = self._loss(logits.float(), labels)
                optimizer.zero_grad(set_to_none=True)
                scaler.scale(loss).backward()
                scaler.unscale_(optimizer)
                torch.nn.utils.clip_grad_norm_(module.parameters(), 1.0)
                scaler.step(optimizer)
                scaler.update()
                scheduler.step()
                epoch_loss += float(loss.detach()) * len(rows)
                bar.update(1)
            self.train_losses_.append(epoch_loss / len(order))
            if self.checkpoint_dir is not None:
                self.checkpoints_.append(self._save_checkpoint(module, epoch, float(np.mean(rates))))
        bar.close()
        module.eval()
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
        head = {id(p) for p in self._embedding_source(module).parameters()} if head_rate is not None else set()
        groups: dict[tuple[bool, bool], list[Any]] = {}
        for name, parameter in module.named_parameters():
            if not parameter.requires_grad:
                continue
            no_decay = parameter.ndim < 2 or "norm" in name.lower() or name.endswith(".bias")
            groups.setdefault((id(parameter) in head, no_decay), []).append(parameter)
        result = []
        for (in_head, no_decay), parameters in sorted(groups.items()):
            group = {"params": parameters, "weight_decay": 0.0 if no_decay else self.weight_decay}
            if in_head:
                group["lr"] = head_rate
            result.append(group)
        return result

    def _uses_fp16(self) -> bool:
        import torch

        return bool(self.mixed_precision and self.device_.type == "cuda" and not torch.cuda.is_bf16_supported())

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
    @property
    def is_fitted(self) -> bool:
        return hasattr(self, "module_")

    def _check_fitted(self) -> None:
        if not hasattr(self, "module_"):
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet; call fit() (or load()) first.")

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

    #: output kinds one forward pass yields together (see ``joint_outputs``).
    joint_output_kinds = ("probabilities", "embeddings", "last_layer_features")

    def joint_outputs(self, dataset: Any, kinds: Sequence[str]) -> dict[str, np.ndarray]:
        """Several of ``probabilities``, ``embeddings`` and ``last_layer_features`` from ONE
        forward pass over ``dataset`` (ModelOutputs uses it when a strategy needs more than
        one of them, halving inference for BADGE, CAL, Cluster-Margin, ...)."""
        names = {"probabilities": "probabilities", "embeddings": "embeddings", "last_layer_features": "features"}
        unknown = [kind for kind in kinds if kind not in names]
        if unknown:
            raise ValueError(f"joint_outputs cannot compute {unknown}; it computes {sorted(names)}.")
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
    def _adapter_state(self) -> dict[str, Any]:
        params = {}
        for key, value in self.get_params(deep=False).items():
            if isinstance(value, Path):
                value = str(value)
            try:
                json.dumps(value)
            except TypeError:
                continue
            params[key] = value
        return {"class": type(self).__name__, "params": params, "label_names": list(self.label_names_),
                "multi_label": self.multi_label_}

    def _write_adapter_state(self, folder: Path, **extra: Any) -> None:
        state = {**self._adapter_state(), **extra}
        (folder / ADAPTER_FILE).write_text(json.dumps(state, indent=2), encoding="utf-8")

    def _read_adapter_state(self, folder: Path) -> dict[str, Any]:
        path = folder / ADAPTER_FILE
        if not path.exists():
            raise DataError(f"no {ADAPTER_FILE} here: not a folder written by {type(self).__name__}.save().",
                            path=str(folder), fix="pass the folder given to save().")
        state = json.loads(path.read_text(encoding="utf-8"))
        if state.get("class") != type(self).__name__:
            raise DataError(f"this folder holds a {state.get('class')}, not a {type(self).__name__}.",
                            path=str(path))
        self.set_params(**{k: v for k, v in state["params"].items() if k in self.get_params(deep=False)})
        self.label_names_ = tuple(state["label_names"])
        self.multi_label_ = bool(state["multi_label"])
        self.n_classes_ = len(self.label_names_)
        self.device_ = choose_device(self.device)
        return state


def _linear_schedule(warmup_steps: int, total_steps: int):
    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / (warmup_steps + 1)
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup_steps))

    return factor


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
