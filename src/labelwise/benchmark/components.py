"""Models and subsamplers by name, for benchmark configs.

The names are those of the one models registry (:mod:`labelwise.models.registry`) and the one
subsampler registry (:mod:`labelwise.subsampling.registry`): a config's
``model: {name: transformer}`` is ``get_model("transformer")`` and ``subsampling: {name: random}``
is ``get_subsampler("random")``. Model entries are lazy, so a config names a torch model
without importing torch until the run starts, and a name whose module is not installed (or not
merged yet) fails with a :class:`~labelwise.errors.ConfigError` instead of an ``ImportError``.
A user's own class comes from ``path/to/file.py:ClassName`` or ``package.module:ClassName``.
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from dataclasses import dataclass
from typing import Any

from labelwise._registry import Registry, is_file_spec, is_spec, load_object
from labelwise._registry import check_parameters as _check_parameters
from labelwise.errors import ConfigError
from labelwise.models.registry import MODELS
from labelwise.subsampling.registry import SUBSAMPLERS as _SUBSAMPLER_REGISTRY

_ALL_TASKS = ("classification", "tagging", "seq2seq")


@dataclass(frozen=True)
class ComponentEntry:
    """Where a named component lives: ``module.attribute``, for which tasks, with which
    default parameters (merged under the config's own)."""

    module: str
    attribute: str
    tasks: tuple[str, ...]
    defaults: tuple[tuple[str, Any], ...] = ()


class _RegistryTable(MutableMapping[str, ComponentEntry]):
    """The old ``name -> ComponentEntry`` table, now a live view of a :class:`Registry`
    (kept for callers and tests that read or patch ``MODEL_FACTORIES``)."""

    def __init__(self, registry: Registry) -> None:
        self._registry = registry

    def __getitem__(self, name: str) -> ComponentEntry:
        if name not in self._registry:
            raise KeyError(name)
        entry = self._registry.entry(name)
        target = entry.target
        module, attribute = (target.split(":") if isinstance(target, str)
                             else (target.__module__, target.__qualname__))
        return ComponentEntry(module, attribute, tuple(entry.metadata.get("tasks", _ALL_TASKS)),
                              tuple(entry.defaults.items()))

    def __setitem__(self, name: str, value: ComponentEntry) -> None:
        self._registry.register(name, target=f"{value.module}:{value.attribute}", replace=True,
                                defaults=dict(value.defaults), tasks=tuple(value.tasks))

    def __delitem__(self, name: str) -> None:
        if name not in self._registry:
            raise KeyError(name)
        self._registry.unregister(name)

    def __iter__(self) -> Iterator[str]:
        return iter(self._registry.names())

    def __len__(self) -> int:
        return len(self._registry)


MODEL_FACTORIES = _RegistryTable(MODELS)
SUBSAMPLERS = _RegistryTable(_SUBSAMPLER_REGISTRY)

_KINDS: dict[str, Registry] = {"model": MODELS, "subsampler": _SUBSAMPLER_REGISTRY}


def is_path_spec(name: str) -> bool:
    """``path/to/file.py:ClassName``?"""
    return is_file_spec(name)


def register_model(name: str, module: str, attribute: str, tasks: tuple[str, ...], **defaults: Any) -> None:
    """Make ``module.attribute`` available as ``model: {name: <name>}`` in configs (and as
    ``get_model(name)``)."""
    MODELS.register(name, target=f"{module}:{attribute}", replace=True, defaults=defaults, tasks=tuple(tasks))


def register_subsampler(name: str, module: str, attribute: str, **defaults: Any) -> None:
    """Make ``module.attribute`` available as ``subsampling: {name: <name>}`` in configs (and
    as ``get_subsampler(name)``)."""
    _SUBSAMPLER_REGISTRY.register(name, target=f"{module}:{attribute}", replace=True, defaults=defaults,
                                  tasks=_ALL_TASKS)


def resolve_class(kind: str, name: str, *, field: str, task: str | None = None) -> type:
    """The class behind ``name`` (a registry name, an alias, ``file.py:ClassName`` or
    ``package.module:ClassName``).

    Raises :class:`ConfigError` naming ``field`` for an unknown name (with the closest
    ones), a module that is not installed, a missing class, or a task mismatch.
    """
    registry = _KINDS[kind]
    if is_spec(name):
        try:
            return load_object(name)
        except ConfigError as error:
            raise ConfigError(f"{field}: {error}") from None
    try:
        entry = registry.entry(name)
        tasks = tuple(entry.metadata.get("tasks", _ALL_TASKS))
        if task is not None and task not in tasks:
            raise ConfigError(f"{kind} {name!r} is for {'/'.join(tasks)}, not {task}. "
                              f"Use one of {registry.names(tasks=task)}.")
        return registry.get_class(name)
    except ConfigError as error:
        raise ConfigError(f"{field}: {error}") from None


def registry_defaults(kind: str, name: str) -> dict[str, Any]:
    registry = _KINDS[kind]
    return dict(registry.entry(name).defaults) if name in registry else {}


def check_params(cls: type, params: dict[str, Any], *, field: str) -> None:
    """Fail early when ``params`` are not keyword arguments of ``cls``."""
    _check_parameters(cls, params, field=field)


def build(kind: str, name: str, params: dict[str, Any], *, field: str, task: str | None = None) -> Any:
    """An instance of the named component with ``params`` (registry defaults underneath)."""
    cls = resolve_class(kind, name, field=field, task=task)
    arguments = {**registry_defaults(kind, name), **params}
    try:
        return cls(**arguments)
    except TypeError as error:
        raise ConfigError(f"{field}: bad parameters for {name!r} ({error}).") from None
