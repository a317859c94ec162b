"""The background learner and the widget's Python side: Next never waits for training,
failures reach the status field, the queue follows the strategy's scores, resume works."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("anywidget")
pytestmark = pytest.mark.filterwarnings("ignore:could not save the learner")

from labelwise.annotate import AnnotationStore, Annotator  # noqa: E402
from labelwise.annotate.background import BackgroundLearner  # noqa: E402
from labelwise.loop import ActiveLearner  # noqa: E402
from labelwise.models import TfidfLogisticRegression  # noqa: E402
from labelwise.strategies.base import ScoringStrategy  # noqa: E402


class ByPosition(ScoringStrategy):
    """Score = pool position: the ranked queue must be the positions in descending order."""

    name = "by_position"
    cold_start = True

    def score(self, outputs, context):
        return context.candidate_indices.astype(float)


def _label_all(widget: Annotator) -> None:
    for item in widget.items:
        widget.label(item["position"], widget.dataset.label_names[item["position"] % 3])


def test_next_shows_the_ranked_queue_while_a_slow_fit_runs(tmp_path, pool, fakes):
    model = fakes.SlowModel()
    widget = Annotator(pool, model, "random", store=tmp_path / "a.jsonl", query_size=4)
    upcoming = [item["position"] for item in widget.upcoming]
    _label_all(widget)
    shown = widget.next_batch()
    assert model.started.wait(10), "the background fit never started"
    # The fit is blocked on the Event, and yet the next batch is already on screen.
    assert shown == upcoming == widget.current_positions
    assert widget.background.busy and widget.progress["training"]
    assert model.fits == 0
    model.release.set()
    widget.wait(30)
    assert model.fits == 1 and not widget.background.busy
    assert widget.progress["labeled"] == 4 and widget.status == "ready"
    widget.close()


def test_a_failing_background_fit_appears_in_the_status(tmp_path, pool, fakes):
    widget = Annotator(pool, fakes.SlowModel(fail=True), "random", store=tmp_path / "a.jsonl", query_size=3)
    _label_all(widget)
    widget.next_batch()
    widget.wait(30)
    assert "boom: the GPU caught fire" in widget.status
    assert "RuntimeError" in widget.error
    # Annotating goes on: the queue was not lost.
    assert len(widget.items) == 3
    widget.close()


def test_the_queue_is_ranked_by_candidate_scores(pool, fakes):
    learner = ActiveLearner(fakes.SlowModel(), pool, ByPosition(), random_state=0)
    background = BackgroundLearner(learner, query_size=5)
    background.rank_now()
    assert background.queue == sorted(range(len(pool)), reverse=True)
    assert background.peek(3, exclude={29}) == [28, 27, 26]
    assert len(learner.pending_indices) == 0, "ranking must not leave positions reserved"
    background.shutdown()


def test_labels_teach_the_learner_and_the_model_scores_the_test_set(tmp_path, pool):
    widget = Annotator(pool, TfidfLogisticRegression(embedding_dim=8), "entropy", store=tmp_path / "a.jsonl",
                       query_size=6, test=pool)
    _label_all(widget)
    finished = widget.current_positions
    widget.next_batch()
    widget.wait(60)
    assert widget.error == ""
    assert sorted(widget.learner.labeled_indices.tolist()) == sorted(finished)
    assert widget.progress["metric"] == "accuracy" and 0.0 <= widget.progress["score"] <= 1.0
    assert widget.background.n_fits == 1
    assert all(item["suggestion"] in pool.label_names for item in widget.items)
    widget.close()


def test_skip_and_undo(tmp_path, pool, fakes):
    widget = Annotator(pool, fakes.SlowModel(), "random", store=tmp_path / "a.jsonl", query_size=3)
    first, second, _ = widget.current_positions
    widget.label(first, "World")
    widget.skip(second)
    assert widget.items[1]["skipped"]
    assert widget.undo() == second
    assert widget.undo() == first
    assert widget.undo() is None and "nothing to undo" in widget.status
    assert widget.store.labels == {} and widget.store.skipped == set()
    widget.close()


def test_reopening_the_store_resumes_labels_queue_and_iteration(tmp_path, pool, fakes):
    path = tmp_path / "a.jsonl"
    model = fakes.SlowModel()
    model.release.set()
    widget = Annotator(pool, model, "random", store=path, query_size=4)
    _label_all(widget)
    labeled = dict(widget.store.labels)
    widget.next_batch()
    widget.wait(30)
    widget.label(widget.current_positions[0], "Sports")
    labeled[widget.current_positions[0]] = "Sports"
    current = widget.current_positions
    queue = widget.background.peek(len(pool), widget._excluded(current))
    widget.close()

    again_model = fakes.SlowModel()  # its fit blocks: the restored queue is not re-ranked yet
    again = Annotator(pool, again_model, "random", store=AnnotationStore(path), query_size=4)
    assert again.store.labels == labeled
    assert again.iteration == 1
    assert again.current_positions == current
    assert again.items[0]["label"] == "Sports"
    assert again.background.peek(len(pool), again._excluded(current)) == queue
    again_model.release.set()
    again.wait(30)
    assert sorted(again.learner.labeled_indices.tolist()) == sorted(labeled)
    assert again.undo() == current[0], "the decision made before the restart stays undoable"
    again.close()


def test_ner_labels_suggestions_and_validation(tmp_path, ner_pool, fakes):
    model = fakes.FakeTagger()
    widget = Annotator(ner_pool, model, "random", store=tmp_path / "ner.jsonl", query_size=2)
    assert widget.task == "tagging" and widget.label_names == ["PER", "ORG", "LOC"]
    position = widget.current_positions[0]
    n = len(ner_pool.tokens[position])
    tags = ["B-PER"] + ["O"] * (n - 1)
    widget.label(position, tags)
    with pytest.raises(ValueError, match="tags for"):
        widget.label(position, ["O"])
    with pytest.raises(ValueError, match="unknown tags"):
        widget.label(position, ["B-FOO"] + ["O"] * (n - 1))
    widget.next_batch()
    widget.wait(30)
    assert model.fits == 1 and widget.error == ""
    for item in widget.items:
        assert item["suggestion"] == list(model.predict(ner_pool.subset([item["position"]]))[0])
    assert widget.store.labels == {position: tags}
    widget.close()


def test_multi_label_values_are_name_lists(tmp_path, fakes):
    from labelwise.data import ClassificationDataset

    data = ClassificationDataset([f"text {i}" for i in range(10)], None, ["a", "b", "c"], multi_label=True)
    widget = Annotator(data, fakes.SlowModel(), "random", store=tmp_path / "m.jsonl", query_size=2)
    position = widget.current_positions[0]
    widget.label(position, ["c", "a"])
    assert widget.store.labels[position] == ["a", "c"]
    assert widget.multi_label and widget.items[0]["label"] == ["a", "c"]
    widget.close()


def test_shortcut_keys_are_digits_then_letters():
    from labelwise.annotate.widget import _shortcuts

    keys = _shortcuts([f"l{i}" for i in range(9)] + ["Politics", "Science"])
    assert keys[:9] == [str(i) for i in range(1, 10)]
    assert keys[9:] == ["p", "c"] and len(set(keys)) == len(keys)
    assert np.all([k not in "sun" for k in keys])
