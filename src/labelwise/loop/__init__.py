"""The active-learning loop: state, queries, teaching, schedules and persistence."""

from labelwise.loop.history import IterationRecord
from labelwise.loop.learner import ActiveLearner, ColdStartWarning, pool_fingerprint
from labelwise.loop.schedule import StrategySchedule
from labelwise.loop.seed import initial_indices

__all__ = ["ActiveLearner", "ColdStartWarning", "IterationRecord", "StrategySchedule", "initial_indices", "pool_fingerprint"]
