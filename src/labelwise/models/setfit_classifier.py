"""SetFit: contrastive fine-tuning of a sentence encoder on pairs of labeled texts, then a
logistic-regression head (Tunstall et al. 2022, "Efficient Few-Shot Learning Without
Prompts"); the few-shot model small-text and Argilla recommend."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from labelwise._lazy import optional_import
from labelwise._random import RandomState
from labelwise.errors import ConfigError, DataError, NotFittedError
from labelwise.models._estimator import LabelwiseModel, seeded
from labelwise.models.embedding import resolve_encoder

_FOLDER = "setfit"


def _import_setfit() -> Any:
    return optional_import("setfit", "setfit", "SetFitClassifier")


class SetFitClassifier(LabelwiseModel):
    """SetFit on a sentence encoder (the packaged MiniLM by default).

    Each fit starts again from the pretrained encoder: ``num_iterations`` pairs per labeled
    text are drawn, the encoder is fine-tuned contrastively for ``epochs`` epochs, then the
    head is fitted on the new embeddings. The pool's embeddings change with each fit, so they
    are computed once per fit (and reused by every strategy of that iteration).

    Outputs: ``probabilities`` ``(n, n_classes)``, ``embeddings`` and ``last_layer_features``
    ``(n, dim)`` (the fine-tuned encoder's embeddings, which the head reads). Before the first
    fit, embeddings come from the pretrained encoder (cold start for BERT-KM or Coreset).

    Args:
        encoder: ``"minilm"``, ``"mpnet"``, or a sentence-transformers / Hugging Face folder or hub name.
        num_iterations: contrastive pairs generated per labeled text (SetFit's ``num_iterations``).
        epochs: epochs over those pairs.
        batch_size: pairs per optimisation step, and texts per inference batch.
        learning_rate: the encoder's learning rate.
        max_length: tokens kept per text.
        device: ``"auto"``, ``"cpu"`` or ``"cuda"``.
        random_state: seed of the pair sampling, training and head (None: fresh entropy).
        progress: show SetFit's progress bars.

    ``save`` writes ``params.json`` and the SetFit folder (safetensors body and a pickled
    scikit-learn head, ``model_head.pkl``): load only folders you trust.
    """

    provides = ("probabilities", "embeddings", "last_layer_features")

    def __init__(self, encoder: str | None = "minilm", num_iterations: int = 20, epochs: int = 1,
                 batch_size: int = 16, learning_rate: float = 2e-5, max_length: int = 128, device: str = "auto",
                 random_state: RandomState = 0, progress: bool = False) -> None:
        self.encoder = encoder
        self.num_iterations = num_iterations
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.max_length = max_length
        self.device = device
        self.random_state = random_state
        self.progress = progress

    def _device(self) -> str | None:
        return None if self.device in (None, "auto") else str(self.device)

    def _new_model(self, labels: tuple[str, ...] | None = None, multi_label: bool = False) -> Any:
        setfit = _import_setfit()
        kwargs: dict[str, Any] = {"device": self._device()} if self._device() else {}
        if multi_label:
            kwargs["multi_target_strategy"] = "one-vs-rest"
        model = setfit.SetFitModel.from_pretrained(resolve_encoder(self.encoder), **kwargs)
        model.model_body.max_seq_length = int(self.max_length)
        return model

    def fit(self, dataset: Any) -> SetFitClassifier:
        if dataset.labels is None:
            raise DataError("fit() needs a labeled dataset.")
        for name in ("num_iterations", "epochs", "batch_size"):
            if int(getattr(self, name)) < 1:
                raise ConfigError(f"SetFitClassifier: {name} must be >= 1, got {getattr(self, name)!r}.")
        setfit = _import_setfit()
        from datasets import Dataset

        labels = np.asarray(dataset.labels)
        if not dataset.multi_label and len(np.unique(labels)) < 2:
            raise DataError("SetFit needs labeled texts of at least two classes (it trains on pairs).",
                            fix="label a few texts of another class first.")
        seed = self._seed()
        rows = {"text": list(dataset.inputs), "label": [list(map(int, r)) for r in labels]
                if dataset.multi_label else [int(v) for v in labels]}
        with seeded(seed), tempfile.TemporaryDirectory(prefix="labelwise-setfit-") as scratch:
            model = self._new_model(multi_label=dataset.multi_label)
            # output_dir: the Trainer writes ./checkpoints otherwise; nothing is kept from it.
            arguments = setfit.TrainingArguments(
                output_dir=scratch, batch_size=int(self.batch_size), num_epochs=int(self.epochs),
                num_iterations=int(self.num_iterations), body_learning_rate=float(self.learning_rate),
                max_length=int(self.max_length), seed=seed, report_to="none", save_strategy="no",
                show_progress_bar=bool(self.progress))
            trainer = setfit.Trainer(model=model, args=arguments, train_dataset=Dataset.from_dict(rows))
            trainer.train()
        self.module_ = model
        self.label_names_ = tuple(dataset.label_names)
        self.n_classes_ = int(dataset.n_classes)
        self.multi_label_ = bool(dataset.multi_label)
        self.classes_ = (np.arange(self.n_classes_) if self.multi_label_
                         else np.asarray(model.model_head.classes_, dtype=np.int64))
        self._embedded: dict[int, np.ndarray] = {}
        return self

    def _check_fitted(self) -> None:
        if not self.is_fitted:
            raise NotFittedError("this SetFitClassifier is not fitted yet; call fit() (or load()) first.")

    def embed(self, dataset: Any) -> np.ndarray:
        """Encoder embeddings ``(n, dim)`` float32 (the fine-tuned encoder once fitted)."""
        texts = list(dataset.inputs)
        key = hash(tuple(texts))
        recent = self.__dict__.setdefault("_embedded", {})
        if key in recent:
            return recent[key]
        if not self.is_fitted:
            from labelwise.models.embedding import get_encoder

            return get_encoder(self.encoder, max_length=self.max_length, device=self.device).embed(texts)
        body = self.module_.model_body
        result = np.asarray(body.encode(texts, batch_size=int(self.batch_size) * 4, convert_to_numpy=True,
                                        normalize_embeddings=getattr(self.module_, "normalize_embeddings", False),
                                        show_progress_bar=bool(self.progress) and len(texts) > 1000),
                            dtype=np.float32)
        if len(recent) >= 4:  # the pool and the test set, read by predict_proba and strategies alike
            recent.pop(next(iter(recent)))
        recent[key] = result
        return result

    def last_layer_features(self, dataset: Any) -> np.ndarray:
        """What the head reads: the fine-tuned embeddings ``(n, dim)``."""
        return self.embed(dataset)

    def predict_proba(self, dataset: Any) -> np.ndarray:
        """Class probabilities ``(n, n_classes)`` float32."""
        self._check_fitted()
        from labelwise.models.embedding import head_probabilities

        return head_probabilities(self.module_.model_head, self.embed(dataset), self.classes_, self.n_classes_,
                                  self.multi_label_)

    def predict(self, dataset: Any) -> np.ndarray:
        probabilities = self.predict_proba(dataset)
        if self.multi_label_:
            return (probabilities >= 0.5).astype(np.int8)
        return probabilities.argmax(axis=1)

    # ---- persistence -------------------------------------------------------------------------
    def _save_weights(self, folder: Path) -> None:
        self.module_.save_pretrained(str(folder / _FOLDER))

    def _fitted_state(self) -> dict[str, Any]:
        return {"label_names": list(self.label_names_), "multi_label": self.multi_label_,
                "classes": [int(c) for c in self.classes_]}

    def _restore(self, folder: Path, state: dict[str, Any]) -> None:
        setfit = _import_setfit()
        path = folder / _FOLDER
        if not (path / "config.json").is_file():
            raise DataError(f"no SetFit model in {path}.", path=str(folder), fix="pass the folder given to save().")
        kwargs: dict[str, Any] = {"device": self._device()} if self._device() else {}
        with seeded(0):  # loading draws nothing that matters, but must not move the global generators
            self.module_ = setfit.SetFitModel.from_pretrained(str(path), **kwargs)
        self.module_.model_body.max_seq_length = int(self.max_length)
        self.label_names_ = tuple(state["label_names"])
        self.n_classes_ = len(self.label_names_)
        self.multi_label_ = bool(state["multi_label"])
        self.classes_ = np.asarray(state["classes"], dtype=np.int64)
        self._embedded = {}
