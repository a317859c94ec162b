"""CoNLL columns, escapes and tag errors; large CSV fields; parameter names in hints; no
plain Python errors from the data layer."""

from __future__ import annotations

import numpy as np
import pytest

from labelwise.data import (
    ClassificationDataset,
    load_classification,
    load_conll,
    load_folder_per_class,
    load_seq2seq,
    load_tagging,
    sample_path,
)
from labelwise.data.conll_escapes import escape_field, unescape_field
from labelwise.errors import DataError


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def test_tab_separated_token_with_a_space_is_kept_whole(tmp_path):
    path = write(tmp_path / "t.conll", "I\tO\nlove\tO\nNew York\tB-LOC\n")
    dataset = load_conll(path)
    assert dataset.tokens == (("I", "love", "New York"),)
    assert dataset.tags == (("O", "O", "B-LOC"),)


def test_space_separated_token_with_a_space_is_an_error_naming_the_line(tmp_path):
    path = write(tmp_path / "t.conll", "I O\nlove O\nNew York B-LOC\n")
    with pytest.raises(DataError, match=r"t\.conll, line 3: this line has 3 columns but line 1 has 2"):
        load_conll(path)


def test_tag_without_prefix_names_the_file_and_line(tmp_path):
    path = write(tmp_path / "t.conll", "John\tB-PER\nlives\tO\n\nin\tO\nParis\tLOC\n")
    with pytest.raises(DataError, match=r"t\.conll, line 5: .*tag 'LOC' is not 'O' nor PREFIX-TYPE"):
        load_conll(path)


def test_column_index_outside_the_line_is_a_data_error(tmp_path):
    path = write(tmp_path / "t.conll", "John\tB-PER\n")
    with pytest.raises(DataError, match=r"line 1: token_column=0 or tag_column=5"):
        load_conll(path, tag_column=5)


def test_files_without_the_marker_keep_their_backslashes(tmp_path):
    path = write(tmp_path / "t.conll", "1\\/2\tO\na\\sb\tO\n")
    assert load_conll(path).tokens == (("1\\/2", "a\\sb"),)


@pytest.mark.parametrize("token", ["New York", "", " ", "-DOCSTART-", "a\tb", "x\ny", "c\rd", "\\", "\\s",
                                   "\\&", "nb\u00a0sp", "para\u2029graph", "\ud800", "B-PER"])
def test_escape_field_is_whitespace_free_and_inverts(token):
    field = escape_field(token)
    assert field and field.split() == [field] and field != "-DOCSTART-"
    assert unescape_field(field) == token


def test_unknown_escape_in_an_escaped_file_names_the_line(tmp_path):
    path = write(tmp_path / "t.conll", "-DOCSTART-\tlabelwise:escaped\n\nok\tO\nbad\\q\tO\n")
    with pytest.raises(DataError, match=r"line 4: unknown escape '\\\\q'"):
        load_conll(path)


def test_csv_field_over_128_kib_loads(tmp_path):
    long_text = "word " * 60_000  # 300 kB, over the csv module's default 131072-character cap
    path = write(tmp_path / "big.csv", f'text,label\n"{long_text}",a\nshort,b\n')
    dataset = load_classification(path)
    assert dataset.texts[0] == long_text and len(dataset) == 2


def test_tagging_csv_cells_holding_json_lists_keep_spaces(tmp_path):
    path = write(tmp_path / "t.csv", 'tokens,tags\n"[""New York"", ""is""]","[""B-LOC"", ""O""]"\nplain words,O O\n')
    dataset = load_tagging(path)
    assert dataset.tokens == (("New York", "is"), ("plain", "words"))
    assert dataset.tags == (("B-LOC", "O"), ("O", "O"))


@pytest.mark.parametrize(("row", "parameter"), [('{"src": "a", "target": "b"}', "source_column"),
                                                ('{"source": "a", "tgt": "b"}', "target_column")])
def test_seq2seq_missing_column_hint_names_its_own_parameter(tmp_path, row, parameter):
    path = write(tmp_path / "s.jsonl", row + "\n")
    with pytest.raises(DataError, match=rf"line 1: missing column .* \(e\.g\. {parameter}=") as caught:
        load_seq2seq(path)
    assert "text_column" not in str(caught.value)


def test_tagging_missing_column_hint_names_tokens_column(tmp_path):
    path = write(tmp_path / "t.jsonl", '{"words": ["a"], "tags": ["O"]}\n')
    with pytest.raises(DataError, match=r"tokens_column="):
        load_tagging(path)


def test_no_plain_python_errors_from_the_data_layer(tmp_path):
    dataset = ClassificationDataset(["a", "b"], np.array([0, 1]), ["x", "y"])
    with pytest.raises(DataError, match="position 2 is outside the dataset of 2 rows"):
        dataset.subset([2])
    with pytest.raises(DataError, match="no bundled sample 'nope.gz'"):
        sample_path("nope.gz")
    with pytest.raises(DataError, match="no such folder"):
        load_folder_per_class(tmp_path / "absent")
    with pytest.raises(DataError, match="cannot read a list as a dataset"):
        load_classification(["not", "a", "source"])


@pytest.mark.parametrize("labels", [[0.0, 1.9], ["x", "y"], [0, -2]])
def test_classification_labels_must_be_class_ids(labels):
    with pytest.raises(DataError, match="label"):
        ClassificationDataset(["a", "b"], np.asarray(labels), ["x", "y"])


def test_whole_valued_float_labels_and_empty_labels_are_accepted():
    assert ClassificationDataset(["a", "b"], np.array([1.0, 0.0]), ["x", "y"]).labels.tolist() == [1, 0]
    assert len(ClassificationDataset([], np.asarray([]), ["x"])) == 0


def test_a_folder_or_a_truncated_gzip_is_a_data_error(tmp_path):
    import gzip

    with pytest.raises(DataError, match="this is a folder, not a file"):
        load_conll(tmp_path)
    blob = gzip.compress(b"text,label\n" + b"some words,a\n" * 2000)
    (tmp_path / "cut.csv.gz").write_bytes(blob[: len(blob) // 2])
    with pytest.raises(DataError, match=r"cut\.csv\.gz, line \d+: cannot read the file"):
        load_classification(tmp_path / "cut.csv.gz")
