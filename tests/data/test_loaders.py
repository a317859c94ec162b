"""Loaders read every supported source and reject bad input naming the file, line and fix."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pandas as pd
import pytest

from labelwise.data import (
    ClassificationDataset,
    TaggingDataset,
    load_classification,
    load_conll,
    load_seq2seq,
    load_tagging,
    to_iob2,
)
from labelwise.errors import DataError


def write(path, text, encoding="utf-8"):
    path.write_bytes(text.encode(encoding))
    return path


def test_csv_reads_texts_and_labels_in_order(tmp_path):
    path = write(tmp_path / "a.csv", "text,label\nhello world,pos\n\"a, quoted\",neg\n")
    dataset = load_classification(path)
    assert dataset.texts == ("hello world", "a, quoted")
    assert dataset.label_names == ("neg", "pos")
    assert dataset.labels.tolist() == [1, 0]


def test_tsv_and_gzipped_jsonl_give_the_same_dataset(tmp_path):
    tsv = write(tmp_path / "a.tsv", "text\tlabel\nx y\tb\nz\ta\n")
    jsonl = tmp_path / "a.jsonl.gz"
    with gzip.open(jsonl, "wt", encoding="utf-8") as handle:
        handle.write(json.dumps({"text": "x y", "label": "b"}) + "\n" + json.dumps({"text": "z", "label": "a"}) + "\n")
    first, second = load_classification(tsv), load_classification(jsonl)
    assert first.texts == second.texts
    assert first.labels.tolist() == second.labels.tolist()


def test_json_list_file(tmp_path):
    path = write(tmp_path / "a.json", json.dumps([{"body": "t1", "y": "u"}, {"body": "t2", "y": "v"}]))
    dataset = load_classification(path, text_column="body", label_column="y")
    assert dataset.texts == ("t1", "t2")


def test_folder_per_class(tmp_path):
    for label, texts in {"spam": ["buy now", "cheap"], "ham": ["hi mum"]}.items():
        (tmp_path / label).mkdir()
        for i, text in enumerate(texts):
            (tmp_path / label / f"{i}.txt").write_text(text, encoding="utf-8")
    dataset = load_classification(tmp_path)
    assert dataset.label_names == ("ham", "spam")
    assert sorted(zip(dataset.texts, dataset.labels.tolist(), strict=True)) == [
        ("buy now", 1), ("cheap", 1), ("hi mum", 0)]


def test_pandas_dataframe_and_unlabeled_pool():
    frame = pd.DataFrame({"text": ["a b", "c d"], "label": ["x", "y"]})
    assert load_classification(frame).labels.tolist() == [0, 1]
    pool = load_classification(frame, label_column=None)
    assert pool.labels is None and len(pool) == 2


def test_hugging_face_dataset_object_and_load_from_disk(tmp_path):
    datasets = pytest.importorskip("datasets")
    features = datasets.Features({"text": datasets.Value("string"),
                                  "label": datasets.ClassLabel(names=["neg", "pos"])})
    hf = datasets.Dataset.from_dict({"text": ["bad", "good", "fine"], "label": [0, 1, 1]}, features=features)
    dataset = load_classification(hf, label_names=["neg", "pos"])
    assert dataset.labels.tolist() == [0, 1, 1]
    hf.save_to_disk(str(tmp_path / "saved"))
    again = load_classification(tmp_path / "saved", label_names=["neg", "pos"])
    assert again.texts == dataset.texts and again.labels.tolist() == [0, 1, 1]


def test_multi_label_sets_become_indicator_rows(tmp_path):
    path = write(tmp_path / "m.jsonl", '{"text": "a", "label": ["x", "z"]}\n{"text": "b", "label": "y"}\n')
    dataset = load_classification(path, multi_label=True)
    assert dataset.multi_label
    assert dataset.label_names == ("x", "y", "z")
    assert dataset.labels.tolist() == [[1, 0, 1], [0, 1, 0]]


def test_missing_column_names_file_line_and_fix(tmp_path):
    path = write(tmp_path / "a.csv", "body,label\nhello,pos\n")
    with pytest.raises(DataError) as error:
        load_classification(path)
    message = str(error.value)
    assert str(path) in message and "line 2" in message and "'text'" in message and "Fix:" in message


def test_empty_text_names_the_line(tmp_path):
    path = write(tmp_path / "a.jsonl", '{"text": "ok", "label": "a"}\n{"text": "   ", "label": "a"}\n')
    with pytest.raises(DataError, match=r"a\.jsonl, line 2: field 'text' is empty"):
        load_classification(path)


def test_unknown_label_names_the_line_and_allowed_labels(tmp_path):
    path = write(tmp_path / "a.csv", "text,label\nx,pos\ny,neg\nz,neutral\n")
    with pytest.raises(DataError, match=r"line 4: unknown label 'neutral'; allowed labels are \['neg', 'pos'\]"):
        load_classification(path, label_names=["neg", "pos"])


def test_unreadable_encoding_names_the_line_and_the_fix(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes("text,label\ncafe,a\ncaf\xe9 au lait,b\n".encode("latin-1"))
    with pytest.raises(DataError) as error:
        load_classification(path)
    assert "line 3" in str(error.value) and "encoding" in str(error.value)
    assert load_classification(path, encoding="latin-1").texts[1] == "caf\xe9 au lait"


def test_invalid_json_line_is_named(tmp_path):
    path = write(tmp_path / "a.jsonl", '{"text": "a", "label": "x"}\n{"text": "b", "label": \n')
    with pytest.raises(DataError, match=r"line 2: invalid JSON"):
        load_classification(path)


def test_missing_file_is_named(tmp_path):
    with pytest.raises(DataError, match="file not found"):
        load_classification(tmp_path / "nope.csv")


def test_conll_reads_sentences_and_skips_docstart(tmp_path):
    path = write(tmp_path / "a.conll", "-DOCSTART- O\n\nEU\tB-ORG\nrejects\tO\n\nPeter\tB-PER\nBlackburn\tI-PER\n")
    dataset = load_conll(path)
    assert dataset.tokens == (("EU", "rejects"), ("Peter", "Blackburn"))
    assert dataset.tags == (("B-ORG", "O"), ("B-PER", "I-PER"))
    assert dataset.token_counts.tolist() == [2, 2]


def test_conll_iob1_and_bioes_are_converted_to_iob2(tmp_path):
    iob1 = write(tmp_path / "a.conll", "Peter I-PER\nBlackburn I-PER\nin O\nParis I-LOC\n\n")
    assert load_conll(iob1).tags[0] == ("B-PER", "I-PER", "O", "B-LOC")
    assert to_iob2(["S-LOC", "O", "B-PER", "E-PER"]) == ("B-LOC", "O", "B-PER", "I-PER")


def test_conll_line_without_tag_is_named(tmp_path):
    path = write(tmp_path / "a.conll", "EU B-ORG\nrejects\n\n")
    with pytest.raises(DataError, match=r"a\.conll, line 2"):
        load_conll(path)


def test_tagging_jsonl_length_mismatch_names_the_line(tmp_path):
    path = write(tmp_path / "t.jsonl", '{"tokens": ["a", "b"], "tags": ["O", "O"]}\n{"tokens": ["c", "d"], "tags": ["O"]}\n')
    with pytest.raises(DataError, match=r"t\.jsonl, line 2: 2 tokens but 1 tags"):
        load_tagging(path)


def test_tagging_empty_sentence_is_named(tmp_path):
    path = write(tmp_path / "t.jsonl", '{"tokens": [], "tags": []}\n')
    with pytest.raises(DataError, match="line 1: the sentence is empty"):
        load_tagging(path)


def test_seq2seq_jsonl(tmp_path):
    path = write(tmp_path / "s.jsonl", '{"source": "long email", "target": "subject"}\n')
    dataset = load_seq2seq(path)
    assert dataset.sources == ("long email",) and dataset.targets == ("subject",)


def test_subset_keeps_positions_and_labels():
    dataset = ClassificationDataset(["a", "b", "c"], np.array([0, 1, 0]), ["x", "y"])
    subset = dataset.subset([2, 1])
    assert subset.texts == ("c", "b") and subset.labels.tolist() == [0, 1]
    with pytest.raises(DataError, match="position 3 is outside"):
        dataset.subset([3])


def test_tagging_dataset_rejects_length_mismatch():
    with pytest.raises(DataError, match="sentence 0 has 2 tokens but 1 tags"):
        TaggingDataset([("a", "b")], [("O",)])
