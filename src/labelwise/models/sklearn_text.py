"""TF-IDF (word and character n-grams) + logistic regression: the fast default model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import FeatureUnion

from labelwise._random import RandomState
from labelwise.data.datasets import ClassificationDataset
from labelwise.errors import DataError, NotFittedError
from labelwise.models._estimator import LabelwiseModel, resolve_seed

_STATE_FILE = "estimator.joblib"


class TfidfLogisticRegression(LabelwiseModel):
    """Word (1-2)-gram and character (2-5)-gram TF-IDF features, then logistic regression.

    The vectoriser is fitted once on the whole pool by :meth:`prepare` (unsupervised,
    transductive, as in small-text's benchmarks) and the pool's feature rows are cached,
    so each AL iteration only refits the linear model. Without ``prepare`` the vectoriser
    is fitted on the training texts.

    Outputs: ``predict_proba``, ``embed`` (an LSA projection of the TF-IDF features,
    ``embedding_dim`` wide, for the diversity strategies) and ``last_layer_features``
    (the sparse TF-IDF rows the classifier reads).

    Args:
        C: inverse regularisation strength of the logistic regression.
        max_features: vocabulary size of each vectoriser.
        embedding_dim: width of the LSA embedding.
        class_weight: passed to LogisticRegression ("balanced" helps with rare classes).
        random_state: seed or Generator for the SVD and the solver (None: fresh entropy).
        progress: show a tqdm bar while the TF-IDF features of the pool are built (the
            first query's slow part: about 2 minutes at 200k texts).

    ``save`` writes ``params.json`` and ``estimator.joblib`` (a pickle of the fitted
    scikit-learn objects): load only folders you trust.
    """

    provides = ("probabilities", "embeddings", "last_layer_features")

    def __init__(
        self,
        C: float = 10.0,
        max_features: int = 30_000,
        embedding_dim: int = 128,
        class_weight: str | None = None,
        max_iter: int = 1000,
        random_state: RandomState = 0,
        progress: bool = True,
    ) -> None:
        self.C = C
        self.max_features = max_features
        self.embedding_dim = embedding_dim
        self.class_weight = class_weight
        self.max_iter = max_iter
        self.random_state = random_state
        self.progress = progress

    def _new_vectorizer(self) -> FeatureUnion:
        return FeatureUnion(
            [
                ("word", TfidfVectorizer(ngram_range=(1, 2), token_pattern=r"(?u)\b\w+\b", sublinear_tf=True,
                                          max_features=self.max_features, dtype=np.float32)),
                ("char", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True,
                                          max_features=self.max_features, dtype=np.float32)),
            ]
        )

    def prepare(self, pool: ClassificationDataset) -> None:
        """Fit the vectorisers on the pool and keep its feature rows: each text is read once
        per vectoriser (``fit_transform``), with a progress bar."""
        texts = list(pool.inputs)
        self.vectorizer_, self._cache_matrix = self._fit_transform(texts)
        self._recent: dict[int, sp.csr_matrix] = {}
        self._cache_rows = {text: row for row, text in enumerate(texts)}

    def _fit_transform(self, texts: list[str]) -> tuple[FeatureUnion, sp.csr_matrix]:
        from tqdm.auto import tqdm

        union = self._new_vectorizer()
        blocks = []
        for name, vectorizer in union.transformer_list:
            rows = tqdm(texts, desc=f"TF-IDF {name} n-grams", disable=not self.progress or None,
                        leave=False, mininterval=1.0)
            blocks.append(vectorizer.fit_transform(rows))
        matrix = sp.csr_matrix(sp.hstack(blocks, format="csr"), dtype=np.float32)
        # transform() returns sorted column indices; sorting the cache too makes a cached row
        # and a freshly transformed one give the same floats (a worker without the cache, or
        # a test text, scores bit for bit as the pool row does).
        matrix.sort_indices()
        return union, matrix

    def features(self, dataset: Any) -> sp.csr_matrix:
        """TF-IDF rows for ``dataset``, from the pool cache where possible."""
        if not hasattr(self, "vectorizer_"):
            raise NotFittedError("call fit() (or prepare()) before asking for features.")
        texts = list(dataset.inputs)
        cache = getattr(self, "_cache_rows", None)
        if cache is not None:
            rows = [cache.get(text, -1) for text in texts]
            if min(rows, default=0) >= 0:
                return self._cache_matrix[rows]
        # Test sets are scored every iteration: keep the last few non-pool matrices.
        key = hash(tuple(texts))
        recent = self.__dict__.setdefault("_recent", {})
        if key not in recent:
            if len(recent) >= 4:
                recent.pop(next(iter(recent)))
            recent[key] = sp.csr_matrix(self.vectorizer_.transform(texts), dtype=np.float32)
        return recent[key]

    def fit(self, dataset: ClassificationDataset) -> TfidfLogisticRegression:
        if dataset.labels is None:
            raise DataError("fit() needs a labeled dataset.")
        seed = self._seed()
        if not hasattr(self, "vectorizer_"):
            self.vectorizer_ = self._fit_transform(list(dataset.inputs))[0]
        features = self.features(dataset)
        self.label_names_ = dataset.label_names
        self.multi_label_ = dataset.multi_label
        self.n_classes_ = dataset.n_classes
        base = LogisticRegression(C=self.C, max_iter=self.max_iter, class_weight=self.class_weight,
                                  random_state=seed)
        labels = np.asarray(dataset.labels)
        if self.multi_label_:
            self.classifier_ = OneVsRestClassifier(base).fit(features, labels)
            self.classes_ = np.arange(self.n_classes_)
        else:
            self.classifier_ = base.fit(features, labels)
            self.classes_ = self.classifier_.classes_
        self._projection_seed = seed
        return self

    def _fit_projection(self, seed: int) -> None:
        if hasattr(self, "projection_"):
            return
        matrix = getattr(self, "_cache_matrix", None)
        if matrix is None:
            return
        components = max(1, min(self.embedding_dim, matrix.shape[0] - 1, matrix.shape[1] - 1))
        self.projection_ = TruncatedSVD(n_components=components, random_state=seed).fit(matrix)

    def predict_proba(self, dataset: Any) -> np.ndarray:
        """Class probabilities ``(n, n_classes)`` float32; classes absent from the training
        data get probability 0 (single-label) so columns always match ``label_names``."""
        if not hasattr(self, "classifier_"):
            raise NotFittedError("this TfidfLogisticRegression is not fitted yet; call fit() first.")
        raw = self.classifier_.predict_proba(self.features(dataset)).astype(np.float32)
        if self.multi_label_ or raw.shape[1] == self.n_classes_:
            return raw
        full = np.zeros((raw.shape[0], self.n_classes_), dtype=np.float32)
        full[:, self.classes_] = raw
        return full

    def predict(self, dataset: Any) -> np.ndarray:
        probabilities = self.predict_proba(dataset)
        if self.multi_label_:
            return (probabilities >= 0.5).astype(np.int8)
        return probabilities.argmax(axis=1)

    def embed(self, dataset: Any) -> np.ndarray:
        """LSA embedding ``(n, embedding_dim)`` float32 of the TF-IDF features."""
        features = self.features(dataset)
        if not hasattr(self, "projection_"):
            # Fitted on first use only: strategies that never read embeddings never pay for the SVD.
            seed = getattr(self, "_projection_seed", None)
            seed = resolve_seed(self.random_state) if seed is None else seed
            if not hasattr(self, "_cache_matrix"):
                self._cache_matrix = features
            self._fit_projection(seed)
        return self.projection_.transform(features).astype(np.float32)

    def last_layer_features(self, dataset: Any) -> sp.csr_matrix:
        """The sparse TF-IDF rows ``(n, n_features)`` the logistic regression reads."""
        return self.features(dataset)

    @property
    def is_fitted(self) -> bool:
        return hasattr(self, "classifier_")

    # ---- persistence -------------------------------------------------------------------
    def _save_weights(self, folder: Path) -> None:
        import joblib

        from labelwise._io import atomic_write_bytes

        state = {k: v for k, v in vars(self).items() if k not in self.get_params(deep=False) and k != "_recent"}
        temporary = folder / (_STATE_FILE + ".tmp")
        joblib.dump(state, temporary)
        atomic_write_bytes(folder / _STATE_FILE, temporary.read_bytes())
        temporary.unlink()

    def _restore(self, folder: Path, state: dict[str, Any]) -> None:
        import joblib

        path = folder / _STATE_FILE
        if not path.is_file():
            raise DataError(f"no {_STATE_FILE} here.", path=str(folder), fix="pass the folder given to save().")
        self.__dict__.update(joblib.load(path))  # a pickle: trusted folders only (see the class docs)
