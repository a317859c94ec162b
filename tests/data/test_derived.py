"""CoNLL NER -> multi-label entity types, derived at load time (labelwise.data.derived)."""

from __future__ import annotations

import numpy as np
import pytest

from labelwise.benchmark import config_from_dict
from labelwise.benchmark.runner import load_benchmark_data
from labelwise.data.derived import load_derived
from labelwise.errors import DataError

CONLL = """EU\tB-ORG
rejects\tO
German\tB-MISC
call\tO

Peter\tB-PER
Blackburn\tI-PER
in\tO
New\tB-LOC
York\tI-LOC
met\tO
Obama\tB-PER

Nothing\tO
here\tO
"""


@pytest.fixture
def conll_file(tmp_path):
    path = tmp_path / "ner.conll"
    path.write_text(CONLL, encoding="utf-8")
    return path


def test_each_sentence_gets_the_set_of_entity_types_it_mentions(conll_file):
    data = load_derived(conll_file, "entity_types")
    assert data.multi_label
    assert data.label_names == ("LOC", "MISC", "ORG", "PER")
    assert data.texts == ("EU rejects German call", "Peter Blackburn in New York met Obama", "Nothing here")
    np.testing.assert_array_equal(data.labels, [[0, 1, 1, 0], [1, 0, 0, 1], [0, 0, 0, 0]])


def test_label_names_fix_the_columns_and_reject_unknown_types(conll_file):
    data = load_derived(conll_file, "entity_types", label_names=["PER", "ORG", "LOC", "MISC", "DATE"])
    np.testing.assert_array_equal(data.labels[1], [1, 0, 1, 0, 0])
    with pytest.raises(DataError, match="not in label_names"):
        load_derived(conll_file, "entity_types", label_names=["PER"])


def test_unknown_derivation_is_a_data_error(conll_file):
    with pytest.raises(DataError, match="unknown derivation 'entity_typez'"):
        load_derived(conll_file, "entity_typez")


def test_a_benchmark_config_derives_pool_and_test_at_load_time(conll_file):
    config = config_from_dict({
        "task": "classification",
        "data": {"pool": {"path": str(conll_file), "derive": "entity_types"},
                 "test": {"path": str(conll_file), "derive": "entity_types"}},
        "model": {"name": "tfidf_lr"}, "strategies": ["random", "mmc"],
        "initial": {"mode": "count", "size": 2}, "query": {"mode": "count", "size": 1}, "iterations": 1,
        "seeds": 1, "output": str(conll_file.parent / "out")})
    pool, test = load_benchmark_data(config)
    assert pool.multi_label and test.multi_label
    assert test.label_names == pool.label_names
    assert pool.labels.shape == (3, 4)
