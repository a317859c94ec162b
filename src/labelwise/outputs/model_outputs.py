"""ModelOutputs: everything one AL iteration knows about the pool, computed lazily,
once, and cached by pool position."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp

from labelwise.errors import CapabilityError, DataError
from labelwise.outputs.producers import model_can_produce, output_kind


class ModelOutputs:
    """Lazily computed, per-position cached outputs of one model over one pool.

    ``get(kind, positions)`` returns the rows of output ``kind`` for those pool positions,
    computing only rows not computed yet (in one batched call to the model). A new
    iteration (a retrained model) needs a new ``ModelOutputs``.

    Build it from a model and its pool, or from plain arrays (``from_arrays``) to run a
    strategy without any model, as in tests and benchmarks.

    Args:
        model: the fitted model.
        pool: the dataset whose positions index every output.
        options: producer options, e.g. ``mc_samples`` for MC dropout.
        batch_rows: rows handed to the model per call (bounds memory on large pools).
    """

    def __init__(
        self,
        model: Any = None,
        pool: Any = None,
        *,
        options: Mapping[str, Any] | None = None,
        batch_rows: int = 16384,
        progress: bool = False,
        expected: Sequence[str] = (),
    ) -> None:
        self.model = model
        self.pool = pool
        self.options = dict(options or {})
        self.batch_rows = batch_rows
        self.progress = progress
        #: kinds the caller will ask for (a strategy's ``requires``): a model that computes
        #: several kinds in one forward pass (``joint_outputs``) fills them together.
        self.expected = tuple(expected)
        self._arrays: dict[str, Any] = {}
        self._computed: dict[str, np.ndarray] = {}
        #: kinds whose every row is computed: ``get`` skips the per-row check for them.
        self._complete: set[str] = set()
        self.seconds: dict[str, float] = {}
        self._n_pool = len(pool) if pool is not None else None

    @classmethod
    def from_arrays(cls, **arrays: Any) -> ModelOutputs:
        """Outputs given directly, every array with one row per pool position."""
        outputs = cls()
        sizes = {name: a.shape[0] for name, a in arrays.items() if a is not None}
        if len(set(sizes.values())) > 1:
            raise DataError(f"every output needs one row per pool position; got row counts {sizes}.",
                            fix="pass arrays with the same number of rows.")
        outputs._n_pool = next(iter(sizes.values()), 0)
        for name, array in arrays.items():
            if array is None:
                continue
            if not sp.issparse(array):
                array = np.asarray(array)
                if array.dtype.kind == "f" and array.dtype != np.float32 and array.dtype.itemsize < 4:
                    array = array.astype(np.float32)  # float16 in, float32 arithmetic
            outputs._arrays[name] = array
            outputs._computed[name] = np.ones(outputs._n_pool, dtype=bool)
            outputs._complete.add(name)
        return outputs

    @property
    def n_pool(self) -> int:
        return int(self._n_pool or 0)

    def can_compute(self, kind: str) -> bool:
        if kind in self._complete or (kind in self._arrays and self.model is None):
            return True
        if self.model is None:
            return False
        return model_can_produce(self.model, kind, self.options)

    def available(self) -> set[str]:
        from labelwise.outputs.producers import known_outputs

        names = set(known_outputs()) | set(self._arrays)
        return {name for name in names if self.can_compute(name)}

    def require(self, kinds: Sequence[str], who: str = "this strategy") -> None:
        """Raise CapabilityError before any work if any of ``kinds`` cannot be computed."""
        missing = [kind for kind in kinds if not self.can_compute(kind)]
        if missing:
            model = type(self.model).__name__ if self.model is not None else "the given arrays"
            raise CapabilityError(
                f"{who} needs {missing}, which {model} cannot provide (it can provide {sorted(self.available())}). "
                "Choose a model that exposes them (e.g. a transformer for MC dropout or gradient embeddings) "
                "or another strategy."
            )

    def get(self, kind: str, positions: Sequence[int] | np.ndarray | None = None) -> Any:
        """Rows of ``kind`` at ``positions`` (all positions when None), computing missing ones."""
        if positions is None:
            positions = np.arange(self.n_pool)
        positions = np.asarray(positions, dtype=np.int64)
        if kind in self._complete:
            return self._arrays[kind][positions]
        self.require([kind])
        if kind not in self._computed or not self._computed[kind][positions].all():
            self._compute(kind, positions)
        array = self._arrays[kind]
        return array[positions]

    def stored(self, kind: str) -> Any:
        """The whole ``(n_pool, ...)`` array of ``kind`` as a read-only view (no copy),
        computing missing rows first; strategies score it in place instead of gathering
        candidate rows. Sparse or per-row object outputs are returned as ``get`` would."""
        if kind not in self._complete:
            self.get(kind, np.arange(self.n_pool))
        array = self._arrays[kind]
        if not isinstance(array, np.ndarray) or array.dtype == object:
            return self.get(kind)
        view = array.view()
        view.flags.writeable = False
        return view

    def is_computed(self, kind: str, positions: Sequence[int] | np.ndarray) -> np.ndarray:
        if kind not in self._computed:
            return np.zeros(len(positions), dtype=bool)
        return self._computed[kind][np.asarray(positions, dtype=np.int64)]

    def _joint_kinds(self, kind: str, missing: np.ndarray) -> list[str]:
        """``kind`` plus every expected kind the model computes in the same forward pass
        and that is missing for all of ``missing``'s rows; empty when not applicable."""
        joint = getattr(self.model, "joint_output_kinds", ())
        if kind not in joint or not callable(getattr(self.model, "joint_outputs", None)):
            return []
        kinds = [kind]
        for other in self.expected:
            if other != kind and other in joint and other not in kinds and not (
                    other in self._computed and self._computed[other][missing].any()):
                kinds.append(other)
        return kinds if len(kinds) > 1 else []

    def _compute(self, kind: str, positions: np.ndarray) -> None:
        spec = output_kind(kind)
        if self.model is None:
            raise CapabilityError(f"rows of {kind!r} were requested that were never computed, and there is no model.")
        computed = self._computed.get(kind)
        missing = positions if computed is None else positions[~computed[positions]]
        missing = np.unique(missing)
        joint = self._joint_kinds(kind, missing)
        kinds = joint or [kind]
        started = time.perf_counter()
        chunks: dict[str, list[Any]] = {name: [] for name in kinds}
        for start in range(0, len(missing), self.batch_rows):
            subset = self.pool.subset(missing[start : start + self.batch_rows])
            produced = (self.model.joint_outputs(subset, kinds) if joint
                        else {kind: spec.produce(self.model, subset, **self.options)})
            for name in kinds:
                chunks[name].append(produced[name])
        self.seconds[kind] = self.seconds.get(kind, 0.0) + time.perf_counter() - started
        for name, parts in chunks.items():
            if parts:
                values = sp.vstack(parts, format="csr") if sp.issparse(parts[0]) else np.concatenate(parts, axis=0)
                self._store(name, missing, values)

    def _store(self, kind: str, rows: np.ndarray, values: Any) -> None:
        n_pool = self.n_pool
        if kind not in self._arrays:
            if sp.issparse(values):
                # Sparse rows are kept as a row map; they are rarely needed for the whole pool.
                self._arrays[kind] = _SparseRows(n_pool, values.shape[1])
            elif isinstance(values, np.ndarray) and values.dtype != object:
                self._arrays[kind] = np.zeros((n_pool, *values.shape[1:]), dtype=values.dtype)
            else:
                self._arrays[kind] = np.empty(n_pool, dtype=object)
            self._computed[kind] = np.zeros(n_pool, dtype=bool)
        target = self._arrays[kind]
        if isinstance(target, _SparseRows):
            target.set(rows, values)
        elif target.dtype == object and not (isinstance(values, np.ndarray) and values.dtype == object):
            for row, value in zip(rows, values, strict=True):
                target[row] = value
        else:
            target[rows] = values
        self._computed[kind][rows] = True
        if self._computed[kind].all():
            self._complete.add(kind)

    def set(self, kind: str, positions: Sequence[int] | np.ndarray, values: Any) -> None:
        """Store precomputed rows (e.g. scores from distributed workers)."""
        self._store(kind, np.asarray(positions, dtype=np.int64), values)

    def __repr__(self) -> str:
        computed = {k: int(v.sum()) for k, v in self._computed.items()}
        return f"ModelOutputs(n_pool={self.n_pool}, computed rows={computed})"


class _SparseRows:
    """A sparse matrix addressed by pool position, filled in pieces."""

    def __init__(self, n_pool: int, width: int) -> None:
        self.width = width
        self._row_of = np.full(n_pool, -1, dtype=np.int64)
        self._blocks: list[sp.csr_matrix] = []
        self._count = 0

    def set(self, rows: np.ndarray, values: sp.csr_matrix) -> None:
        self._row_of[rows] = np.arange(self._count, self._count + len(rows))
        self._blocks.append(sp.csr_matrix(values))
        self._count += len(rows)
        if len(self._blocks) > 1:
            self._blocks = [sp.vstack(self._blocks, format="csr")]

    def __getitem__(self, positions: np.ndarray) -> sp.csr_matrix:
        return self._blocks[0][self._row_of[positions]]
