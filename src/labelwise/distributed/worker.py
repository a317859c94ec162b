"""Models on the workers: shipped once per version, loaded once per worker process.

A fitted model travels as its ``save`` folder: either a folder on a disk every worker
sees (``ModelHandle.folder``), or the folder's bytes (a tar archive) broadcast once to
every worker (``ModelHandle.payload``, a Dask future). Each worker process keeps the
model of the newest version it was asked for in :data:`_MODELS` and evicts older ones,
so a retrained model replaces its predecessor instead of piling up.

Models without ``save`` (a user's object) travel cloudpickled instead.
"""

from __future__ import annotations

import copy
import io
import pickle
import tarfile
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from labelwise.errors import CapabilityError, ConfigError

#: version -> model, on each worker process (one entry after each retrain)
_MODELS: dict[str, Any] = {}
#: versions loaded by this process, in order (what the tests read to count loads)
LOADS: list[str] = []
_LOCK = threading.Lock()


@dataclass(frozen=True)
class ModelHandle:
    """How workers get the model of ``version``: from ``folder`` (shared disk) or from
    ``payload`` (the saved folder's bytes as a tar archive, or a pickle when ``pickled``)."""

    version: str
    folder: str | None = None
    payload: Any = None
    pickled: bool = False
    #: why this model must not embed on the workers (None: it may); see ``unfitted_embedding_state``
    embeddings_refused: str | None = None


def lean_copy(model: Any) -> Any:
    """A shallow copy without the pool caches (``_cache*`` attributes) a model keeps on the
    client: workers compute features of their own rows."""
    lean = copy.copy(model)
    for name in [name for name in vars(lean) if name.startswith("_cache") or name == "_recent"]:
        delattr(lean, name)
    return lean


def pack_model(model: Any, folder: str | Path | None = None) -> tuple[str | None, bytes | None, bool]:
    """``(folder, payload, pickled)`` for :class:`ModelHandle`: the model saved into
    ``folder`` (shared disk), or into a temporary folder whose tar archive is returned."""
    lean = lean_copy(model)
    if not callable(getattr(lean, "save", None)):
        import cloudpickle

        return None, cloudpickle.dumps(lean, protocol=pickle.HIGHEST_PROTOCOL), True
    if folder is not None:
        return str(lean.save(folder)), None, False
    with tempfile.TemporaryDirectory(prefix="labelwise-model-") as temporary:
        saved = Path(lean.save(Path(temporary) / "model"))
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as archive:
            archive.add(saved, arcname="model")
        return None, buffer.getvalue(), False


def _load(handle: ModelHandle, payload: Any) -> Any:
    from labelwise.models import load_model

    if handle.pickled:
        return pickle.loads(payload)  # noqa: S301 - bytes this session's client pickled
    if handle.folder is not None:
        return load_model(handle.folder)
    with tempfile.TemporaryDirectory(prefix="labelwise-model-") as temporary:
        with tarfile.open(fileobj=io.BytesIO(payload), mode="r") as archive:
            archive.extractall(temporary, filter="data")
        return load_model(Path(temporary) / "model")


def unfitted_embedding_state(model: Any) -> str | None:
    """Why embeddings computed on the workers would differ from one process, or None.

    TF-IDF's LSA projection is fitted on first use from the pool cache ``prepare`` builds;
    a model that was never prepared would fit it on whatever rows it first embeds: on the
    client a single row, on each worker its own partition (a different projection per
    partition). Such a model may score row-wise (probabilities) but must not embed."""
    if not callable(getattr(model, "_fit_projection", None)) or hasattr(model, "projection_"):
        return None
    if getattr(model, "_cache_matrix", None) is not None:
        return None
    return (f"{type(model).__name__} fits its embedding projection on the pool on first use, and this model "
            "was never prepared on the pool, so each worker would fit a different projection on its own "
            "partition. Fix: call model.prepare(pool) before model.fit(...) (ActiveLearner does this for an "
            "in-memory pool), or use a strategy that reads probabilities only (entropy, margin, ...).")


class _RefusedEmbed:
    def __init__(self, reason: str) -> None:
        self.reason = reason

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise CapabilityError(self.reason)


def worker_model(handle: ModelHandle, payload: Any = None) -> Any:
    """The model of ``handle.version`` in this process: loaded on first use, older
    versions evicted."""
    with _LOCK:
        model = _MODELS.get(handle.version)
        if model is None:
            model = _load(handle, payload)
            if handle.embeddings_refused is not None:
                # Any path to the embeddings (direct or derived) raises instead of fitting a
                # projection on this worker's rows.
                model.embed = _RefusedEmbed(handle.embeddings_refused)
            _MODELS.clear()
            _MODELS[handle.version] = model
            LOADS.append(handle.version)
        return model


def loads_here() -> list[str]:
    """Versions this worker process loaded, in order (one entry per load)."""
    return list(LOADS)


def cached_versions() -> list[str]:
    return list(_MODELS)


def check_version(version: Any) -> str:
    if not isinstance(version, str) or not version:
        raise ConfigError(f"a model version must be a non-empty string, got {version!r}.")
    return version
