"""Reading a pool file for the CLI commands (``distill``, ``adapt``): CoNLL column files
for tagging, CSV/TSV/JSON/JSONL for classification; errors name the option."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from labelwise.errors import ConfigError, DataError

CONLL_SUFFIXES = (".conll", ".conll.gz", ".bio", ".iob", ".iob2", ".txt", ".txt.gz")


def is_conll(path: str) -> bool:
    return str(path).lower().endswith(CONLL_SUFFIXES)


def check_file(path: str, option: str) -> Path:
    file = Path(path)
    if not file.is_file():
        raise DataError(f"{option} {path!r}: no such file.", fix=f"give {option} an existing data file.")
    return file


def load_pool(path: str, option: str, *, tagging: bool | None = None, text_column: str = "text",
              label_names: Any = None, tag_names: Any = None) -> Any:
    """The pool at ``path``: a TaggingDataset for a CoNLL file (or when ``tagging``), else a
    ClassificationDataset of its ``text_column`` (labels ignored)."""
    from labelwise.data import load_classification, load_conll, load_tagging

    check_file(path, option)
    if tagging is None:
        tagging = is_conll(path)
    try:
        if tagging:
            if is_conll(path):
                return load_conll(path, tag_names=tag_names)
            return load_tagging(path, tags_column=None, tag_names=tag_names)
        return load_classification(path, text_column=text_column, label_column=None, label_names=label_names)
    except (TypeError, ValueError, KeyError) as error:
        raise DataError(f"{option} {path!r} could not be read ({type(error).__name__}: {error}).",
                        fix="give a CoNLL file (token<TAB>tag) for tagging or CSV/JSON(L) with a "
                            f"{text_column!r} column for classification.") from None


def positive(value: float | int, option: str, *, integer: bool = False, zero: bool = False) -> None:
    """A ConfigError naming ``option`` unless ``value`` is positive (or zero when allowed)."""
    if value is None:
        return
    ok = value >= 0 if zero else value > 0
    if not ok or (integer and int(value) != value):
        kind = "an integer" if integer else "a number"
        raise ConfigError(f"{option} must be {kind} {'>= 0' if zero else '> 0'}, got {value!r}.")
