"""The one lazy-import idiom of labelwise.

Layer 0: importable from every layer, imports nothing of labelwise but :mod:`labelwise.errors`.

- :func:`optional_import` imports an optional dependency where it is first needed and, when it
  is missing, raises a :class:`~labelwise.errors.ConfigError` naming the extra that installs it.
- :func:`lazy_attributes` gives a package a module ``__getattr__`` (PEP 562) that imports a
  public name's module only when the name is first used, so that ``import labelwise.models``
  does not import torch.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from types import ModuleType
from typing import Any

from labelwise.errors import ConfigError


def optional_import(module: str, extra: str, who: str | None = None) -> ModuleType:
    """Import ``module`` (e.g. ``"torch"``, ``"transformers"``); if it (or one of its own
    dependencies) is missing, a :class:`ConfigError` that names ``who`` needs it and the fix
    ``pip install 'labelwise[extra]'``."""
    try:
        return importlib.import_module(module)
    except ImportError as error:
        needs = f"{who} needs" if who else "this needs"
        raise ConfigError(f"{needs} the package {module.split('.')[0]!r}, which is not installed ({error}). "
                          f"Fix: pip install 'labelwise[{extra}]'.") from error


def lazy_attributes(package: str, names: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package`` that resolves ``name`` from the module
    ``names[name]`` on first use (and caches it in the package)::

        __getattr__ = lazy_attributes(__name__, {"TextCNN": "labelwise.models.text_cnn"})
    """
    table = dict(names)

    def __getattr__(name: str) -> Any:
        if name not in table:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(table[name]), name)
        setattr(importlib.import_module(package), name, value)
        return value

    return __getattr__


__all__ = ["lazy_attributes", "optional_import"]
