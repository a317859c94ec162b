"""Telling a mistyped local path from a Hugging Face hub name, before any network call.

A name that does not exist on disk is either a hub id (``imdb``, ``user/data``) or a typo
of a local path. Sending a typo to the hub costs tens of seconds of retries and ends in a
confusing message, so :func:`looks_like_local_path` and :func:`offline_mode` let loaders
answer "no such file or folder" at once. Used by ``data.loaders`` (datasets) and
``models.pretrained`` (model folders).
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path

_TRUE = {"1", "true", "yes", "on"}
OFFLINE_VARIABLES = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE")


def offline_variables() -> list[str]:
    """The offline switches that are on (``HF_HUB_OFFLINE=1`` and friends)."""
    return [name for name in OFFLINE_VARIABLES if os.environ.get(name, "").strip().lower() in _TRUE]


def offline_mode() -> bool:
    return bool(offline_variables())


def looks_like_local_path(name: str) -> bool:
    """Whether ``name`` can only mean a local path: it starts with ``./``, ``../``, ``/``,
    ``~`` or a drive letter, uses a backslash separator, has more than
    two parts (hub ids are ``name`` or ``owner/name``), or its first part is an existing
    local folder (``data/train`` beside a ``data/`` folder)."""
    text = str(name)
    if text.startswith(("./", "../", "/", "~", ".\\", "..\\")) or text in (".", ".."):
        return True
    if len(text) > 1 and text[1] == ":":  # C:\... or C:/...
        return True
    if "\\" in text or (os.sep != "/" and os.sep in text):
        return True
    parts = text.split("/")
    if len(parts) > 2 or any(part in ("", ".", "..") for part in parts):
        return True
    return len(parts) == 2 and Path(parts[0]).expanduser().is_dir()


def in_hub_cache(name: str, repo_type: str = "model") -> bool:
    """Whether the hub cache already holds ``name`` (so offline mode can still load it)."""
    try:
        from huggingface_hub import constants
    except ImportError:  # pragma: no cover - depends on the install
        return False
    folder = f"{repo_type}s--" + str(name).replace("/", "--")
    if (Path(constants.HF_HUB_CACHE) / folder).is_dir():
        return True
    if repo_type == "dataset":
        datasets_cache = Path(os.environ.get("HF_DATASETS_CACHE") or Path(constants.HF_HOME) / "datasets")
        return (datasets_cache / str(name).replace("/", "___")).is_dir()
    return False


def nearby_names(name: str) -> list[str]:
    """Existing files or folders whose names are close to ``name`` (for "did you mean")."""
    path = Path(str(name)).expanduser()
    parent = path.parent if str(path.parent) else Path(".")
    try:
        siblings = [p.name for p in parent.iterdir()]
    except OSError:
        return []
    return [str(parent / match) for match in difflib.get_close_matches(path.name, siblings, n=3, cutoff=0.75)]
