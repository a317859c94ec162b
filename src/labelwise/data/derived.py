"""Classification data sets derived at load time from data of another task.

Nothing derived is written to disk: a benchmark config names the source file and the
derivation (``data.pool: {path: train.conll.gz, derive: entity_types}``), and the rows are
rebuilt each time from the public source, so the repository never holds a copy.

``entity_types``: a CoNLL NER file becomes multi-label text classification. Each sentence
(tokens joined by single spaces) is labeled with the set of entity types it mentions
(``B-PER`` / ``I-PER`` -> ``PER``, ...); a sentence with no entity keeps an empty label set.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from labelwise.data.datasets import ClassificationDataset, TaggingDataset
from labelwise.errors import DataError


def entity_type(tag: str) -> str | None:
    """The entity type of an IOB2 tag (``"B-PER"`` -> ``"PER"``), ``None`` for ``"O"``."""
    if tag == "O":
        return None
    return tag.split("-", 1)[1] if "-" in tag else tag


def entity_type_sets(
    tagging: TaggingDataset, *, label_names: Sequence[str] | None = None, source: str = "<dataset>"
) -> ClassificationDataset:
    """Multi-label dataset ``(n_sentences, n_types)``: the entity types in each sentence.

    Args:
        tagging: a labeled tagging dataset (IOB2 tags).
        label_names: the allowed entity types in order (a test set gets the pool's); when
            omitted, the sorted set of types found in the tags.
        source: the file name used in error messages.
    """
    if tagging.tags is None:
        raise DataError("deriving entity types needs tagged sentences; the file has no tag column.",
                        path=source, fix="point the config at a tagged CoNLL file.")
    type_sets = [{t for t in map(entity_type, tags) if t is not None} for tags in tagging.tags]
    found = sorted({t for types in type_sets for t in types})
    names = tuple(label_names) if label_names is not None else tuple(found)
    lookup = {name: column for column, name in enumerate(names)}
    unknown = sorted(set(found) - set(lookup))
    if unknown:
        raise DataError(f"entity types {unknown} are not in label_names {list(names)}.", path=source,
                        fix="add them to label_names, or drop label_names to use the types found.")
    indicators = np.zeros((len(type_sets), len(names)), dtype=np.int8)
    for row, types in enumerate(type_sets):
        indicators[row, [lookup[t] for t in types]] = 1
    texts = [" ".join(tokens) for tokens in tagging.tokens]
    return ClassificationDataset(texts, indicators, names, multi_label=True)


def _load_entity_types(path: Path, *, label_names: Sequence[str] | None = None,
                       **conll_options: Any) -> ClassificationDataset:
    from labelwise.data.loaders import load_conll

    return entity_type_sets(load_conll(path, **conll_options), label_names=label_names, source=str(path))


#: derivation name -> loader(path, **options) returning a ClassificationDataset
DERIVATIONS: dict[str, Callable[..., ClassificationDataset]] = {"entity_types": _load_entity_types}


def load_derived(path: str | Path, derive: str, **options: Any) -> ClassificationDataset:
    """Load ``path`` and derive a classification dataset from it by the named derivation
    (see :data:`DERIVATIONS`); ``options`` go to that derivation's loader."""
    if derive not in DERIVATIONS:
        raise DataError(f"unknown derivation {derive!r}; known: {sorted(DERIVATIONS)}.", path=str(path),
                        fix="set derive to one of the known derivations.")
    return DERIVATIONS[derive](Path(path), **options)
