"""Statistics over seeds: Student-t intervals, paired differences to a baseline, the
normalized area under a learning curve, and the labels a curve needs to reach a target."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import stats

from labelwise.errors import DataError


def mean_ci(values: Sequence[float], confidence: float = 0.95) -> tuple[float, float]:
    """Mean and the half-width of its two-sided Student-t interval (0 for one value)."""
    array = np.asarray(values, dtype=np.float64)
    array = array[np.isfinite(array)]
    if array.size == 0:
        return float("nan"), float("nan")
    mean = float(array.mean())
    if array.size < 2:
        return mean, 0.0
    sem = float(array.std(ddof=1) / np.sqrt(array.size))
    return mean, float(sem * stats.t.ppf(0.5 + confidence / 2.0, df=array.size - 1))


def paired_mean_ci(values: Sequence[float], baseline: Sequence[float],
                   confidence: float = 0.95) -> tuple[float, float]:
    """Mean and Student-t half-width of the per-seed differences ``values[i] - baseline[i]``
    (both indexed by the same seeds): the paired comparison, which removes the seed set's
    luck that both runs share."""
    values = np.asarray(values, dtype=np.float64)
    baseline = np.asarray(baseline, dtype=np.float64)
    if values.shape != baseline.shape:
        raise DataError(f"paired values need one baseline per seed; got {values.shape} and {baseline.shape}.")
    return mean_ci(values - baseline, confidence)


def excludes_zero(mean: float, half: float) -> int:
    """+1 when the interval lies above 0, -1 below, 0 when it contains 0 (or is undefined)."""
    if not (np.isfinite(mean) and np.isfinite(half)):
        return 0
    if mean - half > 0:
        return 1
    if mean + half < 0:
        return -1
    return 0


def normalized_auc(labels: Sequence[float], scores: Sequence[float]) -> float:
    """Area under the learning curve by the trapezoid rule over ``labels`` (sorted
    ascending), divided by the label range: the curve's mean height, in the scores' unit.
    A single point gives its score."""
    x = np.asarray(labels, dtype=np.float64)
    y = np.asarray(scores, dtype=np.float64)
    if x.shape != y.shape or x.size == 0:
        raise DataError(f"need as many labels as scores (at least one); got {x.shape} and {y.shape}.")
    if x.size == 1 or x[-1] == x[0]:
        return float(y.mean())
    area = float(np.sum((x[1:] - x[:-1]) * (y[1:] + y[:-1]) / 2.0))
    return area / float(x[-1] - x[0])


def labels_to_reach(labels: Sequence[float], scores: Sequence[float], target: float) -> float | None:
    """The labels at which the curve first reaches ``target``, linearly interpolated between
    the last point below it and the first point at or above it; None when it never does."""
    x = np.asarray(labels, dtype=np.float64)
    y = np.asarray(scores, dtype=np.float64)
    reached = np.flatnonzero(y >= target)
    if reached.size == 0:
        return None
    first = int(reached[0])
    if first == 0:
        return float(x[0])
    x0, x1, y0, y1 = x[first - 1], x[first], y[first - 1], y[first]
    return float(x0 + (target - y0) * (x1 - x0) / (y1 - y0))


def saving_percent(labels: float | None, baseline_labels: float | None) -> float | None:
    """Labels saved against the baseline, in % of the baseline's labels; None when either
    curve never reaches the target."""
    if labels is None or baseline_labels is None or baseline_labels <= 0:
        return None
    return 100.0 * (baseline_labels - labels) / baseline_labels
