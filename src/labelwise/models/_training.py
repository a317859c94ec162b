"""One training loop for every PyTorch adapter: AdamW, linear warm-up and decay, gradient
clipping, weight decay (not on biases and norms), mixed precision on CUDA (autocast, and a
GradScaler only for fp16), optional early stopping on a held-out part, a tqdm bar.

Adapters keep their forward pass and loss: they give ``batch_loss(rows) -> loss tensor``
(rows are positions into their own training examples) and the loop does the rest.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from labelwise.errors import ConfigError, DataError
from labelwise.models.torch_utils import autocast


@dataclass
class TrainingConfig:
    """How to train; the defaults are BERT fine-tuning's."""

    epochs: int = 3
    batch_size: int = 16
    learning_rate: float = 5e-5
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    #: "linear" (warm-up, then decay to 0) or "constant" (warm-up, then flat)
    schedule: str = "linear"
    max_grad_norm: float | None = 1.0
    mixed_precision: bool = True
    #: stop after this many steps (None: ``epochs`` full passes)
    max_steps: int | None = None
    #: share of the examples held out for early stopping (0: none)
    validation_fraction: float = 0.0
    #: epochs without a better held-out loss before stopping
    patience: int = 2
    progress: bool = False
    description: str = "training"

    def check(self) -> None:
        if self.epochs < 0 or self.batch_size < 1:
            raise ConfigError(f"epochs must be >= 0 and batch_size >= 1, got {self.epochs} and {self.batch_size}.")
        if not 0.0 <= self.warmup_ratio <= 1.0:
            raise ConfigError(f"warmup_ratio must be in [0, 1], got {self.warmup_ratio}.")
        if not 0.0 <= self.validation_fraction < 1.0:
            raise ConfigError(f"validation_fraction must be in [0, 1), got {self.validation_fraction}.")


@dataclass
class TrainingResult:
    epoch_losses: list[float]
    step_losses: list[float]
    validation_losses: list[float]
    best_epoch: int | None
    mean_learning_rates: list[float]


def parameter_groups(module: Any, weight_decay: float, rates: dict[int, float] | None = None) -> list[dict[str, Any]]:
    """AdamW groups: no weight decay on biases and normalisation weights (BERT's recipe);
    ``rates`` maps ``id(parameter)`` to its own learning rate (e.g. a new head's)."""
    rates = rates or {}
    groups: dict[tuple[float | None, bool], list[Any]] = {}
    for name, parameter in module.named_parameters():
        if not parameter.requires_grad:
            continue
        no_decay = parameter.ndim < 2 or "norm" in name.lower() or name.endswith(".bias")
        groups.setdefault((rates.get(id(parameter)), no_decay), []).append(parameter)
    result = []
    for (rate, no_decay), parameters in sorted(groups.items(), key=lambda item: (item[0][0] or -1.0, item[0][1])):
        group: dict[str, Any] = {"params": parameters, "weight_decay": 0.0 if no_decay else weight_decay}
        if rate is not None:
            group["lr"] = rate
        result.append(group)
    return result


def linear_schedule(warmup_steps: int, total_steps: int) -> Callable[[int], float]:
    """Linear warm-up over ``warmup_steps``, then linear decay to 0 at ``total_steps``."""

    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / (warmup_steps + 1)
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup_steps))

    return factor


def train(
    module: Any,
    n_examples: int,
    batch_loss: Callable[[np.ndarray], Any],
    config: TrainingConfig,
    *,
    device: Any,
    generator: Any,
    groups: list[dict[str, Any]] | None = None,
    on_epoch_end: Callable[[int, float], None] | None = None,
    batches: Callable[[np.ndarray], Iterable[np.ndarray]] | None = None,
) -> TrainingResult:
    """Train ``module`` in place and leave it in eval mode.

    Args:
        module: the ``torch.nn.Module`` (its parameters are optimised).
        n_examples: number of training examples; ``batch_loss`` gets positions into them.
        batch_loss: ``rows -> scalar loss`` (float32); called under autocast.
        config: the recipe.
        device: the module's device (mixed precision only on CUDA).
        generator: a local ``torch.Generator`` for shuffling (no global generator is used).
        groups: AdamW parameter groups (default: :func:`parameter_groups` of the module).
        on_epoch_end: ``(epoch, mean learning rate of the epoch)`` (e.g. to write checkpoints).
        batches: ``shuffled rows -> batches of rows`` (default: consecutive ``batch_size`` slices).
    """
    import torch

    config.check()
    if n_examples < 1:
        raise DataError("training needs at least one example.")
    order_all = np.arange(n_examples)
    held_out = np.zeros(0, dtype=np.int64)
    if config.validation_fraction > 0 and n_examples >= 4:
        permutation = torch.randperm(n_examples, generator=generator).numpy()
        n_held = max(1, int(round(config.validation_fraction * n_examples)))
        held_out, order_all = np.sort(permutation[:n_held]), np.sort(permutation[n_held:])
    split = batches or (lambda rows: (rows[i : i + config.batch_size] for i in range(0, len(rows), config.batch_size)))
    steps_per_epoch = max(1, math.ceil(len(order_all) / config.batch_size))
    total_steps = max(1, steps_per_epoch * config.epochs)
    if config.max_steps is not None:
        total_steps = max(1, config.max_steps)
    epochs = config.epochs if config.max_steps is None else math.ceil(total_steps / steps_per_epoch)
    optimizer = torch.optim.AdamW(groups if groups is not None else parameter_groups(module, config.weight_decay),
                                  lr=config.learning_rate, weight_decay=config.weight_decay)
    warmup_steps = int(config.warmup_ratio * total_steps)
    factor = linear_schedule(warmup_steps, total_steps)
    if config.schedule == "constant":
        factor = lambda step: min(1.0, (step + 1) / (warmup_steps + 1))  # noqa: E731
    elif config.schedule != "linear":
        raise ConfigError(f"schedule must be 'linear' or 'constant', got {config.schedule!r}.")
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
    fp16 = bool(config.mixed_precision and device.type == "cuda" and not torch.cuda.is_bf16_supported())
    scaler = torch.amp.GradScaler("cuda") if fp16 else None
    result = TrainingResult([], [], [], None, [])
    best_loss, best_state, stale = math.inf, None, 0
    step = 0
    from tqdm.auto import tqdm

    bar = tqdm(total=total_steps, desc=config.description, disable=not config.progress, leave=False)
    try:
        for epoch in range(epochs):
            module.train()
            shuffled = order_all[torch.randperm(len(order_all), generator=generator).numpy()]
            epoch_loss, seen, rates = 0.0, 0, []
            for rows in split(shuffled):
                if step >= total_steps:
                    break
                rates.append(scheduler.get_last_lr()[0])
                with autocast(device, config.mixed_precision):
                    loss = batch_loss(rows)
                loss = loss.float()
                if not torch.isfinite(loss):
                    raise DataError(f"{config.description}: the loss became {float(loss.detach())} at step {step}; "
                                    "lower learning_rate or check the labels.")
                optimizer.zero_grad(set_to_none=True)
                if scaler is not None:
                    scaler.scale(loss).backward()
                    scaler.unscale_(optimizer)
                else:
                    loss.backward()
                if config.max_grad_norm is not None:
                    torch.nn.utils.clip_grad_norm_(module.parameters(), config.max_grad_norm)
                if scaler is not None:
                    scaler.step(optimizer)
                    scaler.update()
                else:
                    optimizer.step()
                scheduler.step()
                step += 1
                value = float(loss.detach())
                result.step_losses.append(value)
                epoch_loss += value * len(rows)
                seen += len(rows)
                bar.update(1)
            result.epoch_losses.append(epoch_loss / max(seen, 1))
            result.mean_learning_rates.append(float(np.mean(rates)) if rates else 0.0)
            if on_epoch_end is not None:
                on_epoch_end(epoch, result.mean_learning_rates[-1])
            if len(held_out):
                validation = _held_out_loss(module, held_out, batch_loss, split, device, config.mixed_precision)
                result.validation_losses.append(validation)
                if validation < best_loss:
                    best_loss, stale, result.best_epoch = validation, 0, epoch
                    best_state = {k: v.detach().clone() for k, v in module.state_dict().items()}
                else:
                    stale += 1
                    if stale >= config.patience:
                        break
            if step >= total_steps:
                break
    finally:
        bar.close()
    if best_state is not None:
        module.load_state_dict(best_state)
    module.eval()
    return result


def _held_out_loss(module: Any, rows: np.ndarray, batch_loss: Callable[[np.ndarray], Any],
                   split: Callable[[np.ndarray], Iterable[np.ndarray]], device: Any, mixed_precision: bool) -> float:
    import torch

    module.eval()
    total, count = 0.0, 0
    with torch.no_grad(), autocast(device, mixed_precision):
        for batch in split(rows):
            total += float(batch_loss(batch).float()) * len(batch)
            count += len(batch)
    module.train()
    return total / max(count, 1)
