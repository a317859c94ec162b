"""Accuracy of embedding_lr, tfidf_lr and setfit on the bundled AG News sample (2,000 pool,
1,000 test) at a few label budgets, one random labeled set (seed 0) per budget, with the time
to embed the pool and to fit.

    OMP_NUM_THREADS=2 HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/embedding_models_ag_news.py \
        --models embedding_lr tfidf_lr --budgets 40 100 400
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from labelwise.data import load_ag_news_sample
from labelwise.models.registry import get_model


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", nargs="+", default=["embedding_lr", "tfidf_lr"])
    parser.add_argument("--budgets", nargs="+", type=int, default=[40, 100, 400])
    parser.add_argument("--setfit-iterations", type=int, default=5)
    args = parser.parse_args()
    train, test = load_ag_news_sample()
    order = np.random.default_rng(0).permutation(len(train))
    for name in args.models:
        params = {"num_iterations": args.setfit_iterations} if name == "setfit" else {"progress": False}
        model = get_model(name, random_state=0, **params)
        if callable(getattr(model, "prepare", None)):
            start = time.perf_counter()
            model.prepare(train.without_labels())
            print(f"{name}: prepare (pool of {len(train)}) {time.perf_counter() - start:.1f} s", flush=True)
        for budget in args.budgets:
            labeled = train.subset(order[:budget])
            start = time.perf_counter()
            model.fit(labeled)
            fit_s = time.perf_counter() - start
            start = time.perf_counter()
            accuracy = float((model.predict(test) == test.labels).mean())
            print(f"{name} labels={budget} accuracy={accuracy:.3f} fit={fit_s:.2f}s "
                  f"predict_test={time.perf_counter() - start:.1f}s", flush=True)


if __name__ == "__main__":
    main()
