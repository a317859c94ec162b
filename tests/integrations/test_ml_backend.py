"""The ML backend's HTTP protocol (health, setup, predict, webhook, token auth) on a real
socket, with the Label Studio side faked in memory."""

from __future__ import annotations

import base64
import json
import threading
import urllib.error
import urllib.request

import pytest

from labelwise.annotate.store import AnnotationStore
from labelwise.errors import ConfigError
from labelwise.integrations.label_studio import LabelStudioProject, pool_tasks
from labelwise.integrations.ml_backend import LabelStudioBackend, make_server
from labelwise.integrations.serve import load_serve_config
from labelwise.loop import ActiveLearner
from labelwise.models.registry import get_model

TOKEN = "s3cret-token"


def choice(name: str) -> list[dict]:
    return [{"from_name": "label", "to_name": "text", "type": "choices", "value": {"choices": [name]}}]


@pytest.fixture
def service(topic_pool, fake_ls, tmp_path):
    project = LabelStudioProject.create_or_update(fake_ls, topic_pool, title="topics")
    learner = ActiveLearner(get_model("tfidf_lr"), topic_pool, "entropy", random_state=0, retrain=False)
    project.push(learner)
    store = AnnotationStore(tmp_path / "store.jsonl")
    backend = LabelStudioBackend(learner, store, token=TOKEN, project=project, query_size=5)
    backend.wait(60)
    server = make_server(backend, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    yield {"url": url, "backend": backend, "store": store, "learner": learner, "project": project,
           "tasks": {p: {"id": t, "data": pool_tasks(topic_pool, [p])[0]["data"]}
                     for p, t in project.task_ids().items()}}
    server.shutdown()
    server.server_close()
    backend.shutdown()
    store.close()


def call(url: str, path: str, body: dict | None = None, *, auth: str | None = f"Token {TOKEN}"):
    request = urllib.request.Request(url + path, method="GET" if body is None else "POST",
                                     data=None if body is None else json.dumps(body).encode())
    if auth:
        request.add_header("Authorization", auth)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        raw = error.read()
        return error.code, json.loads(raw) if raw else None


def annotation_event(task: dict, name: str, action: str = "ANNOTATION_CREATED") -> dict:
    return {"action": action, "task": task, "annotation": {"id": 1, "result": choice(name)}, "project": {"id": 1}}


def test_every_route_needs_the_token(service):
    url = service["url"]
    assert call(url, "/health", auth=None)[0] == 401
    assert call(url, "/health", auth="Token wrong")[0] == 401
    assert call(url, "/predict", {"tasks": []}, auth=None)[0] == 401
    assert call(url, "/webhook", {"action": "ANNOTATION_CREATED"}, auth="Bearer nope")[0] == 401
    basic = "Basic " + base64.b64encode(f"labelwise:{TOKEN}".encode()).decode()
    for auth in (f"Token {TOKEN}", f"Bearer {TOKEN}", basic):
        status, body = call(url, "/health", auth=auth)
        assert status == 200 and body["status"] == "UP"


def test_setup_and_predict_answer_in_label_studios_shape(service, topic_pool):
    url, tasks = service["url"], service["tasks"]
    assert call(url, "/setup", {"project": "1.0", "schema": "<View/>"})[1]["model_version"] == "labelwise-cold"
    status, body = call(url, "/predict", {"tasks": [tasks[3], tasks[7]]})
    assert status == 200 and len(body["results"]) == 2
    assert all(0 <= r["score"] <= 1 and r["result"] == [] for r in body["results"])  # nothing fitted yet
    assert call(url, "/predict", {"nope": 1})[0] == 400


def test_annotation_webhook_stores_retrains_and_reranks(service, topic_pool):
    url, tasks, backend, store = service["url"], service["tasks"], service["backend"], service["store"]
    before = service["project"].priorities()
    for position in range(4):
        status, body = call(url, "/webhook", annotation_event(tasks[position], topic_pool.label_names[position % 3]))
        assert status == 200 and body["recorded"] == [position]
        assert store.labels[position] == topic_pool.label_names[position % 3]  # durable before the answer
    backend.wait(60)
    assert sorted(service["learner"].labeled_indices.tolist()) == [0, 1, 2, 3]
    assert backend.n_fits >= 1 and backend.error is None
    after = service["project"].priorities()
    assert set(after) == set(range(4, len(topic_pool))) and after != {p: before[p] for p in after}
    status, body = call(url, "/predict", {"tasks": [tasks[10]]})
    assert body["results"][0]["result"][0]["value"]["choices"][0] in topic_pool.label_names
    assert body["results"][0]["model_version"].startswith("labelwise-m")


def test_the_same_annotation_twice_is_recorded_once(service):
    url, tasks, backend, store = service["url"], service["tasks"], service["backend"], service["store"]
    call(url, "/webhook", annotation_event(tasks[0], "World"))
    backend.wait(60)
    fits = backend.n_fits
    status, body = call(url, "/webhook", annotation_event(tasks[0], "World", "ANNOTATION_UPDATED"))
    assert status == 200 and body == {"status": "ok", "recorded": [], "unchanged": [0]}
    backend.wait(60)
    assert store.n_decisions == 1 and backend.n_fits == fits


def test_bad_annotations_are_rejected_and_nothing_is_written(service, topic_pool):
    url, tasks, store = service["url"], service["tasks"], service["store"]
    status, body = call(url, "/webhook", annotation_event(tasks[0], "Weather"))
    assert status == 422 and "unknown choice(s) ['Weather']" in body["errors"][0]
    moved = {"id": 99, "data": {**tasks[1]["data"], "pool_fingerprint": "0123456789abcdef"}}
    status, body = call(url, "/webhook", annotation_event(moved, "World"))
    assert status == 422 and "another pool" in body["errors"][0]
    edited = {"id": 98, "data": {**tasks[2]["data"], "text": "edited by hand"}}
    status, body = call(url, "/webhook", annotation_event(edited, "World"))
    assert status == 422 and "differs from the pool's text at position 2" in body["errors"][0]
    assert call(url, "/webhook", {"action": "ANNOTATION_CREATED"})[0] == 400
    assert call(url, "/webhook", {"action": "TASKS_DELETED", "tasks": [{"id": 3}]}) == (
        200, {"status": "ignored", "action": "TASKS_DELETED"})
    assert store.n_decisions == 0 and len(service["backend"].rejected) == 3


def test_a_backend_refuses_to_start_without_a_token(topic_pool, tmp_path):
    learner = ActiveLearner(get_model("tfidf_lr"), topic_pool, "entropy", random_state=0)
    with AnnotationStore(tmp_path / "s.jsonl") as store, pytest.raises(ConfigError, match="needs a token"):
        LabelStudioBackend(learner, store, token="")


def test_serve_config_errors_name_the_field(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_serve_config(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("task: classification\ndata: pool.jsonl\nstrategyy: entropy\n")
    with pytest.raises(ConfigError, match="unknown field 'strategyy'"):
        load_serve_config(bad)
    good = tmp_path / "good.yaml"
    good.write_text("task: classification\ndata: {path: pool.jsonl}\n")
    assert load_serve_config(good)["data"]["path"] == str(tmp_path / "pool.jsonl")


def test_labelwise_serve_label_studio_answers_health(tmp_path, topic_pool):
    import os
    import subprocess
    import sys

    pool = tmp_path / "pool.jsonl"
    pool.write_text("".join(json.dumps({"text": text}) + "\n" for text in topic_pool.texts))
    config = tmp_path / "backend.yaml"
    config.write_text("task: classification\n"
                      "data: {path: pool.jsonl, label_column: null, label_names: [World, Sports, Business]}\n"
                      "model: {name: tfidf_lr}\nstrategy: entropy\n")
    store = tmp_path / "store.jsonl"
    store.write_text(json.dumps({"action": "label", "position": 0, "value": "World", "timestamp": 1.0,
                                 "iteration": 0}) + "\n")
    env = {**os.environ, "LABELWISE_BACKEND_TOKEN": TOKEN, "OMP_NUM_THREADS": "1"}
    process = subprocess.Popen([sys.executable, "-m", "labelwise.cli.main", "serve", "label-studio", "--store",
                                str(store), "--config", str(config), "--port", "0"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        line = process.stdout.readline()
        assert "labelwise ML backend on http://127.0.0.1:" in line, process.stderr.read() if not line else line
        url = line.split(" on ")[1].split(" ")[0]
        assert call(url, "/health", auth=None)[0] == 401
        status, body = call(url, "/health")
        assert status == 200 and body["n_labeled"] == 1
    finally:
        process.terminate()
        process.wait(30)
        process.stdout.close()
        process.stderr.close()
