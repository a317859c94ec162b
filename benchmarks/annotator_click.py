"""How long one click in the annotator takes as the decision log grows.

Opens an :class:`~labelwise.annotate.Annotator` on a log that already holds N label
decisions (plus its snapshot), then times label clicks and "Next" presses made through the
widget's Python side (what a click in the browser calls). The model is a stub that trains
instantly and the strategy is random, so the figures are the widget's and the store's own
cost, fsync of each decision included, not training.

    OMP_NUM_THREADS=1 python benchmarks/annotator_click.py --decisions 2000 20000 100000

Set LABELWISE_SRC to a ``src`` folder to measure another checkout (e.g. an older commit).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, os.environ.get("LABELWISE_SRC", str(REPO / "src")))

import numpy as np  # noqa: E402

from labelwise.annotate import Annotator  # noqa: E402
from labelwise.data import ClassificationDataset  # noqa: E402

NAMES = ["World", "Sports", "Business"]


class InstantModel:
    """Trains in no time; uniform probabilities; predicts class 0."""

    def fit(self, dataset):
        self.n_classes_ = dataset.n_classes
        return self

    def predict_proba(self, dataset):
        return np.full((len(dataset), len(NAMES)), 1 / len(NAMES), dtype=np.float32)

    def predict(self, dataset):
        return np.zeros(len(dataset), dtype=np.int64)


def prefilled_log(folder: Path, n_decisions: int, n_pool: int) -> Path:
    """A log of ``n_decisions`` label lines (positions 0..n-1) and a snapshot whose queue
    is the rest of the pool, as a long session would have left them."""
    path = folder / "annotations.jsonl"
    with open(path, "w", encoding="utf-8") as handle:
        for position in range(n_decisions):
            handle.write(json.dumps({"action": "label", "position": position, "value": NAMES[position % 3],
                                     "timestamp": 1.7e9 + position, "iteration": position // 10}) + "\n")
    snapshot = {"version": 1, "queue": list(range(n_decisions, n_pool)), "current": [],
                "iteration": n_decisions // 10, "n_decisions": n_decisions, "timestamp": 1.7e9, "extra": {}}
    Path(str(path) + ".snapshot.json").write_text(json.dumps(snapshot))
    return path


class FsyncClock:
    """Wraps ``os.fsync`` to add up the time spent in it: the disk's share of a click,
    which depends on the machine and its load, not on the log's length."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._fsync = os.fsync

    def __call__(self, descriptor: int) -> None:
        started = time.perf_counter()
        self._fsync(descriptor)
        self.seconds += time.perf_counter() - started


def _timed(clock: FsyncClock, action) -> tuple[float, float]:
    """(total ms, ms outside fsync) of one call."""
    clock.seconds = 0.0
    started = time.perf_counter()
    action()
    total = (time.perf_counter() - started) * 1000
    return total, total - clock.seconds * 1000


def measure(n_decisions: int, clicks: int, nexts: int, batch_size: int) -> dict[str, float]:
    n_pool = n_decisions + 2 * batch_size * (nexts + 2) + clicks
    pool = ClassificationDataset([f"text {i}" for i in range(n_pool)], None, NAMES)
    with tempfile.TemporaryDirectory() as folder, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        path = prefilled_log(Path(folder), n_decisions, n_pool)
        started = time.perf_counter()
        widget = Annotator(pool, InstantModel(), "random", store=path, batch_size=batch_size, random_state=0)
        widget.wait()
        open_s = time.perf_counter() - started
        clock = FsyncClock()
        os.fsync = clock
        try:
            label_ms = []
            while len(label_ms) < clicks:
                for position in widget.current_positions:
                    if len(label_ms) == clicks:
                        break
                    label_ms.append(_timed(clock, lambda p=position: widget.label(p, NAMES[p % 3])))
                if len(label_ms) < clicks:
                    widget.next_batch()
                    widget.wait()
            next_ms = []
            for _ in range(nexts):
                next_ms.append(_timed(clock, widget.next_batch))
                widget.wait()
        finally:
            os.fsync = clock._fsync
        widget.close()
    median = statistics.median
    return {"open_s": open_s, "label_ms": median(t for t, _ in label_ms),
            "label_cpu_ms": median(c for _, c in label_ms), "next_ms": median(t for t, _ in next_ms),
            "next_cpu_ms": median(c for _, c in next_ms)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--decisions", type=int, nargs="+", default=[2000, 20000, 100000])
    parser.add_argument("--clicks", type=int, default=20, help="label clicks timed per log size")
    parser.add_argument("--nexts", type=int, default=3, help="Next presses timed per log size")
    parser.add_argument("--batch-size", type=int, default=10)
    args = parser.parse_args()
    import labelwise

    print(f"labelwise from {Path(labelwise.__file__).parent}")
    print("medians in ms; 'w/o fsync' leaves out the time the disk takes to confirm each write")
    print("decisions  open_s  label_click  label w/o fsync  next  next w/o fsync")
    for n in args.decisions:
        r = measure(n, args.clicks, args.nexts, args.batch_size)
        print(f"{n:9d}  {r['open_s']:6.2f}  {r['label_ms']:11.1f}  {r['label_cpu_ms']:15.2f}  "
              f"{r['next_ms']:6.1f}  {r['next_cpu_ms']:14.2f}", flush=True)


if __name__ == "__main__":
    main()
