"""A crash-safe annotation store: an append-only JSON Lines log of decisions plus atomic
snapshots of the queue, the iteration and the learner.

Every decision (``label``, ``skip``, ``undo``) is one line, written, flushed and
``os.fsync``-ed before the call returns, so a killed kernel loses at most the decision
that was being written. Snapshots go to a temporary file that is fsynced and then moved
over the old one with ``os.replace`` (atomic on POSIX). The user's log is never rewritten
in place: a corrupt line (e.g. half-written when the machine died) is reported with a
warning naming the file and line, and skipped.
"""

from __future__ import annotations

import json
import os
import threading
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from labelwise.errors import DataError

ACTIONS = ("label", "skip", "undo")
SNAPSHOT_VERSION = 1


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
    """

    action: str
    position: int
    value: Any
    timestamp: float
    iteration: int
    line: int = 0

    def to_json(self) -> str:
        return json.dumps({"action": self.action, "position": self.position, "value": self.value,
                           "timestamp": self.timestamp, "iteration": self.iteration},
                          ensure_ascii=False)


class AnnotationStore:
    """Decisions in ``path`` (JSON Lines), the latest snapshot in ``path + ".snapshot.json"``,
    the learner's saved state in ``path + ".learner/"``.

    Opening an existing store replays its log: :attr:`labels` (position → value, undo
    applied), :attr:`skipped`, and :meth:`load_snapshot` give back the queue and iteration.

    >>> store = AnnotationStore("annotations.jsonl")
    >>> store.record_label(17, "Sports", iteration=0)
    >>> store.labels
    {17: 'Sports'}
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self.snapshot_path = self.path.with_name(self.path.name + ".snapshot.json")
        self.learner_dir = self.path.with_name(self.path.name + ".learner")
        self._lock = threading.Lock()
        self._snapshot_lock = threading.Lock()
        self.decisions: list[Decision] = []
        self.corrupt_lines: list[int] = []
        self._needs_newline = False
        self._line_count = 0
        if self.path.exists():
            self._replay()
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._handle = open(self.path, "ab")  # noqa: SIM115 (kept open for the session)

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
                record = json.loads(raw.decode("utf-8"))
                decision = Decision(str(record["action"]), int(record["position"]), record.get("value"),
                                    float(record["timestamp"]), int(record["iteration"]), number)
                if decision.action not in ACTIONS:
                    raise ValueError(f"unknown action {decision.action!r}")
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

    @property
    def labels(self) -> dict[int, Any]:
        """Current label of every labeled position (log replayed, undo applied), in the
        order they were first labeled."""
        return _replay_state(self.decisions)[0]

    @property
    def skipped(self) -> set[int]:
        """Positions whose latest (not undone) decision is a skip."""
        return _replay_state(self.decisions)[1]

    @property
    def n_decisions(self) -> int:
        return len(self.decisions)

    # ---- writing ------------------------------------------------------------------------
    def _append(self, decision: Decision) -> Decision:
        payload = decision.to_json().encode("utf-8") + b"\n"
        with self._lock:
            if self._needs_newline:
                # Terminate a half-written last line by appending, never by rewriting it.
                payload = b"\n" + payload
                self._line_count += 1
                self._needs_newline = False
            self._handle.write(payload)
            self._handle.flush()
            os.fsync(self._handle.fileno())
            self._line_count += 1
            stored = Decision(decision.action, decision.position, decision.value,
                              decision.timestamp, decision.iteration, self._line_count)
            self.decisions.append(stored)
        return stored

    def record_label(self, position: int, value: Any, *, iteration: int) -> Decision:
        """Append a label decision; returns once it is on disk (fsynced)."""
        return self._append(Decision("label", int(position), _jsonable(value), time.time(), int(iteration)))

    def record_skip(self, position: int, *, iteration: int) -> Decision:
        return self._append(Decision("skip", int(position), None, time.time(), int(iteration)))

    def record_undo(self, position: int, *, iteration: int) -> Decision:
        """Undo the latest label or skip of ``position``."""
        return self._append(Decision("undo", int(position), None, time.time(), int(iteration)))

    def close(self) -> None:
        with self._lock:
            if not self._handle.closed:
                self._handle.close()

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
            if learner is not None:
                learner.save(self.learner_dir)
                state["learner"] = str(self.learner_dir.name)
            atomic_write_text(self.snapshot_path, json.dumps(state))
        return self.snapshot_path

    def save_learner(self, learner: Any) -> Path:
        """Save the learner's state (``learner.save``) beside the log, in :attr:`learner_dir`."""
        with self._snapshot_lock:
            learner.save(self.learner_dir)
        return self.learner_dir

    def load_snapshot(self) -> dict[str, Any] | None:
        """The latest snapshot, or ``None`` when there is none (a corrupt one warns)."""
        if not self.snapshot_path.exists():
            return None
        try:
            state = json.loads(self.snapshot_path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            warnings.warn(f"{self.snapshot_path}: unreadable snapshot ignored ({error}); the queue "
                          "will be ranked again from the labels in the log.", CorruptLineWarning, stacklevel=2)
            return None
        if state.get("version") != SNAPSHOT_VERSION:
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
        by_position = {d.position: d for d in self.decisions if d.action == "label"}
        lines = [Decision("label", p, v, by_position[p].timestamp, by_position[p].iteration).to_json()
                 for p, v in self.labels.items()]
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
        try:
            import datasets
        except ImportError as error:  # pragma: no cover - depends on the environment
            raise ImportError("to_hf_dataset needs `datasets`: pip install 'labelwise[transformers]'.") from error
        rows = self._rows(dataset)
        if dataset.task == "tagging":
            return datasets.Dataset.from_dict({"position": [r[0] for r in rows],
                                               "tokens": [list(r[1]) for r in rows],
                                               "tags": [list(r[2]) for r in rows]})
        return datasets.Dataset.from_dict({"position": [r[0] for r in rows], "text": [r[1] for r in rows],
                                           "label": [r[2] for r in rows]})

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


def _replay_state(decisions: Sequence[Decision]) -> tuple[dict[int, Any], set[int]]:
    # Per position, a stack of label/skip decisions; undo pops the latest one.
    stacks: dict[int, list[Decision]] = {}
    for decision in decisions:
        stack = stacks.setdefault(decision.position, [])
        if decision.action == "undo":
            if stack:
                stack.pop()
        else:
            stack.append(decision)
    labels = {}
    for decision in decisions:  # first-labeled order
        stack = stacks.get(decision.position)
        if stack and stack[-1].action == "label" and decision.position not in labels:
            labels[decision.position] = stack[-1].value
    skipped = {p for p, stack in stacks.items() if stack and stack[-1].action == "skip"}
    return labels, skipped


def entity_spans(tags: Sequence[str]) -> list[tuple[str, int, int]]:
    """IOB2 tags to ``(type, start, end)`` token spans (end exclusive)."""
    spans: list[tuple[str, int, int]] = []
    current: list[Any] | None = None
    for i, tag in enumerate(list(tags) + ["O"]):
        prefix, _, kind = tag.partition("-")
        if current is not None and not (prefix == "I" and kind == current[0]):
            spans.append((current[0], current[1], i))
            current = None
        if prefix in ("B", "I") and current is None:
            current = [kind, i]
    return spans


def _char_spans(tokens: Sequence[str], tags: Sequence[str]) -> list[tuple[str, int, int]]:
    starts, offset = [], 0
    for token in tokens:
        starts.append(offset)
        offset += len(token) + 1
    return [(kind, starts[s], starts[e - 1] + len(tokens[e - 1])) for kind, s, e in entity_spans(tags)]


def atomic_write_text(path: Path, text: str) -> Path:
    """Write ``text`` to a temporary file beside ``path``, fsync it, then ``os.replace``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    with open(temporary, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    return path


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
