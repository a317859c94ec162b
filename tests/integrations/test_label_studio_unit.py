"""The Label Studio integration without a server: labeling configs, the push/pull/rerank
cycle against an in-memory fake of the API, and bad input."""

from __future__ import annotations

import pytest

from labelwise.annotate.store import AnnotationStore
from labelwise.data import ClassificationDataset, Seq2SeqDataset
from labelwise.errors import DataError
from labelwise.integrations.label_studio import (
    LabelStudioProject,
    labeling_config,
    pool_tasks,
    prediction_result,
    validate_tasks,
)
from labelwise.loop import ActiveLearner
from labelwise.models.registry import get_model


def choice(name: str) -> list[dict]:
    return [{"from_name": "label", "to_name": "text", "type": "choices", "value": {"choices": [name]}}]


def learner_for(pool) -> ActiveLearner:
    return ActiveLearner(get_model("tfidf_lr"), pool, "entropy", random_state=0, retrain=False)


@pytest.fixture
def pushed(topic_pool, fake_ls, tmp_path):
    project = LabelStudioProject.create_or_update(fake_ls, topic_pool, title="topics")
    learner = learner_for(topic_pool)
    project.push(learner)
    store = AnnotationStore(tmp_path / "store.jsonl")
    yield project, learner, store
    store.close()


def test_labeling_config_per_task(topic_pool, ner_pool):
    assert '<Choices name="label" toName="text" choice="single">' in labeling_config(topic_pool)
    multi = ClassificationDataset(topic_pool.texts, None, topic_pool.label_names, multi_label=True)
    assert 'choice="multiple"' in labeling_config(multi)
    assert '<Labels name="label" toName="text">' in labeling_config(ner_pool)
    assert 'granularity="word"' in labeling_config(ner_pool)
    assert "<TextArea" in labeling_config(Seq2SeqDataset(["a long text"], None))


def test_push_imports_every_unlabeled_position_once_with_a_priority_each(pushed, fake_ls, topic_pool):
    project, learner, _ = pushed
    project.push(learner)  # again: nothing imported twice
    positions = sorted(t["data"]["position"] for t in fake_ls.tasks.values())
    assert positions == list(range(len(topic_pool)))
    assert all(t["data"]["pool_fingerprint"] == project.fingerprint for t in fake_ls.tasks.values())
    priorities = project.priorities()
    assert sorted(priorities) == positions
    assert sorted(priorities.values())[0] == 0.0 and sorted(priorities.values())[-1] == 1.0
    assert fake_ls.project["sampling"] == "Uncertainty sampling"
    assert fake_ls.project["model_version"] == project.model_version
    assert [v["data"]["ordering"] for v in fake_ls.views] == [["tasks:predictions_score"]]  # one tab


def test_pull_records_teaches_and_a_second_pull_teaches_nothing(pushed, fake_ls, topic_pool):
    project, learner, store = pushed
    ids = project.task_ids()
    for position in range(6):
        fake_ls.annotate(ids[position], choice(topic_pool.label_names[position % 3]))
    first = project.pull(learner, store)
    assert sorted(first.taught) == list(range(6))
    assert store.labels == {p: topic_pool.label_names[p % 3] for p in range(6)}
    assert sorted(learner.labeled_indices.tolist()) == list(range(6)) and learner.model_is_fitted
    decisions, version = store.n_decisions, learner.model_version
    second = project.pull(learner, store)
    assert second.taught == {} and sorted(second.unchanged) == list(range(6))
    assert store.n_decisions == decisions and learner.model_version == version


def test_rerank_after_retrain_changes_the_priorities_and_predicts(pushed, fake_ls, topic_pool):
    project, learner, store = pushed
    before = project.priorities()
    ids = project.task_ids()
    for position in range(6):
        fake_ls.annotate(ids[position], choice(topic_pool.label_names[position % 3]))
    project.pull(learner, store)
    project.rerank(learner)
    after = project.priorities()
    assert set(after) == set(range(6, len(topic_pool)))  # labeled positions leave the queue
    assert {p: before[p] for p in after} != after
    assert all(p["result"] and p["result"][0]["type"] == "choices" for p in fake_ls.predictions)


def test_updated_annotation_replaces_the_label(pushed, fake_ls):
    project, learner, store = pushed
    task = project.task_ids()[0]
    fake_ls.annotate(task, choice("World"), when="2026-01-01T00:00:00Z")
    project.pull(learner, store)
    fake_ls.annotate(task, choice("Sports"), when="2026-01-02T00:00:00Z")
    assert project.pull(learner, store).taught == {0: "Sports"}
    assert store.labels[0] == "Sports" and learner.labels_of([0]) == [1]


def test_a_label_not_in_the_config_is_refused_and_nothing_is_written(pushed, fake_ls):
    project, learner, store = pushed
    ids = project.task_ids()
    fake_ls.annotate(ids[0], choice("World"))
    fake_ls.annotate(ids[1], choice("Weather"))  # a task edited by hand
    with pytest.raises(DataError, match=r"(?s)nothing was written.*task \d+: unknown choice\(s\) \['Weather'\]"):
        project.pull(learner, store)
    assert store.n_decisions == 0 and len(learner.labeled_indices) == 0
    lenient = project.pull(learner, store, strict=False)
    assert lenient.taught == {0: "World"} and len(lenient.errors) == 1
    assert store.labels == {0: "World"}


def test_a_pool_changed_under_the_project_is_refused(pushed, fake_ls, topic_pool, tmp_path):
    project, learner, store = pushed
    fake_ls.annotate(project.task_ids()[0], choice("World"))
    changed = ClassificationDataset(topic_pool.texts[:-1] + ("a new text",), None, topic_pool.label_names)
    other = LabelStudioProject(fake_ls, 1, changed)
    with pytest.raises(DataError, match="made from another pool"):
        other.pull(learner_for(changed), store)
    with pytest.raises(DataError, match="made from another pool"):
        other.task_ids()
    assert store.n_decisions == 0


def test_a_deleted_task_keeps_its_stored_label_and_leaves_the_ranking(pushed, fake_ls):
    project, learner, store = pushed
    ids = project.task_ids()
    fake_ls.annotate(ids[0], choice("World"))
    fake_ls.annotate(ids[1], choice("Sports"))
    project.pull(learner, store)
    del fake_ls.tasks[ids[0]], fake_ls.tasks[ids[5]]  # deleted in Label Studio
    project.pull(learner, store)
    project.rerank(learner)
    assert store.labels == {0: "World", 1: "Sports"}
    assert 5 not in project.priorities() and ids[5] not in {p["task"] for p in fake_ls.predictions}


def test_ner_span_crossing_a_token_boundary_is_refused(ner_pool):
    tasks = pool_tasks(ner_pool, [0, 1])
    good = prediction_result(ner_pool, 0, ["B-PER", "O", "O", "B-LOC", "O"])
    assert [r["value"]["text"] for r in good] == ["John", "Paris"]
    crossing = [{"from_name": "label", "to_name": "text", "type": "labels",
                 "value": {"start": 2, "end": 8, "text": "hn liv", "labels": ["PER"]}}]
    tasks[0].update(id=1, annotations=[{"result": good}])
    tasks[1].update(id=2, annotations=[{"result": crossing}])
    labels, errors = validate_tasks(tasks, ner_pool, "test")
    assert labels == {0: ["B-PER", "O", "O", "B-LOC", "O"]}
    assert len(errors) == 1 and "task 2" in errors[0] and "token boundaries" in errors[0]


def test_seq2seq_summaries_come_back_from_the_textarea():
    pool = Seq2SeqDataset(["first long text", "second long text"], None)
    tasks = pool_tasks(pool, [0, 1])
    tasks[0].update(id=1, annotations=[{"result": prediction_result(pool, 0, "a summary")}])
    tasks[1].update(id=2, annotations=[{"result": []}])
    labels, errors = validate_tasks(tasks, pool, "test")
    assert labels == {0: "a summary"}
    assert len(errors) == 1 and "no summary text" in errors[0]


def test_query_size_is_the_name_and_batch_size_still_works_with_a_warning(pushed, topic_pool):
    from labelwise.errors import ConfigError
    from labelwise.integrations.label_studio import rank_pool

    project, learner, _ = pushed
    asked = []
    query = learner.query
    learner.query = lambda k, **kwargs: asked.append(k) or query(k, **kwargs)
    new = rank_pool(learner, query_size=3)
    with pytest.warns(FutureWarning, match="batch_size= is now query_size="):
        old = rank_pool(learner, batch_size=3)
    with pytest.warns(FutureWarning, match="batch_size= is now query_size="):
        project.rerank(learner, batch_size=4)
    project.rerank(learner, query_size=2)
    assert asked == [3, 3, 4, 2]
    assert sorted(old.positions) == sorted(new.positions) == learner.unlabeled_indices.tolist()
    with pytest.raises(ConfigError, match="give query_size= only"):
        rank_pool(learner, query_size=3, batch_size=3)
