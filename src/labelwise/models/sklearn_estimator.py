"""Any scikit-learn estimator or pipeline as a labelwise model, over texts or over embeddings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from labelwise._random import RandomState
from labelwise.errors import CapabilityError, ConfigError
from labelwise.models._estimator import LabelwiseModel
from labelwise.models.embedding import (
    embed_dataset,
    fit_head_onto,
    get_encoder,
    head_probabilities,
    load_joblib,
    save_joblib,
)

_STATE_FILE = "estimator.joblib"
_FEATURES = ("texts", "embeddings")
_ALL_KINDS = ("probabilities", "embeddings", "last_layer_features")


class _Provides:
    """``provides`` per instance: what this estimator and these features can compute. On the
    class it lists every kind an instance may provide (config checks see the class)."""

    def __get__(self, instance: Any, owner: type) -> tuple[str, ...]:
        if instance is None:
            return _ALL_KINDS
        kinds = []
        if hasattr(instance._template(), "predict_proba"):
            kinds.append("probabilities")
        if instance.features == "embeddings":
            kinds += ["embeddings", "last_layer_features"]
        return tuple(kinds)


class SklearnClassifier(LabelwiseModel):
    """A scikit-learn estimator (or pipeline) trained on the labeled texts.

    ``features="texts"``: the estimator reads raw texts, so it is a pipeline that starts with
    a vectorizer (default: TF-IDF word 1-2-grams + logistic regression).
    ``features="embeddings"``: it reads frozen sentence-encoder embeddings, computed once and
    cached by the same shared encoder as :class:`~labelwise.models.EmbeddingClassifier`
    (same ``encoder``/``max_length``/``cache_dir`` = the same cache).

    Outputs (``provides``, per instance): ``probabilities`` when the estimator has
    ``predict_proba``; ``embeddings`` and ``last_layer_features`` when features are
    embeddings. A strategy needing more gets a :class:`CapabilityError` before it runs.

    Args:
        estimator: the unfitted estimator or pipeline (cloned at each fit).
        features: ``"texts"`` or ``"embeddings"``.
        encoder, max_length, batch_size, device, cache_dir: the encoder for
            ``features="embeddings"`` (see :class:`~labelwise.models.EmbeddingClassifier`).
        random_state: set on the estimator's ``random_state`` parameter when it has one.

    ``save`` writes ``params.json`` and ``estimator.joblib`` (a pickle): load only folders you trust.
    """

    provides = _Provides()  # type: ignore[assignment]

    def __init__(self, estimator: Any = None, features: str = "texts", encoder: str | None = "minilm",
                 max_length: int = 256, batch_size: int = 64, device: str = "auto", cache_dir: str | None = None,
                 random_state: RandomState = 0, progress: bool = True) -> None:
        self.estimator = estimator
        self.features = features
        self.encoder = encoder
        self.max_length = max_length
        self.batch_size = batch_size
        self.device = device
        self.cache_dir = cache_dir
        self.random_state = random_state
        self.progress = progress

    def _template(self) -> Any:
        if self.features not in _FEATURES:
            raise ConfigError(f"SklearnClassifier: features must be one of {_FEATURES}, got {self.features!r}.")
        if self.estimator is None:
            from sklearn.linear_model import LogisticRegression

            if self.features == "embeddings":
                return LogisticRegression(C=10.0, max_iter=1000)
            from sklearn.feature_extraction.text import TfidfVectorizer
            from sklearn.pipeline import make_pipeline

            return make_pipeline(TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True),
                                 LogisticRegression(C=10.0, max_iter=1000))
        if not (hasattr(self.estimator, "fit") and hasattr(self.estimator, "get_params")):
            raise ConfigError(f"SklearnClassifier: estimator must be a scikit-learn estimator, got "
                              f"{type(self.estimator).__name__}.")
        return self.estimator

    def _inputs(self, dataset: Any) -> Any:
        if self.features == "embeddings":
            return embed_dataset(self._encoder(), dataset, self.progress)
        return list(dataset.inputs)

    def _encoder(self) -> Any:
        return get_encoder(self.encoder, max_length=self.max_length, batch_size=self.batch_size,
                           device=self.device, cache_dir=self.cache_dir)

    def prepare(self, pool: Any) -> None:
        """Embed the pool once when features are embeddings (nothing to do for texts)."""
        if self.features == "embeddings":
            embed_dataset(self._encoder(), pool, self.progress, whole_pool=True)

    def fit(self, dataset: Any) -> SklearnClassifier:
        template = self._template()
        self.estimator_, self.classes_ = fit_head_onto(self, template, self._inputs(dataset), dataset)
        return self

    @property
    def is_fitted(self) -> bool:
        return hasattr(self, "estimator_")

    def _need(self, kind: str) -> None:
        if kind not in self.provides:
            why = (f"{type(self._template()).__name__} has no predict_proba" if kind == "probabilities"
                   else "features='texts'")
            raise CapabilityError(f"SklearnClassifier cannot compute {kind!r} ({why}). Fix: "
                                  + ("use an estimator with predict_proba (e.g. LogisticRegression, or "
                                     "CalibratedClassifierCV around it)." if kind == "probabilities"
                                     else "set features='embeddings', or choose a strategy that reads "
                                          "probabilities only."))

    def predict_proba(self, dataset: Any) -> np.ndarray:
        """Class probabilities ``(n, n_classes)`` float32."""
        self._need("probabilities")
        self._check_fitted()
        return head_probabilities(self.estimator_, self._inputs(dataset), self.classes_, self.n_classes_,
                                  self.multi_label_)

    def predict(self, dataset: Any) -> np.ndarray:
        self._check_fitted()
        if "probabilities" not in self.provides:
            return np.asarray(self.estimator_.predict(self._inputs(dataset)))
        probabilities = self.predict_proba(dataset)
        if self.multi_label_:
            return (probabilities >= 0.5).astype(np.int8)
        return probabilities.argmax(axis=1)

    def embed(self, dataset: Any) -> np.ndarray:
        """Encoder embeddings ``(n, dim)`` float32 (``features="embeddings"`` only); no fit needed."""
        self._need("embeddings")
        return self._inputs(dataset)

    def last_layer_features(self, dataset: Any) -> np.ndarray:
        """What the estimator reads: the embeddings ``(n, dim)``."""
        self._need("last_layer_features")
        return self._inputs(dataset)

    # ---- persistence -------------------------------------------------------------------------
    def _save_weights(self, folder: Path) -> None:
        save_joblib(folder / _STATE_FILE, {"estimator": self.estimator, "estimator_": self.estimator_,
                                           "classes_": self.classes_, "label_names_": self.label_names_,
                                           "n_classes_": self.n_classes_, "multi_label_": self.multi_label_})

    @classmethod
    def _load_folder(cls, folder: Path, template: Any = None, overrides: dict[str, Any] | None = None) -> Any:
        overrides = dict(overrides or {})
        if "estimator" not in overrides and template is None:
            overrides["estimator"] = load_joblib(folder / _STATE_FILE)["estimator"]
        return super()._load_folder(folder, template=template, overrides=overrides)

    def _restore(self, folder: Path, state: dict[str, Any]) -> None:
        saved = load_joblib(folder / _STATE_FILE)
        saved.pop("estimator", None)
        self.__dict__.update(saved)
