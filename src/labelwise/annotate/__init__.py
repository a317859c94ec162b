"""Annotation in Jupyter: the widget, the background learner and the crash-safe store.

The store needs nothing beyond labelwise; the widget needs ``anywidget`` (``pip install
'labelwise[annotate]'``), so it is imported lazily.
"""

from labelwise._lazy import lazy_attributes
from labelwise.annotate.store import AnnotationStore, CorruptLineWarning, Decision, entity_spans

__all__ = ["AnnotationStore", "Annotator", "BackgroundLearner", "CorruptLineWarning", "Decision", "entity_spans"]


__getattr__ = lazy_attributes(__name__, {"Annotator": "labelwise.annotate.widget",
                                          "BackgroundLearner": "labelwise.annotate.background"})
