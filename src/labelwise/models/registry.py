"""Models by name: ``get_model("transformer", model_name=...)``, ``available_models("tagging")``.

Every entry is lazy (``"module:Class"``): naming a torch model imports nothing until the model is
built, and a model whose optional extra is missing fails with a
:class:`~labelwise.errors.ConfigError` only when it is asked for. Each entry's ``tasks``
metadata says which task's datasets it fits; benchmark configs (``model: {name: ...}``) read
this same registry.
"""

from __future__ import annotations

from typing import Any

from labelwise._registry import Registry
from labelwise.errors import ConfigError

MODELS = Registry("model")

_CLASSIFICATION = ("classification",)
for _name, _aliases, _target, _tasks in (
    ("tfidf_lr", ("tfidf_logistic_regression",), "labelwise.models.sklearn_text:TfidfLogisticRegression",
     _CLASSIFICATION),
    ("transformer", ("transformer_classifier",), "labelwise.models.hf_classification:TransformerClassifier",
     _CLASSIFICATION),
    ("text_cnn", ("kim_cnn",), "labelwise.models.text_cnn:TextCNN", _CLASSIFICATION),
    ("torch_module", (), "labelwise.models.torch_module:TorchModuleClassifier", _CLASSIFICATION),
    ("embedding_lr", (), "labelwise.models.embedding:EmbeddingClassifier", _CLASSIFICATION),
    ("sklearn", ("sklearn_estimator",), "labelwise.models.sklearn_estimator:SklearnClassifier",
     _CLASSIFICATION),
    ("setfit", (), "labelwise.models.setfit_classifier:SetFitClassifier", _CLASSIFICATION),
    ("transformer_tagger", (), "labelwise.models.hf_token_classification:TransformerTagger", ("tagging",)),
    ("bilstm_crf", (), "labelwise.models.bilstm_crf:BiLSTMCRFTagger", ("tagging",)),
    ("embedding_tagger", (), "labelwise.models.embedding_tagger:EmbeddingTagger", ("tagging",)),
    ("transformer_seq2seq", ("seq2seq",), "labelwise.models.hf_seq2seq:TransformerSeq2Seq", ("seq2seq",)),
):
    MODELS.register(_name, *_aliases, target=_target, tasks=_tasks)
# A helper for output_options.language_model (ALPS beside any model), not a task model.
MODELS.register("masked_lm", target="labelwise.models.masked_lm:MaskedLanguageModel",
                tasks=("classification", "tagging", "seq2seq"), helper=True)


def register_model(name: str, *aliases: str, target: Any, tasks: tuple[str, ...] = _CLASSIFICATION,
                   replace: bool = False, **defaults: Any) -> Any:
    """Make ``target`` (a class or ``"module:Class"``) available as ``get_model(name)`` and
    ``model: {name: ...}`` in benchmark configs, for ``tasks``."""
    return MODELS.register(name, *aliases, target=target, replace=replace, defaults=defaults, tasks=tuple(tasks))


def available_models(task: str | None = None) -> list[str]:
    """Registered model names, optionally only those for ``task`` (imports nothing)."""
    return MODELS.names(tasks=task)


def model_class(name: str) -> type:
    """The class behind a name, an alias, ``path/to/file.py:Class`` or ``package.module:Class``."""
    return MODELS.get_class(name)


def get_model(name: Any, **params: Any) -> Any:
    """A new, unfitted model: ``get_model("transformer", model_name="distilroberta-base")``.

    ``name`` is a registered name (see :func:`available_models`), an alias,
    ``path/to/file.py:ClassName`` or ``package.module:ClassName``; an already built model
    (anything with ``fit``) passes through.
    """
    if not isinstance(name, str):
        if not callable(getattr(name, "fit", None)):
            raise ConfigError(f"{name!r} is not a model: it has no fit() method.")
        if params:
            raise ConfigError("parameters were given for an already built model.")
        return name
    return MODELS.get(name, **params)
