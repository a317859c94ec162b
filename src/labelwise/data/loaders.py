"""Loaders for the three task families: files, folders, pandas and Hugging Face ``datasets``.

Every loader validates as it reads and raises :class:`~labelwise.errors.DataError`
naming the file, the line and the fix.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from labelwise.data import conll_escapes
from labelwise.data.datasets import ClassificationDataset, Seq2SeqDataset, TaggingDataset
from labelwise.data.hub_names import (
    in_hub_cache,
    looks_like_local_path,
    nearby_names,
    offline_variables,
)
from labelwise.data.readers import _lines, iter_records
from labelwise.errors import DataError

PathLike = str | Path


def _is_pandas(obj: Any) -> bool:
    return type(obj).__module__.startswith("pandas") and hasattr(obj, "columns")


def _is_hf_dataset(obj: Any) -> bool:
    return type(obj).__module__.startswith("datasets") and hasattr(obj, "column_names")


def _is_saved_hf(path: Path) -> bool:
    return path.is_dir() and ((path / "dataset_info.json").exists() or (path / "dataset_dict.json").exists())


def _materialise(source: Any, split: str | None) -> Any:
    """Turn a ``save_to_disk`` folder or a hub name into a ``datasets.Dataset`` object, so
    that every Hugging Face source is read the same way (ClassLabel names included)."""
    if _is_pandas(source) or _is_hf_dataset(source):
        return _pick_split(source, split) if _is_hf_dataset(source) else source
    if type(source).__module__.startswith("datasets"):
        return _pick_split(source, split)
    if not isinstance(source, (str, Path)):
        raise DataError(
            f"cannot read a {type(source).__name__} as a dataset.",
            fix="pass a file or folder path, a pandas DataFrame, a datasets.Dataset or a hub name.",
        )
    path = Path(source).expanduser()
    if _is_saved_hf(path):
        import datasets

        return _pick_split(datasets.load_from_disk(str(path)), split)
    if path.exists() or not isinstance(source, str) or path.suffix:
        return path
    if looks_like_local_path(source):
        raise _missing_path(source, "it names a local path")
    offline = offline_variables()
    if offline and not in_hub_cache(source, "dataset"):
        raise _missing_path(source, f"{'/'.join(offline)} is set, so it cannot come from the hub")
    return _hub_dataset(source, split)


def _missing_path(name: str, why: str) -> DataError:
    close = nearby_names(name)
    hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    return DataError(
        f"no such file or folder ({why}; resolved from {Path.cwd()}).{hint}",
        path=name,
        fix="check the spelling of the path.",
    )


def _rows_from_source(
    source: Any, split: str | None, encoding: str, delimiter: str | None
) -> tuple[str, Iterable[tuple[int, dict]]]:
    """Return (a name for messages, iterator of (line/row number, mapping))."""
    if _is_pandas(source):
        records = source.to_dict(orient="records")
        # Row numbers as a spreadsheet user sees them: header is line 1.
        return "DataFrame", ((i + 2, r) for i, r in enumerate(records))
    if _is_hf_dataset(source):
        return "datasets.Dataset", ((i + 1, r) for i, r in enumerate(source))
    path = Path(source)
    if path.exists():
        return str(path), iter_records(path, encoding, delimiter)
    raise DataError("file not found.", path=str(path), fix="check the path (it is resolved from the current directory).")


def _hub_dataset(name: str, split: str | None) -> Any:
    try:
        import datasets
    except ImportError as error:  # pragma: no cover - depends on the install
        raise DataError(
            f"{name!r} is not a local file and the 'datasets' package is missing.",
            fix="pip install 'labelwise[transformers]' or give a local path.",
        ) from error
    try:
        return datasets.load_dataset(name, split=split or "train")
    except Exception as error:  # the hub raises many types; report them uniformly
        offline = offline_variables()
        how = (f"unset {'/'.join(offline)} to load it from the hub" if offline
               else "check the hub name and the network connection")
        raise DataError(
            f"{name!r} is neither a local file or folder nor a loadable Hugging Face dataset "
            f"({type(error).__name__}: {error}).",
            fix=f"give an existing local path, or {how}.",
        ) from None


def _pick_split(dataset: Any, split: str | None) -> Any:
    if hasattr(dataset, "column_names") and not isinstance(dataset.column_names, dict):
        return dataset
    keys = list(dataset.keys())
    if split is None:
        if len(keys) != 1:
            raise DataError(f"the dataset has splits {keys}; choose one with split=.")
        split = keys[0]
    if split not in keys:
        raise DataError(f"no split {split!r}; available: {keys}.")
    return dataset[split]


def _text(value: Any, field: str, name: str, line: int) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        raise DataError(f"field {field!r} is missing or null.", path=name, line=line, fix=f"give every row a non-empty {field!r}.")
    text = str(value)
    if not text.strip():
        raise DataError(f"field {field!r} is empty.", path=name, line=line, fix=f"remove the row or write its {field!r}.")
    return text


def _require_column(record: dict, column: str, name: str, line: int, parameter: str = "text_column") -> Any:
    if column not in record:
        raise DataError(
            f"missing column {column!r}; the row has {sorted(record)}.",
            path=name,
            line=line,
            fix=f"rename the column or pass the right name (e.g. {parameter}='{next(iter(record), column)}').",
        )
    return record[column]


def load_classification(
    source: Any,
    *,
    text_column: str = "text",
    label_column: str | None = "label",
    label_names: Sequence[str] | None = None,
    multi_label: bool | None = None,
    label_separator: str = ",",
    split: str | None = None,
    encoding: str = "utf-8",
    delimiter: str | None = None,
) -> ClassificationDataset:
    """Load a text-classification dataset.

    Args:
        source: a CSV/TSV/JSON/JSONL file (optionally gzipped), a folder with one
            sub-folder of ``.txt`` files per class, a folder written by
            ``datasets.save_to_disk``, a pandas DataFrame, a ``datasets.Dataset``, or a
            Hugging Face hub name (when online).
        text_column, label_column: the fields to read; ``label_column=None`` loads an
            unlabeled pool.
        label_names: the allowed labels in order; a label outside them is an error. When
            omitted, the sorted set of labels found.
        multi_label: each row carries a list of labels (a JSON list, or a string split on
            ``label_separator``). When omitted (None), the data declare it: labels that are
            lists (JSON arrays, a Hugging Face ``Sequence`` feature) load as multi-label;
            scalar labels load as single-label (a string is never split unless
            ``multi_label=True``).
    """
    source = _materialise(source, split)
    if not _is_pandas(source) and not _is_hf_dataset(source) and Path(source).is_dir():
        return load_folder_per_class(source, label_names=label_names, encoding=encoding)
    name, rows = _rows_from_source(source, split, encoding, delimiter)
    texts: list[str] = []
    raw_labels: list[Any] = []
    lines: list[int] = []
    hf_names = _hf_label_names(source, label_column)
    for line, record in rows:
        texts.append(_text(_require_column(record, text_column, name, line), text_column, name, line))
        lines.append(line)
        if label_column is not None:
            value = _require_column(record, label_column, name, line, "label_column")
            if hf_names is not None and isinstance(value, (int, np.integer)):
                value = hf_names[int(value)]
            elif hf_names is not None and isinstance(value, (list, tuple)):
                value = [hf_names[int(v)] if isinstance(v, (int, np.integer)) else v for v in value]
            raw_labels.append(value)
    if not texts:
        raise DataError("no rows found.", path=name, fix="the file must hold at least one example.")
    if multi_label is None:
        multi_label = any(isinstance(value, (list, tuple, set, np.ndarray)) for value in raw_labels)
    if label_column is None:
        return ClassificationDataset(texts, None, tuple(label_names or ()), multi_label)
    return _build_labels(texts, raw_labels, lines, name, label_names, multi_label, label_separator)


def _hf_label_names(source: Any, label_column: str | None) -> list[str] | None:
    if not _is_hf_dataset(source) or label_column is None:
        return None
    feature = source.features.get(label_column)
    feature = getattr(feature, "feature", feature)  # Sequence(ClassLabel): a multi-label column
    if isinstance(feature, list) and len(feature) == 1:  # [ClassLabel] (datasets >= 3 List form)
        feature = feature[0]
    return list(feature.names) if hasattr(feature, "names") else None


def _split_labels(value: Any, separator: str) -> list[str]:
    if isinstance(value, (list, tuple, set, np.ndarray)):
        return [str(v) for v in value]
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return []
    return [part.strip() for part in str(value).split(separator) if part.strip()]


def _build_labels(
    texts: list[str],
    raw_labels: list[Any],
    lines: list[int],
    name: str,
    label_names: Sequence[str] | None,
    multi_label: bool,
    separator: str,
) -> ClassificationDataset:
    if multi_label:
        label_sets = [_split_labels(v, separator) for v in raw_labels]
        found = sorted({label for labels in label_sets for label in labels})
    else:
        label_sets = []
        for value, line in zip(raw_labels, lines, strict=True):
            if value is None or (isinstance(value, float) and np.isnan(value)) or str(value).strip() == "":
                raise DataError("the label is empty.", path=name, line=line, fix="label the row or remove it.")
            if isinstance(value, (list, tuple, set, np.ndarray)):
                raise DataError(f"the label is a list ({list(value)!r}) but multi_label=False.", path=name,
                                line=line, fix="load with multi_label=True (or leave it unset).")
            label_sets.append([str(value).strip()])
        found = sorted({labels[0] for labels in label_sets})
    names = tuple(label_names) if label_names is not None else tuple(found)
    lookup = {label: i for i, label in enumerate(names)}
    for labels, line in zip(label_sets, lines, strict=True):
        for label in labels:
            if label not in lookup:
                raise DataError(
                    f"unknown label {label!r}; allowed labels are {list(names)}.",
                    path=name,
                    line=line,
                    fix="correct the label or add it to label_names.",
                )
    if multi_label:
        indicators = np.zeros((len(texts), len(names)), dtype=np.int8)
        for row, labels in enumerate(label_sets):
            indicators[row, [lookup[label] for label in labels]] = 1
        return ClassificationDataset(texts, indicators, names, multi_label=True)
    ids = np.array([lookup[labels[0]] for labels in label_sets], dtype=np.int64)
    return ClassificationDataset(texts, ids, names)


def load_folder_per_class(
    folder: PathLike, *, label_names: Sequence[str] | None = None, encoding: str = "utf-8"
) -> ClassificationDataset:
    """Load ``folder/<label>/*.txt``: one file per text, one sub-folder per class."""
    root = Path(folder)
    if not root.is_dir():
        raise DataError("no such folder.", path=str(root), fix="check the path (it is resolved from the current directory).")
    class_dirs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not class_dirs:
        raise DataError("no class sub-folders found.", path=str(root), fix="put each class's .txt files in a folder named after the class.")
    names = tuple(label_names) if label_names is not None else tuple(p.name for p in class_dirs)
    lookup = {label: i for i, label in enumerate(names)}
    texts, ids = [], []
    for class_dir in class_dirs:
        if class_dir.name not in lookup:
            raise DataError(f"folder {class_dir.name!r} is not one of label_names {list(names)}.", path=str(class_dir))
        for file in sorted(class_dir.glob("*.txt")):
            try:
                text = file.read_text(encoding=encoding)
            except UnicodeDecodeError as error:
                raise DataError(
                    f"cannot decode the file as {encoding} ({error.reason}).",
                    path=str(file),
                    line=1,
                    fix="re-save it as UTF-8 or pass encoding=.",
                ) from None
            texts.append(_text(text, "text", str(file), 1))
            ids.append(lookup[class_dir.name])
    if not texts:
        raise DataError("no .txt files found in the class folders.", path=str(root))
    return ClassificationDataset(texts, np.array(ids), names)


def load_conll(
    path: PathLike,
    *,
    token_column: int = 0,
    tag_column: int = -1,
    tag_names: Sequence[str] | None = None,
    encoding: str = "utf-8",
    scheme: str = "auto",
    escapes: bool | str = "auto",
) -> TaggingDataset:
    """Load a CoNLL column file: one token per line, a blank line between sentences;
    ``-DOCSTART-`` lines are skipped.

    Columns are split on tabs when a line holds a tab (so ``New York<TAB>B-LOC`` keeps its
    token whole), else on whitespace; every token line must have as many columns as the
    first one, so a token with a space in a space-separated file is an error, not a
    silently cut token. Files written by :func:`labelwise.annotate.exports.export_conll`
    start with a ``-DOCSTART-<TAB>labelwise:escaped`` line and escape whitespace, empty
    tokens and ``-DOCSTART-`` (see :mod:`labelwise.data.conll_escapes`); ``escapes="auto"``
    undoes them for such files only, ``True``/``False`` force it.

    Tags in IOB1 or BIOES are converted to IOB2 (``scheme="auto"`` detects them), so every
    model and metric sees one scheme. ``tag_names`` restricts the allowed tags.
    """
    from labelwise.data.tagging_schemes import to_iob2

    path = Path(path)
    sentences: list[tuple[str, ...]] = []
    tag_sequences: list[tuple[str, ...]] = []
    tag_lines: list[list[int]] = []
    words: list[str] = []
    tags: list[str] = []
    lines: list[int] = []
    allowed = set(tag_names) if tag_names is not None else None
    escaped = escapes is True
    first_columns: tuple[int, int] | None = None  # (count, line) of the first token line

    def close() -> None:
        if words:
            sentences.append(tuple(words))
            tag_sequences.append(tuple(tags))
            tag_lines.append(list(lines))
        words.clear()
        tags.clear()
        lines.clear()

    unescape = conll_escapes.unescape_field
    for number, raw in _lines(path, encoding):
        line = raw.strip()
        if not line:
            close()
            continue
        if "\t" not in line:
            columns = line.split()
        elif " " in line:
            columns = [c.strip() for c in line.split("\t")]
        else:
            columns = line.split("\t")
        if columns[0] == conll_escapes.DOCSTART:
            if escapes == "auto" and not sentences and not words and conll_escapes.MARKER in columns[1:]:
                escaped = True
            continue
        if len(columns) < 2:
            raise DataError(
                f"expected a token and a tag separated by whitespace, found {line!r}.",
                path=str(path),
                line=number,
                fix="write 'token<TAB>tag' on each line, a blank line between sentences.",
            )
        if first_columns is None:
            first_columns = (len(columns), number)
        elif len(columns) != first_columns[0]:
            raise DataError(
                f"this line has {len(columns)} columns but line {first_columns[1]} has {first_columns[0]} "
                f"({line!r}); a token that contains a space would be cut here.",
                path=str(path),
                line=number,
                fix="separate the columns with a tab (then tokens may hold spaces), or write every "
                "line with the same number of columns.",
            )
        try:
            token, tag = columns[token_column], columns[tag_column]
        except IndexError:
            raise DataError(
                f"token_column={token_column} or tag_column={tag_column} is outside the "
                f"{len(columns)} columns of {line!r}.",
                path=str(path),
                line=number,
                fix=f"pass column indices between 0 and {len(columns) - 1}.",
            ) from None
        if escaped:
            token = unescape(token, path=str(path), line=number)
            tag = unescape(tag, path=str(path), line=number)
        if allowed is not None and tag not in allowed:
            raise DataError(f"unknown tag {tag!r}; allowed: {sorted(allowed)}.", path=str(path), line=number,
                            fix="correct the tag or add it to tag_names.")
        words.append(token)
        tags.append(tag)
        lines.append(number)
    close()
    if not sentences:
        raise DataError("no sentences found.", path=str(path), fix="write 'token<TAB>tag' lines, a blank line "
                        "between sentences.")
    converted = []
    for sequence, numbers in zip(tag_sequences, tag_lines, strict=True):
        try:
            converted.append(to_iob2(sequence, scheme=scheme))
        except DataError as error:
            raise DataError(f"{error}", path=str(path), line=_bad_tag_line(sequence, numbers)) from None
    return TaggingDataset(sentences, converted, tuple(tag_names) if tag_names else ())


def _bad_tag_line(tags: Sequence[str], numbers: Sequence[int]) -> int | None:
    from labelwise.data.tagging_schemes import split_tag

    for tag, number in zip(tags, numbers, strict=True):
        try:
            split_tag(tag)
        except DataError:
            return number
    return None


def load_tagging(
    source: Any,
    *,
    tokens_column: str = "tokens",
    tags_column: str | None = "tags",
    tag_names: Sequence[str] | None = None,
    split: str | None = None,
    encoding: str = "utf-8",
) -> TaggingDataset:
    """Load a tagging dataset from a CoNLL file (``.conll``/``.txt``/``.bio``, optionally
    ``.gz``), or from JSON/JSONL/DataFrame/``datasets`` rows holding token and tag lists.
    Integer tags from a ``datasets.Dataset`` are mapped through its ``ClassLabel`` names."""
    if not _is_pandas(source) and not _is_hf_dataset(source):
        path = Path(source)
        suffixes = [s for s in path.suffixes if s != ".gz"]
        if suffixes and suffixes[-1] in (".conll", ".bio", ".iob", ".txt", ".conllu"):
            return load_conll(path, tag_names=tag_names, encoding=encoding)
    source = _materialise(source, split)
    name, rows = _rows_from_source(source, split, encoding, None)
    feature_names = None
    if _is_hf_dataset(source) and tags_column is not None:
        feature = source.features.get(tags_column)
        feature_names = getattr(getattr(feature, "feature", None), "names", None)
    sentences, tag_sequences = [], []
    for line, record in rows:
        words = _token_list(_require_column(record, tokens_column, name, line, "tokens_column"))
        if len(words) == 0:
            raise DataError("the sentence is empty.", path=name, line=line, fix="remove the row or give it tokens.")
        sentences.append(tuple(str(w) for w in words))
        if tags_column is not None:
            tags = _token_list(_require_column(record, tags_column, name, line, "tags_column"))
            if feature_names is not None:
                try:
                    tags = [feature_names[int(t)] for t in tags]
                except (ValueError, TypeError, IndexError):
                    raise DataError(f"tag ids {list(tags)} do not all index the ClassLabel names {feature_names}.",
                                    path=name, line=line, fix="give tag ids within the feature's names.") from None
            if len(tags) != len(words):
                raise DataError(
                    f"{len(words)} tokens but {len(tags)} tags.",
                    path=name,
                    line=line,
                    fix="give exactly one tag per token.",
                )
            tag_sequences.append(tuple(str(t) for t in tags))
    if not sentences:
        raise DataError("no sentences found.", path=name)
    return TaggingDataset(sentences, tag_sequences if tags_column is not None else None, tuple(tag_names or ()))


def _token_list(value: Any) -> Any:
    """A tokens (or tags) cell: a list as it is; a string holding a JSON list of strings (as
    ``export_csv`` writes it, so tokens may hold spaces) parsed; another string split on
    whitespace."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if text.startswith("[") and text.endswith("]"):
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError:
            parsed = None
        if isinstance(parsed, list) and all(isinstance(item, str) for item in parsed):
            return parsed
    return value.split()


def load_seq2seq(
    source: Any,
    *,
    source_column: str = "source",
    target_column: str | None = "target",
    split: str | None = None,
    encoding: str = "utf-8",
    delimiter: str | None = None,
) -> Seq2SeqDataset:
    """Load source/target pairs (summarization) from any source ``load_classification`` takes."""
    source = _materialise(source, split)
    name, rows = _rows_from_source(source, split, encoding, delimiter)
    sources, targets = [], []
    for line, record in rows:
        value = _require_column(record, source_column, name, line, "source_column")
        sources.append(_text(value, source_column, name, line))
        if target_column is not None:
            value = _require_column(record, target_column, name, line, "target_column")
            targets.append(_text(value, target_column, name, line))
    if not sources:
        raise DataError("no rows found.", path=name)
    return Seq2SeqDataset(sources, targets if target_column is not None else None)


def load_dataset(source: Any, task: str, **options: Any):
    """Load ``source`` for ``task`` ("classification", "tagging" or "seq2seq")."""
    loaders = {"classification": load_classification, "tagging": load_tagging, "seq2seq": load_seq2seq}
    if task not in loaders:
        raise DataError(f"unknown task {task!r}; choose one of {sorted(loaders)}.")
    return loaders[task](source, **options)
