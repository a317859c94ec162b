"""What ``ActiveLearner(..., cluster=...)`` runs on the cluster (the learner imports this
lazily, so the loop never needs Dask unless asked).

Row-wise strategies: inference and scoring on the workers, per-partition candidates
merged on the client with the run's generator (the same selection as one process, bit for
bit). Joint strategies (Coreset, BADGE, ...) and token budgets: the outputs they read are
computed on the workers and the strategy selects on the client, exactly as in one process.
"""

from __future__ import annotations

from typing import Any

from labelwise.distributed.scorer import ClusterScorer
from labelwise.outputs import ModelOutputs
from labelwise.strategies import QueryContext, QueryStrategy, ScoringStrategy, Selection


def _required(strategy: Any) -> tuple[str, ...]:
    kinds = list(getattr(strategy, "requires", ()))
    base = getattr(strategy, "base", None)
    if base is not None:
        kinds += [kind for kind in _required(base) if kind not in kinds]
    return tuple(kinds)


def cluster_select(learner: Any, strategy: QueryStrategy, outputs: ModelOutputs, k: int, context: QueryContext,
                   unit: str) -> tuple[Selection, ModelOutputs]:
    """The learner's selection with inference on ``learner.cluster``; returns the selection
    and the outputs object whose ``seconds`` count the time spent on the workers."""
    kinds = _required(strategy)
    if not kinds:  # random and other model-free strategies: nothing to run remotely
        return _local(learner, strategy, outputs, k, context, unit), outputs
    scorer = learner.__dict__.get("_cluster_scorer")
    if scorer is None:
        scorer = ClusterScorer(learner.cluster, learner.pool)
        learner._cluster_scorer = scorer
    scorer.set_model(learner.model, f"{id(learner):x}-{learner.model_version}")
    if isinstance(strategy, ScoringStrategy) and unit == "instances":
        selection = strategy_select_remote(scorer, strategy, k, context, outputs.options)
        outputs.seconds["cluster"] = scorer.last_seconds
        return selection, outputs
    computed = scorer.outputs(kinds, options=outputs.options)
    computed.pool = learner.pool
    computed.expected = kinds
    return _local(learner, strategy, computed, k, context, unit), computed


def strategy_select_remote(scorer: ClusterScorer, strategy: ScoringStrategy, k: int, context: QueryContext,
                           options: dict[str, Any]) -> Selection:
    return scorer.select(strategy, k, rng=context.rng, labeled_indices=context.labeled_indices,
                         labels=context.labels, candidate_indices=context.candidate_indices, options=options,
                         iteration=context.iteration, keep_scores=True)


def _local(learner: Any, strategy: QueryStrategy, outputs: Any, k: int, context: QueryContext,
           unit: str) -> Selection:
    if unit == "tokens":
        return learner._select_tokens(strategy, outputs, k, context)
    return strategy.select(outputs, k, context)
