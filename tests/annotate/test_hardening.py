"""Issue #13 (annotation store and widget): constant work per click, one writer per log,
resume without a snapshot, labels and positions validated at the door and on reading."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from labelwise.annotate.store import AnnotationStore, CorruptLineWarning
from labelwise.errors import DataError, LockedError

SRC = str(Path(__file__).resolve().parents[2] / "src")


# ---- the store ------------------------------------------------------------------------
@pytest.mark.parametrize("value", [float("nan"), 1.9, None, True, {"a": 1}, [["nested"]]])
def test_record_label_refuses_values_that_are_no_labels_and_writes_nothing(tmp_path, value):
    path = tmp_path / "a.jsonl"
    with AnnotationStore(path) as store:
        with pytest.raises(DataError, match="'value'"):
            store.record_label(3, value, iteration=0)
        assert store.labels == {}
    assert path.read_bytes() == b""


@pytest.mark.parametrize("position", [True, 1.0, 2.5, -1, "3"])
def test_record_label_refuses_positions_that_are_not_pool_positions(tmp_path, position):
    with AnnotationStore(tmp_path / "a.jsonl") as store:
        with pytest.raises(DataError, match="'position'"):
            store.record_label(position, "World", iteration=0)
        assert store.labels == {}


def test_bad_lines_in_the_log_are_skipped_with_file_and_line_and_never_override_labels(tmp_path):
    path = tmp_path / "a.jsonl"

    def line(**fields):
        record = {"action": "label", "position": 1, "value": "World", "timestamp": 1.0, "iteration": 0}
        record.update(fields)
        return json.dumps(record)

    path.write_text("\n".join([
        line(),
        line(position=True, value="Sports"),       # a boolean is not position 1
        line(position=1.0, value="Business"),      # nor is a float
        line(value=float("nan")),                  # NaN (Python's json writes it; it is not JSON)
        line(value=1.9),
        line(position=2, value="Sports", iteration=True),
    ]) + "\n")
    with pytest.warns(CorruptLineWarning) as caught:
        store = AnnotationStore(path)
    messages = [str(w.message) for w in caught]
    assert store.corrupt_lines == [2, 3, 4, 5, 6]
    for number, message in zip((2, 3, 4, 5, 6), messages, strict=True):
        assert f"a.jsonl, line {number}" in message
    assert store.labels == {1: "World"}
    store.close()


def test_a_second_writer_process_is_refused_with_locked_error(tmp_path):
    path = tmp_path / "a.jsonl"
    holder = textwrap.dedent("""
        import sys
        from labelwise.annotate.store import AnnotationStore
        store = AnnotationStore(sys.argv[1])
        store.record_label(0, "World", iteration=0)
        print("ready", flush=True)
        sys.stdin.read()  # hold the store until the parent closes our stdin
    """)
    child = subprocess.Popen([sys.executable, "-c", holder, str(path)], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": SRC})
    try:
        assert child.stdout.readline().strip() == "ready"
        with pytest.raises(LockedError, match=r"annotation store .*a\.jsonl.* in use by process"):
            AnnotationStore(path)
        reader = AnnotationStore(path, read_only=True)  # reading (to export) needs no lock
        assert reader.labels == {0: "World"}
        with pytest.raises(LockedError, match="read_only"):
            reader.record_label(1, "World", iteration=0)
    finally:
        child.stdin.close()
        child.wait(30)
    with AnnotationStore(path) as store:  # the lock died with its process
        store.record_label(1, "Sports", iteration=0)
        assert store.labels == {0: "World", 1: "Sports"}


def test_a_store_opened_again_in_the_same_process_takes_over_and_the_old_one_refuses(tmp_path):
    path = tmp_path / "a.jsonl"
    first = AnnotationStore(path)
    first.record_label(0, "World", iteration=0)
    second = AnnotationStore(path)  # e.g. the notebook cell run again
    second.record_label(1, "Sports", iteration=0)
    with pytest.raises(LockedError, match="took the log over"):
        first.record_label(2, "Business", iteration=0)
    with pytest.raises(LockedError):
        first.write_snapshot(queue=[5], iteration=0)
    second.close()
    with AnnotationStore(path) as again:
        assert again.labels == {0: "World", 1: "Sports"}


# ---- the widget -----------------------------------------------------------------------
anywidget = pytest.importorskip("anywidget")
pytestmark = pytest.mark.filterwarnings("ignore:could not save the learner")

from labelwise.annotate import Annotator  # noqa: E402
from labelwise.models import TfidfLogisticRegression  # noqa: E402


class _CountingList(list):
    """A list that counts full passes over it (iterations)."""

    passes = 0

    def __iter__(self):
        type(self).passes += 1
        return super().__iter__()


def test_clicks_never_reread_or_replay_the_decision_log(tmp_path, pool, fakes, monkeypatch):
    path = tmp_path / "a.jsonl"
    with AnnotationStore(path) as store:
        for position in range(12):
            store.record_label(position, pool.label_names[position % 3], iteration=0)
        store.write_snapshot(queue=range(12, len(pool)), iteration=1)
    model = fakes.SlowModel()
    model.release.set()
    widget = Annotator(pool, model, "random", store=path, query_size=4)
    widget.wait(30)
    widget.store.decisions = _CountingList(widget.store.decisions)
    _CountingList.passes = 0
    opened = []
    real_open = open

    def counting_open(file, *args, **kwargs):
        if Path(str(file)).name == path.name:
            opened.append(file)
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr("builtins.open", counting_open)
    monkeypatch.setattr(Path, "read_bytes", lambda self: (opened.append(self), real_open(self, "rb").read())[1])
    first, second, third = widget.current_positions[:3]
    widget.label(first, "World")
    widget.label(second, 1)
    widget.skip(third)
    assert widget.undo() == third
    widget.next_batch()
    widget.label(widget.current_positions[0], "Business")
    widget.wait(30)
    assert opened == [], "a click re-read the decision log"
    assert _CountingList.passes == 0, "a click replayed the whole decision log"
    assert widget.store.label_of(first) == "World" and widget.store.label_of(second) == "Sports"
    assert widget.progress["labeled"] == 15
    widget.close()


def test_label_refuses_negative_ids_floats_and_non_lists_with_data_error(tmp_path, pool, fakes):
    widget = Annotator(pool, fakes.SlowModel(), "random", store=tmp_path / "a.jsonl", query_size=3)
    position = widget.current_positions[0]
    for value in (-1, 3, 1.9, None, True, ["World"]):
        with pytest.raises(DataError, match=f"position {position}"):
            widget.label(position, value)
    for bad_position in (1.5, True, 99):
        with pytest.raises(DataError, match="position"):
            widget.label(bad_position, "World")
    assert widget.store.labels == {} and widget.store.n_decisions == 0
    widget.label(position, 2)
    assert widget.store.labels == {position: "Business"}
    widget.close()


def test_multi_label_and_ner_values_must_be_lists_of_names(tmp_path, ner_pool, fakes):
    from labelwise.data import ClassificationDataset

    data = ClassificationDataset([f"text {i}" for i in range(10)], None, ["ab", "b"], multi_label=True)
    widget = Annotator(data, fakes.SlowModel(), "random", store=tmp_path / "m.jsonl", query_size=2)
    with pytest.raises(DataError, match="list of label names"):
        widget.label(widget.current_positions[0], "ab")  # not the letters 'a' and 'b'
    widget.close()
    tagger = Annotator(ner_pool, fakes.FakeTagger(), "random", store=tmp_path / "n.jsonl", query_size=2)
    with pytest.raises(DataError, match="list of tags"):
        tagger.label(tagger.current_positions[0], "O")
    tagger.close()


@pytest.mark.parametrize("damage", ["missing", "corrupt", "malformed"])
def test_resuming_without_a_valid_snapshot_rebuilds_the_batch_from_the_log(tmp_path, pool, fakes, damage):
    path = tmp_path / "a.jsonl"
    model = fakes.SlowModel()
    model.release.set()
    widget = Annotator(pool, model, "random", store=path, query_size=4)
    first, second = widget.current_positions[:2]
    widget.label(first, "World")
    widget.skip(second)
    widget.close()
    snapshot = Path(str(path) + ".snapshot.json")
    if damage == "missing":
        snapshot.unlink()
    elif damage == "corrupt":
        snapshot.write_text('{"version": 1, "queue": [1, 2')
    else:
        snapshot.write_text(json.dumps({"version": 1, "queue": "oops", "current": [], "iteration": 0}))

    again_model = fakes.SlowModel()
    again_model.release.set()
    if damage == "missing":
        again = Annotator(pool, again_model, "random", store=path, query_size=4)
    else:
        with pytest.warns(CorruptLineWarning, match="snapshot"):
            again = Annotator(pool, again_model, "random", store=path, query_size=4)
    shown = again.current_positions
    assert len(shown) == 4 and len(set(shown)) == 4
    assert shown[:2] == [first, second], "the decided items of the interrupted batch come back"
    assert again.items[0]["label"] == "World" and again.items[1]["skipped"]
    assert not any(again.store.is_decided(p) for p in shown[2:])
    assert len(again.upcoming) == 4 and not {item["position"] for item in again.upcoming} & set(shown)
    assert again.undo() == second, "decisions of the rebuilt batch stay undoable"
    again.wait(30)
    assert again.learner.labeled_indices.tolist() == [first]
    again.close()


def test_a_first_batch_of_one_class_keeps_the_cold_start_ranking_and_says_why(tmp_path, pool):
    widget = Annotator(pool, TfidfLogisticRegression(embedding_dim=8), "entropy", store=tmp_path / "a.jsonl",
                       query_size=4)
    for position in widget.current_positions:
        widget.label(position, "World")
    widget.next_batch()
    widget.wait(60)
    assert widget.error == "", widget.error
    assert "at least 2 classes" in widget.status and "'random'" in widget.status
    assert len(widget.items) == 4 and len(widget.upcoming) == 4
    widget.label(widget.current_positions[0], "Sports")
    widget.next_batch()
    widget.wait(60)
    assert widget.error == "" and widget.background.n_fits == 1 and widget.status == "ready"
    widget.close()
