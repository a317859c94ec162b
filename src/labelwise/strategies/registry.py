"""Strategies by name: ``get_strategy("entropy")``, a thin layer over :class:`~labelwise._registry.Registry`."""

from __future__ import annotations

from typing import Any

from labelwise._registry import Registry, check_parameters, is_spec, load_object
from labelwise.errors import ConfigError
from labelwise.strategies.base import QueryStrategy

STRATEGIES = Registry("strategy")


def register_strategy(name: str, *aliases: str):
    """Class decorator: make a strategy available under ``name`` (and aliases)."""
    return STRATEGIES.named(name, *aliases)


def available_strategies(task: str | None = None) -> list[str]:
    """Registered names, optionally only those for ``task``."""
    return [n for n in STRATEGIES.names() if task is None or task in STRATEGIES.get_class(n).tasks]


def strategy_class(name: str) -> type[QueryStrategy]:
    """The class behind a registry name, an alias, ``path/to/file.py:ClassName`` or
    ``package.module:ClassName``."""
    return STRATEGIES.get_class(name)


def get_strategy(name: str | QueryStrategy, **params: Any) -> QueryStrategy:
    """An instance of the strategy ``name`` (a registry name, an alias, or
    ``path/to/file.py:ClassName``) built with ``params``. An instance passes through."""
    if isinstance(name, QueryStrategy):
        if params:
            raise ConfigError("parameters were given for an already built strategy.")
        return name
    cls = strategy_class(name)
    check_parameters(cls, params, field=f"strategy {name!r}")
    try:
        return cls(**params)
    except TypeError as error:
        raise ConfigError(f"strategy {name!r}: bad parameters {sorted(params)} ({error}).") from None


def load_from_path(spec: str) -> type:
    """Load ``ClassName`` from ``path/to/file.py:ClassName`` or ``package.module:ClassName``
    (a user's own strategy or subsampler). Loading a file runs its code; see
    :func:`labelwise._registry.load_object`."""
    if not is_spec(spec):
        raise ConfigError(f"{spec!r} is not 'path/to/file.py:ClassName' or 'package.module:ClassName'.")
    return load_object(spec)
