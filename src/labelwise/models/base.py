"""What the rest of labelwise asks of a model.

Every labelwise adapter derives from :class:`labelwise.models.LabelwiseModel` (see
``models/_estimator.py``): scikit-learn parameters, ``fit(dataset) -> self``, one save
format, a classmethod ``load``, and ``provides``: the output kinds it computes, which
:mod:`labelwise.outputs` reads. A model of your own may derive from it too; one that does
not is still served, its outputs found from the methods it has (``predict_proba``,
``embed``, ``predict_proba_mc``, ``last_layer_features``, ...).
"""

from __future__ import annotations

from typing import Any


def is_fitted(model: Any) -> bool:
    """scikit-learn's convention: a fitted model has attributes ending in ``_``."""
    flag = getattr(model, "is_fitted", None)
    if isinstance(flag, bool):
        return flag
    return any(name.endswith("_") and not name.startswith("__") for name in vars(model))
