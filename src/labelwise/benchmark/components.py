"""Models and subsamplers by name, for benchmark configs.

A registry entry names a module and a class, so a config can say ``model: {name: transformer}``
without importing torch until the run starts, and a name whose module is not installed (or not
merged yet) fails with a :class:`~labelwise.errors.ConfigError` instead of an ``ImportError``.
A user's own class comes from ``path/to/file.py:ClassName``.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
import inspect
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from labelwise.errors import ConfigError
from labelwise.strategies.registry import load_from_path


@dataclass(frozen=True)
class ComponentEntry:
    """Where a named component lives: ``module.attribute``, for which tasks, with which
    default parameters (merged under the config's own)."""

    module: str
    attribute: str
    tasks: tuple[str, ...]
    defaults: tuple[tuple[str, Any], ...] = ()


MODEL_FACTORIES: dict[str, ComponentEntry] = {
    "tfidf_lr": ComponentEntry("labelwise.models.sklearn_text", "TfidfLogisticRegression", ("classification",)),
    "transformer": ComponentEntry("labelwise.models.hf_classification", "TransformerClassifier", ("classification",)),
    "text_cnn": ComponentEntry("labelwise.models.text_cnn", "TextCNN", ("classification",)),
    "transformer_tagger": ComponentEntry("labelwise.models.hf_token_classification", "TransformerTagger", ("tagging",)),
    "bilstm_crf": ComponentEntry("labelwise.models.bilstm_crf", "BiLSTMCRFTagger", ("tagging",)),
    "seq2seq": ComponentEntry("labelwise.models.hf_seq2seq", "TransformerSeq2Seq", ("seq2seq",)),
    # A helper for output_options.language_model (ALPS beside any classifier), not a task model.
    "masked_lm": ComponentEntry("labelwise.models.masked_lm", "MaskedLanguageModel",
                                ("classification", "tagging", "seq2seq")),
}

SUBSAMPLERS: dict[str, ComponentEntry] = {
    "ups": ComponentEntry("labelwise.subsampling", "UPSSubsampler", ("classification", "tagging", "seq2seq")),
    "naive": ComponentEntry("labelwise.subsampling", "NaiveSubsampler", ("classification", "tagging", "seq2seq")),
    "random": ComponentEntry("labelwise.subsampling", "RandomSubsampler", ("classification", "tagging", "seq2seq")),
}

_KINDS = {"model": MODEL_FACTORIES, "subsampler": SUBSAMPLERS}


def is_path_spec(name: str) -> bool:
    """``path/to/file.py:ClassName``?"""
    return ":" in name and Path(name.rsplit(":", 1)[0]).suffix == ".py"


def register_model(name: str, module: str, attribute: str, tasks: tuple[str, ...], **defaults: Any) -> None:
    """Make ``module.attribute`` available as ``model: {name: <name>}`` in configs."""
    MODEL_FACTORIES[name] = ComponentEntry(module, attribute, tasks, tuple(defaults.items()))


def register_subsampler(name: str, module: str, attribute: str, **defaults: Any) -> None:
    """Make ``module.attribute`` available as ``subsampling: {name: <name>}`` in configs."""
    SUBSAMPLERS[name] = ComponentEntry(module, attribute, ("classification", "tagging", "seq2seq"),
                                       tuple(defaults.items()))


def resolve_class(kind: str, name: str, *, field: str, task: str | None = None) -> type:
    """The class behind ``name`` (a registry name or ``file.py:ClassName``).

    Raises :class:`ConfigError` naming ``field`` for an unknown name (with the closest
    ones), a module that is not installed, a missing class, or a task mismatch.
    """
    registry = _KINDS[kind]
    if is_path_spec(name):
        try:
            return load_from_path(name)
        except ConfigError as error:
            raise ConfigError(f"{field}: {error}") from None
        except Exception as error:  # the user's file failed while importing
            raise ConfigError(f"{field}: importing {name!r} failed ({type(error).__name__}: {error}). "
                              "Fix the file or the path.") from None
    key = name.strip().lower().replace("-", "_")
    if key not in registry:
        close = difflib.get_close_matches(key, list(registry), n=3, cutoff=0.5)
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise ConfigError(f"{field}: unknown {kind} {name!r}.{hint} Known {kind}s: {', '.join(sorted(registry))}; "
                          "or give 'path/to/file.py:ClassName'.")
    entry = registry[key]
    if task is not None and task not in entry.tasks:
        fitting = sorted(n for n, e in registry.items() if task in e.tasks)
        raise ConfigError(f"{field}: {kind} {name!r} is for {'/'.join(entry.tasks)}, not {task}. "
                          f"Use one of {fitting}.")
    try:
        found = importlib.util.find_spec(entry.module)
    except ModuleNotFoundError:
        found = None
    if found is None:
        raise ConfigError(f"{field}: {kind} {name!r} needs module {entry.module}, which is not part of this "
                          "installation (not merged yet, or an optional extra is missing). "
                          f"Choose another {kind} or install it (pip install 'labelwise[all]').")
    try:
        module = importlib.import_module(entry.module)
    except ImportError as error:
        raise ConfigError(f"{field}: {kind} {name!r} could not be imported ({error}). "
                          "Install its extra: pip install 'labelwise[transformers]'.") from None
    if not hasattr(module, entry.attribute):
        raise ConfigError(f"{field}: {entry.module} has no {entry.attribute}; the {kind} {name!r} is not "
                          "available in this version.")
    return getattr(module, entry.attribute)


def registry_defaults(kind: str, name: str) -> dict[str, Any]:
    entry = _KINDS[kind].get(name.strip().lower().replace("-", "_"))
    return dict(entry.defaults) if entry else {}


def check_params(cls: type, params: dict[str, Any], *, field: str) -> None:
    """Fail early when ``params`` are not keyword arguments of ``cls``."""
    try:
        signature = inspect.signature(cls)
    except (TypeError, ValueError):
        return
    parameters = signature.parameters.values()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return
    accepted = {p.name for p in parameters if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                                          inspect.Parameter.KEYWORD_ONLY)}
    for key in params:
        if key not in accepted:
            close = difflib.get_close_matches(key, sorted(accepted), n=2, cutoff=0.5)
            hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
            raise ConfigError(f"{field}.{key}: {cls.__name__} takes no parameter {key!r}.{hint} "
                              f"It accepts {sorted(accepted)}.")


def build(kind: str, name: str, params: dict[str, Any], *, field: str, task: str | None = None) -> Any:
    """An instance of the named component with ``params`` (registry defaults underneath)."""
    cls = resolve_class(kind, name, field=field, task=task)
    arguments = {**registry_defaults(kind, name), **params}
    try:
        return cls(**arguments)
    except TypeError as error:
        raise ConfigError(f"{field}: bad parameters for {name!r} ({error}).") from None
