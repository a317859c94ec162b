"""Output producers for language-model based strategies (ALPS).

``surprisal_embeddings`` are the per-token masked-LM surprisal vectors of Yuan, Lin &
Boyd-Graber (2020): for each text, the cross-entropy loss of a masked language model at
each (sub)token position, ``(n, max_length)`` float32, 0 past the end of the text. A model
exposes them with ``surprisal_embeddings(dataset)`` (e.g.
``labelwise.models.masked_lm.MaskedLanguageModel``). Beside a classifier that has no
language model, pass one as the output option ``language_model``:
``ActiveLearner(classifier, pool, {0: "alps", 1: "least_confidence"},
output_options={"language_model": MaskedLanguageModel()})``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from labelwise.outputs.producers import register_output


@register_output(
    "surprisal_embeddings",
    ("surprisal_embeddings",),
    "per-token masked-LM surprisal vectors (n, max_length), for ALPS",
    delegate_option="language_model",
)
def _surprisal_embeddings(model: Any, dataset: Any, *, language_model: Any = None, **_: Any) -> np.ndarray:
    source = language_model if language_model is not None else model
    return np.asarray(source.surprisal_embeddings(dataset), dtype=np.float32)
