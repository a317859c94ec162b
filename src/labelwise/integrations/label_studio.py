"""Label Studio as the annotation front end: the pool goes in as tasks ranked by the
strategy, annotations come back to the learner and the crash-safe store.

How Label Studio's order follows active learning: the project uses Label Studio's
"Uncertainty sampling", which serves first the task whose prediction (of the project's
current ``model_version``) has the *lowest* score. Each ranking imports one prediction per
unlabeled task with its rank scaled to [0, 1] as score (Label Studio accepts no
other range; 0 = most informative) and the model's pre-annotation as its result under a fresh model version, and makes that version the project's. Ranking again
after a retrain swaps the predictions in bulk.

>>> client = LabelStudioClient("http://127.0.0.1:8080", token)
>>> project = LabelStudioProject.create_or_update(client, pool, title="AG News")
>>> project.push(learner)                  # tasks + pre-annotations + AL order
>>> result = project.pull(learner, store)  # new annotations -> store -> learner (retrains)
>>> project.rerank(learner)                # the order after the retrain
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import quoteattr

import numpy as np

from labelwise._deprecation import renamed
from labelwise.annotate.exports import (
    FROM_NAME,
    TO_NAME,
    _tagging_text,
    import_label_studio_tasks,
    label_studio_config,
    pool_fingerprint,
)
from labelwise.data.tagging_schemes import entity_spans
from labelwise.errors import ConfigError, DataError
from labelwise.integrations._http import LabelStudioClient, LabelStudioError

__all__ = ["LabelStudioClient", "LabelStudioError", "LabelStudioProject", "PullResult", "Ranking",
           "label_value", "labeling_config", "pool_tasks", "prediction_result", "rank_pool"]

UNCERTAINTY_SAMPLING = "Uncertainty sampling"
UPLOAD_BATCH = 1000
RANKING_VIEW = "labelwise ranking"


# ---- labeling config and task form ---------------------------------------------------------
def labeling_config(dataset: Any) -> str:
    """The labeling config (XML) for ``dataset``: Choices (single or multiple) for
    classification, Labels on words for NER, a TextArea for seq2seq targets (summaries)."""
    if dataset.task == "seq2seq":
        return (f'<View>\n  <Text name="{TO_NAME}" value="$text"/>\n'
                f'  <TextArea name="{FROM_NAME}" toName="{TO_NAME}" rows="4" editable="true" '
                f'maxSubmissions="1" placeholder={quoteattr("Write the summary")}/>\n</View>\n')
    return label_studio_config(dataset)


def _task_text(dataset: Any, position: int) -> str:
    item = dataset.inputs[position]
    return item if isinstance(item, str) else _tagging_text(item)[0]


def pool_tasks(dataset: Any, positions: Sequence[int], fingerprint: str | None = None) -> list[dict]:
    """Label Studio tasks for pool ``positions``: ``{"data": {"text", "position",
    "pool_fingerprint"}}`` (and ``tokens`` for NER), as :func:`import_label_studio_tasks` reads them."""
    fingerprint = fingerprint or pool_fingerprint(dataset)
    tasks = []
    for position in positions:
        data: dict[str, Any] = {"text": _task_text(dataset, int(position)), "position": int(position),
                                "pool_fingerprint": fingerprint}
        if dataset.task == "tagging":
            data["tokens"] = list(dataset.inputs[int(position)])
        tasks.append({"data": data})
    return tasks


def prediction_result(dataset: Any, position: int, value: Any) -> list[dict]:
    """A label in the store's form (class name, list of names, tag list, target text) as a
    Label Studio ``result`` list for ``position``."""
    if dataset.task == "tagging":
        tokens = dataset.inputs[position]
        text, starts = _tagging_text(tokens)
        results = []
        for kind, first, end in entity_spans(list(value)):
            start, stop = starts[first], starts[end - 1] + len(tokens[end - 1])
            results.append({"from_name": FROM_NAME, "to_name": TO_NAME, "type": "labels",
                            "value": {"start": start, "end": stop, "text": text[start:stop], "labels": [kind]}})
        return results
    if dataset.task == "seq2seq":
        return [{"from_name": FROM_NAME, "to_name": TO_NAME, "type": "textarea", "value": {"text": [str(value)]}}]
    choices = value if isinstance(value, list) else [value]
    return [{"from_name": FROM_NAME, "to_name": TO_NAME, "type": "choices", "value": {"choices": choices}}]


def label_value(dataset: Any, prediction: Any) -> Any:
    """One row of ``model.predict`` in the store's form (class name, list of names, tag list, text)."""
    if dataset.task == "tagging":
        return [str(tag) for tag in prediction]
    if dataset.task == "seq2seq":
        return str(prediction)
    if getattr(dataset, "multi_label", False):
        return [dataset.label_names[i] for i in np.flatnonzero(np.asarray(prediction).reshape(-1))]
    return dataset.label_names[int(prediction)]


def validate_tasks(tasks: Sequence[dict], dataset: Any, source: str) -> tuple[dict[int, Any], list[str]]:
    """Validate annotated tasks against ``dataset``: ``(position -> label, errors)``.

    Every task must carry the current pool's fingerprint (a pool that changed under the
    project is an error for each of its tasks, whatever the text). Classification and NER
    go through :func:`~labelwise.annotate.exports.import_label_studio_tasks` (unknown label,
    span off token boundaries, text that differs from the pool); seq2seq reads the
    TextArea. A task that fails adds one message to ``errors`` and no label."""
    fingerprint = pool_fingerprint(dataset)
    labels: dict[int, Any] = {}
    errors: list[str] = []
    checked = []
    for task in tasks:
        data = task.get("data") or {}
        found = data.get("pool_fingerprint")
        if found != fingerprint:
            errors.append(f"{source}: task {task.get('id')} was made from another pool (pool_fingerprint "
                          f"{found!r}, this pool {fingerprint!r}). Fix: pull with the dataset the project was "
                          "pushed from, or push this pool to a new project.")
            continue
        checked.append(task)
    if dataset.task == "seq2seq":
        for task in checked:
            try:
                position, text = _seq2seq_label(task, dataset, source)
            except DataError as error:
                errors.append(str(error))
                continue
            if text is not None:
                labels[position] = text
        return labels, errors
    try:
        labels.update(import_label_studio_tasks(checked, dataset, source=source).labels)
    except DataError:
        for task in checked:  # one by one, so one bad task does not hide the good ones
            try:
                labels.update(import_label_studio_tasks([task], dataset, source=source).labels)
            except DataError as error:
                errors.append(str(error))
    return labels, errors


def _seq2seq_label(task: dict, dataset: Any, source: str) -> tuple[int, str | None]:
    data = task.get("data") or {}
    position = data.get("position")
    where = f"task {task.get('id')}"
    if isinstance(position, bool) or not isinstance(position, int) or not 0 <= position < len(dataset):
        raise DataError(f"{where}: data.position {position!r} is not a position of the pool (size {len(dataset)}).",
                        path=source, fix="pull with the dataset the tasks were pushed from.")
    if data.get("text") != dataset.inputs[position]:
        raise DataError(f"{where}: its text differs from the pool's text at position {position}.", path=source,
                        fix="pull with the dataset the tasks were pushed from.")
    annotations = [a for a in task.get("annotations") or [] if not a.get("was_cancelled")]
    if not annotations:
        return position, None
    annotations.sort(key=lambda a: str(a.get("updated_at", "")))
    texts = [str(t) for r in annotations[-1].get("result") or [] if r.get("type") == "textarea"
             for t in (r.get("value") or {}).get("text") or []]
    text = "\n".join(texts).strip()
    if not text:
        raise DataError(f"{where}: the annotation has no summary text.", path=source,
                        fix="write the summary in the TextArea, or skip the task.")
    return position, text


# ---- ranking -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Ranking:
    """Unlabeled positions, most informative first, with their strategy scores (NaN = not
    scored) and the model's predictions (store form; empty before the first fit)."""

    positions: list[int]
    scores: dict[int, float]
    predictions: dict[int, Any] = field(default_factory=dict)


def rank_pool(learner: Any, query_size: int | None = None, *, predict: bool = True,
              batch_size: int | None = None) -> Ranking:
    """Score the unlabeled pool with the learner's strategy, querying ``query_size``
    (default 10) rows (the queried positions are released at once: Label Studio, not the
    learner, holds the queue). ``batch_size=`` is the old name of ``query_size=``."""
    query_size = renamed(query_size, batch_size, old="batch_size", new="query_size", where="rank_pool()",
                         default=10, why="batch_size means the SGD mini-batch only")
    unlabeled = learner.unlabeled_indices
    if len(unlabeled) == 0:
        return Ranking([], {})
    selection = learner.query(min(int(query_size), len(unlabeled)))
    learner.release(selection.indices)
    scores = selection.pool_scores(learner.n_pool)[unlabeled]
    order = np.argsort(-np.nan_to_num(scores, nan=-np.inf), kind="stable")
    positions = unlabeled[order].tolist()
    predictions: dict[int, Any] = {}
    if predict and learner.model_is_fitted:
        pool = learner.pool
        predicted = learner.model.predict(pool.subset(positions).without_labels())
        predictions = {p: label_value(pool, row) for p, row in zip(positions, predicted, strict=True)}
    return Ranking(positions, {int(p): float(s) for p, s in zip(unlabeled, scores, strict=True)}, predictions)


def priority_scores(ranking: Ranking) -> dict[int, float]:
    """Label Studio prediction scores: it serves the lowest first and accepts only [0, 1],
    so the rank in ``ranking`` scaled to [0, 1] (0 = most informative)."""
    last = max(len(ranking.positions) - 1, 1)
    return {position: rank / last for rank, position in enumerate(ranking.positions)}


# ---- the project ---------------------------------------------------------------------------
@dataclass
class PullResult:
    """What :meth:`LabelStudioProject.pull` did: ``taught`` (position -> label, new or
    changed), ``unchanged`` (already in the store with that label), ``errors`` (one message
    per rejected task; nothing of those was written)."""

    taught: dict[int, Any]
    unchanged: list[int]
    errors: list[str]


class LabelStudioProject:
    """One Label Studio project holding ``dataset``'s pool as tasks (use
    :meth:`create_or_update`)."""

    def __init__(self, client: LabelStudioClient, project_id: int, dataset: Any) -> None:
        self.client = client
        self.id = int(project_id)
        self.dataset = dataset
        self.fingerprint = pool_fingerprint(dataset)
        self.model_version: str | None = None

    @property
    def source(self) -> str:
        return f"Label Studio {self.client.url} project {self.id}"

    @classmethod
    def create_or_update(cls, client: LabelStudioClient, dataset: Any, *, title: str,
                         project_id: int | None = None, description: str = "") -> LabelStudioProject:
        """The project ``project_id`` (or the one titled ``title``; created when there is
        none) with the labeling config of ``dataset`` and uncertainty sampling."""
        settings = {"title": title, "label_config": labeling_config(dataset), "sampling": UNCERTAINTY_SAMPLING,
                    "show_collab_predictions": True}
        if description:
            settings["description"] = description
        if project_id is None:
            answer = client.request("GET", "/api/projects", query={"title": title, "page_size": 1000})
            matches = [p for p in _results(answer) if p.get("title") == title]
            project_id = matches[0]["id"] if matches else None
        if project_id is None:
            project_id = client.request("POST", "/api/projects", settings)["id"]
        else:
            client.request("PATCH", f"/api/projects/{int(project_id)}", settings)
        return cls(client, project_id, dataset)

    # ---- tasks ---------------------------------------------------------------------------
    def tasks(self, *, annotated_only: bool = False) -> list[dict]:
        """Every task of the project (with its annotations), through the JSON export."""
        query = {"exportType": "JSON", "download_all_tasks": "false" if annotated_only else "true"}
        answer = self.client.request("GET", f"/api/projects/{self.id}/export", query=query)
        return answer if isinstance(answer, list) else []

    def task_ids(self) -> dict[int, int]:
        """Pool position -> task id, for the tasks of this pool (deleted tasks are absent).

        Raises DataError when the project holds tasks of another pool."""
        ids: dict[int, int] = {}
        for task in self.tasks():
            data = task.get("data") or {}
            if data.get("pool_fingerprint") != self.fingerprint:
                raise DataError(
                    f"task {task.get('id')} was made from another pool (pool_fingerprint "
                    f"{data.get('pool_fingerprint')!r}, this pool {self.fingerprint!r}).", path=self.source,
                    fix="use the dataset the project was pushed from, or push this pool to a new project.")
            ids[int(data["position"])] = int(task["id"])
        return ids

    def push(self, learner: Any, *, positions: Sequence[int] | None = None, query_size: int | None = None,
             batch_size: int | None = None) -> Ranking:
        """Import the learner's unlabeled pool (or ``positions``) as tasks, skipping those
        already in the project, then rank them (:meth:`rerank`)."""
        query_size = renamed(query_size, batch_size, old="batch_size", new="query_size",
                             where="LabelStudioProject.push()", default=10,
                             why="batch_size means the SGD mini-batch only")
        self.import_tasks(learner.unlabeled_indices.tolist() if positions is None else positions)
        self.ranking_view()
        return self.rerank(learner, query_size=query_size)

    def import_tasks(self, positions: Sequence[int]) -> list[int]:
        """Import the pool ``positions`` that have no task yet; returns those imported."""
        present = self.task_ids()
        missing = [int(p) for p in positions if int(p) not in present]
        for start in range(0, len(missing), UPLOAD_BATCH):
            chunk = pool_tasks(self.dataset, missing[start:start + UPLOAD_BATCH], self.fingerprint)
            self.client.request("POST", f"/api/projects/{self.id}/import", chunk,
                                query={"commit_to_project": "true"})
        return missing

    def ranking_view(self, title: str = RANKING_VIEW) -> int:
        """A data manager tab ordered like the label stream (prediction score, lowest first)
        showing the score; created once. Returns its id."""
        views = self.client.request("GET", "/api/dm/views", query={"project": self.id}) or []
        for view in views:
            if (view.get("data") or {}).get("title") == title:
                return int(view["id"])
        hidden = [f"tasks:{column}" for column in (
            "inner_id", "completed_at", "total_annotations", "cancelled_annotations", "total_predictions",
            "annotators", "annotations_results", "annotations_ids", "predictions_model_versions", "file_upload",
            "storage_filename", "created_at", "updated_at", "updated_by", "avg_lead_time", "draft_exists",
            "data.pool_fingerprint", "data.tokens")]
        data = {"title": title, "ordering": ["tasks:predictions_score"],
                "hiddenColumns": {"explore": hidden, "labeling": hidden}}
        return int(self.client.request("POST", "/api/dm/views", {"project": self.id, "data": data})["id"])

    def rerank(self, learner: Any, *, query_size: int | None = None, ranking: Ranking | None = None,
               batch_size: int | None = None) -> Ranking:
        """Re-score the unlabeled pool and make Label Studio serve it in that order: the old
        predictions are deleted, one new prediction per task is imported in bulk (result:
        the model's pre-annotation; score: the rank scaled to [0, 1]) and its version becomes the
        project's ``model_version``."""
        query_size = renamed(query_size, batch_size, old="batch_size", new="query_size",
                             where="LabelStudioProject.rerank()", default=10,
                             why="batch_size means the SGD mini-batch only")
        ranking = ranking if ranking is not None else rank_pool(learner, query_size)
        self.apply_ranking(ranking, model_version=f"labelwise-m{learner.model_version}")
        return ranking

    def apply_ranking(self, ranking: Ranking, *, model_version: str) -> None:
        ids = self.task_ids()
        version = f"{model_version}-{time.time_ns() // 1_000_000}"
        priorities = priority_scores(ranking)
        predictions = []
        for position in ranking.positions:
            if position not in ids:  # deleted in Label Studio, or never pushed
                continue
            value = ranking.predictions.get(position)
            result = [] if value is None else prediction_result(self.dataset, position, value)
            predictions.append({"task": ids[position], "result": result, "score": priorities[position],
                                "model_version": version})
        self.client.request("POST", "/api/dm/actions", {"selectedItems": {"all": True, "excluded": []}},
                            query={"id": "delete_tasks_predictions", "project": self.id})
        for start in range(0, len(predictions), UPLOAD_BATCH):
            chunk = predictions[start:start + UPLOAD_BATCH]
            answer = self.client.request("POST", f"/api/projects/{self.id}/import/predictions", chunk)
            created = (answer or {}).get("created")
            if created != len(chunk):  # Label Studio logs invalid predictions and drops them
                raise LabelStudioError(f"{self.source}: Label Studio kept {created} of {len(chunk)} predictions "
                                       "(see its log for 'Prediction validation failed'). Fix: check that the "
                                       "labeling config is the one labeling_config(dataset) makes.")
        self.client.request("PATCH", f"/api/projects/{self.id}", {"model_version": version})
        self.model_version = version

    def priorities(self) -> dict[int, float]:
        """Pool position -> the score Label Studio orders by (lower first), for tasks with a
        prediction of the project's current model version."""
        version = self.client.request("GET", f"/api/projects/{self.id}").get("model_version")
        positions = {task: position for position, task in self.task_ids().items()}
        predictions = self.client.request("GET", "/api/predictions", query={"project": self.id}) or []
        return {positions[p["task"]]: float(p["score"]) for p in _results(predictions)
                if p.get("model_version") == version and p.get("score") is not None and p.get("task") in positions}

    # ---- annotations back ------------------------------------------------------------------
    def pull(self, learner: Any, store: Any, *, iteration: int | None = None, retrain: bool = True,
             strict: bool = True) -> PullResult:
        """Read the completed annotations, validate them, append the new or changed ones to
        ``store`` and teach them to ``learner``. Pulling again teaches nothing new.

        With ``strict`` (the default) any invalid task raises a DataError listing every
        problem before anything is written; otherwise the valid ones are taken and the
        problems are returned in :attr:`PullResult.errors`."""
        labels, errors = validate_tasks(self.tasks(annotated_only=True), self.dataset, self.source)
        if errors and strict:
            raise DataError(f"{len(errors)} annotated task(s) cannot be read; nothing was written:\n  "
                            + "\n  ".join(errors),
                            fix="correct those tasks in Label Studio, or pull(strict=False) to take the others.")
        return record_and_teach(labels, errors, learner, store, iteration=iteration, retrain=retrain)


def record_and_teach(labels: dict[int, Any], errors: list[str], learner: Any, store: Any, *,
                     iteration: int | None = None, retrain: bool = True) -> PullResult:
    """Append the labels that are new or changed to ``store`` (durably, first) and teach
    them to ``learner``; labels the store already holds are left alone."""
    if getattr(store, "read_only", False):
        raise ConfigError(f"the annotation store {store.path} is read-only; open it writable to pull into it.")
    current = store.labels
    new = {p: v for p, v in labels.items() if current.get(p, _MISSING) != v}
    unchanged = [p for p in labels if p not in new]
    step = int(learner.iteration if iteration is None else iteration)
    for position, value in new.items():
        store.record_label(position, value, iteration=step)
    if new:
        learner.teach(list(new), list(new.values()), retrain=False)
        if retrain and learner.fit_blocker() is None:  # e.g. one class so far: keep the cold start
            learner.fit()
    return PullResult(new, unchanged, list(errors))


_MISSING = object()


def _results(answer: Any) -> list[dict]:
    if isinstance(answer, dict):
        return list(answer.get("results") or [])
    return list(answer or [])
