"""Query strategies, by family, and the registry that finds them by name."""

from labelwise.strategies.base import QueryContext, QueryStrategy, ScoringStrategy, Selection, top_k
from labelwise.strategies.registry import (
    available_strategies,
    get_strategy,
    load_from_path,
    register_strategy,
    strategy_class,
)
from labelwise.strategies.uncertainty import BreakingTies, Entropy, LeastConfidence, RandomSampling

# Importing the family modules registers their strategies by name.
from labelwise.strategies import (  # noqa: E402, F401  isort: skip
    albl,
    alps,
    bayesian,
    clustering,
    compat,
    density,
    discriminative,
    diversity,
    gradient,
    hybrid,
    multi_label,
    seals,
    seq2seq,
    tagging,
)

__all__ = [
    "BreakingTies",
    "Entropy",
    "LeastConfidence",
    "QueryContext",
    "QueryStrategy",
    "RandomSampling",
    "ScoringStrategy",
    "Selection",
    "available_strategies",
    "get_strategy",
    "load_from_path",
    "register_strategy",
    "strategy_class",
    "top_k",
]
