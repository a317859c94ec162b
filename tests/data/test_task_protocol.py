"""The task protocol of the datasets: each class owns its labels (encode, JSON round trip,
validation errors naming the field, gold, evaluation), so callers need no task switches."""

from __future__ import annotations

import json

import numpy as np
import pytest

from labelwise.data import ClassificationDataset, Seq2SeqDataset, TaggingDataset
from labelwise.errors import DataError


def single() -> ClassificationDataset:
    return ClassificationDataset(("a b", "c d", "e f"), np.array([0, 1, 2]), ("neg", "neu", "pos"))


def multi() -> ClassificationDataset:
    return ClassificationDataset(("a", "b"), np.array([[1, 0, 1], [0, 1, 0]]), ("x", "y", "z"))


def tagging() -> TaggingDataset:
    return TaggingDataset((("Ann", "met", "Bob"), ("Paris",)), (("B-PER", "O", "B-PER"), ("B-LOC",)),
                          ("O", "B-PER", "I-PER", "B-LOC", "I-LOC"))


def seq2seq() -> Seq2SeqDataset:
    return Seq2SeqDataset(("long text one", "long text two"), ("one", "two"))


def through_json(value):
    return json.loads(json.dumps(value))


# ---- JSON round trips -------------------------------------------------------------------
@pytest.mark.parametrize("make, position", [(single, 2), (multi, 0), (tagging, 0), (seq2seq, 1)])
def test_gold_label_round_trips_through_json(make, position):
    dataset = make()
    gold = dataset.gold([position])[0]
    shown = through_json(dataset.label_to_json(gold))
    validated = dataset.label_from_json(shown, f"position {position}", position=position)
    encoded = dataset.encode_label(validated, f"position {position}", position=position)
    assert np.array_equal(np.asarray(encoded), np.asarray(gold))


def test_label_to_json_gives_names():
    assert single().label_to_json(np.int64(1)) == "neu"
    assert multi().label_to_json(np.array([1, 0, 1])) == ["x", "z"]
    assert tagging().label_to_json(np.array(["B-PER", "O"])) == ["B-PER", "O"]


def test_multi_label_names_come_back_in_label_order():
    assert multi().label_from_json(["z", "x"], "position 0") == ["x", "z"]


def test_single_label_json_accepts_an_id():
    assert single().label_from_json(2, "position 0") == "pos"


# ---- validation errors name the field and the position ----------------------------------
@pytest.mark.parametrize("make, value, message", [
    (single, 1.5, "field 'label' must be a label name or id"),
    (single, "happy", "unknown label 'happy'"),
    (single, 7, "label id 7 is outside"),
    (multi, "x", "field 'label' must be a list of label names"),
    (multi, [0, 1], "field 'label' must be a list of label names"),
    (multi, ["w"], "unknown labels"),
    (tagging, "B-PER O B-PER", "field 'label' must be a list of tags"),
    (tagging, ["O", "O"], "2 tags for 3 tokens"),
    (tagging, ["O", "O", "B-ORG"], "unknown tags"),
    (seq2seq, "  ", "field 'label' must be a non-empty target text"),
])
def test_label_from_json_errors_name_where_and_field(make, value, message):
    with pytest.raises(DataError, match="position 0") as error:
        make().label_from_json(value, "position 0", "label", position=0)
    assert message in str(error.value)


@pytest.mark.parametrize("make, value, message", [
    (single, 1.9, "integer class id"),
    (single, "happy", "unknown label"),
    (multi, [1, 0], "3 indicators"),
    (tagging, ["O"], "1 tags for 3 tokens"),
    (seq2seq, "", "non-empty target text"),
])
def test_encode_label_errors_name_the_position(make, value, message):
    with pytest.raises(DataError, match="position 0") as error:
        make().encode_label(value, "position 0", position=0)
    assert message in str(error.value)


def test_encode_label_accepts_each_classification_form():
    assert single().encode_label("pos", "here") == 2
    assert single().encode_label(2.0, "here") == 2
    assert multi().encode_label(["y"], "here") == [0, 1, 0]
    assert multi().encode_label(np.array([1.0, 0.0, 1.0]), "here") == [1, 0, 1]


# ---- labels back into datasets ----------------------------------------------------------
@pytest.mark.parametrize("make", [single, multi, tagging, seq2seq])
def test_with_labels_takes_encoded_lists(make):
    dataset = make()
    labels = [dataset.encode_label(v, "here", position=i) for i, v in enumerate(dataset.gold(range(len(dataset))))]
    relabeled = dataset.without_labels().with_labels(labels)
    for position in range(len(dataset)):
        assert (relabeled.label_to_json(relabeled.gold([position])[0])
                == dataset.label_to_json(dataset.gold([position])[0]))


def test_empty_multi_label_labels_keep_their_width():
    assert multi().subset([]).with_labels([]).labels.shape == (0, 3)


def test_fit_blocker_only_for_a_single_class_of_single_label_data():
    assert "every label so far is class 'neu'" in single().fit_blocker([1, 1])
    assert single().fit_blocker([0, 1]) is None
    assert multi().fit_blocker([[1, 0, 0]]) is None
    assert tagging().fit_blocker([("O",)]) is None


def test_query_context_declares_the_task_fields():
    context = multi().query_context([])
    assert context["labels"].shape == (0, 3) and context["multi_label"] is True and context["n_classes"] == 3
    assert tagging().query_context([])["token_counts"].tolist() == [3, 1]
    assert seq2seq().query_context(["x"]) == {"labels": ["x"], "n_classes": None, "multi_label": None,
                                              "token_counts": None}


# ---- evaluation dispatch ----------------------------------------------------------------
def test_evaluate_dispatches_to_the_task_metrics():
    assert single().evaluate([0, 1, 1])["accuracy"] == pytest.approx(2 / 3)
    assert "hamming_loss" in multi().evaluate(np.array([[1, 0, 1], [0, 1, 0]]))
    assert tagging().evaluate([["B-PER", "O", "B-PER"], ["O"]])["f1"] == pytest.approx(0.8)
    assert seq2seq().evaluate(["one", "two"])["rougeL"] == pytest.approx(1.0)


def test_metrics_evaluate_uses_the_dataset():
    from labelwise.metrics import evaluate

    class Model:
        def predict(self, dataset):
            return [0, 1, 1]

    assert evaluate(Model(), single()) == single().evaluate([0, 1, 1])


# ---- exports ----------------------------------------------------------------------------
@pytest.mark.parametrize("make, value, flat_cells", [
    (single, "pos", ["0", "a b", "pos"]),
    (multi, ["x", "z"], ["0", "a", "x,z"]),
    (tagging, ["B-PER", "O", "B-PER"], ["0", '["Ann", "met", "Bob"]', '["B-PER", "O", "B-PER"]']),
])
def test_export_record_fields_and_flat_cells(make, value, flat_cells):
    dataset = make()
    record = dataset.export_record(0, value)
    assert tuple(record) == dataset.export_fields
    assert [str(cell) for cell in dataset.export_record(0, value, flat=True).values()] == flat_cells


def test_annotation_names():
    assert single().annotation_names == ["neg", "neu", "pos"]
    assert tagging().annotation_names == ["PER", "LOC"]
    with pytest.raises(DataError, match="no B- tags"):
        _ = TaggingDataset((("a",),), (("X",),)).annotation_names
    with pytest.raises(DataError, match="classification and tagging"):
        _ = seq2seq().annotation_names


def test_stratify_labels_and_token_counting():
    assert single().stratify_labels.tolist() == [0, 1, 2]
    assert tagging().stratify_labels is None and tagging().counts_tokens
    assert not single().counts_tokens and not seq2seq().counts_tokens
