"""Several annotators in the loop: people and LLMs with costs and reliabilities.

- :class:`Annotator`: one annotator's cost (per item or per token) and online reliability.
- Aggregation: :func:`majority_vote`, :func:`weighted_vote`, :func:`dawid_skene`
  (classification), :func:`aggregate_tags` (per-token, tagging), :func:`summary_consensus`
  (ROUGE-L to the medoid, summaries); :func:`teach_aggregate` teaches a learner the result.
- :func:`assign`: proactive assignment of a batch to annotators by cost and reliability.
- :class:`LLMAnnotator`: an annotator over any OpenAI-compatible chat endpoint (lazy import).

Not to be confused with :class:`labelwise.annotate.Annotator`, the Jupyter widget.
"""

from labelwise._lazy import lazy_attributes
from labelwise.annotators.aggregate import (
    Aggregate,
    SummaryConsensus,
    TagAggregate,
    aggregate,
    aggregate_tags,
    confusion_priors,
    dawid_skene,
    majority_vote,
    repair_iob2,
    rouge_l,
    summary_consensus,
    teach_aggregate,
    update_reliability,
    vote_matrix,
    weighted_vote,
)
from labelwise.annotators.assign import Assignment, assign, expected_accuracy
from labelwise.annotators.base import Annotator, symmetric_confusion

__all__ = [
    "Aggregate", "Annotator", "Assignment", "LLMAnnotator", "LLMConfig", "SummaryConsensus", "TagAggregate",
    "aggregate", "aggregate_tags", "assign", "confusion_priors", "dawid_skene", "expected_accuracy", "majority_vote",
    "repair_iob2", "rouge_l", "summary_consensus", "symmetric_confusion", "teach_aggregate",
    "update_reliability", "vote_matrix", "weighted_vote",
]


__getattr__ = lazy_attributes(__name__, {"LLMAnnotator": "labelwise.annotators.llm",
                                          "LLMConfig": "labelwise.annotators.llm"})
