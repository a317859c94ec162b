"""Proactive assignment: who labels which item of a batch, by cost and reliability.

References:
    Donmez, P. and Carbonell, J. G. (2008). Proactive learning: cost-sensitive active
    learning with multiple imperfect oracles. CIKM 2008.

Two rules share step 1 and step 4 (docs/annotators.md works an example).

1. For item ``i`` the model's class probabilities ``p_i`` are the prior, and annotator
   ``j`` answers through its confusion matrix ``C_j`` (rows: true class, columns: label;
   Dawid-Skene's estimate, or the symmetric matrix of its reliability while none is
   estimated). For a set ``S`` of annotators the *expected accuracy* of the aggregated
   label (the posterior's argmax) is computed exactly by enumerating their answers::

       A_i(S) = sum over answers v in K^|S| of  max_k  p_ik * prod_{j in S} C_j[k, v_j]

   ``A_i(empty) = max_k p_ik`` is what the model already knows; ``A_i(S) - A_i(empty)`` is
   the expected information the labels add (in probability of a correct label). For
   tagging, ``p_i`` holds one row per token and ``A_i`` is the mean over tokens.
2. ``objective="per_cost"`` (the default; Donmez & Carbonell's expected information per
   unit of cost): every item starts with nobody; repeatedly, the one move (item ``i``
   from its plan ``S`` to a dearer plan ``S'`` with ``A_i(S') > A_i(S)``) with the
   highest ``(A_i(S') - A_i(S)) / (cost(S') - cost(S))`` that fits in the budget is
   made (ties: the item of higher ``values``), until the budget is spent or every item's
   plan reaches ``target`` (items at or above it get no more labels; without a budget,
   this is the stopping rule). This is the greedy for the multiple-choice knapsack: it
   walks each item's upper convex hull of (cost, accuracy). An item the model is sure of
   gains little from any label and gets the cheap one or none; an uncertain item gets a
   cheap label first and, while its ratio still beats other items' first labels, more
   labels or the expert. Under a budget, items may be left with nobody (plan ``()``):
   return them to the pool; without one, an item no move reached gets the cheapest
   single annotator (ties: the more accurate). ``objective="target"``: the plan of item ``i`` is the
   *cheapest* set with ``A_i(S) >= target`` (ties: the higher ``A_i(S)``; none reaches
   it: the highest ``A_i(S)``, ties: the cheapest), items planned in decreasing
   ``values``; under a budget, an item whose plan would overrun it gets the plan of
   highest ``A_i`` that fits, or nobody. This buys quality regardless of what it costs
   and, while the model knows little, sends nearly everything to the expert.
3. Overlap while reliability is unknown: an annotator that is not yet ``known`` (fewer
   than ``min_overlap`` items compared with others) is added to ``explore`` (a fraction
   of the batch, at least one item, at most the ``min_overlap - n_compared`` items it
   still needs) items it is not already planned for, choosing the
   items whose plan has the highest expected accuracy (the best reference to measure it
   against). Its labels are aggregated like all others. Under a budget with
   ``per_cost``, the cost of this overlap is set aside before step 2.
4. Budget: the plans (overlap included) never cost more than ``budget``. Once every
   annotator is ``known``, no overlap is bought that the objective does not pay for.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from labelwise.annotators.base import Annotator
from labelwise.errors import ConfigError, DataError

OBJECTIVES = ("per_cost", "target")


@dataclass(frozen=True)
class Assignment:
    """Who labels what.

    Attributes:
        positions: ``(n_items,)`` pool positions of the batch.
        plans: per item, the indices (into ``annotator_ids``) of its annotators.
        expected_accuracy: ``(n_items,)`` ``A_i`` of each plan (before exploration).
        costs: ``(n_items,)`` cost of each item's plan, exploration included.
        annotator_ids: the annotators' ids, in the order given.
    """

    positions: np.ndarray
    plans: list[tuple[int, ...]]
    expected_accuracy: np.ndarray
    costs: np.ndarray
    annotator_ids: tuple[str, ...]

    @property
    def total_cost(self) -> float:
        return float(self.costs.sum())

    def by_annotator(self) -> dict[str, list[int]]:
        """Annotator id -> the pool positions it is asked to label."""
        result: dict[str, list[int]] = {a: [] for a in self.annotator_ids}
        for position, plan in zip(self.positions, self.plans, strict=True):
            for j in plan:
                result[self.annotator_ids[j]].append(int(position))
        return result


def expected_accuracy(prior: np.ndarray, confusions: Sequence[np.ndarray], groups: np.ndarray | None = None) -> np.ndarray:
    """``A(S)`` for each row of ``prior`` ``(n_rows, K)`` and the annotators of
    ``confusions`` (each ``(K, K)``); with ``groups`` (sorted group start offsets), the mean
    over each group's rows. Memory: ``n_rows * K^(|S|+1)`` floats."""
    joint = prior[:, :, None]  # (n, K, answers so far)
    for confusion in confusions:
        n, k, m = joint.shape
        joint = (joint[:, :, :, None] * confusion[None, :, None, :]).reshape(n, k, m * k)
    per_row = joint.max(axis=1).sum(axis=1)
    if groups is None:
        return per_row
    sizes = np.diff(np.append(groups, len(per_row)))
    return np.add.reduceat(per_row, groups) / sizes


def assign(annotators: Sequence[Annotator], probabilities: np.ndarray | Sequence[np.ndarray], *,
           positions: Sequence[int] | np.ndarray | None = None, values: Sequence[float] | np.ndarray | None = None,
           target: float = 0.95, max_per_item: int = 3, budget: float | None = None, explore: float = 0.2,
           n_tokens: Sequence[int] | np.ndarray | None = None, objective: str = "per_cost") -> Assignment:
    """Plan who labels each item of a batch (the rule is in this module's docstring).

    Args:
        annotators: the candidates, with costs and (estimated) reliabilities.
        probabilities: the model's ``(n_items, n_classes)`` class probabilities, or for
            tagging one ``(n_tokens_i, n_tags)`` array per sentence. A uniform row when the
            model knows nothing yet.
        positions: the items' pool positions (default ``0..n_items-1``).
        values: informativeness per item (higher = plan first under a budget).
        target: the expected accuracy each plan should reach.
        max_per_item: the most annotators per item.
        budget: the most the batch may cost (``None``: no limit).
        explore: share of the batch given to each not-yet-known annotator as overlap.
        n_tokens: tokens per item for per-token costs (tagging: taken from the arrays).
        objective: ``"per_cost"`` (expected information per unit of cost, the default) or
            ``"target"`` (the cheapest plan that reaches ``target`` for every item).
    """
    if objective not in OBJECTIVES:
        raise ConfigError(f"objective must be one of {list(OBJECTIVES)}, got {objective!r}.")
    if not annotators:
        raise ConfigError("assign() needs at least one annotator.")
    if not 0.0 < target <= 1.0:
        raise ConfigError(f"target must lie in (0, 1], got {target!r}.")
    if int(max_per_item) < 1:
        raise ConfigError(f"max_per_item must be at least 1, got {max_per_item!r}.")
    ids = tuple(a.id for a in annotators)
    if len(set(ids)) != len(ids):
        raise ConfigError(f"annotator ids must be unique, got {list(ids)}.")
    rows, groups, tokens = _as_rows(probabilities)
    n_items = len(tokens)
    n_classes = rows.shape[1]
    if n_tokens is None:
        n_tokens = tokens
    n_tokens = np.asarray(n_tokens, dtype=np.float64).reshape(-1)
    positions = np.arange(n_items) if positions is None else np.asarray(positions, dtype=np.int64).reshape(-1)
    if len(positions) != n_items or len(n_tokens) != n_items:
        raise DataError(f"assign() got {n_items} items but {len(positions)} positions and {len(n_tokens)} token "
                        "counts; give one per item.")
    order = np.arange(n_items) if values is None else np.argsort(-np.asarray(values, np.float64), kind="stable")

    confusions = [a.confusion_matrix(n_classes) for a in annotators]
    unit_costs = np.stack([np.asarray(a.cost(n_tokens), dtype=np.float64) for a in annotators], axis=1)
    subsets = [s for size in range(1, min(int(max_per_item), len(annotators)) + 1)
               for s in itertools.combinations(range(len(annotators)), size)]
    accuracy = np.stack([expected_accuracy(rows, [confusions[j] for j in s], groups) for s in subsets], axis=1)
    subset_costs = np.stack([unit_costs[:, list(s)].sum(axis=1) for s in subsets], axis=1)  # (n_items, n_subsets)

    baseline = expected_accuracy(rows, [], groups)
    remaining = math.inf if budget is None else float(budget)
    # overlap for an unknown annotator: a share of the batch, but no more than it still needs
    wanted = {j: max(1, min(math.ceil(explore * n_items), math.ceil(a.min_overlap - a.n_compared)))
              for j, a in enumerate(annotators) if not a.known}
    if objective == "per_cost":
        reserve = sum(float(np.sort(unit_costs[:, j])[:count].sum()) for j, count in wanted.items())
        rank = np.empty(n_items, dtype=np.int64)
        rank[order] = np.arange(n_items)
        choice = _greedy_per_cost(accuracy, subset_costs, baseline, target, remaining - min(reserve, remaining / 2),
                                  rank)
        if budget is None:  # without a budget every item of the batch is labeled, at least cheaply
            singles = [k for k, subset in enumerate(subsets) if len(subset) == 1]
            for i in np.nonzero(choice < 0)[0]:
                choice[i] = min(singles, key=lambda k: (subset_costs[i, k], -accuracy[i, k]))
    else:
        choice = np.full(n_items, -1, dtype=np.int64)
        budget_left = remaining
        for i in order:
            picked = _choose(accuracy[i], subset_costs[i], target, budget_left)
            if picked is not None:
                choice[i] = picked
                budget_left -= subset_costs[i, picked]
    plans: list[tuple[int, ...]] = [subsets[c] if c >= 0 else () for c in choice]
    chosen = np.nonzero(choice >= 0)[0]
    planned_accuracy = baseline.copy()
    planned_accuracy[chosen] = accuracy[chosen, choice[chosen]]
    costs = np.zeros(n_items)
    costs[chosen] = subset_costs[chosen, choice[chosen]]
    remaining -= float(costs.sum())

    for j, annotator in enumerate(annotators):
        if annotator.known:
            continue
        candidates = [i for i in np.argsort(-planned_accuracy, kind="stable") if plans[i] and j not in plans[i]]
        for i in candidates[:wanted[j]]:
            if unit_costs[i, j] > remaining:
                break
            plans[i] = tuple(sorted((*plans[i], j)))
            costs[i] += unit_costs[i, j]
            remaining -= unit_costs[i, j]
    return Assignment(positions, plans, planned_accuracy, costs, ids)


def _greedy_per_cost(accuracy: np.ndarray, costs: np.ndarray, baseline: np.ndarray, target: float,
                     budget: float, rank: np.ndarray) -> np.ndarray:
    """The index (into the subsets) of each item's plan, ``-1`` for nobody (rule 2,
    ``per_cost``). ``accuracy``/``costs``: ``(n_items, n_subsets)``; ``rank``: 0 for the
    item of highest value."""
    n_items = accuracy.shape[0]
    choice = np.full(n_items, -1, dtype=np.int64)
    current_accuracy = baseline.astype(np.float64).copy()
    current_cost = np.zeros(n_items)
    remaining = budget

    def best_moves(items: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        extra_cost = costs[items] - current_cost[items, None]
        gain = accuracy[items] - current_accuracy[items, None]
        movable = ((current_accuracy[items] < target - 1e-12)[:, None] & (extra_cost > 1e-12) & (gain > 1e-12)
                   & (extra_cost <= remaining + 1e-12))
        ratio = np.where(movable, gain / np.where(movable, extra_cost, 1.0), -np.inf)
        best = ratio.argmax(axis=1)
        picked = np.arange(len(items))
        return ratio[picked, best], best, extra_cost[picked, best]

    # each item's best move, recomputed for the moved item and for those whose move no
    # longer fits in what is left
    ratio, move, move_cost = best_moves(np.arange(n_items))
    while True:
        stale = np.nonzero(np.isfinite(ratio) & (move_cost > remaining + 1e-12))[0]
        if stale.size:
            ratio[stale], move[stale], move_cost[stale] = best_moves(stale)
        if not np.isfinite(ratio).any():
            return choice
        item = int(np.lexsort((rank, -ratio))[0])  # highest ratio; ties: the more valuable item
        remaining -= float(move_cost[item])
        choice[item] = move[item]
        current_accuracy[item] = accuracy[item, move[item]]
        current_cost[item] = costs[item, move[item]]
        one = np.array([item])
        ratio[one], move[one], move_cost[one] = best_moves(one)


def _choose(accuracy: np.ndarray, costs: np.ndarray, target: float, remaining: float) -> int | None:
    affordable = costs <= remaining + 1e-12
    if not affordable.any():
        return None
    meets = affordable & (accuracy >= target - 1e-12)
    if meets.any():
        candidates = np.nonzero(meets)[0]
        # cheapest, then most accurate
        return int(candidates[np.lexsort((-accuracy[candidates], costs[candidates]))[0]])
    candidates = np.nonzero(affordable)[0]
    return int(candidates[np.lexsort((costs[candidates], -accuracy[candidates]))[0]])


def _as_rows(probabilities: np.ndarray | Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """Rows ``(n_rows, K)``, group start offsets (None: one row per item), tokens per item."""
    if isinstance(probabilities, np.ndarray) and probabilities.ndim == 2:
        rows = probabilities.astype(np.float64)
        groups = None
        tokens = np.zeros(rows.shape[0])
    else:
        arrays = [np.asarray(p, dtype=np.float64) for p in probabilities]
        if not arrays or any(a.ndim != 2 or a.shape[0] == 0 for a in arrays) or len({a.shape[1] for a in arrays}) > 1:
            raise DataError("probabilities must be an (n_items, n_classes) array, or for tagging one non-empty "
                            "(n_tokens, n_tags) array per sentence, all with the same number of tags.")
        rows = np.concatenate(arrays)
        tokens = np.array([a.shape[0] for a in arrays], dtype=np.float64)
        groups = np.concatenate([[0], np.cumsum(tokens)[:-1]]).astype(np.int64)
    if rows.size and (not np.isfinite(rows).all() or (rows < 0).any()):
        raise DataError("probabilities must be finite and non-negative.")
    rows = rows / np.clip(rows.sum(axis=1, keepdims=True), 1e-12, None)
    return rows, groups, tokens
