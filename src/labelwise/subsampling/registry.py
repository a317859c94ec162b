"""Subsamplers by name: ``get_subsampler("ups", gamma=0.1)``.

The one subsampler registry: :func:`get_subsampler`, benchmark configs
(``subsampling: {name: random}``) and the CLI read the same names, so ``random`` is the same
:class:`~labelwise.subsampling.RandomSubsampler` everywhere.
"""

from __future__ import annotations

from typing import Any

from labelwise._registry import Registry
from labelwise.errors import ConfigError
from labelwise.subsampling.ups import NaiveSubsampler, RandomSubsampler, UPSSubsampler

_ALL_TASKS = ("classification", "tagging", "seq2seq")

SUBSAMPLERS = Registry("subsampler")
SUBSAMPLERS.register("ups", target=UPSSubsampler, tasks=_ALL_TASKS)
SUBSAMPLERS.register("naive", "naive_subsample", "naive_subsampling", target=NaiveSubsampler, tasks=_ALL_TASKS)
SUBSAMPLERS.register("random", "random_subsample", "random_subsampling", target=RandomSubsampler,
                     tasks=_ALL_TASKS)


def available_subsamplers() -> list[str]:
    return SUBSAMPLERS.names()


def get_subsampler(name: Any, **params: Any) -> Any:
    """A subsampler built from a registry name (``ups``, ``naive``, ``random``), an alias
    (``random_subsample``), ``path/to/file.py:ClassName`` or ``package.module:ClassName``
    with ``params``; ``None`` gives ``None`` (score the whole pool) and an object with
    ``subsample`` passes through."""
    if name is None:
        return None
    if not isinstance(name, str):
        if not callable(getattr(name, "subsample", None)):
            raise ConfigError(f"{name!r} is not a subsampler: it has no subsample() method.")
        if params:
            raise ConfigError("parameters were given for an already built subsampler.")
        return name
    try:
        subsampler = SUBSAMPLERS.get(name, **params)
    except ConfigError:
        raise
    except (TypeError, ValueError) as error:
        raise ConfigError(f"subsampler {name!r}: bad parameters {sorted(params)} ({error}).") from None
    if not callable(getattr(subsampler, "subsample", None)):
        raise ConfigError(f"{name!r} builds {type(subsampler).__name__}, which has no subsample() method.")
    return subsampler
