"""A frozen sentence encoder whose embeddings are computed once, plus any scikit-learn head.

The encoder never changes, so every text is embedded once per process (and once ever when
``cache_dir`` is given): after the pool is embedded, an AL iteration costs the head's fit.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from labelwise._io import atomic_write_bytes, atomic_write_text
from labelwise._lazy import optional_import
from labelwise._random import RandomState
from labelwise.errors import ConfigError, DataError
from labelwise.models._estimator import LabelwiseModel, resolve_seed

_HEAD_FILE = "head.joblib"
SUCCESSOR_NAMES = ("mpnet", "successor", "all-mpnet-base-v2")


def text_key(text: str) -> bytes:
    """The cache key of one text (16-byte BLAKE2b of its UTF-8 bytes)."""
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()


def resolve_encoder(encoder: str | os.PathLike | None) -> str:
    """A loadable folder or hub name: ``"minilm"``/None is the packaged MiniLM, ``"mpnet"``
    the MPNet successor (``labelwise[successor]``), anything else a local path or hub name."""
    from labelwise.models.pretrained import resolve_model_path, successor_encoder_path

    if encoder is not None and str(encoder).lower() in SUCCESSOR_NAMES:
        return successor_encoder_path()
    return resolve_model_path(encoder)


class SentenceEncoder:
    """One frozen Hugging Face encoder with mean (or CLS) pooling and L2 normalisation, as
    sentence-transformers computes ``all-MiniLM-L6-v2`` embeddings, and a cache of them.

    The cache is keyed by text hash in memory and, when ``cache_dir`` is given, on disk under
    ``cache_dir/<identity>/`` (``identity`` hashes the encoder, pooling, max_length and
    normalisation), as float32 ``.npy`` chunks beside the list of their text hashes.
    Obtain shared instances with :func:`get_encoder`, so every model in a process (each seed
    of a benchmark, :class:`~labelwise.models.SklearnClassifier` over embeddings) reuses them.
    """

    def __init__(self, encoder: str | os.PathLike | None = "minilm", *, max_length: int = 256,
                 pooling: str = "mean", normalize: bool = True, batch_size: int = 64, device: str = "auto",
                 cache_dir: str | os.PathLike | None = None) -> None:
        if pooling not in ("mean", "cls"):
            raise ConfigError(f"pooling must be 'mean' or 'cls', got {pooling!r}.")
        if int(max_length) < 2 or int(batch_size) < 1:
            raise ConfigError(f"max_length must be >= 2 and batch_size >= 1, got {max_length} and {batch_size}.")
        self.source = resolve_encoder(encoder)
        self.max_length = int(max_length)
        self.pooling = pooling
        self.normalize = bool(normalize)
        self.batch_size = int(batch_size)
        self.device_name = device
        self.cache_dir = None if cache_dir is None else Path(cache_dir).expanduser()
        self.identity = self._identity()
        self.n_encoded = 0  # texts run through the network (for tests and timing reports)
        self._rows: dict[bytes, np.ndarray] = {}
        self._lock = threading.Lock()
        self._loaded_disk = False
        self._network: Any = None

    def _identity(self) -> str:
        weights = ""
        folder = Path(self.source)
        if folder.is_dir():  # a changed checkpoint in the same folder must not reuse old rows
            weights = ",".join(f"{p.name}:{p.stat().st_size}" for p in sorted(folder.glob("*.safetensors")))
        recipe = f"{self.source}|{weights}|{self.pooling}|{self.max_length}|{self.normalize}"
        return hashlib.blake2b(recipe.encode("utf-8"), digest_size=10).hexdigest()

    # ---- the network -----------------------------------------------------------------------
    def _load(self) -> Any:
        if self._network is None:
            transformers = optional_import("transformers", "transformers", "embedding models")
            AutoModel, AutoTokenizer = transformers.AutoModel, transformers.AutoTokenizer
            import torch

            from labelwise.models.torch_utils import choose_device

            device = choose_device(None if self.device_name in (None, "auto") else self.device_name)
            tokenizer = AutoTokenizer.from_pretrained(self.source)
            with torch.random.fork_rng(devices=[]):  # unused layers (a pooler) draw from the global RNG
                module = AutoModel.from_pretrained(self.source).to(device).eval()
            self._network = (tokenizer, module, device)
        return self._network

    @property
    def dimension(self) -> int:
        return int(self._load()[1].config.hidden_size)

    def _encode(self, texts: Sequence[str], progress: bool = False) -> np.ndarray:
        """Run the network over ``texts``: ``(n, dim)`` float32, longest texts batched together."""
        import torch
        from tqdm.auto import tqdm

        tokenizer, module, device = self._load()
        order = np.argsort([-len(text) for text in texts], kind="stable")
        result = np.zeros((len(texts), module.config.hidden_size), dtype=np.float32)
        starts = range(0, len(order), self.batch_size)
        bar = tqdm(starts, desc="embedding texts", unit="batch", disable=not progress or None, leave=False)
        fp16 = torch.autocast("cuda", dtype=torch.float16) if device.type == "cuda" else _null()
        with torch.inference_mode(), fp16:
            for start in bar:
                rows = order[start : start + self.batch_size]
                batch = tokenizer([texts[i] for i in rows], padding=True, truncation=True,
                                  max_length=self.max_length, return_tensors="pt").to(device)
                hidden = module(**batch).last_hidden_state.float()
                if self.pooling == "cls":
                    pooled = hidden[:, 0]
                else:
                    mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                    pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                if self.normalize:
                    pooled = torch.nn.functional.normalize(pooled, p=2, dim=1)
                result[rows] = pooled.cpu().numpy()
        self.n_encoded += len(texts)
        return result

    # ---- the cache -------------------------------------------------------------------------
    def embed(self, texts: Sequence[str], progress: bool = False) -> np.ndarray:
        """Embeddings ``(n, dim)`` float32 of ``texts``; only texts never seen are encoded."""
        texts = list(texts)
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise DataError(f"row {i}: expected a text (str), got {type(text).__name__}.")
        keys = [text_key(text) for text in texts]
        rows = self._cached_rows(keys, texts, self._encode, progress)
        if not keys:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack(rows)

    def _cached_rows(self, keys: Sequence[bytes], items: Sequence[Any], encode: Any, progress: bool) -> list:
        """The cached value of each key; items whose key was never seen are encoded (once per
        key, in one call of ``encode``) and written to the memory and disk caches."""
        with self._lock:
            self._read_disk()
            missing: dict[bytes, int] = {}
            for position, key in enumerate(keys):
                if key not in self._rows and key not in missing:
                    missing[key] = position
            if missing:
                fresh = encode([items[p] for p in missing.values()], progress=progress)
                for key, row in zip(missing, fresh, strict=True):
                    self._rows[key] = row
                self._write_disk(list(missing), fresh)
            return [self._rows[key] for key in keys]

    def _folder(self) -> Path | None:
        return None if self.cache_dir is None else self.cache_dir / self.identity

    def _read_disk(self) -> None:
        """Load every complete chunk of the disk cache once (a ``.npy`` matrix and, written
        after it, its ``.keys`` list)."""
        folder = self._folder()
        if folder is None or self._loaded_disk:
            return
        self._loaded_disk = True
        if not folder.is_dir():
            return
        for keys_file in sorted(folder.glob("*.keys")):
            try:
                text = keys_file.read_text(encoding="ascii")
                matrix = np.load(keys_file.with_suffix(".npy"), allow_pickle=False)
            except (OSError, ValueError):
                continue  # a chunk another process is still writing, or a damaged one: re-encode
            if matrix.ndim != 2 or matrix.dtype != np.float32:
                continue
            for digest, value in self._chunk_entries(text, matrix):
                self._rows.setdefault(bytes.fromhex(digest), value)

    def _write_disk(self, keys: list[bytes], values: Any) -> None:
        folder = self._folder()
        if folder is None:
            return
        import io

        name = hashlib.blake2b(b"".join(keys), digest_size=12).hexdigest()
        matrix, key_lines = self._chunk_of(keys, values)
        buffer = io.BytesIO()
        np.save(buffer, np.ascontiguousarray(matrix, dtype=np.float32), allow_pickle=False)
        # the matrix first, its key list last: a chunk without keys is ignored by readers
        atomic_write_bytes(folder / f"{name}.npy", buffer.getvalue())
        atomic_write_text(folder / f"{name}.keys", key_lines)

    # The chunk format, one row per text; WordEncoder stores a row per word instead.
    def _chunk_of(self, keys: list[bytes], values: Any) -> tuple[np.ndarray, str]:
        """The matrix and the ``.keys`` text of one chunk."""
        return np.asarray(values), "\n".join(key.hex() for key in keys) + "\n"

    def _chunk_entries(self, text: str, matrix: np.ndarray) -> list[tuple[str, Any]]:
        """``(hex key, cached value)`` pairs of one chunk read back; none if it does not fit."""
        hashes = text.split()
        return list(zip(hashes, matrix, strict=True)) if matrix.shape[0] == len(hashes) else []


class _null:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *_: Any) -> None:
        return None


_ENCODERS: dict[tuple, SentenceEncoder] = {}
_ENCODERS_LOCK = threading.Lock()


def get_encoder(encoder: str | os.PathLike | None = "minilm", *, max_length: int = 256, pooling: str = "mean",
                normalize: bool = True, batch_size: int = 64, device: str = "auto",
                cache_dir: str | os.PathLike | None = None) -> SentenceEncoder:
    """The process-wide :class:`SentenceEncoder` for these settings (created on first use)."""
    cache = None if cache_dir is None else str(Path(cache_dir).expanduser().resolve())
    key = (str(encoder), int(max_length), pooling, bool(normalize), int(batch_size), str(device), cache)
    with _ENCODERS_LOCK:
        if key not in _ENCODERS:
            _ENCODERS[key] = SentenceEncoder(encoder, max_length=max_length, pooling=pooling, normalize=normalize,
                                             batch_size=batch_size, device=device, cache_dir=cache_dir)
        return _ENCODERS[key]


def clear_encoder_cache() -> None:
    """Forget every shared encoder and its in-memory embeddings (disk caches stay)."""
    with _ENCODERS_LOCK:
        _ENCODERS.clear()


def fit_head(head: Any, features: np.ndarray, dataset: Any, seed: int) -> tuple[Any, np.ndarray]:
    """A fresh clone of ``head`` fitted on ``features``; returns it and the classes it saw.
    Multi-label data is fitted one-vs-rest. Every ``random_state`` of the head (a pipeline's
    steps included) is set to ``seed``."""
    from sklearn.base import clone
    from sklearn.multiclass import OneVsRestClassifier

    if dataset.labels is None:
        raise DataError("fit() needs a labeled dataset.")
    model = clone(head)
    # every random_state, nested ones in a pipeline included: the same seed, the same model
    seeds = {key: seed for key in model.get_params(deep=True) if key.split("__")[-1] == "random_state"}
    if seeds:
        model.set_params(**seeds)
    labels = np.asarray(dataset.labels)
    if dataset.multi_label:
        model = OneVsRestClassifier(model).fit(features, labels)
        return model, np.arange(dataset.n_classes)
    model.fit(features, labels)
    return model, np.asarray(getattr(model, "classes_", np.unique(labels)))


def fit_head_onto(model: Any, head: Any, features: Any, dataset: Any) -> tuple[Any, np.ndarray]:
    """``fit_head`` seeded by ``model.random_state``, recording the dataset's label names,
    class count and multi-label flag on ``model``; returns the fitted head and its classes."""
    fitted = fit_head(head, features, dataset, resolve_seed(model.random_state))
    model.label_names_ = tuple(dataset.label_names)
    model.n_classes_ = int(dataset.n_classes)
    model.multi_label_ = bool(dataset.multi_label)
    return fitted


def embed_dataset(encoder: SentenceEncoder, dataset: Any, progress: bool, *, whole_pool: bool = False) -> np.ndarray:
    """``encoder.embed`` of the dataset's inputs; a progress bar for the whole pool (``prepare``)
    or for more than 1000 rows."""
    return encoder.embed(dataset.inputs, progress=progress and (whole_pool or len(dataset) > 1000))


def head_probabilities(head: Any, features: Any, classes: np.ndarray, n_classes: int,
                       multi_label: bool) -> np.ndarray:
    """``head.predict_proba`` as ``(n, n_classes)`` float32, classes unseen in training at 0."""
    raw = np.asarray(head.predict_proba(features), dtype=np.float32)
    if multi_label or raw.shape[1] == n_classes:
        return raw
    full = np.zeros((raw.shape[0], n_classes), dtype=np.float32)
    full[:, np.asarray(classes, dtype=np.int64)] = raw
    return full


class EmbeddingClassifier(LabelwiseModel):
    """Frozen sentence-encoder embeddings plus a scikit-learn head (logistic regression).

    The encoder is frozen, so embeddings exist before the first fit (a cold start for
    BERT-KM or Coreset) and each text is embedded once: :meth:`prepare` embeds the pool
    with a progress bar, and every later fit trains the head only.

    Outputs: ``probabilities`` ``(n, n_classes)``, ``embeddings`` ``(n, dim)`` and
    ``last_layer_features`` ``(n, dim)`` (the same L2-normalised embeddings the head reads),
    so BADGE, BAIT, EGL, CAL, Coreset, Cluster-Margin, BERT-KM and DAL run on it.

    Args:
        encoder: ``"minilm"`` (the packaged all-MiniLM-L6-v2, default), ``"mpnet"`` (the
            all-mpnet-base-v2 successor, ``labelwise[successor]``), or any Hugging Face /
            sentence-transformers folder or hub name.
        head: any scikit-learn classifier (cloned at each fit); None = LogisticRegression(C).
        C: inverse regularisation of the default head.
        max_length: tokens per text kept by the encoder.
        pooling: ``"mean"`` (sentence-transformers' MiniLM/MPNet) or ``"cls"``.
        normalize: L2-normalise the pooled embeddings.
        batch_size: texts per encoder batch (sorted by length).
        device: ``"auto"`` (CUDA with fp16 autocast when present, else CPU), ``"cpu"``, ``"cuda"``.
        cache_dir: also keep embeddings on disk here (reused by later runs and processes).
        random_state: seed of the head (None: fresh entropy per fit).
        progress: show a progress bar while the pool is embedded.
        class_weight: ``class_weight`` of the default head (``"balanced"`` for skewed labels,
            e.g. CoLA); ignored when ``head`` is given.

    ``save`` writes ``params.json`` and ``head.joblib`` (a pickle of the fitted head): load
    only folders you trust. The encoder is read again from ``encoder`` on load.
    """

    provides = ("probabilities", "embeddings", "last_layer_features")

    def __init__(self, encoder: str | None = "minilm", head: Any = None, C: float = 10.0, max_length: int = 256,
                 pooling: str = "mean", normalize: bool = True, batch_size: int = 64, device: str = "auto",
                 cache_dir: str | None = None, random_state: RandomState = 0, progress: bool = True,
                 class_weight: Any = None) -> None:
        self.encoder = encoder
        self.head = head
        self.C = C
        self.max_length = max_length
        self.pooling = pooling
        self.normalize = normalize
        self.batch_size = batch_size
        self.device = device
        self.cache_dir = cache_dir
        self.random_state = random_state
        self.progress = progress
        self.class_weight = class_weight

    def sentence_encoder(self) -> SentenceEncoder:
        """The shared frozen encoder (and its embedding cache) for this model's settings."""
        return get_encoder(self.encoder, max_length=self.max_length, pooling=self.pooling,
                           normalize=self.normalize, batch_size=self.batch_size, device=self.device,
                           cache_dir=self.cache_dir)

    def _head_template(self) -> Any:
        if self.head is not None:
            if not (hasattr(self.head, "fit") and hasattr(self.head, "get_params")):
                raise ConfigError(f"head must be a scikit-learn estimator, got {type(self.head).__name__}.")
            return self.head
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(C=self.C, class_weight=self.class_weight, max_iter=1000)

    def prepare(self, pool: Any) -> None:
        """Embed the pool once (progress bar), so later iterations cost the head's fit only."""
        embed_dataset(self.sentence_encoder(), pool, self.progress, whole_pool=True)

    def embed(self, dataset: Any) -> np.ndarray:
        """Embeddings ``(n, dim)`` float32; available before any fit."""
        return embed_dataset(self.sentence_encoder(), dataset, self.progress)

    def last_layer_features(self, dataset: Any) -> np.ndarray:
        """What the head reads: the embeddings ``(n, dim)``."""
        return self.embed(dataset)

    def fit(self, dataset: Any) -> EmbeddingClassifier:
        template = self._head_template()
        self.head_, self.classes_ = fit_head_onto(self, template, self.embed(dataset), dataset)
        return self

    @property
    def is_fitted(self) -> bool:
        return hasattr(self, "head_")

    def predict_proba(self, dataset: Any) -> np.ndarray:
        """Class probabilities ``(n, n_classes)`` float32."""
        self._check_fitted()
        if not hasattr(self.head_, "predict_proba"):
            from labelwise.errors import CapabilityError

            raise CapabilityError(f"the head {type(self.head_).__name__} has no predict_proba; use a "
                                  "probabilistic head (LogisticRegression, or CalibratedClassifierCV around it).")
        return head_probabilities(self.head_, self.embed(dataset), self.classes_, self.n_classes_,
                                  self.multi_label_)

    def predict(self, dataset: Any) -> np.ndarray:
        self._check_fitted()
        features = self.embed(dataset)
        if not hasattr(self.head_, "predict_proba"):
            return np.asarray(self.head_.predict(features))
        probabilities = head_probabilities(self.head_, features, self.classes_, self.n_classes_, self.multi_label_)
        if self.multi_label_:
            return (probabilities >= 0.5).astype(np.int8)
        return probabilities.argmax(axis=1)

    # ---- persistence -------------------------------------------------------------------------
    def _save_weights(self, folder: Path) -> None:
        save_joblib(folder / _HEAD_FILE, {"head": self.head, "head_": self.head_, "classes_": self.classes_,
                                          "label_names_": self.label_names_, "n_classes_": self.n_classes_,
                                          "multi_label_": self.multi_label_})

    @classmethod
    def _load_folder(cls, folder: Path, template: Any = None, overrides: dict[str, Any] | None = None) -> Any:
        overrides = dict(overrides or {})
        if "head" not in overrides and template is None:
            overrides["head"] = load_joblib(folder / _HEAD_FILE)["head"]
        return super()._load_folder(folder, template=template, overrides=overrides)

    def _restore(self, folder: Path, state: dict[str, Any]) -> None:
        saved = load_joblib(folder / _HEAD_FILE)
        saved.pop("head", None)
        self.__dict__.update(saved)


def save_joblib(path: Path, value: Any) -> None:
    """``value`` pickled with joblib, written atomically."""
    import io

    import joblib

    buffer = io.BytesIO()
    joblib.dump(value, buffer)
    atomic_write_bytes(path, buffer.getvalue())


def load_joblib(path: Path) -> Any:
    """Read :func:`save_joblib`'s file (a pickle: trusted folders only)."""
    import joblib

    if not path.is_file():
        raise DataError(f"no {path.name} here: not a folder written by save().", path=str(path.parent),
                        fix="pass the folder given to save().")
    try:
        return joblib.load(path)
    except Exception as error:  # noqa: BLE001 - any unpickling failure means a damaged file
        raise DataError(f"{path.name} is damaged ({type(error).__name__}: {error}).", path=str(path),
                        fix="save the model again.") from error
