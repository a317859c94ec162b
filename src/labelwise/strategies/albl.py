"""Active Learning by Learning (ALBL): choose among strategies online with a bandit.

References:
    Hsu & Lin (2015). Active learning by learning. AAAI.
    Beygelzimer, Langford, Li, Reyzin & Schapire (2011). Contextual bandit algorithms with
    supervised learning guarantees. AISTATS. (EXP4.P.)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from labelwise.errors import ConfigError, SelectionError
from labelwise.strategies.base import QueryContext, QueryStrategy, Selection
from labelwise.strategies.registry import get_strategy, register_strategy

DEFAULT_EXPERTS = ("least_confidence", "breaking_ties", "entropy")


def exp4p_expert_distribution(log_weights: np.ndarray, p_min: float) -> np.ndarray:
    """EXP4.P's probability of following each expert, ``(N,)``:
    ``p_i = (1 - N * p_min) * w_i / W + p_min``."""
    weights = np.exp(log_weights - log_weights.max())
    return (1.0 - len(weights) * p_min) * weights / weights.sum() + p_min


def exp4p_log_weight_step(
    followed_share: np.ndarray,
    p: np.ndarray,
    reward: float,
    p_min: float,
    horizon: int,
    delta: float,
) -> np.ndarray:
    """The change of each expert's log weight after one round, ``(N,)``, with the experts
    as EXP4.P's arms (identity advice):

    ``(p_min / 2) * (y_i + v_i * sqrt(ln(N / delta) / (N T)))`` where the estimated reward
    ``y_i = share_i * reward / p_i`` (``share_i``: the fraction of the round's picks that
    followed expert ``i``; 1 or 0 for one pick, as in EXP4.P) and ``v_i = 1 / p_i``.
    """
    n_experts = len(p)
    estimated = followed_share * reward / p
    confidence = math.sqrt(math.log(n_experts / delta) / (n_experts * horizon))
    return (p_min / 2.0) * (estimated + confidence / p)


@register_strategy("albl", "active_learning_by_learning")
class ActiveLearningByLearning(QueryStrategy):
    """Active Learning by Learning (Hsu & Lin 2015): an EXP4.P bandit learns online which
    strategy helps this model on this data, with the strategies as its experts.

    Each round the bandit follows expert ``i`` with probability
    ``p_i = (1 - N p_min) w_i / W + p_min`` and queries that expert's pick (for ``k > 1``:
    each of the ``k`` slots draws an expert and takes its best pick not yet taken; the
    uniform expert takes a random candidate). A queried row's probability of being
    queried, ``q(x) = sum_i p_i xi_i(x)`` (``xi_i`` uniform over expert ``i``'s ``k`` picks,
    or over all candidates for the uniform expert), gives it the importance weight
    ``W = 1 / q(x)``. At the next query the model has been retrained on the labels that
    came back; the reward of the last round is its importance-weighted accuracy on every
    row the bandit has queried, ``IW-ACC = sum_t W_t [f(x_t) = y_t] / (n_pool * T * k)``
    (``T * k``: the labels the bandit expects to query; an unbiased estimate of the pool
    accuracy, scaled to about [0, 1]). EXP4.P then raises the log weight of each expert by
    ``(p_min / 2) (y_i + v_i sqrt(ln(N / delta) / (N T)))`` with ``y_i = share_i r / p_i``
    and ``v_i = 1 / p_i``.

    As in libact (from the authors' lab), the arms of EXP4.P are the strategies (identity
    advice, ``K = N``), which keeps ``p_min`` and the learning rate independent of the
    pool size; a query distribution over the rows themselves would need ``p_min <= 1 /
    n_pool`` and would barely learn. For ``k = 1`` the update is exactly EXP4.P's; for a
    batch, the estimated reward of an expert is weighted by the share of the batch that
    followed it.

    The labels come from ``QueryContext.labels`` (aligned with ``labeled_indices``) and the
    predictions from the current ``probabilities`` at those positions. A round whose rows
    are all still unlabeled at the next query (the token-budget loop asks again with a
    larger k) is replaced, not rewarded. The instance keeps the bandit's state between
    queries: keep using the same object (``StrategySchedule`` and ``ActiveLearner`` do);
    ``reset()`` forgets it.

    Args:
        strategies: the experts: registry names, ``(name, params)`` pairs or instances.
        uniform_expert: add an expert that picks uniformly at random, as Hsu & Lin and
            libact do (it also keeps every row's ``q`` above 0, so IW-ACC stays unbiased).
        rounds: the number of queries the run will make (EXP4.P's horizon ``T``).
        p_min: the least probability of following each expert, in ``[0, 1 / N]``;
            default ``sqrt(ln N / (N T))``, capped at ``1 / N``.
        delta: EXP4.P's confidence parameter in (0, 1).

    Classification only (the reward is accuracy on class ids).

    References:
        Hsu & Lin (2015). Active learning by learning. AAAI.
        Beygelzimer et al. (2011). Contextual bandit algorithms with supervised learning
        guarantees. AISTATS.
    """

    requires = ("probabilities",)
    tasks = ("classification",)

    def __init__(
        self,
        strategies: Sequence[Any] = DEFAULT_EXPERTS,
        uniform_expert: bool = True,
        rounds: int = 100,
        p_min: float | None = None,
        delta: float = 0.1,
    ) -> None:
        self.strategies = tuple(strategies) if not isinstance(strategies, str) else (strategies,)
        self.uniform_expert = uniform_expert
        self.rounds = rounds
        self.p_min = p_min
        self.delta = delta
        self._experts: list[QueryStrategy] | None = None
        self._reset_bandit()

    def _reset_bandit(self) -> None:
        self._log_weights: np.ndarray | None = None
        self._labels_expected: int | None = None
        self._round: dict[str, Any] | None = None
        self._history_positions: list[int] = []
        self._history_weights: list[float] = []
        self._rewards: list[float] = []

    def reset(self) -> None:
        """Forget what the bandit learned (a new run)."""
        self._reset_bandit()

    # ---- persistence (ActiveLearner.save / load) ----------------------------------------------
    def get_state(self) -> dict[str, Any]:
        """The bandit's learned state as plain JSON data: log weights, the labels expected,
        the pending round (its positions, query probabilities and expert distribution), the
        importance-weighted history and the rewards. :meth:`set_state` restores it."""
        last = self._round
        return {
            "log_weights": None if self._log_weights is None else self._log_weights.tolist(),
            "labels_expected": self._labels_expected,
            "round": None if last is None else {
                "positions": [int(x) for x in last["positions"]], "q": [float(x) for x in last["q"]],
                "share": [float(x) for x in last["share"]], "p": [float(x) for x in last["p"]],
                "p_min": float(last["p_min"])},
            "history_positions": list(self._history_positions),
            "history_weights": list(self._history_weights),
            "rewards": list(self._rewards),
        }

    def set_state(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`get_state` returned (raises ConfigError when it does not fit
        this bandit's experts)."""
        try:
            n_experts = len(self.expert_names)
            log_weights = state["log_weights"]
            if log_weights is not None and len(log_weights) != n_experts:
                raise ConfigError(f"albl: the saved state has {len(log_weights)} expert weights, this "
                                  f"bandit has {n_experts} experts ({self.expert_names}); pass the same "
                                  "strategies as when it was saved.")
            last = state["round"]
            self._log_weights = None if log_weights is None else np.asarray(log_weights, dtype=float)
            self._labels_expected = None if state["labels_expected"] is None else int(state["labels_expected"])
            self._round = None if last is None else {
                "positions": np.asarray(last["positions"], dtype=np.int64),
                "q": np.asarray(last["q"], dtype=float), "share": np.asarray(last["share"], dtype=float),
                "p": np.asarray(last["p"], dtype=float), "p_min": float(last["p_min"])}
            self._history_positions = [int(x) for x in state["history_positions"]]
            self._history_weights = [float(x) for x in state["history_weights"]]
            self._rewards = [float(x) for x in state["rewards"]]
        except (KeyError, TypeError, ValueError) as error:
            raise ConfigError(f"albl: the saved bandit state is malformed ({type(error).__name__}: "
                              f"{error}); save the learner again.") from None

    # ---- introspection ---------------------------------------------------------------------
    @property
    def expert_names(self) -> list[str]:
        names = [expert.name for expert in self.experts()]
        return names + ["uniform"] if self.uniform_expert else names

    @property
    def log_weights(self) -> np.ndarray:
        """EXP4.P's log weights ``(N,)``; all 0 before the first update."""
        n = len(self.expert_names)
        return np.zeros(n) if self._log_weights is None else self._log_weights.copy()

    @property
    def weights(self) -> np.ndarray:
        """Each expert's share of the weight ``(N,)``, summing to 1."""
        log_weights = self.log_weights
        shifted = np.exp(log_weights - log_weights.max())
        return shifted / shifted.sum()

    @property
    def rewards(self) -> list[float]:
        """The IW-ACC reward of each rewarded round, oldest first."""
        return list(self._rewards)

    def effective_p_min(self) -> float:
        n = len(self.expert_names)
        if self.p_min is not None:
            return float(self.p_min)
        return min(math.sqrt(math.log(n) / (n * self.rounds)), 1.0 / n)

    def experts(self) -> list[QueryStrategy]:
        if self._experts is None:
            built = []
            for spec in self.strategies:
                # a list pair is a tuple pair that went through JSON (ActiveLearner.save)
                if isinstance(spec, tuple | list):
                    expert = get_strategy(spec[0], **dict(spec[1]))
                else:
                    expert = get_strategy(spec)
                if isinstance(expert, ActiveLearningByLearning):
                    raise ConfigError("albl: an expert cannot itself be 'albl'.")
                built.append(expert)
            self._experts = built
        return self._experts

    # ---- checks ----------------------------------------------------------------------------
    def check(self, outputs: Any, k: int, context: QueryContext) -> None:
        if not isinstance(self.uniform_expert, bool):
            raise ConfigError(
                f"albl: uniform_expert must be True or False, got {self.uniform_expert!r}."
            )
        if not self.strategies and not self.uniform_expert:
            raise ConfigError(
                "albl: give at least one strategy in 'strategies' (or uniform_expert=True)."
            )
        if (
            isinstance(self.rounds, bool)
            or not isinstance(self.rounds, int | np.integer)
            or self.rounds < 1
        ):
            raise ConfigError(
                f"albl: rounds must be a positive integer (queries in the run), got {self.rounds!r}."
            )
        n = len(self.strategies) + int(self.uniform_expert)
        if self.p_min is not None and not (
            isinstance(self.p_min, int | float)
            and not isinstance(self.p_min, bool)
            and 0.0 <= self.p_min <= 1.0 / n
        ):
            raise ConfigError(
                f"albl: p_min must lie in [0, 1/{n}] for {n} experts, got {self.p_min!r}."
            )
        if not (isinstance(self.delta, int | float) and 0.0 < self.delta < 1.0):
            raise ConfigError(f"albl: delta must lie in (0, 1), got {self.delta!r}.")
        super().check(outputs, k, context)
        for expert in self.experts():
            if outputs is not None:
                outputs.require(expert.requires, who=f"strategy 'albl' (expert {expert.name!r})")

    # ---- one round -------------------------------------------------------------------------
    def _select(self, outputs: Any, k: int, context: QueryContext) -> Selection:
        candidates = context.candidate_indices
        m = len(candidates)
        n_experts = len(self.expert_names)
        if self._log_weights is None:
            self._log_weights = np.zeros(n_experts)
            self._labels_expected = self.rounds * k
        self._reward_last_round(outputs, context)
        p_min = self.effective_p_min()
        p = exp4p_expert_distribution(self._log_weights, p_min)

        row_of = np.full(context.n_pool, -1, dtype=np.int64)
        row_of[candidates] = np.arange(m)
        advice = []
        for expert in self.experts():
            rows = row_of[expert.select(outputs, k, context).indices]
            if (rows < 0).any():
                raise SelectionError(
                    f"albl: expert {expert.name!r} picked a position that is not a candidate."
                )
            advice.append(rows)
        q = np.zeros(m)
        for share, rows in zip(p, advice, strict=False):
            np.add.at(q, rows, share / k)
        if self.uniform_expert:
            q += p[-1] / m
            uniform_order = context.rng.permutation(m)

        followed = context.rng.choice(n_experts, size=k, p=p)
        taken = np.zeros(m, dtype=bool)
        cursors = np.zeros(n_experts, dtype=np.int64)
        picked = np.empty(k, dtype=np.int64)
        # A loop over the k slots (not the pool): each slot takes its expert's best pick not
        # yet taken, or, when that expert has none left, the next pick of any expert.
        for slot, expert in enumerate(followed):
            order = [expert] + [e for e in range(n_experts) if e != expert]
            for e in order:
                ranked = (
                    uniform_order if (self.uniform_expert and e == n_experts - 1) else advice[e]
                )
                while cursors[e] < len(ranked) and taken[ranked[cursors[e]]]:
                    cursors[e] += 1
                if cursors[e] < len(ranked):
                    picked[slot] = ranked[cursors[e]]
                    followed[slot] = e
                    break
            taken[picked[slot]] = True

        share = np.bincount(followed, minlength=n_experts) / k
        self._round = {
            "positions": candidates[picked].copy(),
            "q": q[picked].copy(),
            "share": share,
            "p": p,
            "p_min": p_min,
        }
        return Selection(candidates[picked], q[picked], candidates, q)

    def _reward_last_round(self, outputs: Any, context: QueryContext) -> None:
        last = self._round
        if last is None:
            return
        labeled = np.asarray(context.labeled_indices, dtype=np.int64)
        if not np.isin(last["positions"], labeled).any():
            self._round = None  # asked again before any label came back: replace the round
            return
        if context.labels is None:
            raise SelectionError(
                "albl needs the labels of its previous picks (QueryContext.labels) to learn; "
                "the learner passes them for classification pools."
            )
        labels = np.asarray(context.labels)
        if labels.ndim != 1 or len(labels) != len(labeled):
            raise SelectionError(
                f"albl: QueryContext.labels must hold one class id per labeled position "
                f"({len(labeled)}), got shape {labels.shape}."
            )
        self._history_positions += [int(x) for x in last["positions"]]
        self._history_weights += [float(w) for w in 1.0 / last["q"]]
        history = np.asarray(self._history_positions, dtype=np.int64)
        order = np.argsort(labeled, kind="stable")
        found = np.minimum(np.searchsorted(labeled, history, sorter=order), len(labeled) - 1)
        label_rows = order[found]
        known = labeled[label_rows] == history
        predictions = np.asarray(outputs.get("probabilities", history[known])).argmax(axis=1)
        correct = predictions == labels[label_rows[known]]
        weights = np.asarray(self._history_weights)[known]
        reward = float((weights * correct).sum() / (context.n_pool * self._labels_expected))
        self._rewards.append(reward)
        self._log_weights = self._log_weights + exp4p_log_weight_step(
            last["share"], last["p"], reward, last["p_min"], self.rounds, self.delta
        )
        self._round = None
