"""A crash-safe annotation store: an append-only JSON Lines log of decisions plus atomic
snapshots of the queue, the iteration and the learner.

Every decision (``label``, ``skip``, ``undo``) is one line, written, flushed and
``os.fsync``-ed before the call returns, so a killed kernel loses at most the decision
that was being written. Snapshots go to a temporary file that is fsynced and then moved
over the old one with ``os.replace`` (atomic on POSIX). The user's log is never rewritten
in place: a corrupt line (e.g. half-written when the machine died, or a record whose
position or value has the wrong type) is reported with a warning naming the file and
line, and skipped.

The log is read once, when the store opens; after that the current labels and skips are
kept up to date in memory with each decision, so a decision costs the same whether the
log holds ten lines or a million.

One writer at a time: a store holds an exclusive lock on its log (``<log>.lock``) until
:meth:`AnnotationStore.close`. A second store on the same log in another process is
refused with :class:`~labelwise.errors.LockedError`; in the same process (a notebook cell
run again) the newer store takes the log over and the older one refuses further writes.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import threading
import time
import warnings
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from labelwise._io import append_line_durably, atomic_write_text, exclusive_lock
from labelwise._lazy import optional_import
from labelwise.data.tagging_schemes import entity_spans
from labelwise.errors import DataError, LockedError

ACTIONS = ("label", "skip", "undo")
SNAPSHOT_VERSION = 1

# The writable store that currently owns each log in this process (resolved path -> store).
_OWNERS: dict[Path, weakref.ref[AnnotationStore]] = {}
_OWNERS_LOCK = threading.RLock()  # re-entered when a takeover closes the older store


class CorruptLineWarning(UserWarning):
    """A line of the annotation log could not be read; it was skipped, not deleted."""


@dataclass(frozen=True)
class Decision:
    """One annotator decision, as stored in the log.

    Attributes:
        action: ``"label"``, ``"skip"`` or ``"undo"``.
        position: the pool position the decision is about.
        value: the label (class name, list of names for multi-label, tag list for NER);
            ``None`` for skip and undo.
        timestamp: seconds since the epoch.
        iteration: the annotation iteration (number of "Next" presses before it).
        line: 1-based line number in the log (0 while not yet written).
        annotator: who decided (a person's or an LLM's id); ``None`` for logs written
            before annotators were recorded, and when nobody was named.
        duration_ms: how long the decision took (milliseconds from the item being shown
            to the decision), or ``None`` when unknown.
    """

    action: str
    position: int
    value: Any
    timestamp: float
    iteration: int
    line: int = 0
    annotator: str | None = None
    duration_ms: float | None = None

    def to_json(self) -> str:
        record = {"action": self.action, "position": self.position, "value": self.value,
                  "timestamp": self.timestamp, "iteration": self.iteration}
        # Written only when known, so a log without annotators reads exactly as before.
        if self.annotator is not None:
            record["annotator"] = self.annotator
        if self.duration_ms is not None:
            record["duration_ms"] = self.duration_ms
        # allow_nan=False: NaN/Infinity are not JSON and would corrupt the log for every reader.
        return json.dumps(record, ensure_ascii=False, allow_nan=False)


class AnnotationStore:
    """Decisions in ``path`` (JSON Lines), the latest snapshot in ``path + ".snapshot.json"``,
    the learner's saved state in ``path + ".learner/"``.

    Opening an existing store replays its log once: :attr:`labels` (position → value, undo
    applied), :attr:`skipped`, and :meth:`load_snapshot` give back the queue and iteration.
    :meth:`label_of`, :meth:`is_skipped` and :attr:`n_labeled` answer in constant time.

    Args:
        path: the JSON Lines log.
        read_only: read the log without taking the writer's lock (e.g. to export from
            another process while someone annotates); recording then raises
            :class:`~labelwise.errors.LockedError`.

    >>> store = AnnotationStore("annotations.jsonl")
    >>> store.record_label(17, "Sports", iteration=0)
    >>> store.labels
    {17: 'Sports'}
    """

    def __init__(self, path: str | os.PathLike, *, read_only: bool = False) -> None:
        self.path = Path(path)
        self.snapshot_path = self.path.with_name(self.path.name + ".snapshot.json")
        self.learner_dir = self.path.with_name(self.path.name + ".learner")
        self.read_only = bool(read_only)
        self._lock = threading.Lock()
        self._snapshot_lock = threading.Lock()
        self.decisions: list[Decision] = []
        self.corrupt_lines: list[int] = []
        # Replayed state, kept current decision by decision: per position the stack of its
        # label/skip decisions (undo pops), in first-seen order; the top labels and skips.
        self._stacks: dict[int, list[Decision]] = {}
        # Per position, per annotator (None = unnamed) the same stacks: who labeled what.
        self._votes: dict[int, dict[str | None, list[Decision]]] = {}
        self._current: dict[int, Any] = {}
        self._skipped: set[int] = set()
        self._needs_newline = False
        self._line_count = 0
        self._handle: Any = None
        self._holding: contextlib.ExitStack | None = None
        self._closed_reason: str | None = None
        if self.read_only:
            if not self.path.exists():
                raise DataError("no annotation log here to read.", path=str(self.path),
                                fix="pass the log an Annotator or AnnotationStore wrote.")
            self._replay()
            self._closed_reason = "it was opened with read_only=True"
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._take_lock()
        try:
            if self.path.exists():
                self._replay()
            self._handle = open(self.path, "a", encoding="utf-8", newline="")  # noqa: SIM115 (kept open)
        except BaseException:
            self._release_lock()
            raise

    # ---- the writer's lock --------------------------------------------------------------
    def _take_lock(self) -> None:
        key = self.path.resolve()
        with _OWNERS_LOCK:
            previous = _OWNERS.get(key)
            older = previous() if previous is not None else None
            if older is not None and older is not self:
                # The same log opened again in this process (a notebook cell run again):
                # the newer store takes over, the older one refuses any further write.
                older._close(f"a newer AnnotationStore on {self.path} took the log over")
            holding = contextlib.ExitStack()
            holding.enter_context(exclusive_lock(self.path, "annotation store"))
            self._holding = holding
            _OWNERS[key] = weakref.ref(self)

    def _release_lock(self) -> None:
        holding, self._holding = self._holding, None
        if holding is not None:
            holding.close()
        with _OWNERS_LOCK:
            key = self.path.resolve()
            owner = _OWNERS.get(key)
            if owner is not None and owner() is self:
                del _OWNERS[key]

    def _check_writable(self) -> None:
        if self._closed_reason is not None:
            raise LockedError(
                f"annotation store {self.path} no longer accepts decisions: {self._closed_reason}. "
                "Fix: record through the store (or Annotator) opened last, or open the log again.")

    # ---- reading ------------------------------------------------------------------------
    def _replay(self) -> None:
        data = self.path.read_bytes()
        self._needs_newline = bool(data) and not data.endswith(b"\n")
        lines = data.split(b"\n")
        if lines and lines[-1] == b"":
            lines.pop()
        self._line_count = len(lines)
        for number, raw in enumerate(lines, start=1):
            if not raw.strip():
                continue
            try:
                decision = _parse_line(raw, number)
            except (ValueError, KeyError, TypeError, UnicodeDecodeError) as error:
                self.corrupt_lines.append(number)
                last = number == len(lines)
                warnings.warn(
                    f"{self.path}, line {number}: corrupt annotation record skipped "
                    f"({'probably half-written when the session died; ' if last else ''}{error}). "
                    "The file was not modified; every other line was read.",
                    CorruptLineWarning, stacklevel=3)
                continue
            self.decisions.append(decision)
            self._apply(decision)

    def _apply(self, decision: Decision) -> None:
        position = decision.position
        stack = self._stacks.setdefault(position, [])
        own = self._votes.setdefault(position, {}).setdefault(decision.annotator, [])
        if decision.action == "undo":
            # An undo takes back its own annotator's latest decision (with one unnamed
            # annotator: the position's latest decision, as before annotators existed).
            if own:
                undone = own.pop()
                for index in range(len(stack) - 1, -1, -1):
                    if stack[index] is undone:
                        del stack[index]
                        break
        else:
            stack.append(decision)
            own.append(decision)
        self._current.pop(position, None)
        self._skipped.discard(position)
        if stack:
            if stack[-1].action == "label":
                self._current[position] = stack[-1].value
            else:
                self._skipped.add(position)

    @property
    def labels(self) -> dict[int, Any]:
        """Current label of every labeled position (log replayed, undo applied), in the
        order they first appear in the log. A new dict (a copy) on each access."""
        with self._lock:
            current = self._current
            return {p: current[p] for p in self._stacks if p in current}

    @property
    def skipped(self) -> set[int]:
        """Positions whose latest (not undone) decision is a skip (a copy)."""
        with self._lock:
            return set(self._skipped)

    def label_of(self, position: int, default: Any = None) -> Any:
        """The current label of ``position``, or ``default``; constant time."""
        return self._current.get(position, default)

    def is_labeled(self, position: int) -> bool:
        return position in self._current

    def is_skipped(self, position: int) -> bool:
        return position in self._skipped

    def is_decided(self, position: int) -> bool:
        """Labeled or skipped (latest decision not undone)."""
        return position in self._current or position in self._skipped

    def votes_of(self, position: int) -> dict[str | None, Any]:
        """The current label of ``position`` by each annotator who labeled it (undo applied;
        ``None`` is the unnamed annotator of older logs)."""
        with self._lock:
            return {who: stack[-1].value for who, stack in self._votes.get(position, {}).items()
                    if stack and stack[-1].action == "label"}

    def votes(self) -> list[tuple[int, str | None, Any]]:
        """Every current ``(position, annotator, label)``, for aggregation over annotators
        (:mod:`labelwise.annotators`)."""
        with self._lock:
            return [(position, who, stack[-1].value) for position, by in self._votes.items()
                    for who, stack in by.items() if stack and stack[-1].action == "label"]

    @property
    def n_labeled(self) -> int:
        return len(self._current)

    @property
    def n_decisions(self) -> int:
        return len(self.decisions)

    # ---- writing ------------------------------------------------------------------------
    def _append(self, decision: Decision) -> Decision:
        line = decision.to_json()
        with self._lock:
            self._check_writable()
            if self._needs_newline:
                # Terminate a half-written last line by appending, never by rewriting it.
                line = "\n" + line
                self._line_count += 1
                self._needs_newline = False
            append_line_durably(self._handle, line)
            self._line_count += 1
            stored = Decision(decision.action, decision.position, decision.value,
                              decision.timestamp, decision.iteration, self._line_count,
                              decision.annotator, decision.duration_ms)
            self.decisions.append(stored)
            self._apply(stored)
        return stored

    def record_label(self, position: int, value: Any, *, iteration: int, annotator: str | None = None,
                     duration_ms: float | None = None) -> Decision:
        """Append a label decision; returns once it is on disk (fsynced).

        ``value`` is a class name or id, or a list of names (multi-label) or tags (NER);
        anything else (a float, ``None``, a boolean, NaN, a nested list) raises
        :class:`~labelwise.errors.DataError` before anything is written. ``annotator``
        names who labeled (several annotators may label the same position: see
        :meth:`votes`); ``duration_ms`` how long it took.
        """
        position = _check_position(position)
        value = _check_value(_jsonable(value), position)
        return self._append(Decision("label", position, value, time.time(), _check_iteration(iteration), 0,
                                     _check_annotator(annotator), _check_duration(duration_ms)))

    def record_skip(self, position: int, *, iteration: int, annotator: str | None = None,
                    duration_ms: float | None = None) -> Decision:
        return self._append(Decision("skip", _check_position(position), None, time.time(),
                                     _check_iteration(iteration), 0, _check_annotator(annotator),
                                     _check_duration(duration_ms)))

    def record_undo(self, position: int, *, iteration: int, annotator: str | None = None) -> Decision:
        """Undo the latest label or skip of ``position`` by ``annotator``."""
        return self._append(Decision("undo", _check_position(position), None, time.time(),
                                     _check_iteration(iteration), 0, _check_annotator(annotator)))

    def _close(self, reason: str) -> None:
        with self._lock:
            if self._closed_reason is None:
                self._closed_reason = reason
            if self._handle is not None and not self._handle.closed:
                self._handle.close()
        with self._snapshot_lock:  # a snapshot being written finishes first
            self._release_lock()

    def close(self) -> None:
        """Close the log and release the writer's lock; later writes raise LockedError."""
        self._close("it was closed")

    def __enter__(self) -> AnnotationStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- snapshots ----------------------------------------------------------------------
    def write_snapshot(self, *, queue: Sequence[int], iteration: int, current: Sequence[int] = (),
                       extra: dict[str, Any] | None = None, learner: Any = None) -> Path:
        """Atomically write the queue (ranked positions), the current batch, the iteration
        and, when given, the learner (``learner.save`` into :attr:`learner_dir`)."""
        state = {"version": SNAPSHOT_VERSION, "queue": [int(p) for p in queue],
                 "current": [int(p) for p in current], "iteration": int(iteration),
                 "n_decisions": self.n_decisions, "timestamp": time.time(), "extra": extra or {}}
        with self._snapshot_lock:
            self._check_writable()
            if learner is not None:
                learner.save(self.learner_dir)
                state["learner"] = str(self.learner_dir.name)
            atomic_write_text(self.snapshot_path, json.dumps(state))
        return self.snapshot_path

    def save_learner(self, learner: Any) -> Path:
        """Save the learner's state (``learner.save``) beside the log, in :attr:`learner_dir`."""
        with self._snapshot_lock:
            self._check_writable()
            learner.save(self.learner_dir)
        return self.learner_dir

    def load_snapshot(self) -> dict[str, Any] | None:
        """The latest snapshot, or ``None`` when there is none or it is unusable (a corrupt
        or malformed one warns, naming the file; the log alone then rebuilds the state)."""
        if not self.snapshot_path.exists():
            return None
        try:
            state = json.loads(self.snapshot_path.read_text(encoding="utf-8"))
            problem = _snapshot_problem(state)
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            problem = str(error)
        if problem is not None:
            warnings.warn(f"{self.snapshot_path}: unreadable snapshot ignored ({problem}); the batch and "
                          "the queue are rebuilt from the labels in the log.", CorruptLineWarning, stacklevel=2)
            return None
        return state

    # ---- compaction ---------------------------------------------------------------------
    def compact(self, target: str | os.PathLike | None = None) -> Path:
        """Write the replayed labels (one ``label`` line per position) to a NEW file,
        atomically; the original log is kept as it is. Returns the new file's path."""
        target = Path(target) if target is not None else self.path.with_name(self.path.stem + ".compact.jsonl")
        if target.resolve() == self.path.resolve():
            raise DataError("compact() never overwrites the live log.", path=str(target),
                            fix="choose another target file.")
        with self._lock:
            tops = {p: stack[-1] for p, stack in self._stacks.items() if stack and stack[-1].action == "label"}
        lines = [Decision("label", p, d.value, d.timestamp, d.iteration, 0, d.annotator, d.duration_ms).to_json()
                 for p, d in tops.items()]
        atomic_write_text(target, "".join(line + "\n" for line in lines))
        return target

    # ---- exports ------------------------------------------------------------------------
    def _rows(self, dataset: Any) -> list[tuple[int, Any, Any]]:
        rows = []
        for position, value in self.labels.items():
            if not 0 <= position < len(dataset):
                raise DataError(f"labeled position {position} lies outside the dataset (size {len(dataset)}).",
                                path=str(self.path), fix="export with the dataset the store was made for.")
            rows.append((position, dataset.inputs[position], value))
        return rows

    def export_jsonl(self, dataset: Any, path: str | os.PathLike) -> Path:
        """One JSON object per labeled row: ``position``, ``text`` (or ``tokens``) and
        ``label`` (or ``tags``). Loads back with :func:`labelwise.data.load_dataset`."""
        from labelwise.annotate import exports

        return exports.export_jsonl(self, dataset, path)

    def export_csv(self, dataset: Any, path: str | os.PathLike) -> Path:
        """Columns ``position,text,label`` (multi-label: names joined by ``,``; tagging:
        ``position,tokens,tags`` as JSON lists)."""
        from labelwise.annotate import exports

        return exports.export_csv(self, dataset, path)

    def to_hf_dataset(self, dataset: Any) -> Any:
        """A Hugging Face ``datasets.Dataset`` of the labeled rows."""
        datasets = optional_import("datasets", "transformers", "to_hf_dataset")
        records = [dataset.export_record(position, value) for position, _, value in self._rows(dataset)]
        return datasets.Dataset.from_dict({name: [r[name] for r in records] for name in dataset.export_fields})

    def export_conll(self, dataset: Any, path: str | os.PathLike) -> Path:
        """CoNLL column file, exact for any token (see :mod:`labelwise.data.conll_escapes`);
        NER stores only. Loads back with :func:`labelwise.data.load_conll`."""
        from labelwise.annotate import exports

        return exports.export_conll(self, dataset, path)

    def export_label_studio(self, dataset: Any, path: str | os.PathLike) -> Path:
        """Label Studio tasks with their annotations, each carrying its pool position;
        read back with :func:`labelwise.annotate.exports.import_label_studio`."""
        from labelwise.annotate import exports

        return exports.export_label_studio(self, dataset, path)

    def __repr__(self) -> str:
        return f"AnnotationStore({str(self.path)!r}, decisions={self.n_decisions}, labeled={len(self.labels)})"


def _parse_line(raw: bytes, number: int) -> Decision:
    """One log line to a Decision; ValueError/KeyError/TypeError when it is not one."""
    record = json.loads(raw.decode("utf-8"))
    if not isinstance(record, dict):
        raise DataError(f"a record is a JSON object, got {type(record).__name__}.")
    action = record["action"]
    if action not in ACTIONS:
        raise DataError(f"unknown action {action!r}; expected one of {list(ACTIONS)}.")
    position = _check_position(record["position"])
    value = record.get("value")
    if action == "label":
        value = _check_value(value, position)
    timestamp = record["timestamp"]
    if isinstance(timestamp, bool) or not isinstance(timestamp, (int, float)) or not math.isfinite(timestamp):
        raise DataError(f"field 'timestamp' must be a finite number, got {timestamp!r}.")
    annotator = _check_annotator(record.get("annotator"))
    duration_ms = _check_duration(record.get("duration_ms"))
    return Decision(action, position, value, float(timestamp), _check_iteration(record["iteration"]), number,
                    annotator, duration_ms)


def _check_annotator(annotator: Any) -> str | None:
    if annotator is None:
        return None
    if not isinstance(annotator, str) or not annotator.strip():
        raise DataError(f"field 'annotator' must be a non-empty string (an annotator id), got {annotator!r}.",
                        fix="name the annotator with a string such as 'alice' or 'llm:gpt-4o-mini'.")
    return annotator


def _check_duration(duration_ms: Any) -> float | None:
    if duration_ms is None:
        return None
    if (isinstance(duration_ms, bool) or not isinstance(duration_ms, (int, float, np.integer, np.floating))
            or not math.isfinite(duration_ms) or duration_ms < 0):
        raise DataError(f"field 'duration_ms' must be a finite number >= 0 (milliseconds), got {duration_ms!r}.",
                        fix="pass the time the decision took in milliseconds, or None when unknown.")
    return float(duration_ms)


def _is_integer(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _check_position(position: Any) -> int:
    if not _is_integer(position) or position < 0:
        raise DataError(f"field 'position' must be a pool position (an integer >= 0), got {position!r} "
                        f"({type(position).__name__}).",
                        fix="pass the row's integer position in the dataset (not a float or a boolean).")
    return int(position)


def _check_iteration(iteration: Any) -> int:
    if not _is_integer(iteration) or iteration < 0:
        raise DataError(f"field 'iteration' must be an integer >= 0, got {iteration!r} "
                        f"({type(iteration).__name__}).")
    return int(iteration)


def _is_label_atom(value: Any) -> bool:
    return (isinstance(value, str) and value != "") or _is_integer(value)


def _check_value(value: Any, position: int) -> Any:
    """A label value as the log stores it: a non-empty name, an integer class id, or a
    list of those (multi-label names, NER tags)."""
    if _is_label_atom(value) or (isinstance(value, list) and all(_is_label_atom(v) for v in value)):
        return value
    raise DataError(
        f"position {position}: field 'value' must be a class name or id, or a list of names or tags; "
        f"got {value!r} ({type(value).__name__}).",
        fix="label with a class name (e.g. 'Sports'), a list of names for multi-label, or a tag list "
            "for NER; floats, None, booleans, NaN and nested lists are not labels.")


def _snapshot_problem(state: Any) -> str | None:
    """Why a parsed snapshot cannot be used, or None when it can."""
    if not isinstance(state, dict):
        return "not a JSON object"
    if state.get("version") != SNAPSHOT_VERSION:
        return f"version {state.get('version')!r}, expected {SNAPSHOT_VERSION}"
    for field in ("queue", "current"):
        positions = state.get(field)
        if not isinstance(positions, list) or not all(_is_integer(p) and p >= 0 for p in positions):
            return f"field {field!r} is not a list of pool positions"
    if not _is_integer(state.get("iteration")) or state["iteration"] < 0:
        return "field 'iteration' is not an integer >= 0"
    return None


def _char_spans(tokens: Sequence[str], tags: Sequence[str]) -> list[tuple[str, int, int]]:
    starts, offset = [], 0
    for token in tokens:
        starts.append(offset)
        offset += len(token) + 1
    return [(kind, starts[s], starts[e - 1] + len(tokens[e - 1])) for kind, s, e in entity_spans(tags)]


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value
