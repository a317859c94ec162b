"""The widget's "you may stop" signal: the stopping criterion's decision after each retraining."""

from __future__ import annotations

import pytest

pytest.importorskip("anywidget")
pytestmark = pytest.mark.filterwarnings("ignore:could not save the learner")

from labelwise.annotate import Annotator  # noqa: E402
from labelwise.models import TfidfLogisticRegression  # noqa: E402


def _label_all(widget: Annotator) -> None:
    for item in widget.items:
        widget.label(item["position"], widget.dataset.label_names[item["position"] % 3])


def test_the_widget_shows_when_labelling_may_stop_and_why(tmp_path, pool):
    widget = Annotator(pool, TfidfLogisticRegression(embedding_dim=8), "entropy", store=tmp_path / "a.jsonl",
                       query_size=6, stopping={"label_budget": {"max_labels": 12}})
    assert widget.stop_signal == {}  # nothing decided before the first retraining
    signals = []
    for _ in range(2):
        _label_all(widget)
        widget.next_batch()
        widget.wait(60)
        signals.append(dict(widget.stop_signal))
    assert widget.error == ""
    assert [s["stop"] for s in signals] == [False, True]  # 6 labels, then 12: the budget
    assert "12" in signals[1]["reason"] and widget.learner.last_stop_decision.stop
    widget.close()
