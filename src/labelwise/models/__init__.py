"""Model adapters. Torch-based adapters load lazily, so the default scikit-learn path
never imports torch."""

from labelwise._lazy import lazy_attributes
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
    "EmbeddingTagger": "labelwise.models.embedding_tagger",
    "TransformerSeq2Seq": "labelwise.models.hf_seq2seq",
    "MaskedLanguageModel": "labelwise.models.masked_lm",
    "EmbeddingClassifier": "labelwise.models.embedding",
    "SklearnClassifier": "labelwise.models.sklearn_estimator",
    "SetFitClassifier": "labelwise.models.setfit_classifier",
}


__getattr__ = lazy_attributes(__name__, _LAZY)


__all__ = [
    "LabelwiseModel",
    "TfidfLogisticRegression",
    "available_models",
    "get_model",
    "is_fitted",
    "load_model",
    *_LAZY,
]
