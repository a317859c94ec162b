"""Renamed keywords and config keys that keep working for one release, with a FutureWarning.

Layer 0: imports nothing of labelwise but :mod:`labelwise.errors`.
"""

from __future__ import annotations

import warnings
from typing import Any

from labelwise.errors import ConfigError


def renamed(new_value: Any, old_value: Any, *, old: str, new: str, where: str, default: Any = None,
            why: str = "", stacklevel: int = 3) -> Any:
    """The value of keyword ``new``, taking ``old`` (its deprecated name) when only it was given.

    ``None`` means "not given" for both. Passing both is a :class:`ConfigError`; passing
    ``old`` warns with :class:`FutureWarning` (the old name goes in the next release);
    ``default`` is returned when neither was given.
    """
    if old_value is None:
        return default if new_value is None else new_value
    if new_value is not None:
        raise ConfigError(f"{where}: give {new}= only ({old}= is its old name), not both.")
    warnings.warn(f"{where}: {old}= is now {new}={f' ({why})' if why else ''}; the old name goes in the next "
                  "release.", FutureWarning, stacklevel=stacklevel)
    return old_value


__all__ = ["renamed"]
