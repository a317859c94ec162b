"""Producers: how each named output is computed from a model.

A producer is a function ``(model, dataset, **options) -> array`` whose first axis is
aligned with the rows of ``dataset``. Task packages (tagging, seq2seq) register their own
kinds here; strategies only ever name kinds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from labelwise._registry import Registry, suggest
from labelwise.errors import CapabilityError

Producer = Callable[..., Any]


@dataclass(frozen=True)
class OutputKind:
    """One named output: how to compute it and which model methods it needs."""

    name: str
    produce: Producer
    model_methods: tuple[str, ...]
    description: str
    dense: bool = True  # False: rows may be a scipy.sparse matrix
    #: an output option naming another object that can produce this kind instead of the
    #: model (e.g. "language_model" for ALPS's surprisal embeddings beside a classifier).
    delegate_option: str | None = None


#: every output kind by name (task packages add theirs); values are :class:`OutputKind`
OUTPUT_KINDS = Registry("output kind")


def register_output(name: str, model_methods: tuple[str, ...], description: str, dense: bool = True,
                    delegate_option: str | None = None):
    """Decorator: register a producer for the output ``name`` (registering a name again
    replaces its producer)."""

    def decorate(produce: Producer) -> Producer:
        kind = OutputKind(name, produce, model_methods, description, dense, delegate_option)
        OUTPUT_KINDS.register(name, target=kind, replace=True)
        return produce

    return decorate


def output_kind(name: str) -> OutputKind:
    """The registered kind ``name``; :class:`CapabilityError` with the closest names else."""
    if name not in OUTPUT_KINDS:
        raise CapabilityError(f"unknown output {name!r}.{suggest(name, OUTPUT_KINDS.names())} "
                              f"Known outputs: {', '.join(OUTPUT_KINDS.names())}.")
    return OUTPUT_KINDS.get_class(name)


def known_outputs() -> dict[str, OutputKind]:
    return {name: OUTPUT_KINDS.get_class(name) for name in OUTPUT_KINDS.names()}


def declared_outputs(model: Any) -> tuple[str, ...] | None:
    """The output kinds a labelwise model declares (``provides``), or None for a model
    that does not derive from :class:`labelwise.models.LabelwiseModel`."""
    from labelwise.models._estimator import LabelwiseModel

    return tuple(model.provides) if isinstance(model, LabelwiseModel) else None  # per instance where declared so


def model_can_produce(model: Any, name: str, options: dict[str, Any] | None = None) -> bool:
    """Whether ``model`` (or the object its kind delegates to in ``options``) computes
    ``name``: read from its declaration (``provides``); a model of your own that declares
    nothing is asked for the methods the producer calls."""
    if name not in OUTPUT_KINDS:
        return False
    kind = OUTPUT_KINDS.get_class(name)
    source = (options or {}).get(kind.delegate_option) if kind.delegate_option else None
    source = source if source is not None else model
    declared = declared_outputs(source)
    if declared is not None:
        return name in declared
    return all(callable(getattr(source, m, None)) for m in kind.model_methods)


@register_output("probabilities", ("predict_proba",), "class probabilities (n, n_classes)")
def _probabilities(model: Any, dataset: Any, **_: Any) -> np.ndarray:
    return np.asarray(model.predict_proba(dataset), dtype=np.float32)


@register_output("embeddings", ("embed",), "dense embeddings (n, dim)")
def _embeddings(model: Any, dataset: Any, **_: Any) -> np.ndarray:
    return np.asarray(model.embed(dataset), dtype=np.float32)


@register_output(
    "mc_probabilities", ("predict_proba_mc",), "MC-dropout class probabilities (n, n_samples, n_classes)"
)
def _mc_probabilities(model: Any, dataset: Any, *, mc_samples: int = 10, random_state: Any = 0, **_: Any) -> np.ndarray:
    return np.asarray(model.predict_proba_mc(dataset, n_samples=mc_samples, random_state=random_state), dtype=np.float32)


@register_output(
    "last_layer_features",
    ("last_layer_features",),
    "inputs of the final linear layer (n, dim); sparse for TF-IDF models",
    dense=False,
)
def _last_layer_features(model: Any, dataset: Any, **_: Any) -> np.ndarray | sp.csr_matrix:
    features = model.last_layer_features(dataset)
    return features if sp.issparse(features) else np.asarray(features, dtype=np.float32)
