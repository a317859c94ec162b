"""PLASM: pseudo-labelling for the acquisition-successor mismatch, in one call.

AL is run with a cheap acquisition model; the data it acquired then trains a bigger
successor, which may fit that data worse than data it would have picked itself. PLASM
(Tsvigun et al. 2022) closes the gap with pseudo-labels: train the successor on the gold
data, label the unlabeled pool with it, train the successor on gold + pseudo-labels and
drop the pseudo-labels whose TracIn self-influence under *that* training is highest (the
rows the successor struggles to fit: likely wrong labels), then train the successor on
gold + cleaned pseudo-labels.

Why TracIn runs on a second training: under the gold-only model every pseudo-label is
its own argmax, so its self-influence only measures how unsure that model was (a
confidence filter). Trained on the pseudo-labels, the successor meets labels that
contradict the rest of the data, and those are the rows whose gradients stay large.

References:
    Tsvigun et al. (2022). Towards Computationally Feasible Deep Active Learning.
    Findings of NAACL 2022.
    Pruthi et al. (2020). Estimating Training Data Influence by Tracing Gradient Descent.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from labelwise._random import RandomState, check_random_state, derive_seed
from labelwise.data.datasets import ClassificationDataset
from labelwise.errors import CapabilityError, ConfigError, DataError
from labelwise.plasm._checks import number
from labelwise.plasm.pseudo_label import select_pseudo_labels
from labelwise.plasm.tracin import model_checkpoint_outputs, self_influence_last_layer


@dataclass
class PlasmResult:
    """What :func:`plasm` produced.

    Attributes:
        model: the successor trained on gold + kept pseudo-labels.
        dataset: that training set: the gold rows first (labels unchanged), then the
            kept pseudo-labelled pool rows.
        n_gold: number of gold rows at the head of ``dataset``.
        pseudo_indices: pool positions that got a pseudo-label, ``(m,)``.
        pseudo_labels: their labels, ``(m,)``.
        self_influence: TracIn self-influence of each pseudo-label, ``(m,)``.
        dropped_indices: pool positions whose pseudo-label TracIn dropped.
        kept_indices: pool positions whose pseudo-label was kept (in ``dataset`` order).
        timings: seconds per phase (``train_gold``, ``pseudo_label``, ``train_pseudo``,
            ``tracin``, ``train_final``, ``total``).
        gold_model: the successor trained on the gold rows only (what one would use
            without PLASM), kept for comparison.
        tracin_model: the successor trained on gold + every pseudo-label, whose
            checkpoints TracIn read (``None`` when no TracIn filtering ran).
    """

    model: Any
    dataset: ClassificationDataset
    n_gold: int
    pseudo_indices: np.ndarray
    pseudo_labels: np.ndarray
    self_influence: np.ndarray
    dropped_indices: np.ndarray
    kept_indices: np.ndarray
    timings: dict[str, float] = field(default_factory=dict)
    gold_model: Any = None
    tracin_model: Any = None


def _set_seed(model: Any, seed: int) -> None:
    if hasattr(model, "random_state"):
        model.random_state = seed


def _train(successor_factory: Callable[[], Any], seed: int, all_texts: ClassificationDataset,
           training: ClassificationDataset, *, needs_tracin: bool = False) -> Any:
    model = successor_factory()
    if needs_tracin and not callable(getattr(model, "last_layer_features", None)):
        # Refuse before any training, not after two of them.
        raise CapabilityError(
            f"TracIn filtering needs last_layer_features() from the successor; {type(model).__name__} "
            "has none. Use a model that exposes the input of its final linear layer, or pass "
            "tracin_filter_fraction=0."
        )
    _set_seed(model, seed)
    if callable(getattr(model, "prepare", None)):
        model.prepare(all_texts)
    model.fit(training)
    return model


def _gold_plus_pseudo(acquired: ClassificationDataset, unlabeled: ClassificationDataset,
                      indices: np.ndarray, labels: np.ndarray) -> ClassificationDataset:
    """The gold rows first (labels unchanged), then pool rows ``indices`` with ``labels``."""
    return ClassificationDataset(
        acquired.texts + tuple(unlabeled.texts[i] for i in indices),
        np.concatenate([np.asarray(acquired.labels, dtype=np.int64), np.asarray(labels, dtype=np.int64)]),
        acquired.label_names,
    )


def plasm(
    acquired: ClassificationDataset,
    pool: ClassificationDataset,
    successor_factory: Callable[[], Any],
    *,
    pseudo_label_fraction: float | None = 0.5,
    confidence_threshold: float | None = None,
    tracin_filter_fraction: float = 0.1,
    checkpoints: Sequence[Any] | str | None = "model",
    per_class: bool = True,
    random_state: RandomState = 0,
) -> PlasmResult:
    """Train a successor with PLASM.

    Args:
        acquired: the gold-labelled rows AL acquired (any acquisition model).
        pool: the unlabeled rows (labels, if any, are ignored).
        successor_factory: builds a fresh, unfitted successor; any labelwise model with
            ``fit`` and ``predict_proba``. TracIn filtering also needs
            ``last_layer_features``; a model that saves checkpoints (``checkpoints_``,
            e.g. ``TransformerClassifier(checkpoint_dir=...)``) gives the full TracIn sum,
            one without counts as a single checkpoint.
        pseudo_label_fraction: most confident fraction of the pool (per predicted class)
            pseudo-labelled; ``None`` keeps every row that passes the threshold.
        confidence_threshold: minimum predicted-class probability, or ``None``.
        tracin_filter_fraction: fraction of the pseudo-labels with the highest
            self-influence dropped (0 skips TracIn).
        checkpoints: ``"model"`` uses the checkpoints (or the final weights) of the
            successor trained on gold + all pseudo-labels; a list of checkpoint records
            (to load into that successor's ``module_``) overrides them.
        random_state: seeds the trainings.

    Returns:
        :class:`PlasmResult`; ``result.dataset`` holds every gold label unchanged.
    """
    if getattr(acquired, "task", None) == "tagging":
        raise ConfigError("plasm() trains classifiers; the acquired data is a tagging dataset. Fix: call "
                          "labelwise.plasm.plasm_tagging(acquired, pool, successor_factory, acquisition_model=...).")
    if acquired.labels is None:
        raise DataError("plasm(): the acquired dataset has no labels.")
    if acquired.multi_label:
        raise ConfigError("plasm() supports single-label classification only.")
    if tuple(pool.label_names) != tuple(acquired.label_names):
        raise DataError(f"the pool's label names {pool.label_names} differ from the acquired data's "
                        f"{acquired.label_names}.")
    tracin_filter_fraction = number(tracin_filter_fraction, "tracin_filter_fraction", low=0.0, high=1.0,
                                    high_open=True)
    if confidence_threshold is not None:
        confidence_threshold = number(confidence_threshold, "confidence_threshold", low=0.0, high=1.0)
    rng = check_random_state(random_state)
    timings: dict[str, float] = {}
    unlabeled = pool.without_labels()
    all_texts = ClassificationDataset(acquired.texts + unlabeled.texts, None, acquired.label_names)
    total_started = time.perf_counter()

    started = time.perf_counter()
    model = _train(successor_factory, derive_seed(rng), all_texts, acquired,
                   needs_tracin=float(tracin_filter_fraction) > 0)
    timings["train_gold"] = time.perf_counter() - started

    started = time.perf_counter()
    chosen = select_pseudo_labels(model.predict_proba(unlabeled), confidence_threshold=confidence_threshold,
                                  top_fraction=pseudo_label_fraction, per_class=per_class)
    timings["pseudo_label"] = time.perf_counter() - started

    influence = np.zeros(len(chosen), dtype=np.float64)
    keep = np.ones(len(chosen), dtype=bool)
    n_drop = int(round(float(tracin_filter_fraction) * len(chosen)))
    tracin_model = None
    timings["train_pseudo"] = timings["tracin"] = 0.0
    if n_drop > 0:
        started = time.perf_counter()
        pseudo_training = _gold_plus_pseudo(acquired, unlabeled, chosen.indices, chosen.labels)
        tracin_model = _train(successor_factory, derive_seed(rng), all_texts, pseudo_training)
        timings["train_pseudo"] = time.perf_counter() - started
        started = time.perf_counter()
        records = None if isinstance(checkpoints, str) else checkpoints
        outputs = model_checkpoint_outputs(tracin_model, unlabeled.subset(chosen.indices), records)
        influence = self_influence_last_layer(outputs, chosen.labels)
        drop = np.lexsort((chosen.indices, -influence))[:n_drop]
        keep[drop] = False
        timings["tracin"] = time.perf_counter() - started

    kept = chosen.indices[keep]
    combined = _gold_plus_pseudo(acquired, unlabeled, kept, chosen.labels[keep])
    started = time.perf_counter()
    final = _train(successor_factory, derive_seed(rng), all_texts, combined)
    timings["train_final"] = time.perf_counter() - started
    timings["total"] = time.perf_counter() - total_started
    return PlasmResult(final, combined, len(acquired), chosen.indices, chosen.labels, influence,
                       np.sort(chosen.indices[~keep]), kept, timings, gold_model=model,
                       tracin_model=tracin_model)
