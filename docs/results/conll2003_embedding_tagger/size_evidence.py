"""Span F1 on CoNLL-2003 test (1,000 sentences, seed 0) after training on the first N of a
seeded shuffle of train (N = 100, 200, 500), one seed per model.

    OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1 .venv/bin/python \
        docs/results/conll2003_embedding_tagger/size_evidence.py MODEL [N ...]

MODEL: embedding_tagger[:k=v,...] | transformer_tagger[:k=v,...] | bilstm_crf[:k=v,...]
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np

from labelwise.data import load_conll
from labelwise.metrics import span_f1
from labelwise.models import get_model

DATA = "/work/shared/data/conll2003"
TAGS = ("O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC")


def main() -> None:
    spec = sys.argv[1]
    sizes = [int(n) for n in sys.argv[2:]] or [100, 200, 500]
    name, _, options = spec.partition(":")
    params = {k: json.loads(v) for k, v in (item.split("=") for item in options.split(",") if item)}
    train = load_conll(f"{DATA}/train.conll.gz", tag_names=TAGS)
    test = load_conll(f"{DATA}/test.conll.gz", tag_names=TAGS)
    train = train.subset(np.random.default_rng(0).permutation(len(train))[: max(sizes)])
    test = test.subset(np.random.default_rng(0).permutation(len(test))[:1000])
    for size in sizes:
        model = get_model(name, random_state=0, **params)
        start = time.perf_counter()
        model.fit(train.subset(np.arange(size)))
        fitted = time.perf_counter() - start
        f1 = span_f1(test.tags, model.predict(test))
        print(json.dumps({"model": spec, "sentences": size, "f1": round(100 * f1["f1"], 1),
                          "fit_s": round(fitted, 1), "total_s": round(time.perf_counter() - start, 1)}), flush=True)


if __name__ == "__main__":
    main()
