"""EmbeddingClassifier(class_weight=...): the default logistic-regression head is weighted as
asked (CoLA's 70/30 labels need "balanced" for the minority class to be predicted at all)."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from sklearn.base import clone  # noqa: E402

from labelwise.data import ClassificationDataset  # noqa: E402
from labelwise.models import EmbeddingClassifier  # noqa: E402


def _skewed(n: int = 60) -> ClassificationDataset:
    rng = np.random.default_rng(0)
    labels = np.array([0] * (n - 6) + [1] * 6)
    words = ["cat", "dog", "tree", "river", "stone", "cloud", "lamp", "road"]
    texts = [f"{' '.join(rng.choice(words, size=5))} item {i}" for i in range(n)]
    return ClassificationDataset(texts, labels, ("acceptable", "unacceptable"))


def test_balanced_head_predicts_the_minority_class_more_often(tiny_bert):
    data = _skewed()
    plain = EmbeddingClassifier(tiny_bert, C=1.0, max_length=32, progress=False).fit(data)
    balanced = EmbeddingClassifier(tiny_bert, C=1.0, max_length=32, progress=False,
                                   class_weight="balanced").fit(data)
    assert balanced.head_.class_weight == "balanced"
    assert plain.head_.class_weight is None
    minority_plain = int((plain.predict(data) == 1).sum())
    minority_balanced = int((balanced.predict(data) == 1).sum())
    assert minority_balanced > minority_plain


def test_class_weight_is_a_parameter_kept_by_clone(tiny_bert):
    model = EmbeddingClassifier(tiny_bert, class_weight={0: 1.0, 1: 5.0}, progress=False)
    assert model.get_params()["class_weight"] == {0: 1.0, 1: 5.0}
    assert clone(model).class_weight == {0: 1.0, 1: 5.0}
