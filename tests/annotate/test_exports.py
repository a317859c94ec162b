"""Exports load back exactly (CoNLL for any token, CSV tokens with spaces) and Label Studio
exports import back onto the same pool positions and labels."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ElementTree

import numpy as np
import pytest

from labelwise.annotate.exports import import_label_studio, label_studio_config, pool_fingerprint
from labelwise.annotate.store import AnnotationStore
from labelwise.data import ClassificationDataset, TaggingDataset, load_conll, load_tagging
from labelwise.errors import DataError

AWKWARD = ["New York", "-DOCSTART-", "", " ", "a\tb", "line\nfeed", "c\rr", "back\\slash", "\\s", "\\&",
           "nb\u00a0sp", "1\\/2", "#", "B-PER"]
TAG_NAMES = ("O", "B-PER", "I-PER", "B-LOC", "I-LOC")


def _labeled_store(path, labels):
    store = AnnotationStore(path)
    for position, value in labels.items():
        store.record_label(position, value, iteration=0)
    return store


def _tagging_pool(rng, n_sentences):
    alphabet = list("ab\\-& \t\n\r") + ["-DOCSTART-", "\u00a0", "\u3000", "é"]
    sentences, tags = [], []
    for _ in range(n_sentences):
        length = int(rng.integers(1, 6))
        sentences.append(tuple("".join(rng.choice(alphabet, size=int(rng.integers(0, 4)))) for _ in range(length)))
        tags.append(tuple(str(rng.choice(["O", "B-PER", "B-LOC"])) for _ in range(length)))
    return TaggingDataset(sentences, None, TAG_NAMES), tags


def test_conll_round_trip_is_exact_for_awkward_tokens(tmp_path):
    pool = TaggingDataset([tuple(AWKWARD), ("",), ("-DOCSTART-", "x")], None, TAG_NAMES)
    tags = {0: ["B-LOC", "I-LOC"] + ["O"] * (len(AWKWARD) - 2), 1: ["O"], 2: ["O", "B-PER"]}
    with _labeled_store(tmp_path / "s.jsonl", tags) as store:
        back = load_conll(store.export_conll(pool, tmp_path / "out.conll"))
    assert back.tokens == tuple(pool.tokens[p] for p in tags)
    assert back.tags == tuple(tuple(t) for t in tags.values())


def test_conll_round_trip_is_exact_for_random_tokens(tmp_path):
    pool, tags = _tagging_pool(np.random.default_rng(13), 300)
    labels = {p: list(tags[p]) for p in range(len(pool))}
    with _labeled_store(tmp_path / "s.jsonl", labels) as store:
        back = load_conll(store.export_conll(pool, tmp_path / "out.conll"), scheme="iob2")
    assert back.tokens == pool.tokens
    assert back.tags == tuple(tags)


def test_conll_export_writes_plain_tokens_as_they_are(tmp_path):
    pool = TaggingDataset([("John", "lives", "in", "New York")], None, TAG_NAMES)
    with _labeled_store(tmp_path / "s.jsonl", {0: ["B-PER", "O", "O", "B-LOC"]}) as store:
        text = store.export_conll(pool, tmp_path / "out.conll").read_text(encoding="utf-8")
    assert text.splitlines() == ["-DOCSTART-\tlabelwise:escaped", "", "John\tB-PER", "lives\tO", "in\tO",
                                 "New\\sYork\tB-LOC"]


def test_csv_export_of_tagging_keeps_tokens_with_spaces_and_commas(tmp_path):
    pool = TaggingDataset([("New York", "a,b", '"q"'), ("x",)], None, TAG_NAMES)
    labels = {1: ["O"], 0: ["B-LOC", "O", "O"]}
    with _labeled_store(tmp_path / "s.jsonl", labels) as store:
        back = load_tagging(store.export_csv(pool, tmp_path / "out.csv"))
    assert back.tokens == (pool.tokens[1], pool.tokens[0])
    assert back.tags == (("O",), ("B-LOC", "O", "O"))


def test_label_studio_tasks_carry_pool_position_and_fingerprint(tmp_path, pool):
    with _labeled_store(tmp_path / "s.jsonl", {7: "Sports", 2: "World"}) as store:
        tasks = json.loads(store.export_label_studio(pool, tmp_path / "ls.json").read_text())
    assert [t["data"]["position"] for t in tasks] == [7, 2]
    assert {t["data"]["pool_fingerprint"] for t in tasks} == {pool_fingerprint(pool)}


def test_label_studio_classification_round_trip(tmp_path, pool):
    labels = {4: "Business", 0: "World", 7: "Sports"}
    with _labeled_store(tmp_path / "a.jsonl", labels) as store:
        exported = store.export_label_studio(pool, tmp_path / "ls.json")
    with AnnotationStore(tmp_path / "b.jsonl") as fresh:
        result = import_label_studio(exported, pool, fresh, iteration=3)
        assert fresh.labels == labels
        assert {d.iteration for d in fresh.decisions} == {3}
    assert result.labels == labels
    assert result.dataset.texts == tuple(pool.texts[p] for p in labels)
    assert [result.dataset.label_names[i] for i in result.dataset.labels] == list(labels.values())


def test_label_studio_multi_label_round_trip(tmp_path):
    pool = ClassificationDataset(["a", "b", "c"], None, ["x", "y", "z"], multi_label=True)
    labels = {2: ["x", "z"], 0: [], 1: ["y"]}
    with _labeled_store(tmp_path / "a.jsonl", labels) as store:
        result = import_label_studio(store.export_label_studio(pool, tmp_path / "ls.json"), pool)
    assert result.labels == labels
    assert result.dataset.labels.tolist() == [[1, 0, 1], [0, 0, 0], [0, 1, 0]]


def test_label_studio_ner_round_trip_maps_spans_back_onto_tokens(tmp_path):
    pool = TaggingDataset([("Mary", "Smith", "flew", "to", "New York", "."), ("Rain",)], None, TAG_NAMES)
    labels = {0: ["B-PER", "I-PER", "O", "O", "B-LOC", "O"], 1: ["O"]}
    with _labeled_store(tmp_path / "a.jsonl", labels) as store:
        exported = store.export_label_studio(pool, tmp_path / "ls.json")
    tasks = json.loads(exported.read_text())
    assert [r["value"]["text"] for r in tasks[0]["annotations"][0]["result"]] == ["Mary Smith", "New York"]
    with AnnotationStore(tmp_path / "b.jsonl") as fresh:
        result = import_label_studio(exported, pool, fresh)
        assert fresh.labels == labels
    assert result.dataset.tags == tuple(tuple(t) for t in labels.values())


def test_label_studio_span_off_token_boundaries_names_the_task(tmp_path):
    pool = TaggingDataset([("Mary", "Smith", "flew")], None, TAG_NAMES)
    with _labeled_store(tmp_path / "a.jsonl", {0: ["B-PER", "I-PER", "O"]}) as store:
        exported = store.export_label_studio(pool, tmp_path / "ls.json")
    tasks = json.loads(exported.read_text())
    tasks[0]["id"] = 417
    tasks[0]["annotations"][0]["result"][0]["value"].update(start=0, end=7)  # "Mary Sm"
    exported.write_text(json.dumps(tasks))
    with pytest.raises(DataError, match=r"task 417: the span \[0, 7\) 'Mary Sm' does not start and end on token"):
        import_label_studio(exported, pool)


def test_label_studio_import_refuses_a_task_from_another_pool(tmp_path, pool):
    with _labeled_store(tmp_path / "a.jsonl", {3: "World"}) as store:
        exported = store.export_label_studio(pool, tmp_path / "ls.json")
    other = ClassificationDataset(tuple(reversed(pool.texts)), None, pool.label_names)
    with pytest.raises(DataError, match=r"task 3: its text differs .* position 3 .*pool_fingerprint differs"):
        import_label_studio(exported, other)


def test_label_studio_import_reads_the_latest_kept_annotation_and_places_by_text(tmp_path, pool):
    choice = {"from_name": "label", "to_name": "text", "type": "choices"}
    tasks = [{"id": 9, "data": {"text": pool.texts[5]},
              "annotations": [{"updated_at": "2024-01-01", "result": [{**choice, "value": {"choices": ["World"]}}]},
                              {"updated_at": "2024-02-01", "result": [{**choice, "value": {"choices": ["Sports"]}}]},
                              {"updated_at": "2024-03-01", "was_cancelled": True,
                               "result": [{**choice, "value": {"choices": ["Business"]}}]}]},
             {"id": 10, "data": {"text": pool.texts[6], "position": 6}, "annotations": []}]
    path = tmp_path / "ls.json"
    path.write_text(json.dumps(tasks))
    result = import_label_studio(path, pool)
    assert result.labels == {5: "Sports"} and result.skipped_tasks == (10,)


def test_label_studio_config_matches_the_export(pool):
    root = ElementTree.fromstring(label_studio_config(pool))
    choices = root.find("Choices")
    assert choices.get("name") == "label" and choices.get("toName") == "text" and choices.get("choice") == "single"
    assert [c.get("value") for c in choices.findall("Choice")] == list(pool.label_names)
    ner = ElementTree.fromstring(label_studio_config(TaggingDataset([("a",)], None, TAG_NAMES)))
    assert sorted(label.get("value") for label in ner.find("Labels").findall("Label")) == ["LOC", "PER"]
