"""Post-processing for efficient AL: distillation, pseudo-labelling, TracIn filtering,
the PLASM pipeline and domain adaptation. Torch-based parts load lazily."""

from labelwise._lazy import lazy_attributes
from labelwise.plasm.pipeline import PlasmResult, plasm
from labelwise.plasm.pseudo_label import PseudoLabels, pseudo_label, select_pseudo_labels
from labelwise.plasm.tagging import (
    PlasmTaggingResult,
    TokenPseudoLabels,
    plasm_tagging,
    pseudo_label_tagger,
    select_token_pseudo_labels,
    sentence_confidence,
    tagging_self_influence,
    token_last_layer_outputs,
)
from labelwise.plasm.tracin import (
    CheckpointOutputs,
    influence_last_layer,
    model_checkpoint_outputs,
    self_influence_full,
    self_influence_last_layer,
    tracin_self_influence,
)

_LAZY = {
    "adapt_encoder": "labelwise.plasm.domain_adaptation",
    "DomainAdaptationResult": "labelwise.plasm.domain_adaptation",
    "warm_start_seq2seq": "labelwise.plasm.domain_adaptation",
    "lead_pseudo_summary": "labelwise.models.hf_seq2seq",
    "distill_transformer": "labelwise.plasm.distillation",
    "DistillationResult": "labelwise.plasm.distillation",
    "train_student": "labelwise.plasm.distillation",
    "kl_to_teacher": "labelwise.plasm.distillation",
    "distill_tagger": "labelwise.plasm.distillation",
    "TaggerDistillationResult": "labelwise.plasm.distillation",
    "token_kl_to_teacher": "labelwise.plasm.distillation",
}


__getattr__ = lazy_attributes(__name__, _LAZY)


__all__ = [
    "CheckpointOutputs",
    "PlasmResult",
    "PlasmTaggingResult",
    "TokenPseudoLabels",
    "PseudoLabels",
    "influence_last_layer",
    "model_checkpoint_outputs",
    "plasm",
    "plasm_tagging",
    "pseudo_label_tagger",
    "select_token_pseudo_labels",
    "sentence_confidence",
    "tagging_self_influence",
    "token_last_layer_outputs",
    "pseudo_label",
    "select_pseudo_labels",
    "self_influence_full",
    "self_influence_last_layer",
    "tracin_self_influence",
    *_LAZY,
]
