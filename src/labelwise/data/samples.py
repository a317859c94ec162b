"""The small samples bundled with labelwise (see ``data/sample/README.md`` for origins)."""

from __future__ import annotations

from pathlib import Path

from labelwise.data.datasets import ClassificationDataset, Seq2SeqDataset, TaggingDataset
from labelwise.data.loaders import load_classification, load_conll, load_seq2seq
from labelwise.errors import DataError

SAMPLE_DIR = Path(__file__).with_name("sample")


def sample_path(name: str) -> Path:
    """Path of a bundled sample file, e.g. ``sample_path("ag_news_train.jsonl.gz")``."""
    path = SAMPLE_DIR / name
    if not path.exists():
        available = sorted(p.name for p in SAMPLE_DIR.glob("*.gz"))
        raise DataError(f"no bundled sample {name!r}.", path=str(path), fix=f"use one of {available}.")
    return path


def load_ag_news_sample() -> tuple[ClassificationDataset, ClassificationDataset]:
    """AG News: 2,000 training and 1,000 test texts, 4 classes."""
    names = ("World", "Sports", "Business", "Sci/Tech")
    train = load_classification(sample_path("ag_news_train.jsonl.gz"), label_names=names)
    test = load_classification(sample_path("ag_news_test.jsonl.gz"), label_names=names)
    return train, test


def load_conll_sample() -> tuple[TaggingDataset, TaggingDataset]:
    """CoNLL-2003: 1,000 training and 300 test sentences, IOB2 tags."""
    tags = ("O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC")
    return (load_conll(sample_path("conll2003_train.conll.gz"), tag_names=tags),
            load_conll(sample_path("conll2003_test.conll.gz"), tag_names=tags))


def load_aeslc_sample() -> tuple[Seq2SeqDataset, Seq2SeqDataset]:
    """AESLC: 500 training and 150 test emails with their subject lines."""
    return load_seq2seq(sample_path("aeslc_train.jsonl.gz")), load_seq2seq(sample_path("aeslc_test.jsonl.gz"))
