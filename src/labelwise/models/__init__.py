"""Model adapters. Torch-based adapters load lazily, so the default scikit-learn path
never imports torch."""

from importlib import import_module
from typing import Any

from labelwise.models._estimator import LabelwiseModel, load_model
from labelwise.models.base import is_fitted
from labelwise.models.registry import available_models, get_model
from labelwise.models.sklearn_text import TfidfLogisticRegression

_LAZY = {
    "TransformerClassifier": "labelwise.models.hf_classification",
    "TextCNN": "labelwise.models.text_cnn",
    "TorchModuleClassifier": "labelwise.models.torch_module",
    "TransformerTagger": "labelwise.models.hf_token_classification",
    "BiLSTMCRFTagger": "labelwise.models.bilstm_crf",
    "TransformerSeq2Seq": "labelwise.models.hf_seq2seq",
    "MaskedLanguageModel": "labelwise.models.masked_lm",
    "EmbeddingClassifier": "labelwise.models.embedding",
    "SklearnClassifier": "labelwise.models.sklearn_estimator",
    "SetFitClassifier": "labelwise.models.setfit_classifier",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'labelwise.models' has no attribute {name!r}")


__all__ = [
    "LabelwiseModel",
    "TfidfLogisticRegression",
    "available_models",
    "get_model",
    "is_fitted",
    "load_model",
    *_LAZY,
]
