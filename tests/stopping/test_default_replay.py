"""benchmarks/stopping_default.py replays criteria offline from the recorded values: the replay
must agree with the criterion objects, and the goal's figures must be right on constructed runs."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from labelwise.stopping import (
    HeldOutPlateau,
    KappaAverage,
    StabilizingPredictions,
    StoppingState,
)
from labelwise.stopping.agreement import cohen_kappa

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "stopping_default.py"


@pytest.fixture(scope="module")
def replay():
    spec = importlib.util.spec_from_file_location("stopping_default", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["stopping_default"] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def model_predictions(n_models: int = 9, n_rows: int = 60, seed: int = 0) -> list[np.ndarray]:
    """Stop-set predictions of consecutive models that change fewer rows as they go
    (12, 9, 6, 3, 2, 1, 0, 1 rows), over 3 classes."""
    rng = np.random.default_rng(seed)
    current = rng.integers(0, 3, n_rows)
    out = [current.copy()]
    for changed in (12, 9, 6, 3, 2, 1, 0, 1)[: n_models - 1]:
        current = current.copy()
        rows = rng.choice(n_rows, changed, replace=False)
        current[rows] = (current[rows] + 1) % 3
        out.append(current)
    return out


def run_of(replay, *, kappa=None, scores=None, labels=None):
    n = len(kappa if kappa is not None else scores)
    nan = np.full(n, np.nan)
    return replay.Run("d", "random", 0, np.asarray(labels if labels is not None else np.arange(1, n + 1) * 10.0),
                      np.asarray(scores if scores is not None else np.zeros(n)),
                      np.asarray(kappa if kappa is not None else nan), nan, nan, nan, nan, {})


def test_the_kappas_are_recovered_from_the_recorded_kappa_average(replay):
    predictions = model_predictions()
    criterion = KappaAverage()  # threshold 0.99, window 3: the configuration the early runs recorded
    rows = []
    for t, p in enumerate(predictions):
        decision = criterion.update(StoppingState(iteration=t, n_labeled=10 * (t + 1), stop_set_predictions=p))
        rows.append({"stopping": {"kappa_average": {"value": decision.value}}})
    expected = [cohen_kappa(a, b) for a, b in zip(predictions, predictions[1:], strict=False)]
    recovered = replay._kappas(rows)
    assert np.isnan(recovered[0])
    np.testing.assert_allclose(recovered[1:], expected, atol=1e-12)


@pytest.mark.parametrize("threshold", [0.8, 0.9, 0.95, 0.97, 1.0])
@pytest.mark.parametrize("window", [1, 2, 3, 4])
def test_the_kappa_replay_stops_where_the_criteria_stop(replay, threshold, window):
    predictions = model_predictions()
    kappa = np.array([np.nan] + [cohen_kappa(a, b) for a, b in zip(predictions, predictions[1:], strict=False)])
    run = run_of(replay, kappa=kappa)
    for cls, mean in ((StabilizingPredictions, False), (KappaAverage, True)):
        criterion = cls(threshold=threshold, window=window)
        first = next((t for t, p in enumerate(predictions) if criterion.update(
            StoppingState(iteration=t, n_labeled=10 * (t + 1), stop_set_predictions=p)).stop), None)
        assert replay.kappa_window(threshold, window, mean)(run) == first, cls.name


@pytest.mark.parametrize(("patience", "min_delta"), [(1, 0.0), (2, 0.0), (3, 0.0), (2, 0.02)])
def test_the_plateau_replay_stops_where_the_criterion_stops(replay, patience, min_delta):
    scores = [50.0, 60.0, 61.0, 61.5, 61.0, 63.0, 62.0, 62.5, 62.9, 62.0]
    criterion = HeldOutPlateau(patience=patience, min_delta=min_delta)
    first = next((t for t, s in enumerate(scores) if criterion.update(
        StoppingState(iteration=t, n_labeled=10 * (t + 1), held_out_score=s / 100)).stop), None)
    assert replay.plateau(patience, min_delta)(run_of(replay, scores=scores)) == first


def test_the_goal_figures_on_constructed_runs(replay):
    # plateau: from 40 labels on, the score stays within 1 point of the final 80
    early = run_of(replay, scores=[50, 70, 78, 79.5, 80], kappa=[np.nan, 0.5, 0.8, 0.96, 0.99])
    # plateau at 50 labels (still rising); kappa never reaches 0.95
    late = run_of(replay, scores=[50, 60, 70, 75, 80], kappa=[np.nan, 0.5, 0.6, 0.7, 0.8])
    verdict = replay.judge(replay.kappa_window(0.95, 1, True), [early, late])
    assert verdict.n == 2 and verdict.stopped == 1 and not verdict.met  # one run never stopped
    assert verdict.ratio[0] == pytest.approx(40 / 40) and verdict.lost[0] == pytest.approx(0.5)
    assert verdict.within == 1
    assert verdict.plateau[0] == pytest.approx(45.0)
    # stopping at 30 labels (kappa 0.8) is 0.75 of the plateau and loses 2 points: outside the goal
    early_stop = replay.judge(replay.kappa_window(0.8, 1, True), [early])
    assert early_stop.ratio[0] == pytest.approx(0.75) and early_stop.lost[0] == pytest.approx(2.0)
    assert early_stop.within == 0 and not early_stop.met
    assert replay.judge(replay.kappa_window(0.95, 1, True), [early]).met
