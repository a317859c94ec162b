"""``labelwise serve label-studio --store S --config C``: the ML backend from a config file.

The config (YAML or JSON)::

    task: classification            # or tagging, seq2seq
    data: {path: pool.jsonl, text_column: text, label_names: [World, Sports, Business]}
    model: {name: tfidf_lr, params: {}}
    strategy: entropy
    random_state: 0
    query_size: 10                  # the query size the strategy ranks with (old name: batch_size)
    label_studio:                   # optional: keep the project's order in step with the model
      url: http://127.0.0.1:8080
      project: 3                    # or title: "AG News" (created when missing)
      token_env: LABEL_STUDIO_API_KEY   # the environment variable holding the API token
      connect: true                 # register this backend (and its webhook) with the project

Data paths are relative to the config's folder.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

from labelwise._deprecation import renamed
from labelwise.errors import ConfigError

KNOWN = ("task", "data", "model", "strategy", "random_state", "query_size", "batch_size", "label_studio")


def load_serve_config(path: str | os.PathLike) -> dict[str, Any]:
    """Read and check the config; ConfigError naming the field otherwise."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found. Fix: pass --config path/to/backend.yaml.")
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix == ".json":
            raw = json.loads(text)
        else:
            import yaml

            raw = yaml.safe_load(text)
    except Exception as error:  # noqa: BLE001 - any parser error becomes one ConfigError
        raise ConfigError(f"{path}: cannot parse the config ({error}).") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of fields ({', '.join(KNOWN)}).")
    for key in raw:
        if key not in KNOWN:
            raise ConfigError(f"{path}: unknown field {key!r}; the config takes {', '.join(KNOWN)}.")
    for key in ("task", "data"):
        if key not in raw:
            raise ConfigError(f"{path}: missing field {key!r}. Fix: add '{key}:' (see docs/label_studio.md).")
    data = raw["data"] if isinstance(raw["data"], dict) else {"path": raw["data"]}
    if "path" not in data:
        raise ConfigError(f"{path}: data.path is missing. Fix: give the pool file.")
    data = dict(data)
    data["path"] = str((path.parent / Path(data["path"]).expanduser()).resolve())
    raw["data"] = data
    return raw


def build_backend(config: dict[str, Any], store_path: str | os.PathLike, *, token: str) -> Any:
    """Open the store (taking its writer's lock), load the pool, build the learner and,
    when configured, the Label Studio project; the backend teaches the stored labels."""
    from labelwise.annotate.store import AnnotationStore
    from labelwise.data import load_dataset
    from labelwise.integrations.ml_backend import LabelStudioBackend
    from labelwise.loop import ActiveLearner
    from labelwise.models.registry import get_model

    options = {k: v for k, v in config["data"].items() if k != "path"}
    pool = load_dataset(config["data"]["path"], config["task"], **options)
    model_spec = config.get("model") or {"name": "tfidf_lr"}
    if isinstance(model_spec, str):
        model_spec = {"name": model_spec}
    model = get_model(model_spec["name"], **dict(model_spec.get("params") or {}))
    learner = ActiveLearner(model, pool, config.get("strategy", "least_confidence"),
                            random_state=config.get("random_state", 0), retrain=False)
    store = AnnotationStore(store_path)
    project = _project(config.get("label_studio"), pool)
    if project is not None:  # the unlabeled pool as tasks; the backend ranks them once trained
        project.import_tasks([p for p in range(len(pool)) if p not in store.labels])
        project.ranking_view()
    return LabelStudioBackend(learner, store, token=token, project=project,
                              query_size=renamed(config.get("query_size"), config.get("batch_size"),
                                                 old="batch_size", new="query_size",
                                                 where="the backend config", default=10))


def _project(settings: Any, pool: Any) -> Any:
    if not settings:
        return None
    from labelwise.integrations.label_studio import LabelStudioClient, LabelStudioProject

    token_env = settings.get("token_env", "LABEL_STUDIO_API_KEY")
    token = os.environ.get(token_env)
    if not token:
        raise ConfigError(f"label_studio.token_env: the environment variable {token_env} is empty. Fix: export "
                          f"{token_env}=<your Label Studio API token>.")
    client = LabelStudioClient(settings.get("url", "http://127.0.0.1:8080"), token)
    return LabelStudioProject.create_or_update(client, pool, title=settings.get("title", "labelwise"),
                                               project_id=settings.get("project"))


def serve(config_path: str, store_path: str, *, host: str = "127.0.0.1", port: int = 9090,
          token: str | None = None, public_url: str | None = None, verbose: bool = False) -> int:
    """Run the backend until interrupted."""
    from labelwise.integrations.ml_backend import connect_backend, make_server

    token = token or os.environ.get("LABELWISE_BACKEND_TOKEN")
    if not token:
        raise ConfigError("no token for the ML backend. Fix: pass --token or export LABELWISE_BACKEND_TOKEN.")
    config = load_serve_config(config_path)
    backend = build_backend(config, store_path, token=token)
    server = make_server(backend, host, port, verbose=verbose)
    bound_host, bound_port = server.server_address[:2]
    url = public_url or f"http://{bound_host}:{bound_port}"
    settings = config.get("label_studio") or {}
    if backend.project is not None and settings.get("connect", True):
        connect_backend(backend.project, url, token)
    print(f"labelwise ML backend on {url} (store {store_path}); Ctrl-C stops it", flush=True)
    signal.signal(signal.SIGTERM, _interrupt)  # a service manager's stop closes the store cleanly too
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        backend.shutdown()
        backend.store.close()
        print("labelwise ML backend stopped", file=sys.stderr)
    return 0


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt
