"""Task-typed datasets.

A dataset is an immutable, position-addressed collection. Active learning refers to
its rows by position (``int``), never by copy. Labels may be absent (``None``) for a
pool that nobody has annotated yet.

Each dataset class owns its task's labels, so that no caller needs to know which class it
holds (no ``isinstance(..., TaggingDataset)`` or ``task == ...`` outside ``data/``):

- ``encode_label(value, where)``: a label in any accepted form (ids, names, indicator
  rows, tag lists, texts) -> the form the learner stores and ``with_labels`` takes;
  DataError naming ``where`` (e.g. ``"position 3"``) for anything else.
- ``label_from_json(value, where, field)``: an annotator's JSON value -> its stored JSON
  form (names); DataError naming the field. ``label_to_json(value)``: a stored or
  predicted label -> that JSON form.
- ``gold(positions)``, ``with_labels(labels)``, ``fit_blocker(labels)``,
  ``query_context(labels)``, ``evaluate(predicted)``, ``export_record(position, value)``,
  ``item_fields(position)``, ``annotation_names``, ``stratify_labels``, ``counts_tokens``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

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


def _is_integer(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _name_list(value: Any, where: str, field: str, what: str) -> list[str]:
    """``value`` as a list of names; DataError naming ``field`` for a string or non-names."""
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple, set, np.ndarray)):
        raise DataError(f"{where}: field {field!r} must be {what}, got {value!r} ({type(value).__name__}).",
                        fix=f"pass {what}.")
    if not all(isinstance(v, str) for v in value):
        raise DataError(f"{where}: field {field!r} must be {what}, got {list(value)!r}.",
                        fix="pass names (strings), not ids or other values.")
    return list(value)


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
        labels = np.asarray(labels)
        if self.multi_label and labels.size == 0:
            labels = labels.reshape(0, self.n_classes)
        return ClassificationDataset(self.texts, labels, self.label_names, self.multi_label)

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

    # ---- the task protocol (see the module docstring) ------------------------------------
    counts_tokens: ClassVar[bool] = False
    export_fields: ClassVar[tuple[str, ...]] = ("position", "text", "label")

    @property
    def annotation_names(self) -> list[str]:
        """The names an annotator picks from."""
        return list(self.label_names)

    @property
    def stratify_labels(self) -> np.ndarray | None:
        """Labels to draw a per-class seed set from."""
        return self.labels

    def gold(self, positions: Sequence[int] | np.ndarray) -> list:
        """The gold labels at ``positions`` in the form ``encode_label`` returns (the oracle)."""
        if self.labels is None:
            raise DataError("the dataset has no labels to act as an oracle.")
        return list(self.labels[np.asarray(positions, dtype=np.int64)])

    def encode_label(self, value: Any, where: str, position: int | None = None) -> int | list[int]:
        """A class id (single-label) or a 0/1 indicator list (multi-label) from an id, a
        name, a whole-valued float, a list of names or an indicator row."""
        if self.multi_label:
            return self._encode_indicators(value, where)
        if isinstance(value, str):
            try:
                return int(self.label_ids([value])[0])
            except DataError as error:
                raise DataError(f"{where}: {error}") from None
        if _is_integer(value):
            number = int(value)
        elif isinstance(value, (float, np.floating)) and math.isfinite(value) and float(value).is_integer():
            number = int(value)  # 2.0 from a float array is class 2; 1.9 is no class
        else:
            raise DataError(
                f"{where}: a label must be a class name or an integer class id, got {value!r} "
                f"({type(value).__name__}).",
                fix=f"pass one of {list(self.label_names)} or its id in 0..{self.n_classes - 1}.")
        if not 0 <= number < self.n_classes:
            raise DataError(f"{where}: label id {number} is outside 0..{self.n_classes - 1} "
                            f"({list(self.label_names)}).")
        return number

    def _encode_indicators(self, value: Any, where: str) -> list[int]:
        if isinstance(value, (list, tuple, set)) and all(isinstance(x, str) for x in value):
            row = np.zeros(self.n_classes, dtype=np.int8)
            row[self.label_ids(list(value))] = 1
            return row.tolist()
        try:
            values = np.asarray(value, dtype=np.float64).reshape(-1)
        except (TypeError, ValueError):
            values = np.empty(0)
        if values.shape != (self.n_classes,) or not np.isin(values, (0.0, 1.0)).all():
            raise DataError(f"{where}: a multi-label label is a list of names or {self.n_classes} "
                            f"indicators (0 or 1), got {value!r}.",
                            fix=f"pass names from {list(self.label_names)} or a 0/1 row of length {self.n_classes}.")
        return values.astype(np.int8).tolist()

    def label_from_json(self, value: Any, where: str, field: str = "value",
                        position: int | None = None) -> str | list[str]:
        """An annotator's value -> one label name, or (multi-label) the chosen names in the
        order of ``label_names``."""
        names = list(self.label_names)
        if self.multi_label:
            chosen = set(_name_list(value, where, field, "a list of label names"))
            unknown = sorted(chosen - set(names))
            if unknown:
                raise DataError(f"{where}: unknown labels {unknown}.", fix=f"use {names}.")
            return [n for n in names if n in chosen]
        if _is_integer(value):
            if not 0 <= value < len(names):
                raise DataError(f"{where}: label id {value} is outside 0..{len(names) - 1}.",
                                fix=f"pass a label id in 0..{len(names) - 1} or one of {names}.")
            return names[int(value)]
        if not isinstance(value, str):
            raise DataError(f"{where}: field {field!r} must be a label name or id, got {value!r} "
                            f"({type(value).__name__}).", fix=f"use one of {names} (or its id).")
        if value not in names:
            raise DataError(f"{where}: unknown label {value!r}.", fix=f"use one of {names}.")
        return value

    def label_to_json(self, value: Any) -> str | list[str]:
        """A class id (or indicator row) -> its name (or the names set in the row)."""
        if self.multi_label:
            return [self.label_names[i] for i in np.flatnonzero(np.asarray(value).reshape(-1))]
        return self.label_names[int(value)]

    def fit_blocker(self, labels: Iterable[Any]) -> str | None:
        """Why these encoded labels cannot train a classifier (one class so far), or None."""
        if self.multi_label:
            return None
        classes = set(labels)
        if len(classes) < 2:
            name = self.label_names[next(iter(classes))]
            return (f"every label so far is class {name!r}, and a classifier needs at least 2 classes "
                    "(label a row of another class)")
        return None

    def query_context(self, labels: Sequence[Any]) -> dict[str, Any]:
        """The task's fields of a ``QueryContext`` for these encoded labels."""
        empty = np.empty((0, self.n_classes) if self.multi_label else 0, dtype=np.int64)
        return {"labels": np.asarray(labels, dtype=np.int64) if len(labels) else empty,
                "n_classes": self.n_classes, "multi_label": self.multi_label, "token_counts": None}

    def evaluate(self, predicted: Sequence[Any], *, language: str | None = None) -> dict[str, float]:
        """Accuracy and F1 (multi-label: subset accuracy, micro F1, Hamming loss)."""
        from labelwise.metrics import classification_metrics

        return classification_metrics(self.labels, predicted, self.multi_label)

    def item_fields(self, position: int) -> dict[str, Any]:
        """What an annotator sees of the row."""
        return {"text": self.texts[position]}

    def export_record(self, position: int, value: Any, *, flat: bool = False) -> dict[str, Any]:
        """A labeled row for export; ``flat`` joins multi-label names by ``,`` (CSV)."""
        if flat and isinstance(value, list):
            value = ",".join(value)
        return {"position": position, "text": self.texts[position], "label": value}

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

    # ---- the task protocol (see the module docstring) ------------------------------------
    counts_tokens: ClassVar[bool] = True
    export_fields: ClassVar[tuple[str, ...]] = ("position", "tokens", "tags")
    stratify_labels: ClassVar[None] = None

    @property
    def annotation_names(self) -> list[str]:
        """The entity types (from the ``B-`` tags) an annotator picks from."""
        names = [n.split("-", 1)[1] for n in self.tag_names if n.startswith("B-")]
        if not names:
            raise DataError("the tagging dataset has no B- tags in tag_names.", fix="pass tag_names in IOB2 form.")
        return names

    def gold(self, positions: Sequence[int] | np.ndarray) -> list:
        if self.tags is None:
            raise DataError("the dataset has no tags to act as an oracle.")
        return [self.tags[i] for i in np.asarray(positions, dtype=np.int64)]

    def _check_tags(self, tags: Sequence[str], position: int, where: str) -> None:
        expected = len(self.tokens[position])
        if len(tags) != expected:
            raise DataError(f"{where}: {len(tags)} tags for {expected} tokens.",
                            fix="pass one tag per token.")
        unknown = sorted(set(tags) - set(self.tag_names)) if self.tag_names else []
        if unknown:
            raise DataError(f"{where}: unknown tags {unknown}.", fix=f"use {list(self.tag_names)}.")

    def encode_label(self, value: Any, where: str, position: int | None = None) -> tuple[str, ...]:
        """A tuple of tag names, one per token of the sentence at ``position``."""
        if isinstance(value, str) or not isinstance(value, (list, tuple, np.ndarray)) \
                or not all(isinstance(tag, str) for tag in value):
            raise DataError(f"{where}: a tagging label must be a list of tag names, one per token, "
                            f"got {value!r}.", fix="pass e.g. ['B-PER', 'O', ...].")
        tags = tuple(str(tag) for tag in value)
        if position is not None:
            self._check_tags(tags, position, where)
        return tags

    def label_from_json(self, value: Any, where: str, field: str = "value",
                        position: int | None = None) -> list[str]:
        """An annotator's tag list, one tag per token of the sentence at ``position``."""
        tags = _name_list(value, where, field, "a list of tags, one per token")
        if position is not None:
            self._check_tags(tags, position, where)
        return tags

    def label_to_json(self, value: Any) -> list[str]:
        return [str(tag) for tag in value]

    def fit_blocker(self, labels: Iterable[Any]) -> str | None:
        return None

    def query_context(self, labels: Sequence[Any]) -> dict[str, Any]:
        return {"labels": labels, "n_classes": None, "multi_label": None, "token_counts": self.token_counts}

    def evaluate(self, predicted: Sequence[Any], *, language: str | None = None) -> dict[str, float]:
        """Entity-level (seqeval-style) precision, recall and F1."""
        from labelwise.metrics import span_f1

        return span_f1(self.tags, predicted)

    def item_fields(self, position: int) -> dict[str, Any]:
        return {"tokens": list(self.tokens[position])}

    def export_record(self, position: int, value: Any, *, flat: bool = False) -> dict[str, Any]:
        """A labeled row for export; ``flat`` writes tokens and tags as JSON lists (CSV)."""
        tokens, tags = list(self.tokens[position]), list(value)
        if flat:
            return {"position": position, "tokens": json.dumps(tokens, ensure_ascii=False),
                    "tags": json.dumps(tags, ensure_ascii=False)}
        return {"position": position, "tokens": tokens, "tags": tags}

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

    # ---- the task protocol (see the module docstring) ------------------------------------
    counts_tokens: ClassVar[bool] = False
    export_fields: ClassVar[tuple[str, ...]] = ("position", "source", "target")
    stratify_labels: ClassVar[None] = None

    @property
    def annotation_names(self) -> list[str]:
        raise DataError("Annotator supports classification and tagging datasets, got Seq2SeqDataset.",
                        fix="pass a ClassificationDataset or TaggingDataset.")

    def gold(self, positions: Sequence[int] | np.ndarray) -> list:
        if self.targets is None:
            raise DataError("the dataset has no targets to act as an oracle.")
        return [self.targets[i] for i in np.asarray(positions, dtype=np.int64)]

    def encode_label(self, value: Any, where: str, position: int | None = None) -> str:
        """A non-empty target text."""
        if not isinstance(value, str) or not value.strip():
            raise DataError(f"{where}: a seq2seq label must be a non-empty target text.")
        return value

    def label_from_json(self, value: Any, where: str, field: str = "value", position: int | None = None) -> str:
        if not isinstance(value, str) or not value.strip():
            raise DataError(f"{where}: field {field!r} must be a non-empty target text, got {value!r}.",
                            fix="pass the target text.")
        return value

    def label_to_json(self, value: Any) -> str:
        return str(value)

    def fit_blocker(self, labels: Iterable[Any]) -> str | None:
        return None

    def query_context(self, labels: Sequence[Any]) -> dict[str, Any]:
        return {"labels": labels, "n_classes": None, "multi_label": None, "token_counts": None}

    def evaluate(self, predicted: Sequence[Any], *, language: str | None = None) -> dict[str, float]:
        """ROUGE-1/2/L and sacreBLEU (``language`` picks its tokenizer)."""
        from labelwise.metrics import rouge, sacrebleu_score

        result = rouge(self.targets, predicted)
        result["sacrebleu"] = sacrebleu_score(self.targets, predicted, language=language)
        return result

    def item_fields(self, position: int) -> dict[str, Any]:
        return {"source": self.sources[position]}

    def export_record(self, position: int, value: Any, *, flat: bool = False) -> dict[str, Any]:
        return {"position": position, "source": self.sources[position], "target": value}

    def __repr__(self) -> str:
        return f"Seq2SeqDataset({len(self)} pairs)"


Dataset = ClassificationDataset | TaggingDataset | Seq2SeqDataset


def gold_labels(dataset: Dataset, positions: np.ndarray) -> list:
    """The gold annotations at ``positions`` in the form ``teach`` takes: class ids (or
    indicator rows), tag sequences, or target texts. Used by simulations as the oracle."""
    return dataset.gold(positions)
