"""The store and the widget record who labeled what, when and how long it took; logs
written before these fields existed still load, unchanged."""

from __future__ import annotations

import json

import numpy as np
import pytest

from labelwise.annotate.store import AnnotationStore, CorruptLineWarning
from labelwise.data import ClassificationDataset
from labelwise.errors import DataError


def test_an_old_log_without_annotator_fields_loads_as_before(tmp_path):
    path = tmp_path / "old.jsonl"
    path.write_text('{"action": "label", "position": 3, "value": "Sports", "timestamp": 1.0, "iteration": 0}\n'
                    '{"action": "label", "position": 4, "value": "World", "timestamp": 2.0, "iteration": 0}\n'
                    '{"action": "undo", "position": 4, "value": null, "timestamp": 3.0, "iteration": 0}\n')
    store = AnnotationStore(path, read_only=True)
    assert store.labels == {3: "Sports"}
    assert store.decisions[0].annotator is None and store.decisions[0].duration_ms is None
    assert store.votes() == [(3, None, "Sports")]


def test_annotator_and_duration_are_written_and_read_back(tmp_path):
    path = tmp_path / "a.jsonl"
    with AnnotationStore(path) as store:
        store.record_label(1, "Sports", iteration=0, annotator="alice", duration_ms=1234.5)
        store.record_label(2, "World", iteration=0)  # unnamed: the line is the old format
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert lines[0]["annotator"] == "alice" and lines[0]["duration_ms"] == 1234.5
    assert "annotator" not in lines[1] and "duration_ms" not in lines[1]
    again = AnnotationStore(path, read_only=True)
    first = again.decisions[0]
    assert (first.annotator, first.duration_ms) == ("alice", 1234.5)
    assert first.timestamp > 0


def test_several_annotators_on_one_position_keep_their_own_votes_and_undo(tmp_path):
    with AnnotationStore(tmp_path / "a.jsonl") as store:
        store.record_label(7, "Sports", iteration=0, annotator="alice")
        store.record_label(7, "World", iteration=0, annotator="crowd-1")
        store.record_label(7, "Business", iteration=0, annotator="alice")
        assert store.votes_of(7) == {"alice": "Business", "crowd-1": "World"}
        store.record_undo(7, iteration=0, annotator="alice")  # alice's latest only
        assert store.votes_of(7) == {"alice": "Sports", "crowd-1": "World"}
        assert store.label_of(7) == "World"  # the latest label of anyone, as before
    replayed = AnnotationStore(tmp_path / "a.jsonl", read_only=True)
    assert sorted(replayed.votes(), key=str) == sorted([(7, "alice", "Sports"), (7, "crowd-1", "World")], key=str)


@pytest.mark.parametrize("duration", [-1, float("nan"), "5", True])
def test_a_bad_duration_is_refused_before_anything_is_written(tmp_path, duration):
    path = tmp_path / "a.jsonl"
    with AnnotationStore(path) as store, pytest.raises(DataError, match="duration_ms"):
        store.record_label(1, "Sports", iteration=0, duration_ms=duration)
    assert path.read_text() == ""


def test_a_log_line_with_a_malformed_annotator_is_skipped_with_a_warning(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_text('{"action": "label", "position": 1, "value": "A", "timestamp": 1.0, "iteration": 0, '
                    '"annotator": 5}\n')
    with pytest.warns(CorruptLineWarning, match="annotator"):
        store = AnnotationStore(path, read_only=True)
    assert store.labels == {}


def test_the_widget_records_its_annotator_and_the_duration_the_front_end_sends(tmp_path):
    pytest.importorskip("anywidget")
    from labelwise.annotate import Annotator

    class Constant:
        def fit(self, dataset):
            return self

        def predict(self, dataset):
            return np.zeros(len(dataset), dtype=np.int64)

    pool = ClassificationDataset([f"text {i}" for i in range(6)], None, ["A", "B"])
    widget = Annotator(pool, Constant(), "random", store=tmp_path / "w.jsonl", batch_size=2, annotator="bob")
    try:
        position = widget.current_positions[0]
        widget._handle_message(widget, {"type": "label", "position": position, "value": "B",
                                        "duration_ms": 850}, None)
        assert widget.error == ""
        decision = widget.store.decisions[-1]
        assert (decision.annotator, decision.duration_ms, decision.value) == ("bob", 850.0, "B")
    finally:
        widget.close()
