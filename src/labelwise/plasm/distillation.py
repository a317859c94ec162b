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

from labelwise._random import RandomState
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


# ---- taggers ------------------------------------------------------------------------------
def token_kl_to_teacher(student_probabilities: Sequence[np.ndarray], teacher_probabilities: Sequence[np.ndarray]) -> float:
    """Mean ``KL(teacher || student)`` over every token of every sentence (NumPy); the
    inputs are one ``(length, n_tags)`` distribution per sentence."""
    if len(student_probabilities) != len(teacher_probabilities):
        raise DataError(f"{len(student_probabilities)} student sentences but {len(teacher_probabilities)} teacher ones.")
    teacher = np.concatenate([np.asarray(t, dtype=np.float64) for t in teacher_probabilities])
    student = np.concatenate([np.asarray(s, dtype=np.float64) for s in student_probabilities])
    if teacher.shape != student.shape:
        raise DataError(f"teacher token distributions {teacher.shape} and student ones {student.shape} differ: "
                        "do both taggers use the same tags?")
    teacher, student = np.clip(teacher, 1e-12, 1.0), np.clip(student, 1e-12, 1.0)
    return float(np.mean(np.sum(teacher * (np.log(teacher) - np.log(student)), axis=1)))


@dataclass
class TaggerDistillationResult:
    """The distilled student tagger and how close it came to the teacher.

    Attributes:
        model: the fitted student (``save()`` it, or use it as the acquisition model).
        kl_before: mean token KL(teacher || student) on the pool before training (at the
            student's initial weights).
        kl_after: the same after.
        losses: loss per step.
        seconds: training time.
    """

    model: Any
    kl_before: float
    kl_after: float
    losses: list[float] = field(default_factory=list)
    seconds: float = 0.0


def _student_log_probabilities(student: Any, sentences: list[tuple[str, ...]], temperature: float) -> tuple[Any, Any]:
    """Differentiable ``(batch, words, n_tags)`` log token distributions of a labelwise
    tagger at ``temperature`` and the word mask: CRF marginals with a CRF, else softmax."""
    import torch

    module = student.module_
    if callable(getattr(student, "_encode", None)):  # BiLSTM-CRF
        words, chars, mask = student._encode(sentences)
        emissions, _ = module(words, chars)
    else:  # TransformerTagger: one window per sentence (the student's max_length must fit them)
        windows = [student._windows(s)[0] for s in sentences]
        ids, attention = student._pad(windows)
        logits, _ = module(ids, attention)
        emissions, mask = student._word_emissions(logits.float(), windows)
    emissions = emissions.float() / temperature
    if getattr(module, "crf", None) is not None:
        return torch.log(module.crf.marginals(emissions, mask).clamp_min(1e-12)), mask
    return torch.log_softmax(emissions, dim=-1), mask


def distill_tagger(teacher: Any, pool: Any, student: Any, *, temperature: float = 1.0, epochs: int = 3,
                   batch_size: int = 16, learning_rate: float | None = None, random_state: RandomState = 0,
                   progress: bool = False) -> TaggerDistillationResult:
    """Distil a fitted labelwise tagger into an unfitted one (``TransformerTagger`` or
    ``BiLSTMCRFTagger``) over ``pool``'s sentences (no labels used): the student minimises
    the KL divergence from the teacher's token distributions (its ``token_marginals``) to
    its own, masked to real words, ``T^2``-scaled at ``temperature``.

    The student's tags are the teacher's; its learning rate defaults to its own.
    """
    torch = require("torch", "torch", "distill_tagger()")
    from labelwise.data.datasets import TaggingDataset
    from labelwise.errors import CapabilityError, ConfigError
    from labelwise.models._estimator import resolve_seed, seeded
    from labelwise.models._training import TrainingConfig, train
    from labelwise.models.torch_utils import choose_device

    temperature = number(temperature, "temperature", low=0.0, low_open=True)
    if not isinstance(pool, TaggingDataset) or len(pool) == 0:
        raise DataError(f"distill_tagger(): the pool must be a non-empty TaggingDataset, got {pool!r}.")
    for method in ("token_marginals",):
        if not callable(getattr(teacher, method, None)):
            raise CapabilityError(f"the teacher {type(teacher).__name__} has no {method}(); use a fitted labelwise tagger.")
    if not (callable(getattr(student, "_build_module", None)) and callable(getattr(student, "_training_config", None))):
        raise CapabilityError(f"the student {type(student).__name__} is not a labelwise tagger "
                              "(TransformerTagger or BiLSTMCRFTagger).")
    if isinstance(epochs, bool) or int(epochs) < 1 or int(batch_size) < 1:
        raise ConfigError(f"epochs and batch_size must be positive integers, got {epochs!r} and {batch_size!r}.")
    tag_names = tuple(getattr(teacher, "tag_names_", ()) or pool.tag_names)
    sentences = [tuple(s) for s in pool.tokens]
    if any(len(s) == 0 for s in sentences):
        raise DataError("distill_tagger(): the pool holds an empty sentence; remove it.")
    targets = [np.asarray(t, dtype=np.float64) for t in teacher.token_marginals(pool)]
    if targets and targets[0].shape[1] != len(tag_names):
        raise DataError(f"the teacher gives {targets[0].shape[1]} tag probabilities but names {len(tag_names)} tags.")
    seed = resolve_seed(random_state)
    student.device_ = choose_device(student.device)
    student.tag_names_ = tag_names
    if callable(getattr(student, "prepare", None)):
        student.prepare(TaggingDataset(tuple(sentences), None, tag_names))
    if callable(getattr(student, "_tokenizer", None)):
        student._tokenizer()
        too_long = [i for i, s in enumerate(sentences) if len(student._windows(s)) > 1]
        if too_long:
            raise ConfigError(f"sentence {too_long[0]} is longer than the student's max_length={student.max_length} "
                              "pieces; raise the student's max_length to distil.")
    config: TrainingConfig = student._training_config()
    config.epochs, config.batch_size, config.progress = int(epochs), int(batch_size), progress
    config.description = "tagger distillation"
    if learning_rate is not None:
        config.learning_rate = number(learning_rate, "learning_rate", low=0.0, low_open=True)

    def batch_loss(rows: np.ndarray) -> Any:
        log_student, mask = _student_log_probabilities(student, [sentences[i] for i in rows], temperature)
        target = torch.zeros_like(log_student)
        for i, row in enumerate(rows):
            softened = targets[row] ** (1.0 / temperature)
            target[i, : len(softened)] = torch.as_tensor(softened / softened.sum(axis=1, keepdims=True),
                                                         dtype=target.dtype)
        terms = torch.where(target > 0, target * (torch.log(target.clamp_min(1e-12)) - log_student),
                            torch.zeros_like(target)).sum(dim=-1)
        return (terms * mask).sum() / mask.sum().clamp_min(1) * temperature**2

    from labelwise.models._training import parameter_groups

    with seeded(seed, student.device_) as generator:
        module = student._build_module().to(student.device_)
        student.module_ = module.eval()
        before = token_kl_to_teacher(student.token_marginals(pool), targets)
        started = time.perf_counter()
        rates = student._parameter_rates(module) if callable(getattr(student, "_parameter_rates", None)) else {}
        result = train(module, len(sentences), batch_loss, config, device=student.device_, generator=generator,
                       groups=parameter_groups(module, config.weight_decay, rates))
        seconds = time.perf_counter() - started
    student.train_losses_ = result.epoch_losses
    after = token_kl_to_teacher(student.token_marginals(pool), targets)
    return TaggerDistillationResult(student, before, after, result.step_losses, seconds)
