"""Converting an annotation store plus its dataset to files, and Label Studio files back.

Every export writes atomically (:mod:`labelwise._io`) and loads back exactly:

- JSON Lines: ``{"position", "text"|"tokens", "label"|"tags"}`` per labeled row.
- CSV: ``position,text,label`` (multi-label: names joined by ``,``); tagging rows hold
  ``tokens`` and ``tags`` as JSON lists, so tokens may contain spaces and commas.
- CoNLL: ``token<TAB>tag`` lines under a ``-DOCSTART-<TAB>labelwise:escaped`` marker, with
  whitespace, empty tokens and ``-DOCSTART-`` escaped (:mod:`labelwise.data.conll_escapes`);
  :func:`labelwise.data.load_conll` reads it back token for token.
- Label Studio: one task per labeled row, carrying its pool ``position`` and the pool's
  ``pool_fingerprint``; :func:`import_label_studio` maps an export from Label Studio back
  onto pool positions (choices, multi-label choices, NER spans onto tokens).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

from labelwise._io import atomic_write_text
from labelwise.data.conll_escapes import MARKER_LINE, escape_field
from labelwise.data.tagging_schemes import entity_spans
from labelwise.errors import DataError

FROM_NAME = "label"
TO_NAME = "text"


def labeled_rows(store: Any, dataset: Any) -> list[tuple[int, Any, Any]]:
    """``(position, input, value)`` for each labeled position of ``store``, first-labeled
    order; a position outside ``dataset`` is a DataError."""
    rows = []
    for position, value in store.labels.items():
        if not 0 <= position < len(dataset):
            raise DataError(f"labeled position {position} lies outside the dataset (size {len(dataset)}).",
                            path=str(store.path), fix="export with the dataset the store was made for.")
        rows.append((position, dataset.inputs[position], value))
    return rows


# ---- JSON Lines, CSV, CoNLL ---------------------------------------------------------------
def export_jsonl(store: Any, dataset: Any, path: str | os.PathLike) -> Path:
    """One JSON object per labeled row; loads back with :func:`labelwise.data.load_dataset`."""
    lines = [json.dumps(dataset.export_record(position, value), ensure_ascii=False) + "\n"
             for position, _, value in labeled_rows(store, dataset)]
    return atomic_write_text(Path(path), "".join(lines))


def export_csv(store: Any, dataset: Any, path: str | os.PathLike) -> Path:
    """Columns ``position,text,label`` (multi-label: names joined by ``,``), or for tagging
    ``position,tokens,tags`` holding JSON lists (tokens may contain spaces)."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(dataset.export_fields)
    for position, _, value in labeled_rows(store, dataset):
        writer.writerow(dataset.export_record(position, value, flat=True).values())
    return atomic_write_text(Path(path), buffer.getvalue())


def export_conll(store: Any, dataset: Any, path: str | os.PathLike) -> Path:
    """CoNLL column file of the labeled sentences, exact for any token; NER stores only."""
    if dataset.task != "tagging":
        raise DataError("CoNLL export is for tagging (NER) annotations.", path=str(store.path),
                        fix="use export_jsonl or export_csv for classification.")
    blocks = []
    for position, tokens, tags in labeled_rows(store, dataset):
        if len(tokens) != len(tags):
            raise DataError(f"position {position} has {len(tokens)} tokens but {len(tags)} stored tags.",
                            path=str(store.path), fix="relabel that sentence.")
        blocks.append("".join(f"{escape_field(str(token))}\t{escape_field(str(tag))}\n"
                              for token, tag in zip(tokens, tags, strict=True)))
    return atomic_write_text(Path(path), MARKER_LINE + "\n\n" + "\n".join(blocks))


# ---- Label Studio -------------------------------------------------------------------------
def pool_fingerprint(dataset: Any) -> str:
    """A short hash of the pool's inputs in order: an export is imported against the pool it
    was made from."""
    digest = hashlib.sha256()
    for item in dataset.inputs:
        digest.update(json.dumps(item if isinstance(item, str) else list(item), ensure_ascii=False).encode())
        digest.update(b"\n")
    return digest.hexdigest()[:16]


def _tagging_text(tokens: Sequence[str]) -> tuple[str, list[int]]:
    """Tokens joined by single spaces, with each token's character start."""
    starts, offset = [], 0
    for token in tokens:
        starts.append(offset)
        offset += len(token) + 1
    return " ".join(tokens), starts


def export_label_studio(store: Any, dataset: Any, path: str | os.PathLike) -> Path:
    """Label Studio tasks (``[{"id", "data": {"text", "position", "pool_fingerprint"},
    "annotations": [{"result": [...]}]}]``) for the labeling config of
    :func:`label_studio_config`: ``choices`` for classification, character-offset
    ``labels`` spans for NER (tokens joined by single spaces)."""
    fingerprint = pool_fingerprint(dataset)
    tasks = []
    for position, item, value in labeled_rows(store, dataset):
        data: dict[str, Any] = {"position": position, "pool_fingerprint": fingerprint}
        if dataset.task == "tagging":
            text, starts = _tagging_text(item)
            data.update(text=text, tokens=list(item))
            results = [{"from_name": FROM_NAME, "to_name": TO_NAME, "type": "labels",
                        "value": {"start": starts[s], "end": starts[e - 1] + len(item[e - 1]),
                                  "text": text[starts[s]:starts[e - 1] + len(item[e - 1])], "labels": [kind]}}
                       for kind, s, e in entity_spans(value)]
        else:
            data["text"] = item
            choices = value if isinstance(value, list) else [value]
            results = [{"from_name": FROM_NAME, "to_name": TO_NAME, "type": "choices",
                        "value": {"choices": choices}}]
        tasks.append({"id": position, "data": data, "annotations": [{"result": results}]})
    return atomic_write_text(Path(path), json.dumps(tasks, ensure_ascii=False, indent=1))


def label_studio_config(dataset: Any) -> str:
    """The Label Studio labeling config (XML) that matches :func:`export_label_studio` and
    :func:`import_label_studio` for ``dataset``."""
    if dataset.task == "tagging":
        kinds = sorted({tag.partition("-")[2] for tag in dataset.tag_names if tag != "O"})
        labels = "".join(f"\n    <Label value={quoteattr(kind)}/>" for kind in kinds)
        return (f'<View>\n  <Labels name="{FROM_NAME}" toName="{TO_NAME}">{labels}\n  </Labels>\n'
                f'  <Text name="{TO_NAME}" value="$text" granularity="word"/>\n</View>\n')
    if dataset.task != "classification":
        raise DataError(f"Label Studio export covers classification and tagging, not {dataset.task}.")
    choice = "multiple" if dataset.multi_label else "single"
    options = "".join(f"\n    <Choice value={quoteattr(name)}/>" for name in dataset.label_names)
    return (f'<View>\n  <Text name="{TO_NAME}" value="$text"/>\n'
            f'  <Choices name="{FROM_NAME}" toName="{TO_NAME}" choice="{choice}">{options}\n'
            "  </Choices>\n</View>\n")


@dataclass(frozen=True)
class LabelStudioImport:
    """What :func:`import_label_studio` read.

    Attributes:
        labels: pool position -> label in the store's form (class name, list of names for
            multi-label, tag list for NER), in file order.
        dataset: the labeled rows (``dataset.subset(positions)`` with these labels).
        skipped_tasks: ids of tasks without a usable annotation (none, or cancelled).
    """

    labels: dict[int, Any]
    dataset: Any
    skipped_tasks: tuple[Any, ...]

    @property
    def positions(self) -> list[int]:
        return list(self.labels)


def import_label_studio(path: str | os.PathLike, dataset: Any, store: Any = None, *,
                        iteration: int = 0) -> LabelStudioImport:
    """Read a Label Studio JSON export (the "JSON" format: a list of tasks with their
    annotations) back onto ``dataset``'s pool positions.

    Each task is placed by ``data.position`` (written by :func:`export_label_studio`); a task
    without one is placed by its exact text when that text occurs once in the pool. The
    task's text must equal the pool's text at that position. The latest annotation that was
    not cancelled counts. Classification reads ``choices`` (one, or several for a
    multi-label dataset); NER reads ``labels`` spans, each of which must start and end on
    token boundaries of the space-joined tokens. With ``store``, every label is also
    appended to it (``record_label``, at ``iteration``).
    """
    path = Path(path)
    return import_label_studio_tasks(_read_tasks(path), dataset, store, iteration=iteration, source=path)


def import_label_studio_tasks(tasks: Sequence[dict], dataset: Any, store: Any = None, *,
                              iteration: int = 0, source: str | os.PathLike = "Label Studio"
                              ) -> LabelStudioImport:
    """:func:`import_label_studio` on tasks already read (e.g. from the Label Studio API);
    errors name ``source`` where the file import names the file. Every task is validated
    before anything is appended to ``store``."""
    path = source
    lookup = _PositionLookup(dataset)
    labels: dict[int, Any] = {}
    skipped = []
    for number, task in enumerate(tasks, start=1):
        task_id = task.get("id", f"#{number}")
        where = f"task {task_id}"
        data = task.get("data") or {}
        position = lookup.position(data, where, path)
        results = _latest_result(task)
        if results is None:
            skipped.append(task_id)
            continue
        if dataset.task == "tagging":
            value = _tags_from_spans(results, dataset.inputs[position], dataset, where, path)
        elif dataset.task == "classification":
            value = _choices(results, dataset, where, path)
            if value is None:
                skipped.append(task_id)
                continue
        else:
            raise DataError(f"Label Studio import covers classification and tagging, not {dataset.task}.")
        labels[position] = value
    if store is not None:
        for position, value in labels.items():
            store.record_label(position, value, iteration=iteration)
    return LabelStudioImport(labels, _labeled_subset(dataset, labels), tuple(skipped))


def _read_tasks(path: Path) -> list[dict]:
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError("file not found.", path=str(path), fix="check the path of the Label Studio export.") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise DataError(f"not a JSON file ({error}).", path=str(path),
                        fix="export from Label Studio in the 'JSON' format.") from None
    if isinstance(content, dict):
        content = [content]
    if not isinstance(content, list) or not all(isinstance(task, dict) for task in content):
        raise DataError("expected a list of Label Studio tasks.", path=str(path),
                        fix="export from Label Studio in the 'JSON' format (not JSON-MIN or CSV).")
    return content


class _PositionLookup:
    def __init__(self, dataset: Any) -> None:
        self.dataset = dataset
        self.fingerprint = pool_fingerprint(dataset)
        self._by_text: dict[str, list[int]] | None = None

    def _text(self, position: int) -> str:
        item = self.dataset.inputs[position]
        return item if isinstance(item, str) else _tagging_text(item)[0]

    def position(self, data: dict, where: str, path: Any) -> int:
        text = data.get("text")
        raw = data.get("position")
        if raw is None:
            if not isinstance(text, str):
                raise DataError(f"{where} has neither data.position nor data.text.", path=str(path),
                                fix="import tasks exported by labelwise, or give each task its pool position.")
            if self._by_text is None:
                self._by_text = {}
                for position in range(len(self.dataset)):
                    self._by_text.setdefault(self._text(position), []).append(position)
            matches = self._by_text.get(text, [])
            if len(matches) != 1:
                raise DataError(f"{where} has no data.position and its text occurs {len(matches)} times in the pool.",
                                path=str(path), fix="give the task its pool position in data.position.")
            return matches[0]
        if isinstance(raw, bool) or not isinstance(raw, int) or not 0 <= raw < len(self.dataset):
            raise DataError(f"{where}: data.position {raw!r} is not a position of the pool (size {len(self.dataset)}).",
                            path=str(path), fix="import with the dataset the tasks were exported from.")
        if text is not None and text != self._text(raw):
            stale = data.get("pool_fingerprint") not in (None, self.fingerprint)
            raise DataError(
                f"{where}: its text differs from the pool's text at position {raw}"
                + (" (the export was made from another pool: its pool_fingerprint differs)." if stale else "."),
                path=str(path), fix="import with the dataset the tasks were exported from.")
        return raw


def _latest_result(task: dict) -> list[dict] | None:
    annotations = [a for a in task.get("annotations") or [] if isinstance(a, dict) and not a.get("was_cancelled")]
    if not annotations:
        return None
    if all("updated_at" in a for a in annotations):
        annotations.sort(key=lambda a: str(a["updated_at"]))
    result = annotations[-1].get("result")
    return result if isinstance(result, list) else []


def _choices(results: list[dict], dataset: Any, where: str, path: Any) -> Any:
    chosen: list[str] = []
    for result in results:
        if result.get("type") == "choices":
            chosen.extend(str(c) for c in (result.get("value") or {}).get("choices") or [])
    unknown = [c for c in chosen if c not in dataset.label_names]
    if unknown:
        raise DataError(f"{where}: unknown choice(s) {unknown}; the dataset's labels are {list(dataset.label_names)}.",
                        path=str(path), fix="make the Choice values of the labeling config the dataset's labels.")
    if dataset.multi_label:
        return list(dict.fromkeys(chosen))
    if not chosen:
        return None
    if len(set(chosen)) > 1:
        raise DataError(f"{where}: several choices {chosen} for a single-label dataset.", path=str(path),
                        fix='use choice="single" in the labeling config, or load the data as multi_label.')
    return chosen[0]


def _tags_from_spans(results: list[dict], tokens: Sequence[str], dataset: Any, where: str,
                     path: Any) -> list[str]:
    text, starts = _tagging_text(tokens)
    token_at_start = {start: i for i, start in enumerate(starts)}
    token_at_end = {start + len(token): i for i, (start, token) in enumerate(zip(starts, tokens, strict=True))}
    tags = ["O"] * len(tokens)
    allowed = set(dataset.tag_names)
    for result in results:
        if result.get("type") != "labels":
            continue
        value = result.get("value") or {}
        start, end, kinds = value.get("start"), value.get("end"), value.get("labels") or []
        shown = f"[{start}, {end}) {text[start:end]!r}" if isinstance(start, int) and isinstance(end, int) else repr(value)
        if len(kinds) != 1:
            raise DataError(f"{where}: the span {shown} has {len(kinds)} labels; one is expected.", path=str(path),
                            fix="give each span exactly one label.")
        first, last = token_at_start.get(start), token_at_end.get(end)
        if first is None or last is None or last < first:
            raise DataError(f"{where}: the span {shown} does not start and end on token boundaries.",
                            path=str(path), fix="select whole tokens (Label Studio: granularity=\"word\").")
        kind = str(kinds[0])
        if allowed and f"B-{kind}" not in allowed:
            raise DataError(f"{where}: unknown entity type {kind!r}; the dataset's tags are {sorted(allowed)}.",
                            path=str(path), fix="make the Label values of the labeling config the entity types.")
        if any(tag != "O" for tag in tags[first:last + 1]):
            raise DataError(f"{where}: the span {shown} overlaps another span.", path=str(path),
                            fix="keep entity spans disjoint (IOB2 tags cannot nest).")
        tags[first] = f"B-{kind}"
        for i in range(first + 1, last + 1):
            tags[i] = f"I-{kind}"
    return tags


def _labeled_subset(dataset: Any, labels: dict[int, Any]) -> Any:
    positions = list(labels)
    return dataset.subset(positions).with_labels(
        [dataset.encode_label(labels[p], f"position {p}", position=p) for p in positions])
