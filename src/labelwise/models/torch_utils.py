"""Shared PyTorch plumbing: device choice, mixed precision, seeding, length-sorted batches."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np


def choose_device(device: str | None = None) -> Any:
    """``torch.device``: the one asked for, else CUDA when present, else Apple MPS, else CPU."""
    import torch

    if device is not None:
        return torch.device(device)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def autocast(device: Any, enabled: bool = True) -> contextlib.AbstractContextManager:
    """bf16 autocast on CUDA devices that support it (fp16 otherwise); a no-op on the CPU,
    where it rarely pays off for small encoders."""
    import torch

    if not enabled or device.type != "cuda":
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.autocast(device_type="cuda", dtype=dtype)


def length_sorted_batches(lengths: Sequence[int] | np.ndarray, batch_size: int) -> Iterator[np.ndarray]:
    """Row indices in batches of similar length (longest first), so padding per batch is
    minimal. Callers scatter results back with the yielded indices."""
    order = np.argsort(-np.asarray(lengths), kind="stable")
    for start in range(0, len(order), batch_size):
        yield order[start : start + batch_size]


def enable_dropout(module: Any) -> None:
    """Put only the dropout layers of ``module`` in training mode (MC dropout)."""
    import torch

    for layer in module.modules():
        if isinstance(layer, torch.nn.Dropout) or "Dropout" in type(layer).__name__:
            layer.train()
