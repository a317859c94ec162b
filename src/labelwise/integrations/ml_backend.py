"""A Label Studio ML backend served by labelwise: ``labelwise serve label-studio``.

It speaks Label Studio's ML backend protocol over plain ``http.server``:

- ``GET /health`` (also ``/``): ``{"status": "UP", "model_version": ...}``;
- ``POST /setup``: Label Studio connects a project; answers the model version;
- ``POST /predict``: ``{"tasks": [...]}`` -> ``{"results": [{"result", "score",
  "model_version"}, ...]}``, one per task, from the latest ranking (no model call on the
  request thread, so a retrain never blocks the annotator);
- ``POST /webhook``: ``ANNOTATION_CREATED`` / ``ANNOTATION_UPDATED`` validate the annotation,
  append it to the crash-safe store at once, and queue a retrain, a re-ranking of the pool
  and (with a project) a refresh of the task priorities in Label Studio, on one background
  worker. Other actions are acknowledged and ignored.

Every request needs the token: ``Authorization: Token <t>`` or ``Bearer <t>``, or HTTP
basic auth with the token as password (what Label Studio's "Basic Authentication" sends).
"""

from __future__ import annotations

import base64
import hmac
import json
import sys
import threading
import traceback
from concurrent.futures import Future, ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from labelwise._deprecation import renamed
from labelwise.errors import ConfigError, DataError, LabelwiseError
from labelwise.integrations.label_studio import (
    LabelStudioProject,
    Ranking,
    prediction_result,
    priority_scores,
    rank_pool,
    validate_tasks,
)

ANNOTATION_ACTIONS = ("ANNOTATION_CREATED", "ANNOTATION_UPDATED")
MAX_BODY = 64 * 1024 * 1024


class LabelStudioBackend:
    """The state behind the HTTP service: one learner, one store, optionally the project
    whose priorities follow the model.

    Args:
        learner: the :class:`~labelwise.loop.ActiveLearner`; only the worker thread uses it.
        store: a writable :class:`~labelwise.annotate.AnnotationStore`; its labels are taught
            to the learner at start.
        token: the secret every request must carry.
        project: a :class:`LabelStudioProject` to re-rank after each retrain (optional).
        query_size: the query size the strategy ranks with (default 10; ``batch_size=``
            is its old name).
    """

    def __init__(self, learner: Any, store: Any, *, token: str, project: LabelStudioProject | None = None,
                 query_size: int | None = None, batch_size: int | None = None) -> None:
        if not token:
            raise ConfigError("the ML backend needs a token. Fix: pass --token or set LABELWISE_BACKEND_TOKEN.")
        self.learner = learner
        self.store = store
        self.token = token
        self.project = project
        self.query_size = int(renamed(query_size, batch_size, old="batch_size", new="query_size",
                                      where="LabelStudioBackend()", default=10,
                                      why="batch_size means the SGD mini-batch only"))
        self.dataset = learner.pool
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="labelwise-ls-backend")
        self._lock = threading.Lock()
        self._record_lock = threading.Lock()
        self.ranking = Ranking([], {})
        self.priorities: dict[int, float] = {}
        self.model_version = "labelwise-cold"
        self.n_fits = 0
        self.n_rankings = 0
        self.error: str | None = None
        self.rejected: list[str] = []
        self.future: Future | None = None
        stored = store.labels
        self.submit(stored, initial=True)

    # ---- worker thread ----------------------------------------------------------------------
    def submit(self, labels: dict[int, Any], *, initial: bool = False) -> Future:
        """Teach ``labels`` (already in the store), retrain, re-rank, refresh priorities."""
        self.future = self.executor.submit(self._update, dict(labels), initial)
        return self.future

    def _update(self, labels: dict[int, Any], initial: bool) -> None:
        try:
            learner = self.learner
            if labels:
                learner.teach(list(labels), list(labels.values()), retrain=False)
            if len(learner.labeled_indices) and learner.fit_blocker() is None and (labels or initial):
                learner.fit()
                self.n_fits += 1
            ranking = rank_pool(learner, self.query_size)
            version = f"labelwise-m{learner.model_version}" if learner.model_is_fitted else "labelwise-cold"
            priorities = priority_scores(ranking)
            with self._lock:
                self.ranking, self.model_version, self.priorities = ranking, version, priorities
                self.n_rankings += 1
            if self.project is not None:
                self.project.apply_ranking(ranking, model_version=version)
            self.error = None
        except Exception as error:  # noqa: BLE001 - reported by /health and on stderr
            self.error = f"{type(error).__name__}: {error}"
            print(f"labelwise ML backend: update failed:\n{traceback.format_exc()}", file=sys.stderr)

    def wait(self, timeout: float | None = None) -> None:
        """Block until every queued update has run (for scripts and tests)."""
        self.executor.submit(lambda: None).result(timeout)

    def shutdown(self) -> None:
        self.executor.shutdown(wait=True, cancel_futures=True)

    # ---- protocol ---------------------------------------------------------------------------
    def authorized(self, header: str | None) -> bool:
        if not header:
            return False
        scheme, _, value = header.partition(" ")
        value = value.strip()
        if scheme.lower() == "basic":
            try:
                value = base64.b64decode(value).decode().partition(":")[2]
            except (ValueError, UnicodeDecodeError):
                return False
        elif scheme.lower() not in ("token", "bearer"):
            return False
        return hmac.compare_digest(value.encode(), self.token.encode())

    def health(self) -> dict:
        return {"status": "UP", "model_class": "labelwise", "model_version": self.model_version,
                "n_labeled": self.store.n_labeled, "n_fits": self.n_fits, "error": self.error}

    def setup(self, payload: dict) -> dict:
        return {"model_version": self.model_version}

    def predict(self, payload: dict) -> dict:
        tasks = payload.get("tasks")
        if not isinstance(tasks, list):
            raise DataError("/predict: expected {'tasks': [...]}.", fix="send Label Studio's predict payload.")
        with self._lock:
            ranking, version, priorities = self.ranking, self.model_version, self.priorities
        results = []
        for task in tasks:
            position = (task.get("data") or {}).get("position") if isinstance(task, dict) else None
            value = ranking.predictions.get(position) if isinstance(position, int) else None
            score = priorities.get(position) if isinstance(position, int) else None
            result = [] if value is None else prediction_result(self.dataset, position, value)
            results.append({"result": result, "score": score, "model_version": version})
        return {"results": results}

    def webhook(self, payload: dict) -> tuple[int, dict]:
        action = payload.get("action")
        if action not in ANNOTATION_ACTIONS:
            return 200, {"status": "ignored", "action": action}
        task, annotation = payload.get("task"), payload.get("annotation")
        if not isinstance(task, dict) or not isinstance(annotation, dict):
            return 400, {"status": "rejected", "errors": [f"{action} without task and annotation."]}
        source = "Label Studio webhook" + (f" (project {self.project.id})" if self.project else "")
        labels, errors = validate_tasks([{**task, "annotations": [annotation]}], self.dataset, source)
        if errors:
            self.rejected.extend(errors)
            print("labelwise ML backend: rejected " + "; ".join(errors), file=sys.stderr)
            return 422, {"status": "rejected", "errors": errors}
        # Durable before we answer; the learner catches up on the worker thread.
        with self._record_lock:  # two webhooks for one task must not both record it
            current = self.store.labels
            new = {p: v for p, v in labels.items() if current.get(p, _MISSING) != v}
            for position, value in new.items():
                self.store.record_label(position, value, iteration=self.n_fits)
            if new:
                self.submit(new)
        return 200, {"status": "ok", "recorded": sorted(new), "unchanged": sorted(set(labels) - set(new))}


_MISSING = object()


class _Handler(BaseHTTPRequestHandler):
    server_version = "labelwise-ml-backend"
    backend: LabelStudioBackend

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet unless asked
        if getattr(self.server, "verbose", False):
            super().log_message(format, *args)

    def _send(self, status: int, body: dict) -> None:
        raw = json.dumps(body, ensure_ascii=False, allow_nan=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def _guard(self) -> bool:
        if self.backend.authorized(self.headers.get("Authorization")):
            return True
        self.send_response(401)
        self.send_header("WWW-Authenticate", 'Basic realm="labelwise"')
        self.send_header("Content-Length", "0")
        self.end_headers()
        return False

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        if not self._guard():
            return
        if self.path.split("?")[0] in ("/", "/health"):
            self._send(200, self.backend.health())
        else:
            self._send(404, {"error": f"no GET {self.path}"})

    def do_POST(self) -> None:  # noqa: N802
        if not self._guard():
            return
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self._send(413, {"error": "request body too large"})
            return
        try:
            payload = json.loads(self.rfile.read(length) or b"{}")
            if not isinstance(payload, dict):
                raise DataError("expected a JSON object.")
        except (json.JSONDecodeError, UnicodeDecodeError, DataError) as error:
            self._send(400, {"error": f"body is not a JSON object: {error}"})
            return
        route = self.path.split("?")[0].rstrip("/")
        try:
            if route == "/setup":
                self._send(200, self.backend.setup(payload))
            elif route == "/predict":
                self._send(200, self.backend.predict(payload))
            elif route == "/webhook":
                self._send(*self.backend.webhook(payload))
            else:
                self._send(404, {"error": f"no POST {self.path}"})
        except LabelwiseError as error:
            self._send(400, {"error": str(error)})


def make_server(backend: LabelStudioBackend, host: str = "127.0.0.1", port: int = 9090, *,
                verbose: bool = False) -> ThreadingHTTPServer:
    """An HTTP server for ``backend`` (not started: call ``serve_forever``). Port 0 picks a
    free port (``server.server_address``)."""
    handler = type("Handler", (_Handler,), {"backend": backend})
    try:
        server = ThreadingHTTPServer((host, int(port)), handler)
    except OSError as error:
        raise ConfigError(f"cannot listen on {host}:{port} ({error}). Fix: choose another --port.") from None
    server.daemon_threads = True
    server.verbose = verbose  # type: ignore[attr-defined]
    return server


def connect_backend(project: LabelStudioProject, backend_url: str, token: str, *,
                    title: str = "labelwise") -> dict:
    """Connect the backend at ``backend_url`` to ``project`` (Label Studio calls /health and
    /setup with basic auth), and give the annotation webhook Label Studio creates for it
    the token header. Label Studio refuses local addresses unless started with
    ``ML_BLOCK_LOCAL_IP=false`` and ``SSRF_PROTECTION_ENABLED=false``."""
    client, url = project.client, backend_url.rstrip("/")
    backends = client.request("GET", "/api/ml", query={"project": project.id}) or []
    existing = [b for b in backends if str(b.get("url", "")).rstrip("/") == url]
    settings = {"url": url, "project": project.id, "title": title, "auth_method": "BASIC_AUTH",
                "basic_auth_user": "labelwise", "basic_auth_pass": token, "is_interactive": False}
    if existing:
        backend = client.request("PATCH", f"/api/ml/{existing[0]['id']}", settings)
    else:
        backend = client.request("POST", "/api/ml", settings)
    webhook_url = url + "/webhook"
    headers = {"Authorization": f"Token {token}"}
    hooks = client.request("GET", "/api/webhooks", query={"project": project.id}) or []
    mine = [h for h in hooks if str(h.get("url", "")).rstrip("/") == webhook_url]
    if mine:
        client.request("PATCH", f"/api/webhooks/{mine[0]['id']}", {"headers": headers})
    else:
        client.request("POST", "/api/webhooks", {"project": project.id, "url": webhook_url, "send_payload": True,
                                                 "send_for_all_actions": False, "actions": list(ANNOTATION_ACTIONS),
                                                 "headers": headers, "is_active": True})
    return backend
