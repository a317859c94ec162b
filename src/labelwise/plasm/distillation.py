"""Distil a fine-tuned teacher (e.g. MPNet) into a smaller student (e.g. MiniLM) on the
pool, to serve as a cheaper acquisition model.

The student learns the teacher's temperature-softened distribution over the unlabeled
pool (no labels needed), optionally mixed with cross-entropy on gold labels:

``loss = (1 - alpha) * T^2 * KL(softmax(z_t / T) || softmax(z_s / T)) + alpha * CE(z_s, y)``

The ``T^2`` factor keeps the gradient scale of the soft term independent of ``T``.

References:
    Hinton, Vinyals & Dean (2015). Distilling the Knowledge in a Neural Network.
    Tsvigun et al. (2022). Towards Computationally Feasible Deep Active Learning.
    (Distilled acquisition models.)
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from labelwise.errors import DataError
from labelwise.models.pretrained import resolve_model_path
from labelwise.plasm._checks import number, require


def teacher_logits(teacher: Any, dataset: Any) -> np.ndarray:
    """Logits ``(n, n_classes)`` float32 of a fitted labelwise teacher: its own
    ``predict_logits`` if it has one, else ``log predict_proba`` (equal to the logits up
    to a per-row constant, which softmax ignores)."""
    if callable(getattr(teacher, "predict_logits", None)):
        return np.asarray(teacher.predict_logits(dataset), dtype=np.float32)
    probabilities = np.asarray(teacher.predict_proba(dataset), dtype=np.float64)
    return np.log(np.clip(probabilities, 1e-12, 1.0)).astype(np.float32)


def distillation_loss(student_logits: Any, teacher_logits: Any, *, temperature: float = 2.0,
                      labels: Any = None, alpha: float = 0.0) -> Any:
    """The loss above for tensors ``(batch, n_classes)``; ``labels`` ``(batch,)`` with
    ``-1`` where a row has no gold label."""
    F = require("torch.nn.functional", "torch", "distillation_loss()")

    soft = F.kl_div(F.log_softmax(student_logits / temperature, dim=-1),
                    F.log_softmax(teacher_logits / temperature, dim=-1),
                    reduction="batchmean", log_target=True) * temperature**2
    if labels is None or alpha <= 0:
        return soft
    known = labels >= 0
    if not bool(known.any()):
        return (1 - alpha) * soft
    hard = F.cross_entropy(student_logits[known], labels[known])
    return (1 - alpha) * soft + alpha * hard


def kl_to_teacher(student_logits: np.ndarray, teacher_logits: np.ndarray, temperature: float = 1.0) -> float:
    """Mean ``KL(teacher || student)`` over rows at ``temperature`` (NumPy)."""
    from scipy.special import log_softmax

    log_t = log_softmax(np.asarray(teacher_logits, dtype=np.float64) / temperature, axis=1)
    log_s = log_softmax(np.asarray(student_logits, dtype=np.float64) / temperature, axis=1)
    return float(np.mean(np.sum(np.exp(log_t) * (log_t - log_s), axis=1)))


def train_student(student: Any, inputs: Sequence[Any], targets: np.ndarray, *,
                  forward: Callable[[Any, list[Any]], Any] | None = None, labels: np.ndarray | None = None,
                  temperature: float = 2.0, alpha: float = 0.0, epochs: int = 1, batch_size: int = 16,
                  learning_rate: float = 5e-5, random_state: int | None = 0, progress: bool = False) -> list[float]:
    """Distil into a ``torch.nn.Module`` ``student``.

    Args:
        inputs: one item per row, batched by ``forward(student, items) -> logits``
            (default: ``student(torch.stack(items))``).
        targets: teacher logits ``(n, n_classes)``.
        labels: optional gold ids ``(n,)``, ``-1`` where unknown.
    Returns the loss per step.
    """
    torch = require("torch", "torch", "train_student()")
    from labelwise.models._estimator import resolve_seed
    from labelwise.models._training import TrainingConfig, train

    alpha = number(alpha, "alpha", low=0.0, high=1.0)
    temperature = number(temperature, "temperature", low=0.0, low_open=True)

    targets_tensor = torch.as_tensor(np.asarray(targets, dtype=np.float32))
    if targets_tensor.shape[0] != len(inputs):
        raise DataError(f"{len(inputs)} inputs but {targets_tensor.shape[0]} teacher rows.")
    labels_tensor = None if labels is None else torch.as_tensor(np.asarray(labels, dtype=np.int64))
    device = next(student.parameters()).device
    if forward is None:
        def forward(module: Any, items: list[Any]) -> Any:
            return module(torch.stack([torch.as_tensor(item) for item in items]).to(device))

    def batch_loss(rows: np.ndarray) -> Any:
        index = torch.as_tensor(rows)
        logits = forward(student, [inputs[i] for i in rows]).float()
        return distillation_loss(logits, targets_tensor[index].to(device), temperature=temperature,
                                 labels=None if labels_tensor is None else labels_tensor[index].to(device),
                                 alpha=alpha)

    # The shared loop with distillation's recipe so far: constant learning rate, no warm-up,
    # no clipping, AdamW's default weight decay (0.01).
    config = TrainingConfig(epochs=epochs, batch_size=batch_size, learning_rate=learning_rate, weight_decay=0.01,
                            warmup_ratio=0.0, schedule="constant", max_grad_norm=None, progress=progress,
                            description="distillation")
    generator = torch.Generator().manual_seed(resolve_seed(random_state))
    return train(student, len(inputs), batch_loss, config, device=device, generator=generator).step_losses


@dataclass
class DistillationResult:
    """The saved student folder and how close it came to the teacher.

    Attributes:
        path: folder loadable by ``AutoModelForSequenceClassification.from_pretrained``
            (use it as the acquisition model's ``model_name_or_path``).
        kl_before: mean KL(teacher || student) on the pool before distillation (T = 1).
        kl_after: the same after.
        losses: loss per step.
        seconds: training time.
    """

    path: str
    kl_before: float
    kl_after: float
    losses: list[float] = field(default_factory=list)
    seconds: float = 0.0


def distill_transformer(teacher: Any, pool: Any, output_dir: str | Path, student_name_or_path: str | None = None, *,
                        gold: Any = None, temperature: float = 2.0, alpha: float = 0.0, epochs: int = 1,
                        batch_size: int = 16, max_length: int = 64, learning_rate: float = 5e-5,
                        random_state: int = 0, device: Any = None, progress: bool = False) -> DistillationResult:
    """Distil a fitted labelwise ``teacher`` (any model with ``predict_proba``; e.g. a
    ``TransformerClassifier`` on ``successor_encoder_path()``) into a Hugging Face
    sequence classifier built on ``student_name_or_path`` (default: packaged MiniLM),
    over ``pool``'s texts (plus ``gold``'s, with cross-entropy weight ``alpha``). The
    student is saved to ``output_dir``.
    """
    torch = require("torch", "transformers", "distill_transformer()")
    transformers = require("transformers", "transformers", "distill_transformer()")
    AutoModelForSequenceClassification, AutoTokenizer = (transformers.AutoModelForSequenceClassification,
                                                         transformers.AutoTokenizer)

    from labelwise.models._estimator import resolve_seed, seeded
    from labelwise.models.torch_utils import choose_device

    alpha = number(alpha, "alpha", low=0.0, high=1.0)
    temperature = number(temperature, "temperature", low=0.0, low_open=True)
    seed = resolve_seed(random_state)
    texts = list(pool.inputs)
    labels = np.full(len(texts), -1, dtype=np.int64)
    if gold is not None and gold.labels is not None:
        texts += list(gold.inputs)
        labels = np.concatenate([labels, np.asarray(gold.labels, dtype=np.int64)])
    dataset_all = type(pool)(tuple(texts), None, pool.label_names)
    targets = teacher_logits(teacher, dataset_all)
    path = resolve_model_path(student_name_or_path)
    tokenizer = AutoTokenizer.from_pretrained(path)
    device = choose_device(device)
    # The new head's initialisation and dropout draw from torch's global generator: fork it.
    with seeded(seed, device):
        student = AutoModelForSequenceClassification.from_pretrained(
            path, num_labels=targets.shape[1], id2label=dict(enumerate(pool.label_names)),
            label2id={n: i for i, n in enumerate(pool.label_names)})
        student.to(device)

    def forward(module: Any, items: list[str]) -> Any:
        encoded = tokenizer(items, truncation=True, max_length=max_length, padding=True, return_tensors="pt")
        return module(**{k: v.to(device) for k, v in encoded.items()}).logits.float()

    def student_logits() -> np.ndarray:
        student.eval()
        with torch.inference_mode():
            return np.concatenate([forward(student, texts[s : s + 64]).cpu().numpy()
                                   for s in range(0, len(texts), 64)])

    before = kl_to_teacher(student_logits(), targets)
    started = time.perf_counter()
    with seeded(seed, device):
        losses = train_student(student, texts, targets, forward=forward, labels=labels if alpha > 0 else None,
                               temperature=temperature, alpha=alpha, epochs=epochs, batch_size=batch_size,
                               learning_rate=learning_rate, random_state=seed, progress=progress)
    seconds = time.perf_counter() - started
    after = kl_to_teacher(student_logits(), targets)
    output = Path(output_dir)
    output.mkdir(parents=True, exist_ok=True)
    student.save_pretrained(output)
    tokenizer.save_pretrained(output)
    return DistillationResult(str(output), before, after, losses, seconds)
