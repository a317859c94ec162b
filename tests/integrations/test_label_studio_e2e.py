"""Against a real Label Studio 1.23 server: push a classification and an NER pool, connect
the ML backend, annotate through the API as an annotator's browser does, and check the
learner, the store and the task priorities. ``LABELWISE_UPDATE_SCREENSHOT=1`` also saves
the docs' screenshots (Chromium through playwright)."""

from __future__ import annotations

import os
import shutil
import threading
import time
from pathlib import Path

import pytest

from labelwise.annotate.store import AnnotationStore
from labelwise.errors import DataError
from labelwise.integrations.label_studio import LabelStudioClient, LabelStudioProject
from labelwise.integrations.ml_backend import LabelStudioBackend, connect_backend, make_server
from labelwise.loop import ActiveLearner
from labelwise.models.registry import get_model

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parents[2]
TOKEN = "backend-token-e2e"


@pytest.fixture
def connected(label_studio, tmp_path):
    """``connect(pool, title, model)``: a project with the pool pushed and a backend connected."""
    client = LabelStudioClient(label_studio["url"], label_studio["token"])
    opened = []

    def connect(pool, title, model):
        project = LabelStudioProject.create_or_update(client, pool, title=title)
        learner = ActiveLearner(model, pool, "entropy" if pool.task == "classification" else "mnlp",
                                random_state=0, retrain=False)
        project.push(learner, query_size=4)
        store = AnnotationStore(tmp_path / f"{title}.jsonl")
        backend = LabelStudioBackend(learner, store, token=TOKEN, project=project, query_size=4)
        backend.wait(120)
        server = make_server(backend, "127.0.0.1", 0)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        connect_backend(project, f"http://127.0.0.1:{server.server_address[1]}", TOKEN)
        opened.append((server, backend, store))
        return client, project, learner, store, backend

    yield connect
    for server, backend, store in opened:
        server.shutdown()
        server.server_close()
        backend.shutdown()
        store.close()


def annotate(client, task_id: int, result: list[dict]) -> None:
    """What Label Studio's editor posts when the annotator presses Submit."""
    client.request("POST", f"/api/tasks/{task_id}/annotations", {"result": result, "lead_time": 2.5})


def wait_until(condition, what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.2)


def choice(name: str) -> list[dict]:
    return [{"from_name": "label", "to_name": "text", "type": "choices", "value": {"choices": [name]}}]


def test_classification_project_follows_the_learner(connected, topic_pool, tmp_path):
    client, project, learner, store, backend = connected(topic_pool, "topics", get_model("tfidf_lr"))
    before = project.priorities()
    assert sorted(before) == list(range(len(topic_pool)))
    ids = project.task_ids()
    for position in range(6):
        annotate(client, ids[position], choice(topic_pool.label_names[position % 3]))
    wait_until(lambda: store.n_labeled == 6, "the webhooks to reach the backend")
    backend.wait(120)
    assert store.labels == {p: topic_pool.label_names[p % 3] for p in range(6)}
    assert sorted(learner.labeled_indices.tolist()) == list(range(6)) and backend.n_fits >= 1
    after = project.priorities()
    assert set(after) == set(range(6, len(topic_pool)))
    assert after != {p: before[p] for p in after}, "the priorities did not change after the retrain"

    # A task edited by hand with a label that is not in the config: refused, nothing written.
    annotate(client, ids[6], choice("Weather"))
    wait_until(lambda: backend.rejected, "the rejected webhook")
    assert "unknown choice(s) ['Weather']" in backend.rejected[0] and 6 not in store.labels

    # Push/pull from a script: a second learner and store catch up; pulling twice teaches once.
    puller = ActiveLearner(get_model("tfidf_lr"), topic_pool, "entropy", random_state=0, retrain=False)
    with AnnotationStore(tmp_path / "pulled.jsonl") as pulled:
        with pytest.raises(DataError, match=r"(?s)nothing was written.*unknown choice\(s\) \['Weather'\]"):
            project.pull(puller, pulled)
        assert pulled.n_decisions == 0
        first = project.pull(puller, pulled, strict=False)
        assert sorted(first.taught) == list(range(6)) and len(first.errors) == 1
        assert project.pull(puller, pulled, strict=False).taught == {}
        assert pulled.n_decisions == 6

        # A deleted task: its label stays in the store, the ranking goes on without it.
        client.request("DELETE", f"/api/tasks/{ids[0]}")
        client.request("DELETE", f"/api/tasks/{ids[20]}")
        project.pull(puller, pulled, strict=False)
        project.rerank(puller)
        assert pulled.labels[0] == "World" and 20 not in project.priorities()

    if os.environ.get("LABELWISE_UPDATE_SCREENSHOT"):
        screenshots(project, client.url)


def test_ner_project_follows_the_learner(connected, ner_pool):
    client, project, learner, store, backend = connected(
        ner_pool, "entities", get_model("bilstm_crf", word_dim=16, char_dim=8, char_filters=8, hidden=16, epochs=2))
    before = project.priorities()
    ids = project.task_ids()
    spans = {0: [(0, 4, "John", "PER"), (14, 19, "Paris", "LOC")],
             1: [(0, 9, "Acme Corp", "ORG"), (16, 26, "Mary Smith", "PER")],
             2: [(8, 14, "Berlin", "LOC")]}
    for position, regions in spans.items():
        annotate(client, ids[position], [
            {"from_name": "label", "to_name": "text", "type": "labels",
             "value": {"start": start, "end": end, "text": text, "labels": [kind]}}
            for start, end, text, kind in regions])
    wait_until(lambda: store.n_labeled == 3, "the webhooks to reach the backend")
    backend.wait(120)
    assert store.labels[1] == ["B-ORG", "I-ORG", "O", "B-PER", "I-PER"]
    assert store.labels[0] == ["B-PER", "O", "O", "B-LOC", "O"]
    assert sorted(learner.labeled_indices.tolist()) == [0, 1, 2] and backend.n_fits >= 1
    after = project.priorities()
    assert set(after) == set(range(3, len(ner_pool))) and after != {p: before[p] for p in after}

    # A span that crosses a token boundary ("Bob vis" of "Bob visited London"): refused.
    annotate(client, ids[3], [{"from_name": "label", "to_name": "text", "type": "labels",
                               "value": {"start": 0, "end": 7, "text": "Bob vis", "labels": ["PER"]}}])
    wait_until(lambda: backend.rejected, "the rejected webhook")
    assert "token boundaries" in backend.rejected[0] and 3 not in store.labels


def screenshots(project: LabelStudioProject, url: str) -> None:
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    images = REPO / "docs" / "images"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, headless=True,
                                             args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1100, "height": 620})
        page.goto(f"{url}/user/login/")
        page.fill("input[name=email]", "annotator@example.com")
        page.fill("input[name=password]", "labelwise-e2e-pass")
        page.click("button[type=submit], input[type=submit]")
        page.wait_for_load_state("networkidle")
        page.goto(f"{url}/projects/{project.id}/data?tab={project.ranking_view()}")
        page.wait_for_timeout(4000)
        page.screenshot(path=str(images / "label_studio_tasks.png"))
        page.goto(f"{url}/projects/{project.id}/data?labeling=1")
        page.wait_for_timeout(5000)
        page.screenshot(path=str(images / "label_studio_labeling.png"))
        browser.close()
