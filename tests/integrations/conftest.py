"""Pools, an in-memory fake of the Label Studio API, and a real Label Studio server."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from labelwise.data import ClassificationDataset, TaggingDataset

REPO = Path(__file__).resolve().parents[2]
TOPICS = {
    "World": ["election", "minister", "war", "treaty", "embassy"],
    "Sports": ["match", "goal", "league", "coach", "season"],
    "Business": ["market", "shares", "profit", "bank", "merger"],
}


@pytest.fixture
def topic_pool() -> ClassificationDataset:
    names = list(TOPICS)
    texts = [f"item {i}: the {TOPICS[names[i % 3]][i % 5]} and the {TOPICS[names[i % 3]][(i + 2) % 5]} today"
             for i in range(30)]
    return ClassificationDataset(texts, None, names)


@pytest.fixture
def ner_pool() -> TaggingDataset:
    tokens = [("John", "lives", "in", "Paris", "."), ("Acme", "Corp", "hired", "Mary", "Smith"),
              ("Rain", "in", "Berlin", "today"), ("Bob", "visited", "London"),
              ("Nothing", "here"), ("IBM", "and", "Apple", "merged"), ("Anna", "flew", "to", "Rome"),
              ("Sales", "rose", "at", "Siemens")]
    return TaggingDataset(tokens, None, ("O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC"))


class FakeLabelStudio:
    """The few Label Studio endpoints the integration calls, in memory (one project)."""

    url = "http://fake-label-studio"

    def __init__(self) -> None:
        self.tasks: dict[int, dict] = {}
        self.predictions: list[dict] = []
        self.project: dict = {"id": 1, "model_version": ""}
        self.calls: list[tuple[str, str]] = []
        self.views: list[dict] = []

    def request(self, method, path, body=None, *, query=None):
        self.calls.append((method, path))
        if method == "GET" and path == "/api/projects":
            return {"results": [self.project]} if self.project.get("title") else {"results": []}
        if method in ("POST", "PATCH") and path.startswith("/api/projects") and path.count("/") <= 3:
            self.project.update(body)
            return self.project
        if method == "GET" and path == "/api/projects/1":
            return self.project
        if method == "POST" and path == "/api/projects/1/import":
            for task in body:
                task_id = max(self.tasks, default=0) + 1
                self.tasks[task_id] = {"id": task_id, "data": task["data"], "annotations": []}
            return {"task_count": len(body)}
        if method == "GET" and path == "/api/projects/1/export":
            annotated = query.get("download_all_tasks") == "false"
            return [dict(t) for t in self.tasks.values() if t["annotations"] or not annotated]
        if method == "POST" and path == "/api/dm/actions":
            self.predictions.clear()
            return {}
        if method == "POST" and path == "/api/projects/1/import/predictions":
            assert all(p["task"] in self.tasks and 0 <= p["score"] <= 1 for p in body)
            self.predictions.extend(body)
            return {"created": len(body)}
        if path == "/api/dm/views":
            if method == "POST":
                self.views.append({"id": len(self.views) + 1, **body})
                return self.views[-1]
            return list(self.views)
        if method == "GET" and path == "/api/predictions":
            return list(self.predictions)
        raise AssertionError(f"unexpected {method} {path}")

    def annotate(self, task_id: int, result: list[dict], when: str = "2026-01-01T00:00:00Z") -> None:
        self.tasks[task_id]["annotations"].append({"result": result, "updated_at": when})


@pytest.fixture
def fake_ls() -> FakeLabelStudio:
    return FakeLabelStudio()


# ---- a real Label Studio --------------------------------------------------------------------
LS_VENV = Path(os.environ.get("LABELWISE_LABEL_STUDIO_VENV", REPO / ".venv-label-studio"))
LS_BIN = LS_VENV / "bin" / "label-studio"


def running_in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def require_label_studio() -> None:
    """Skip without the Label Studio virtual environment, except in CI (``CI=true``), where
    a skip would let a green run hide that the server never ran."""
    if LS_BIN.exists():
        return
    reason = (f"Label Studio is not installed in {LS_VENV} (make label-studio creates it with "
              "pip install 'label-studio==1.23.*')")
    if running_in_ci():
        pytest.fail(f"CI=true, but {reason}.", pytrace=False)
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def label_studio(tmp_path_factory):
    """A real Label Studio 1.23 on 127.0.0.1 with SQLite in a temporary folder; the user and
    its legacy API token are created by the test through LABEL_STUDIO_* variables."""
    require_label_studio()
    root = tmp_path_factory.mktemp("label-studio")
    port, token = free_port(), "labelwise-e2e-token-0123456789"
    env = {key: value for key, value in os.environ.items() if not key.startswith("LABEL_STUDIO_")}
    env.update(LABEL_STUDIO_BASE_DATA_DIR=str(root / "data"), LABEL_STUDIO_USERNAME="annotator@example.com",
               LABEL_STUDIO_PASSWORD="labelwise-e2e-pass", LABEL_STUDIO_USER_TOKEN=token,
               DJANGO_DB="sqlite", LATEST_VERSION_CHECK="false", COLLECT_ANALYTICS="false",
               # the ML backend and its webhook live on 127.0.0.1 too
               ML_BLOCK_LOCAL_IP="false", SSRF_PROTECTION_ENABLED="false", WEBHOOK_TIMEOUT="30",
               HOME=str(root), PYTHONWARNINGS="ignore")
    log_path = root / "server.log"
    log = open(log_path, "w")  # noqa: SIM115
    started = time.monotonic()
    server = subprocess.Popen([str(LS_BIN), "start", "--no-browser", "--port", str(port),
                               "--internal-host", "127.0.0.1", "--enable-legacy-api-token"],
                              cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = started + 600  # first start migrates a fresh SQLite database: minutes on 2 busy cores
    while True:
        try:
            urllib.request.urlopen(f"{url}/health", timeout=5).read()
            break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                pytest.fail(f"Label Studio did not start; see {log_path}:\n" + log_path.read_text()[-3000:])
            time.sleep(1)
    start_seconds = time.monotonic() - started
    print(f"\nLabel Studio started in {start_seconds:.0f} s")
    yield {"url": url, "token": token, "root": root, "start_seconds": start_seconds}
    server.terminate()
    try:
        server.wait(30)
    except subprocess.TimeoutExpired:
        server.kill()
    log.close()
    shutil.rmtree(root / "data", ignore_errors=True)
