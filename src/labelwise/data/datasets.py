"""Task-typed datasets.

A dataset is an immutable, position-addressed collection. Active learning refers to
its rows by position (``int``), never by copy. Labels may be absent (``None``) for a
pool that nobody has annotated yet.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from labelwise.errors import DataError

UNLABELED = -1


def _as_positions(indices: Sequence[int] | np.ndarray, size: int) -> np.ndarray:
    positions = np.asarray(indices, dtype=np.int64).reshape(-1)
    if positions.size and (positions.min() < 0 or positions.max() >= size):
        bad = positions[(positions < 0) | (positions >= size)][0]
        raise DataError(f"position {bad} is outside the dataset of {size} rows.",
                        fix=f"use pool positions between 0 and {size - 1}.")
    return positions


def _class_ids(labels: np.ndarray) -> np.ndarray:
    """Integer class ids; whole-valued floats are accepted, 1.9 or "Sports" are not."""
    if labels.size == 0 or np.issubdtype(labels.dtype, np.integer) or labels.dtype == np.bool_:
        return labels.astype(np.int64)
    if np.issubdtype(labels.dtype, np.floating) and np.all(np.isfinite(labels)) and np.all(labels == np.round(labels)):
        return labels.astype(np.int64)
    bad = next((v for v in labels.tolist() if not (isinstance(v, (int, float)) and float(v).is_integer())), labels[0])
    raise DataError(
        f"labels must be integer class ids; found {bad!r}.",
        fix="map names to ids with dataset.label_ids(names), or load the data with load_classification.",
    )


@dataclass(frozen=True)
class ClassificationDataset:
    """Texts with one label each (multi-class) or a set of labels each (multi-label).

    Attributes:
        texts: the texts, ``(n,)``.
        labels: ``(n,)`` int class ids (``-1`` = unlabeled) for single-label data, or
            ``(n, n_labels)`` 0/1 indicators for multi-label data; ``None`` when no row is
            labeled.
        label_names: the class names; ``labels`` index into them.
        multi_label: whether each row may carry several labels. The dataset declares it
            (the loaders set it when the labels are lists); when not given it is True for
            an ``(n, n_labels)`` indicator matrix and False otherwise, never guessed from
            predicted probabilities. Strategies read it through ``QueryContext.multi_label``.
    """

    texts: tuple[str, ...]
    labels: np.ndarray | None
    label_names: tuple[str, ...]
    multi_label: bool | None = None
    task: ClassVar[str] = "classification"

    def __post_init__(self) -> None:
        object.__setattr__(self, "texts", tuple(self.texts))
        object.__setattr__(self, "label_names", tuple(self.label_names))
        if self.multi_label is None:  # an indicator matrix declares multi-label by its shape
            declared = self.labels is not None and np.ndim(self.labels) == 2
            object.__setattr__(self, "multi_label", declared)
        object.__setattr__(self, "multi_label", bool(self.multi_label))
        if self.labels is not None:
            labels = np.asarray(self.labels)
            if self.multi_label:
                if labels.ndim != 2 or labels.shape != (len(self.texts), len(self.label_names)):
                    raise DataError(
                        f"multi-label labels must have shape (n_texts, n_labels) = "
                        f"({len(self.texts)}, {len(self.label_names)}), got {labels.shape}."
                    )
                labels = labels.astype(np.int8)
            else:
                if labels.shape != (len(self.texts),):
                    raise DataError(
                        f"labels must have one entry per text ({len(self.texts)}), got shape {labels.shape}."
                    )
                labels = _class_ids(labels)
                if labels.size and labels.max() >= len(self.label_names):
                    raise DataError(
                        f"label id {labels.max()} has no name: only {len(self.label_names)} label names given."
                    )
                if labels.size and labels.min() < UNLABELED:
                    raise DataError(f"label id {labels.min()} is negative; only {UNLABELED} (unlabeled) is allowed.")
            labels.setflags(write=False)
            object.__setattr__(self, "labels", labels)

    def __len__(self) -> int:
        return len(self.texts)

    @property
    def n_classes(self) -> int:
        return len(self.label_names)

    @property
    def inputs(self) -> tuple[str, ...]:
        """What a model reads: the texts."""
        return self.texts

    def subset(self, indices: Sequence[int] | np.ndarray) -> ClassificationDataset:
        """The rows at ``indices`` (pool positions), in that order."""
        positions = _as_positions(indices, len(self))
        labels = None if self.labels is None else self.labels[positions]
        return ClassificationDataset(
            tuple(self.texts[i] for i in positions), labels, self.label_names, self.multi_label
        )

    def with_labels(self, labels: np.ndarray | Sequence) -> ClassificationDataset:
        """The same texts with ``labels`` (ids, or indicator rows for multi-label)."""
        return ClassificationDataset(self.texts, np.asarray(labels), self.label_names, self.multi_label)

    def without_labels(self) -> ClassificationDataset:
        return ClassificationDataset(self.texts, None, self.label_names, self.multi_label)

    def label_ids(self, names: Sequence[str]) -> np.ndarray:
        """Class ids of the given names; raises DataError for an unknown name."""
        lookup = {name: i for i, name in enumerate(self.label_names)}
        try:
            return np.array([lookup[name] for name in names], dtype=np.int64)
        except KeyError as error:
            raise DataError(
                f"unknown label {error.args[0]!r}; known labels: {list(self.label_names)}."
            ) from None

    def __repr__(self) -> str:
        kind = "multi-label" if self.multi_label else f"{self.n_classes} classes"
        labeled = "unlabeled" if self.labels is None else "labeled"
        return f"ClassificationDataset({len(self)} texts, {kind}, {labeled})"


@dataclass(frozen=True)
class TaggingDataset:
    """Sentences as token lists with one tag per token (sequence tagging, NER).

    Attributes:
        tokens: one tuple of tokens per sentence.
        tags: one tuple of tag names per sentence, same lengths as ``tokens``; ``None``
            when the sentences are unlabeled.
        tag_names: the tag inventory (``"O"`` first by convention).
    """

    tokens: tuple[tuple[str, ...], ...]
    tags: tuple[tuple[str, ...], ...] | None
    tag_names: tuple[str, ...] = field(default=())
    task: ClassVar[str] = "tagging"

    def __post_init__(self) -> None:
        tokens = tuple(tuple(sentence) for sentence in self.tokens)
        object.__setattr__(self, "tokens", tokens)
        if self.tags is not None:
            tags = tuple(tuple(sentence) for sentence in self.tags)
            if len(tags) != len(tokens):
                raise DataError(f"{len(tokens)} sentences but {len(tags)} tag sequences.")
            for number, (words, labels) in enumerate(zip(tokens, tags, strict=True)):
                if len(words) != len(labels):
                    raise DataError(
                        f"sentence {number} has {len(words)} tokens but {len(labels)} tags.",
                        fix="give exactly one tag per token.",
                    )
            object.__setattr__(self, "tags", tags)
            if not self.tag_names:
                seen = sorted({tag for sentence in tags for tag in sentence})
                if "O" in seen:
                    seen.remove("O")
                    seen.insert(0, "O")
                object.__setattr__(self, "tag_names", tuple(seen))
        object.__setattr__(self, "tag_names", tuple(self.tag_names))

    def __len__(self) -> int:
        return len(self.tokens)

    @property
    def inputs(self) -> tuple[tuple[str, ...], ...]:
        return self.tokens

    @property
    def token_counts(self) -> np.ndarray:
        """Number of tokens per sentence, ``(n,)``."""
        return np.fromiter((len(s) for s in self.tokens), dtype=np.int64, count=len(self.tokens))

    def subset(self, indices: Sequence[int] | np.ndarray) -> TaggingDataset:
        positions = _as_positions(indices, len(self))
        tags = None if self.tags is None else tuple(self.tags[i] for i in positions)
        return TaggingDataset(tuple(self.tokens[i] for i in positions), tags, self.tag_names)

    def with_labels(self, tags: Sequence[Sequence[str]]) -> TaggingDataset:
        return TaggingDataset(self.tokens, tuple(tuple(t) for t in tags), self.tag_names)

    def without_labels(self) -> TaggingDataset:
        return TaggingDataset(self.tokens, None, self.tag_names)

    def __repr__(self) -> str:
        return f"TaggingDataset({len(self)} sentences, {len(self.tag_names)} tags)"


@dataclass(frozen=True)
class Seq2SeqDataset:
    """Source texts with target texts (summarization, generation)."""

    sources: tuple[str, ...]
    targets: tuple[str, ...] | None
    task: ClassVar[str] = "seq2seq"

    def __post_init__(self) -> None:
        object.__setattr__(self, "sources", tuple(self.sources))
        if self.targets is not None:
            targets = tuple(self.targets)
            if len(targets) != len(self.sources):
                raise DataError(f"{len(self.sources)} sources but {len(targets)} targets.")
            object.__setattr__(self, "targets", targets)

    def __len__(self) -> int:
        return len(self.sources)

    @property
    def inputs(self) -> tuple[str, ...]:
        return self.sources

    def subset(self, indices: Sequence[int] | np.ndarray) -> Seq2SeqDataset:
        positions = _as_positions(indices, len(self))
        targets = None if self.targets is None else tuple(self.targets[i] for i in positions)
        return Seq2SeqDataset(tuple(self.sources[i] for i in positions), targets)

    def with_labels(self, targets: Sequence[str]) -> Seq2SeqDataset:
        return Seq2SeqDataset(self.sources, tuple(targets))

    def without_labels(self) -> Seq2SeqDataset:
        return Seq2SeqDataset(self.sources, None)

    def __repr__(self) -> str:
        return f"Seq2SeqDataset({len(self)} pairs)"


Dataset = ClassificationDataset | TaggingDataset | Seq2SeqDataset


def gold_labels(dataset: Dataset, positions: np.ndarray) -> list:
    """The gold annotations at ``positions`` in the form ``teach`` takes: class ids (or
    indicator rows), tag sequences, or target texts. Used by simulations as the oracle."""
    positions = np.asarray(positions, dtype=np.int64)
    if isinstance(dataset, ClassificationDataset):
        if dataset.labels is None:
            raise DataError("the dataset has no labels to act as an oracle.")
        return list(dataset.labels[positions])
    if isinstance(dataset, TaggingDataset):
        if dataset.tags is None:
            raise DataError("the dataset has no tags to act as an oracle.")
        return [dataset.tags[i] for i in positions]
    if dataset.targets is None:
        raise DataError("the dataset has no targets to act as an oracle.")
    return [dataset.targets[i] for i in positions]
