"""A pool split into partitions that workers load on their own.

A :class:`PartitionedPool` knows only the size of each partition and how to load it
(a slice of an in-memory dataset, one Parquet / CSV / JSONL shard, a Dask DataFrame
partition, or a function that generates the rows). Pool positions are global: partition
``p`` holds positions ``offsets[p] .. offsets[p + 1] - 1``. The client never holds the
texts of the whole pool (except for :meth:`PartitionedPool.from_dataset`, whose caller
already had them); the workers load a partition when a task reads it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from labelwise.data.datasets import ClassificationDataset, Seq2SeqDataset, TaggingDataset
from labelwise.errors import ConfigError, DataError, SelectionError

Dataset = ClassificationDataset | TaggingDataset | Seq2SeqDataset


@dataclass(frozen=True)
class InMemoryPartition:
    """Rows ``start .. stop - 1`` of a dataset the client holds (shipped once per partition)."""

    data: Any

    def load(self) -> Any:
        return self.data


@dataclass(frozen=True)
class FilePartition:
    """One shard file, read on the worker with :func:`labelwise.data.loaders.load_classification`
    (Parquet through pandas)."""

    path: str
    text_column: str = "text"
    label_column: str | None = None
    label_names: tuple[str, ...] = ()

    def load(self) -> ClassificationDataset:
        from labelwise.data.loaders import load_classification

        source: Any = self.path
        if self.path.endswith(".parquet"):
            from labelwise._lazy import optional_import

            source = optional_import("pandas", "distributed", "reading a Parquet shard").read_parquet(self.path)
        dataset = load_classification(source, text_column=self.text_column, label_column=self.label_column,
                                      label_names=self.label_names or None)
        if not dataset.label_names and self.label_names:
            dataset = ClassificationDataset(dataset.texts, None, self.label_names)
        return dataset


@dataclass(frozen=True)
class FunctionPartition:
    """Rows made on the worker by ``make(*args)`` (synthetic pools, custom readers)."""

    make: Callable[..., Any]
    args: tuple[Any, ...] = ()

    def load(self) -> Any:
        return self.make(*self.args)


def _dask_partition_to_dataset(frame: Any, text_column: str, label_names: tuple[str, ...]) -> ClassificationDataset:
    return ClassificationDataset(tuple(str(text) for text in frame[text_column]), None, label_names)


class PartitionedPool:
    """An unlabeled pool in partitions.

    Args:
        sources: one loader per partition (an object with ``load() -> dataset``).
        sizes: rows of each partition, in order.
        label_names: the task's classes (classification).
        task: ``"classification"``, ``"tagging"`` or ``"seq2seq"``.
    """

    def __init__(self, sources: Sequence[Any], sizes: Sequence[int], *, label_names: Sequence[str] = (),
                 task: str = "classification") -> None:
        if len(sources) != len(sizes) or not len(sources):
            raise ConfigError(f"PartitionedPool needs one size per source and at least one partition; got "
                              f"{len(sources)} sources and {len(sizes)} sizes.")
        sizes_array = np.asarray(sizes, dtype=np.int64)
        if (sizes_array < 0).any():
            raise ConfigError(f"PartitionedPool: partition sizes must be >= 0, got {sizes_array.min()}.")
        self.sources = list(sources)
        self.sizes = sizes_array
        self.offsets = np.concatenate([[0], np.cumsum(sizes_array)]).astype(np.int64)
        self.label_names = tuple(label_names)
        self.task = task

    # ---- constructors ------------------------------------------------------------------
    @classmethod
    def from_dataset(cls, dataset: Dataset, n_partitions: int) -> PartitionedPool:
        """Split an in-memory dataset into ``n_partitions`` contiguous partitions."""
        _check_count("n_partitions", n_partitions)
        n = len(dataset)
        bounds = np.linspace(0, n, min(int(n_partitions), max(n, 1)) + 1).astype(np.int64)
        sources = [InMemoryPartition(dataset.subset(np.arange(a, b))) for a, b in zip(bounds[:-1], bounds[1:],
                                                                                        strict=True)]
        return cls(sources, np.diff(bounds), label_names=getattr(dataset, "label_names", ()),
                   task=getattr(dataset, "task", "classification"))

    @classmethod
    def from_files(cls, paths: Sequence[str | Path], *, client: Any = None, text_column: str = "text",
                   label_column: str | None = None, label_names: Sequence[str] = ()) -> PartitionedPool:
        """One partition per Parquet / CSV / JSONL shard. Rows are counted on the workers
        (``client`` given) or here, one shard at a time; texts are never kept here."""
        if not paths:
            raise ConfigError("PartitionedPool.from_files() needs at least one shard path.")
        missing = [str(path) for path in paths if not Path(path).is_file()]
        if missing:
            raise DataError("shard file not found.", path=missing[0],
                            fix="pass existing Parquet, CSV or JSONL files (every worker must see the same path).")
        sources = [FilePartition(str(path), text_column, label_column, tuple(label_names)) for path in paths]
        if client is not None:
            sizes = client.gather(client.map(_count_rows, sources, pure=False))
        else:
            sizes = [_count_rows(source) for source in sources]
        return cls(sources, sizes, label_names=label_names)

    @classmethod
    def from_dask(cls, collection: Any, *, client: Any, text_column: str = "text",
                  label_names: Sequence[str] = ()) -> PartitionedPool:
        """One partition per partition of a Dask DataFrame (or Bag of texts); sizes are
        counted on the workers."""
        delayed_parts = collection.to_delayed()
        if hasattr(collection, "columns"):
            if text_column not in collection.columns:
                raise DataError(f"the Dask DataFrame has no column {text_column!r} (it has "
                                f"{list(collection.columns)}).", fix="pass text_column=.")
            sizes = client.gather(client.compute([part.shape[0] for part in delayed_parts]))
            parts = client.persist(delayed_parts)
            sources = [FunctionPartition(_dask_partition_to_dataset, (part, text_column, tuple(label_names)))
                       for part in parts]
        else:
            import dask

            parts = client.persist(delayed_parts)
            sizes = client.gather(client.compute([dask.delayed(len)(part) for part in parts]))
            sources = [FunctionPartition(_texts_to_dataset, (part, tuple(label_names))) for part in parts]
        return cls(sources, sizes, label_names=label_names)

    @classmethod
    def generated(cls, make: Callable[..., Any], n_rows: int, rows_per_partition: int,
                  *, label_names: Sequence[str] = ()) -> PartitionedPool:
        """Partitions made on the workers by ``make(start, stop)`` (rows ``start .. stop - 1``)."""
        _check_count("rows_per_partition", rows_per_partition)
        n_parts = max(1, math.ceil(int(n_rows) / int(rows_per_partition)))
        bounds = np.minimum(np.arange(n_parts + 1) * int(rows_per_partition), int(n_rows))
        sources = [FunctionPartition(make, (int(a), int(b))) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
        return cls(sources, np.diff(bounds), label_names=label_names)

    # ---- positions ---------------------------------------------------------------------
    def __len__(self) -> int:
        return int(self.offsets[-1])

    @property
    def n_rows(self) -> int:
        return len(self)

    @property
    def n_partitions(self) -> int:
        return len(self.sources)

    @property
    def n_classes(self) -> int:
        return len(self.label_names)

    def partition_of(self, positions: np.ndarray) -> np.ndarray:
        """The partition of each global position."""
        return np.searchsorted(self.offsets, positions, side="right") - 1

    def split_positions(self, positions: np.ndarray) -> list[np.ndarray]:
        """Sorted ``positions`` cut at the partition boundaries: one (global) array per partition."""
        positions = check_positions(positions, len(self))
        cuts = np.searchsorted(positions, self.offsets)
        return [positions[cuts[p]:cuts[p + 1]] for p in range(self.n_partitions)]

    def rows(self, positions: Sequence[int] | np.ndarray, client: Any = None) -> Any:
        """The rows at ``positions`` as one dataset, in that order (e.g. the labeled rows to
        train on). Each partition involved is loaded once, on a worker when ``client`` is given."""
        positions = check_positions(positions, len(self), sort=False)
        order = np.argsort(positions, kind="stable")
        ordered = positions[order]
        parts = self.partition_of(ordered)
        needed = np.unique(parts)
        local = [ordered[parts == p] - self.offsets[p] for p in needed]
        if client is not None:
            futures = [client.submit(_take_rows, self.sources[p], rows, pure=False)
                       for p, rows in zip(needed, local, strict=True)]
            pieces = client.gather(futures)
        else:
            pieces = [_take_rows(self.sources[p], rows) for p, rows in zip(needed, local, strict=True)]
        combined = concat_datasets(pieces) if pieces else None
        if combined is None:
            raise SelectionError("rows(): no positions given.")
        inverse = np.empty_like(order)
        inverse[order] = np.arange(len(order))
        return combined.subset(inverse)

    def __repr__(self) -> str:
        return f"PartitionedPool({len(self)} rows in {self.n_partitions} partitions)"


def check_positions(positions: Any, n_pool: int, sort: bool = True) -> np.ndarray:
    array = np.asarray(positions)
    if array.size == 0:
        return np.empty(0, dtype=np.int64)
    if array.ndim != 1 or array.dtype.kind not in "iu":
        raise SelectionError(f"positions must be a 1-D array of integer pool positions, got shape {array.shape} "
                             f"of {array.dtype}.")
    array = array.astype(np.int64, copy=False)
    if array.min() < 0 or array.max() >= n_pool:
        bad = int(array.min()) if array.min() < 0 else int(array.max())
        raise SelectionError(f"positions holds {bad}, outside the pool [0, {n_pool}).")
    if sort and len(array) > 1 and not (array[1:] > array[:-1]).all():
        array = np.unique(array)
    return array


def concat_datasets(parts: Sequence[Any]) -> Any:
    """One dataset holding ``parts`` in order (same task and label names)."""
    first = parts[0]
    if len(parts) == 1:
        return first
    if isinstance(first, ClassificationDataset):
        labels = None
        if all(part.labels is not None for part in parts):
            labels = np.concatenate([part.labels for part in parts])
        return ClassificationDataset(tuple(text for part in parts for text in part.texts), labels,
                                     first.label_names, first.multi_label)
    if isinstance(first, TaggingDataset):
        tags = None if any(part.tags is None for part in parts) else [t for part in parts for t in part.tags]
        return TaggingDataset([s for part in parts for s in part.tokens], tags, first.tag_names)
    raise DataError(f"cannot join partitions of {type(first).__name__}.",
                    fix="use classification or tagging partitions.")


def _check_count(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ConfigError(f"{name} must be a positive integer, got {value!r}.")


def _count_rows(source: Any) -> int:
    return len(source.load())


def _take_rows(source: Any, rows: np.ndarray) -> Any:
    return source.load().subset(rows)


def _texts_to_dataset(texts: Sequence[str], label_names: tuple[str, ...]) -> ClassificationDataset:
    return ClassificationDataset(tuple(str(text) for text in texts), None, label_names)
