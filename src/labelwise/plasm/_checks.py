"""Input checks shared by the plasm modules: optional imports and numbers, each failing
with a :class:`~labelwise.errors.LabelwiseError` that says what to change."""

from __future__ import annotations

import math
from types import ModuleType
from typing import Any

from labelwise._lazy import optional_import
from labelwise.errors import ConfigError


def require(module: str, extra: str, who: str) -> ModuleType:
    """Import ``module`` or say which extra installs it (:func:`labelwise._lazy.optional_import`)."""
    return optional_import(module, extra, who)


def number(value: Any, name: str, *, low: float | None = None, high: float | None = None,
           low_open: bool = False, high_open: bool = False) -> float:
    """``value`` as a finite float within the bounds, or a ConfigError naming ``name``."""
    try:
        result = float(value)
    except (TypeError, ValueError):
        result = math.nan
    if isinstance(value, bool) or not math.isfinite(result) \
            or (low is not None and (result <= low if low_open else result < low)) \
            or (high is not None and (result >= high if high_open else result > high)):
        interval = f"{'(' if low_open else '['}{'-inf' if low is None else low}, " \
                   f"{'inf' if high is None else high}{')' if high_open else ']'}"
        raise ConfigError(f"{name} must be a number in {interval}, got {value!r}.")
    return result
