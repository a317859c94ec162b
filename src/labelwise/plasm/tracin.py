"""TracIn: influence of training examples traced through saved checkpoints.

``TracInCP(z, z') = sum_k lr_k * grad l(w_k, z) . grad l(w_k, z')`` over checkpoints
``w_k`` saved during training with learning rate ``lr_k``; the self-influence of ``z`` is
``TracInCP(z, z) = sum_k lr_k * ||grad l(w_k, z)||^2``. Examples with high
self-influence are those the model struggles to fit: mislabeled examples rank first.

For speed the default uses only the last (classification) layer, whose cross-entropy
gradient has the closed form ``(p - onehot(y)) ⊗ h`` (weights) and ``p - onehot(y)``
(bias), with ``h`` the input of that layer. Then
``||g||^2 = ||p - e_y||^2 (||h||^2 + 1)`` and
``g_i . g_j = (p_i - e_i).(p_j - e_j) (h_i . h_j + 1)``: no gradient is materialised, so
the cost is one forward pass per checkpoint. :func:`self_influence_full` computes the
full-parameter gradients of a small ``torch.nn.Module`` instead (one backward per row).

References:
    Pruthi, Liu, Kale & Sundararajan (2020). Estimating Training Data Influence by
    Tracing Gradient Descent. NeurIPS 2020.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from labelwise.errors import CapabilityError, ConfigError, DataError
from labelwise.plasm._checks import number, require


def _torch(who: str) -> Any:
    return require("torch", "torch", who)


def _load_checkpoint_file(path: Any, device: Any) -> Any:
    """``torch.load`` of a checkpoint file (tensors only), failing with the path."""
    torch = _torch("loading a TracIn checkpoint")
    try:
        return torch.load(path, map_location=device, weights_only=True)
    except FileNotFoundError:
        raise DataError(f"checkpoint file {str(path)!r} does not exist.",
                        fix="pass the checkpoints the model saved (model.checkpoints_), or keep its "
                            "checkpoint_dir until TracIn has run.") from None
    except Exception as error:  # torch raises UnpicklingError, RuntimeError, EOFError, ... for bad files
        raise DataError(f"checkpoint file {str(path)!r} could not be loaded as a state dict "
                        f"({type(error).__name__}: {error}).",
                        fix="pass a file written by torch.save(module.state_dict()) or by a labelwise "
                            "torch adapter.") from None


def _load_state(module: Any, state: Any, where: str) -> None:
    try:
        module.load_state_dict(state)
    except (RuntimeError, TypeError, KeyError, ValueError) as error:
        raise DataError(f"{where} does not fit {type(module).__name__} ({error}).",
                        fix="pass checkpoints saved from this same architecture.") from None


@dataclass(frozen=True)
class CheckpointOutputs:
    """What one checkpoint says about some rows.

    Attributes:
        features: input of the final linear layer, ``(n, dim)`` (dense or sparse).
        probabilities: softmax output, ``(n, n_classes)``.
        learning_rate: the learning rate in force when the checkpoint was saved.
    """

    features: Any
    probabilities: np.ndarray
    learning_rate: float = 1.0


def _residuals(probabilities: np.ndarray, labels: np.ndarray) -> np.ndarray:
    probabilities = np.asarray(probabilities, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64).reshape(-1)
    if probabilities.ndim != 2 or probabilities.shape[0] != labels.shape[0]:
        raise DataError(f"probabilities {probabilities.shape} do not match {labels.shape[0]} labels.")
    if labels.size and (labels.min() < 0 or labels.max() >= probabilities.shape[1]):
        raise DataError(f"labels must lie in 0..{probabilities.shape[1] - 1} for TracIn.")
    residual = probabilities.copy()
    residual[np.arange(labels.size), labels] -= 1.0
    return residual


def _squared_norms(features: Any) -> np.ndarray:
    if sp.issparse(features):
        return np.asarray(features.multiply(features).sum(axis=1), dtype=np.float64).reshape(-1)
    features = np.asarray(features, dtype=np.float64)
    return np.einsum("ij,ij->i", features, features)


def self_influence_last_layer(checkpoints: Sequence[CheckpointOutputs], labels: np.ndarray,
                              *, include_bias: bool = True) -> np.ndarray:
    """TracIn self-influence ``(n,)`` from last-layer gradients at each checkpoint.

    Args:
        checkpoints: per checkpoint, the features ``(n, dim)``, probabilities
            ``(n, n_classes)`` of the same ``n`` rows, and the learning rate.
        labels: the labels the loss is taken at, ``(n,)`` class ids (gold or pseudo).
        include_bias: add the bias gradient (the ``+ 1`` in ``||h||^2 + 1``).
    """
    if not checkpoints:
        raise ConfigError("TracIn needs at least one checkpoint.")
    labels = np.asarray(labels, dtype=np.int64).reshape(-1)
    total = np.zeros(labels.size, dtype=np.float64)
    for checkpoint in checkpoints:
        residual = _residuals(checkpoint.probabilities, labels)
        feature_norms = _squared_norms(checkpoint.features) + (1.0 if include_bias else 0.0)
        total += float(checkpoint.learning_rate) * np.einsum("ij,ij->i", residual, residual) * feature_norms
    return total


def influence_last_layer(train: Sequence[CheckpointOutputs], train_labels: np.ndarray,
                         test: Sequence[CheckpointOutputs], test_labels: np.ndarray,
                         *, include_bias: bool = True) -> np.ndarray:
    """TracIn influence ``(n_train, n_test)`` of each training row on each test row.

    Positive: a gradient step on the training row lowered the test row's loss (a
    proponent); negative: it raised it (an opponent, e.g. a mislabeled training row).
    ``train[k]`` and ``test[k]`` must come from the same checkpoint ``k``.
    """
    if len(train) != len(test) or not train:
        raise ConfigError("give the same, non-zero number of checkpoints for the train and test rows.")
    train_labels = np.asarray(train_labels, dtype=np.int64).reshape(-1)
    test_labels = np.asarray(test_labels, dtype=np.int64).reshape(-1)
    total = np.zeros((train_labels.size, test_labels.size), dtype=np.float64)
    for train_k, test_k in zip(train, test, strict=True):
        train_residual = _residuals(train_k.probabilities, train_labels)
        test_residual = _residuals(test_k.probabilities, test_labels)
        if train_k.features.shape[1] != test_k.features.shape[1]:
            raise DataError(f"train features are {train_k.features.shape[1]} wide but test features "
                            f"{test_k.features.shape[1]}: take both from the same checkpoint of the same model.")
        features_dot = train_k.features @ test_k.features.T
        features_dot = features_dot.toarray() if sp.issparse(features_dot) else np.asarray(features_dot)
        if include_bias:
            features_dot = features_dot + 1.0
        total += float(train_k.learning_rate) * (train_residual @ test_residual.T) * features_dot
    return total


# ---- full-parameter gradients for small torch modules --------------------------------
def self_influence_full(module: Any, state_dicts: Sequence[Any], learning_rates: Sequence[float],
                        inputs: Any, labels: np.ndarray, *,
                        forward: Callable[[Any, Any], Any] | None = None,
                        device: Any = None) -> np.ndarray:
    """TracIn self-influence ``(n,)`` with gradients of **every** parameter.

    One backward pass per row and checkpoint: meant for small models (a few million
    parameters, a few thousand rows). Runs on the CPU or on ``device``.

    Args:
        module: a ``torch.nn.Module`` returning logits ``(batch, n_classes)``.
        state_dicts: one state dict (or a path to one saved with ``torch.save``) per
            checkpoint.
        learning_rates: the learning rate of each checkpoint.
        inputs: a tensor ``(n, ...)`` or a sequence of per-row inputs that ``forward``
            understands.
        labels: ``(n,)`` class ids.
        forward: ``forward(module, row_input) -> logits (1, n_classes)``; default
            ``module(inputs[i : i + 1])``.
    """
    torch = _torch("self_influence_full()")

    if len(state_dicts) != len(learning_rates) or not state_dicts:
        raise ConfigError("give one learning rate per checkpoint, and at least one checkpoint.")
    learning_rates = [number(rate, f"learning_rates[{i}]") for i, rate in enumerate(learning_rates)]
    device = torch.device(device) if device is not None else next(module.parameters()).device
    module = module.to(device)
    labels_tensor = torch.as_tensor(np.asarray(labels, dtype=np.int64), device=device)
    n = int(labels_tensor.shape[0])
    total = np.zeros(n, dtype=np.float64)
    was_training = module.training
    module.eval()
    parameters = [p for p in module.parameters() if p.requires_grad]
    try:
        for number_k, (state, rate) in enumerate(zip(state_dicts, learning_rates, strict=True)):
            if isinstance(state, (str, bytes)) or hasattr(state, "__fspath__"):
                state = _load_checkpoint_file(state, device)
            _load_state(module, state, f"checkpoint {number_k}")
            for row in range(n):
                if forward is None:
                    logits = module(inputs[row : row + 1].to(device))
                else:
                    logits = forward(module, inputs[row])
                loss = torch.nn.functional.cross_entropy(logits, labels_tensor[row : row + 1])
                gradients = torch.autograd.grad(loss, parameters, allow_unused=True)
                squared = sum(float((g.double() ** 2).sum()) for g in gradients if g is not None)
                total[row] += float(rate) * squared
    finally:
        module.train(was_training)
    return total


# ---- labelwise models ----------------------------------------------------------------
def _checkpoint_fields(entry: Any) -> tuple[Any, float]:
    """(state dict or its path, learning rate) from a checkpoint record: a file saved by the
    torch adapters (``{"state_dict", "learning_rate", ...}``), a ``(state, lr)`` pair, or
    a mapping / object with ``state_dict``/``path``/... and ``learning_rate``/``lr``."""
    def pick(names: Sequence[str]) -> Any:
        for name in names:
            if isinstance(entry, dict) and name in entry:
                return entry[name]
            if not isinstance(entry, dict) and hasattr(entry, name):
                return getattr(entry, name)
        return None

    if isinstance(entry, (tuple, list)) and len(entry) == 2:
        return entry[0], number(entry[1], "the learning rate of checkpoint record (state, lr)")
    if isinstance(entry, (str, bytes)) or hasattr(entry, "__fspath__"):
        # A checkpoint file of the torch adapters: {"state_dict", "learning_rate", "epoch"}.
        entry = _load_checkpoint_file(entry, "cpu")
    state = pick(("state_dict", "state_dict_path", "path", "file", "checkpoint"))
    rate = pick(("learning_rate", "lr"))
    if state is None or rate is None:
        shown = sorted(entry) if isinstance(entry, dict) else type(entry).__name__
        raise ConfigError(f"checkpoint record {shown!r} needs a state dict (or its path) and a learning rate "
                          "(keys state_dict/path and learning_rate/lr, or a (state, lr) pair).")
    return state, number(rate, "the learning_rate of a checkpoint record")


def model_checkpoint_outputs(model: Any, dataset: Any, checkpoints: Sequence[Any] | None = None) -> list[CheckpointOutputs]:
    """Per-checkpoint ``last_layer_features`` and ``predict_proba`` of ``dataset``.

    ``checkpoints`` defaults to ``model.checkpoints_`` when the model saved any (e.g. a
    ``TransformerClassifier`` with ``checkpoint_dir``); each is loaded into
    ``model.module_`` in turn and the final weights are restored afterwards. A model
    without checkpoints (TF-IDF + logistic regression) counts as one checkpoint with
    learning rate 1: TracIn then reduces to the squared gradient norm at the final
    weights.
    """
    for method in ("last_layer_features", "predict_proba"):
        if not callable(getattr(model, method, None)):
            raise CapabilityError(
                f"TracIn needs {method}() from the model; {type(model).__name__} has none. "
                "Use a model that exposes the input of its final linear layer."
            )
    if checkpoints is None:
        checkpoints = list(getattr(model, "checkpoints_", None) or [])
    if not checkpoints:
        return [CheckpointOutputs(model.last_layer_features(dataset), model.predict_proba(dataset), 1.0)]
    module = getattr(model, "module_", None)
    if module is None:
        raise CapabilityError(f"{type(model).__name__} has checkpoints but no module_ to load them into.")
    import copy

    _torch("TracIn over model checkpoints")
    final_state = copy.deepcopy({k: v.detach().cpu() for k, v in module.state_dict().items()})
    outputs = []
    try:
        for number_k, entry in enumerate(checkpoints):
            state, rate = _checkpoint_fields(entry)
            if not isinstance(state, dict):
                state = _load_checkpoint_file(state, "cpu")
            _load_state(module, state, f"checkpoint {number_k}")
            outputs.append(CheckpointOutputs(model.last_layer_features(dataset), model.predict_proba(dataset), rate))
    finally:
        module.load_state_dict(final_state)
    return outputs


def tracin_self_influence(model: Any, dataset: Any, labels: np.ndarray | None = None,
                          checkpoints: Sequence[Any] | None = None) -> np.ndarray:
    """Self-influence ``(n,)`` of each row of ``dataset`` at ``labels`` (default: the
    dataset's labels) under a fitted labelwise model, from its checkpoints (see
    :func:`model_checkpoint_outputs`). Higher = more likely mislabeled."""
    if labels is None:
        if dataset.labels is None:
            raise DataError("TracIn needs labels: pass labels= or a labeled dataset.")
        labels = dataset.labels
    return self_influence_last_layer(model_checkpoint_outputs(model, dataset, checkpoints), np.asarray(labels))
