"""Stopping criteria by name: ``get_stopping_criterion("stabilizing_predictions")``, and
from a config value: ``stopping_from_config({"any": ["kappa_average", {"label_budget":
{"max_labels": 500}}]})``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from labelwise._registry import Registry
from labelwise.errors import ConfigError
from labelwise.stopping.agreement import ClassificationChange, KappaAverage, StabilizingPredictions
from labelwise.stopping.base import AllOf, AnyOf, StoppingCriterion
from labelwise.stopping.budget import CostBudget, LabelBudget
from labelwise.stopping.plateau import HeldOutPlateau
from labelwise.stopping.uncertainty import MaxUncertainty, MinExpectedError, OverallUncertainty

#: every stopping criterion by name (one Registry: normalised names, aliases, did-you-mean,
#: ``path/to/file.py:Class`` for a criterion of your own)
STOPPING_CRITERIA = Registry("stopping criterion")


def register_stopping_criterion(name: str, *aliases: str):
    """Class decorator: make a criterion available under ``name`` (and aliases)."""
    return STOPPING_CRITERIA.named(name, *aliases)


for _cls, _aliases in (
    (StabilizingPredictions, ("sp", "stabilizing")),
    (KappaAverage, ("kappa",)),
    (ClassificationChange, ("cc",)),
    (OverallUncertainty, ("ou",)),
    (MaxUncertainty, ("mu", "max_confidence")),
    (MinExpectedError, ("mee", "expected_error")),
    (HeldOutPlateau, ("plateau",)),
    (LabelBudget, ("max_labels",)),
    (CostBudget, ()),
):
    register_stopping_criterion(_cls.name, *_aliases)(_cls)


def available_stopping_criteria(task: str | None = None) -> list[str]:
    """Registered names, optionally only those that apply to ``task``."""
    return [n for n in STOPPING_CRITERIA.names()
            if task is None or task in STOPPING_CRITERIA.get_class(n).tasks]


def get_stopping_criterion(name: str | StoppingCriterion, **params: Any) -> StoppingCriterion:
    """A fresh criterion ``name`` (a registry name or alias, or ``file.py:Class``) built with
    ``params``; an instance passes through."""
    if isinstance(name, StoppingCriterion):
        if params:
            raise ConfigError("parameters were given for an already built stopping criterion.")
        return name
    if not isinstance(name, str):
        raise ConfigError(
            f"a stopping criterion is a name or an instance, got {type(name).__name__}."
        )
    try:
        return STOPPING_CRITERIA.get(name, **params)
    except TypeError as error:
        raise ConfigError(
            f"stopping criterion {name!r}: bad parameters {sorted(params)} ({error})."
        ) from None


def stopping_from_config(spec: Any) -> StoppingCriterion:
    """A criterion from a config value: a name; an instance; ``{name: {params}}``;
    ``{"any": [spec, ...]}`` or ``{"all": [spec, ...]}``; a list (read as "any")."""
    if isinstance(spec, str | StoppingCriterion):
        return get_stopping_criterion(spec)
    if isinstance(spec, Mapping):
        if len(spec) != 1:
            raise ConfigError(
                f"a stopping spec mapping needs exactly one key (a name, 'any' or 'all'), got "
                f"{sorted(spec)}."
            )
        ((key, value),) = spec.items()
        if key in ("any", "all"):
            if not isinstance(value, Sequence) or isinstance(value, str):
                raise ConfigError(f"stopping {key!r} needs a list of criteria, got {value!r}.")
            children = [stopping_from_config(item) for item in value]
            return AnyOf(*children) if key == "any" else AllOf(*children)
        if value is None:
            value = {}
        if not isinstance(value, Mapping):
            raise ConfigError(
                f"stopping criterion {key!r}: parameters must be a mapping, got {value!r}."
            )
        return get_stopping_criterion(key, **dict(value))
    if isinstance(spec, Sequence):
        return AnyOf(*[stopping_from_config(item) for item in spec])
    raise ConfigError(
        f"cannot read a stopping criterion from {spec!r}; give a name, a mapping or a list."
    )
