"""Accuracy per unit of annotation cost with several simulated annotators (issue #19).

Annotators (simulated from the gold labels):
    expert  cost 10 per item, 2 % noise
    crowd-1/2/3  cost 1 per item, 20 / 25 / 30 % noise
    llm     cost 0.2 per item: a TF-IDF model (classification) or a per-token logistic
            regression (NER) trained on a split disjoint from the pool; its confusion matrix
            is measured on a second disjoint split, and its labels are sampled from that
            matrix given the gold label (class-conditional noise of a real model).
Noise: classification, the label is replaced by another class uniformly; NER, each gold
entity span is, with that probability, dropped, given another type, or shifted by one
token (one of the three at random). NER LLM labels: each token's tag is sampled from the
measured token confusion matrix, then repaired to IOB2.

Methods (the same seed rows, model and query size; entropy sampling for AL):
    proactive  AL; each batch assigned by labelwise.annotators.assign (target expected
               accuracy, at most 3 annotators per item), all votes so far aggregated by
               Dawid-Skene (per token for NER), reliabilities updated, the learner trained on
               the aggregate weighted by its confidence
    al-expert  AL, the expert labels everything
    al-crowd   AL, crowd-1 (20 % noise) labels everything
    random     random sampling, the expert labels everything

Run (about 10-15 minutes on one core):
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/annotators_cost.py --seeds 3
Writes docs/results/annotators/{results.json,report.md,accuracy_vs_cost.png}.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import scipy.sparse as sp  # noqa: E402
from sklearn.feature_extraction import FeatureHasher  # noqa: E402
from sklearn.feature_extraction.text import TfidfVectorizer  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402

from labelwise.annotators import (  # noqa: E402
    Annotator,
    aggregate_tags,
    assign,
    dawid_skene,
    repair_iob2,
    update_reliability,
)

DATA = Path(os.environ.get("LABELWISE_DATA", "/work/shared/data"))
OUT = Path(__file__).resolve().parents[1] / "docs" / "results" / "annotators"
COSTS = {"expert": 10.0, "crowd-1": 1.0, "crowd-2": 1.0, "crowd-3": 1.0, "llm": 0.2}
NOISE = {"expert": 0.02, "crowd-1": 0.20, "crowd-2": 0.25, "crowd-3": 0.30}
PRIORS = {"expert": 0.95, "crowd-1": 0.7, "crowd-2": 0.7, "crowd-3": 0.7, "llm": 0.7}


# ---- data --------------------------------------------------------------------------------
def load_ag_news(rng: np.random.Generator) -> dict:
    def read(name: str) -> list[dict]:
        with gzip.open(DATA / "ag_news" / name, "rt", encoding="utf-8") as handle:
            return [json.loads(line) for line in handle]

    train, test = read("train_subset.jsonl.gz"), read("test.jsonl.gz")
    names = ["World", "Sports", "Business", "Sci/Tech"]
    texts = [r["text"] for r in train]
    labels = np.array([names.index(r["label"]) for r in train])
    order = rng.permutation(len(train))
    llm_train, llm_measure, pool = order[:2000], order[2000:3000], order[3000:]
    test_rows = rng.permutation(len(test))[:2000]
    test_texts = [test[i]["text"] for i in test_rows]
    test_labels = np.array([names.index(test[i]["label"]) for i in test_rows])
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2, dtype=np.float32)
    features = vectorizer.fit_transform(texts)
    test_features = vectorizer.transform(test_texts)
    return {"task": "classification", "names": names, "X": features, "y": labels, "pool": pool,
            "llm_train": llm_train, "llm_measure": llm_measure, "X_test": test_features, "y_test": test_labels}


def _read_conll(path: Path) -> list[tuple[list[str], list[str]]]:
    sentences, tokens, tags = [], [], []
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            line = line.rstrip("\n")
            if not line:
                if tokens:
                    sentences.append((tokens, tags))
                tokens, tags = [], []
                continue
            token, tag = line.split("\t")
            tokens.append(token)
            tags.append(tag)
    return sentences


def _token_features(tokens: list[str]) -> list[list[str]]:
    rows = []
    for i, token in enumerate(tokens):
        lower = token.lower()
        shape = "".join("X" if c.isupper() else "x" if c.islower() else "d" if c.isdigit() else c for c in token)[:6]
        previous = tokens[i - 1].lower() if i else "<s>"
        following = tokens[i + 1].lower() if i + 1 < len(tokens) else "</s>"
        rows.append([f"w={lower}", f"s3={lower[-3:]}", f"p3={lower[:3]}", f"shape={shape}",
                     f"title={token.istitle()}", f"pw={previous}", f"nw={following}", f"pw+w={previous}|{lower}",
                     f"first={i == 0}", "bias"])
    return rows


def load_conll(rng: np.random.Generator) -> dict:
    train = _read_conll(DATA / "conll2003" / "train.conll.gz")
    test = _read_conll(DATA / "conll2003" / "test.conll.gz")
    names = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC"]
    order = rng.permutation(len(train))
    llm_train, llm_measure, pool = order[:1500], order[1500:2500], order[2500:6500]
    test_rows = rng.permutation(len(test))[:1000]
    hasher = FeatureHasher(n_features=2**18, input_type="string", alternate_sign=False)
    sentences = [train[i] for i in range(len(train))]
    offsets = np.concatenate([[0], np.cumsum([len(s[0]) for s in sentences])])
    features = hasher.transform(f for s in sentences for f in _token_features(s[0])).tocsr()
    test_sentences = [test[i] for i in test_rows]
    test_offsets = np.concatenate([[0], np.cumsum([len(s[0]) for s in test_sentences])])
    test_features = hasher.transform(f for s in test_sentences for f in _token_features(s[0])).tocsr()
    return {"task": "tagging", "names": names, "sentences": sentences, "offsets": offsets, "X": features,
            "pool": pool, "llm_train": llm_train, "llm_measure": llm_measure, "test": test_sentences,
            "test_offsets": test_offsets, "X_test": test_features}


# ---- models ------------------------------------------------------------------------------
def _tag_ids(data: dict, rows: np.ndarray, tags: list[tuple[str, ...]]) -> tuple[sp.csr_matrix, np.ndarray]:
    index = {n: k for k, n in enumerate(data["names"])}
    token_rows = np.concatenate([np.arange(data["offsets"][r], data["offsets"][r + 1]) for r in rows])
    return data["X"][token_rows], np.array([index[t] for sentence in tags for t in sentence])


def fit(data: dict, rows: np.ndarray, labels: list, weights: np.ndarray | None, seed: int) -> LogisticRegression:
    model = LogisticRegression(C=10.0, max_iter=150, random_state=seed)
    if data["task"] == "classification":
        model.fit(data["X"][rows], np.asarray(labels), sample_weight=weights)
        return model
    features, targets = _tag_ids(data, rows, labels)
    token_weights = None if weights is None else np.repeat(weights, [len(t) for t in labels])
    model.fit(features, targets, sample_weight=token_weights)
    return model


def _full_proba(model: LogisticRegression, features: sp.csr_matrix, n_classes: int) -> np.ndarray:
    raw = model.predict_proba(features)
    full = np.zeros((raw.shape[0], n_classes))
    full[:, model.classes_] = raw
    return full


def pool_probabilities(data: dict, model: LogisticRegression, rows: np.ndarray) -> list | np.ndarray:
    n = len(data["names"])
    if data["task"] == "classification":
        return _full_proba(model, data["X"][rows], n)
    offsets = data["offsets"]
    token_rows = np.concatenate([np.arange(offsets[r], offsets[r + 1]) for r in rows])
    flat = _full_proba(model, data["X"][token_rows], n)
    cuts = np.cumsum([offsets[r + 1] - offsets[r] for r in rows])[:-1]
    return np.split(flat, cuts)


def entropy_scores(probabilities: list | np.ndarray) -> np.ndarray:
    if isinstance(probabilities, np.ndarray):
        return -(probabilities * np.log(np.clip(probabilities, 1e-12, None))).sum(axis=1)
    # NER: mean token entropy (MNLP-like normalisation by length)
    return np.array([-(p * np.log(np.clip(p, 1e-12, None))).sum(axis=1).mean() for p in probabilities])


def _spans(tags: tuple[str, ...]) -> set[tuple[str, int, int]]:
    spans, current = set(), None
    for i, tag in enumerate([*tags, "O"]):
        prefix, _, kind = tag.partition("-")
        if current is not None and not (prefix == "I" and kind == current[0]):
            spans.add((current[0], current[1], i))
            current = None
        if prefix in ("B", "I") and current is None:
            current = (kind, i)
    return spans


def evaluate(data: dict, model: LogisticRegression) -> float:
    n = len(data["names"])
    if data["task"] == "classification":
        return float((_full_proba(model, data["X_test"], n).argmax(axis=1) == data["y_test"]).mean())
    predicted_ids = _full_proba(model, data["X_test"], n).argmax(axis=1)
    offsets = data["test_offsets"]
    true_positive = n_predicted = n_gold = 0
    for i, (_, gold) in enumerate(data["test"]):
        predicted = repair_iob2([data["names"][k] for k in predicted_ids[offsets[i]:offsets[i + 1]]])
        gold_spans, predicted_spans = _spans(tuple(gold)), _spans(predicted)
        true_positive += len(gold_spans & predicted_spans)
        n_predicted += len(predicted_spans)
        n_gold += len(gold_spans)
    precision = true_positive / max(n_predicted, 1)
    recall = true_positive / max(n_gold, 1)
    return 2 * precision * recall / max(precision + recall, 1e-12)


# ---- simulated annotators ----------------------------------------------------------------
class Simulator:
    """Labels from each simulated annotator, drawn once per (annotator, item) so that asking
    twice gives the same answer."""

    def __init__(self, data: dict, rng: np.random.Generator) -> None:
        self.data, self.rng = data, rng
        self.cache: dict[tuple[str, int], object] = {}
        self.llm_confusion = self._measure_llm()

    def gold(self, row: int) -> object:
        if self.data["task"] == "classification":
            return int(self.data["y"][row])
        return tuple(self.data["sentences"][row][1])

    def _measure_llm(self) -> np.ndarray:
        data, n = self.data, len(self.data["names"])
        train, measure = data["llm_train"], data["llm_measure"]
        model = fit(data, train, [self.gold(r) for r in train], None, seed=0)
        if data["task"] == "classification":
            predicted = _full_proba(model, data["X"][measure], n).argmax(axis=1)
            truth = data["y"][measure]
        else:
            features, truth = _tag_ids(data, measure, [self.gold(r) for r in measure])
            predicted = _full_proba(model, features, n).argmax(axis=1)
        confusion = np.zeros((n, n))
        np.add.at(confusion, (truth, predicted), 1.0)
        confusion += 1e-3
        return confusion / confusion.sum(axis=1, keepdims=True)

    def label(self, who: str, row: int) -> object:
        key = (who, row)
        if key not in self.cache:
            self.cache[key] = self._draw(who, row)
        return self.cache[key]

    def _draw(self, who: str, row: int) -> object:
        gold, rng, n = self.gold(row), self.rng, len(self.data["names"])
        if self.data["task"] == "classification":
            if who == "llm":
                return int(rng.choice(n, p=self.llm_confusion[gold]))
            if rng.random() < NOISE[who]:
                return int(rng.choice([k for k in range(n) if k != gold]))
            return gold
        names = self.data["names"]
        if who == "llm":
            index = {t: k for k, t in enumerate(names)}
            return repair_iob2([names[rng.choice(n, p=self.llm_confusion[index[t]])] for t in gold])
        tags = ["O"] * len(gold)
        types = sorted({t[2:] for t in names if t != "O"})
        for kind, start, end in sorted(_spans(gold), key=lambda s: s[1]):
            if rng.random() < NOISE[who]:
                error = rng.integers(3)
                if error == 0:
                    continue  # missed
                if error == 1:
                    kind = str(rng.choice([t for t in types if t != kind]))
                else:
                    shift = int(rng.choice([-1, 1]))
                    start, end = max(0, start + shift), min(len(gold), end + shift)
                    if start >= end:
                        continue
            if all(t == "O" for t in tags[start:end]):
                tags[start:end] = ["B-" + kind] + ["I-" + kind] * (end - start - 1)
        return tuple(tags)


# ---- one run -----------------------------------------------------------------------------
def run(data: dict, method: str, seed: int, budget: float, batch: dict, target: float, n_seed: int) -> list[dict]:
    rng = np.random.default_rng(seed)
    batch = batch.get(method, 20)
    simulator = Simulator(data, np.random.default_rng(seed + 1000))
    n_classes = len(data["names"])
    pool = np.array(data["pool"])
    available = np.ones(len(pool), dtype=bool)
    first = rng.choice(len(pool), size=n_seed, replace=False)
    team = [Annotator(name, cost_per_item=COSTS[name], prior_accuracy=PRIORS[name],
                      min_overlap=0 if name == "expert" else 20) for name in COSTS]
    votes: dict[int, dict[str, object]] = {}  # pool row -> annotator -> label
    spent, curve = 0.0, []
    chosen = first
    model = None
    while True:
        rows = pool[chosen]
        available[chosen] = False
        if method == "proactive":
            probabilities = (np.full((len(rows), n_classes), 1.0 / n_classes) if model is None
                             else pool_probabilities(data, model, rows))
            if data["task"] == "tagging" and model is None:
                probabilities = [np.full((len(data["sentences"][r][0]), n_classes), 1.0 / n_classes) for r in rows]
            plan = assign(team, probabilities, positions=rows, target=target, max_per_item=3)
            # next round: about as much spent as an expert round of 20 items (200)
            batch = int(np.clip(200.0 / max(plan.total_cost / len(rows), 1e-3), 20, 500))
            for who, positions in plan.by_annotator().items():
                for row in positions:
                    votes.setdefault(int(row), {})[who] = simulator.label(who, int(row))
            spent += plan.total_cost
            labeled = np.array(sorted(votes))
            labels, weights = _aggregate(data, team, votes, labeled)
        else:
            who = "crowd-1" if method == "al-crowd" else "expert"
            for row in rows:
                votes.setdefault(int(row), {})[who] = simulator.label(who, int(row))
            spent += COSTS[who] * len(rows)
            labeled = np.array(sorted(votes))
            labels, weights = [votes[int(r)][who] for r in labeled], None
        model = fit(data, labeled, labels, weights, seed)
        curve.append({"cost": spent, "n_items": int(len(labeled)), "score": evaluate(data, model)})
        if spent >= budget or not available.any():
            return curve
        candidates = np.nonzero(available)[0]
        if method == "random":
            chosen = rng.choice(candidates, size=min(batch, len(candidates)), replace=False)
        else:
            scores = entropy_scores(pool_probabilities(data, model, pool[candidates]))
            chosen = candidates[np.argsort(-scores, kind="stable")[:batch]]


def _aggregate(data: dict, team: list[Annotator], votes: dict, labeled: np.ndarray) -> tuple[list, np.ndarray]:
    ids = [a.id for a in team]
    if data["task"] == "classification":
        matrix = np.full((len(labeled), len(team)), -1, dtype=np.int64)
        for i, row in enumerate(labeled):
            for who, label in votes[int(row)].items():
                matrix[i, ids.index(who)] = label
        result = dawid_skene(matrix, len(data["names"]))
        update_reliability(team, matrix, result)
        return list(result.labels), result.confidence
    sentences = [votes[int(row)] for row in labeled]
    result = aggregate_tags(sentences, ids, data["names"], method="dawid_skene")
    token = result.token_aggregate
    # per-token reliability: the token vote matrix against the token aggregate
    names = {n: k for k, n in enumerate(data["names"])}
    matrix = np.full((len(token.labels), len(team)), -1, dtype=np.int64)
    offset = 0
    for by in sentences:
        length = len(next(iter(by.values())))
        for who, tags in by.items():
            matrix[offset:offset + length, ids.index(who)] = [names[t] for t in tags]
        offset += length
    update_reliability(team, matrix, token)
    return list(result.tags), result.confidence


# ---- report ------------------------------------------------------------------------------
def _score_at(curve: list[dict], cost: float) -> float:
    """The score reached once ``cost`` was spent (step function: the last point at or
    below ``cost``)."""
    reached = [p["score"] for p in curve if p["cost"] <= cost + 1e-9]
    return reached[-1] if reached else float("nan")


def _cost_to_reach(curve: list[dict], score: float) -> float:
    for point in curve:
        if point["score"] >= score:
            return point["cost"]
    return float("inf")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--tasks", default="ag_news,conll2003")
    parser.add_argument("--out", default=str(OUT))
    args = parser.parse_args()
    # Items per AL round: 20 with the expert (cost 200 a round), more with cheap labels so
    # that every method spends a similar amount per round and runs a similar number of fits.
    # (proactive: the next round's size makes it cost about 200 at the last round's cost per item).
    settings = {"ag_news": {"budget": 3000.0, "batch": {"proactive": 50, "al-crowd": 100}, "target": 0.8,
                            "n_seed": 20},
                "conll2003": {"budget": 1500.0, "batch": {"proactive": 50, "al-crowd": 100}, "target": 0.8,
                              "n_seed": 20}}
    methods = ["proactive", "al-expert", "al-crowd", "random"]
    results: dict = {}
    started = time.perf_counter()
    for task in args.tasks.split(","):
        results[task] = {m: [] for m in methods}
        for seed in range(args.seeds):
            data = (load_ag_news if task == "ag_news" else load_conll)(np.random.default_rng(seed))
            for method in methods:
                curve = run(data, method, seed, **settings[task])
                results[task][method].append(curve)
                print(f"{task} seed {seed} {method}: cost {curve[-1]['cost']:.0f} score {curve[-1]['score']:.4f} "
                      f"({time.perf_counter() - started:.0f} s)", flush=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps({"settings": settings, "costs": COSTS, "noise": NOISE,
                                                  "results": results}, indent=1))
    write_report(results, settings, out, time.perf_counter() - started)


def write_report(results: dict, settings: dict, out: Path, seconds: float) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    lines = ["# Annotators with cost and reliability: accuracy per unit of cost", "",
             "Generated by `OMP_NUM_THREADS=1 .venv/bin/python benchmarks/annotators_cost.py "
             f"--seeds {len(next(iter(next(iter(results.values())).values())))}` ({seconds / 60:.1f} min on one core).",
             "Simulated annotators (see the script's docstring): expert cost 10 / 2 % noise, crowd-1/2/3 cost 1 / "
             "20, 25, 30 % noise, llm cost 0.2 with the confusion matrix of a model trained on a disjoint split.",
             "Metric: accuracy (AG News, 2000 test rows) and span F1 (CoNLL-2003, 1000 test sentences) of a "
             "logistic regression trained on the aggregated labels.", ""]
    figure, axes = plt.subplots(1, len(results), figsize=(6 * len(results), 4.2), squeeze=False)
    for axis, (task, by_method) in zip(axes[0], results.items(), strict=True):
        expert = by_method["al-expert"]
        lines += [f"## {task}", "", f"Budget {settings[task]['budget']:.0f}, items per round {settings[task]['batch']} (else 20), "
                  f"assignment target {settings[task]['target']}.", "",
                  "| method | score at the expert's final cost (mean ± sd) | score at half of it | items labeled |",
                  "|---|---|---|---|"]
        for method, curves in by_method.items():
            full = [_score_at(c, e[-1]["cost"]) for c, e in zip(curves, expert, strict=True)]
            half = [_score_at(c, e[-1]["cost"] / 2) for c, e in zip(curves, expert, strict=True)]
            items = [c[-1]["n_items"] for c in curves]
            lines.append(f"| {method} | {np.mean(full):.4f} ± {np.std(full):.4f} | {np.mean(half):.4f} ± "
                         f"{np.std(half):.4f} | {np.mean(items):.0f} |")
            grid = np.linspace(0, settings[task]["budget"], 60)
            values = np.array([[_score_at(c, g) for g in grid] for c in curves])
            axis.plot(grid, np.nanmean(values, axis=0), label=method)
        # the goal, paired per seed: proactive at half the expert's final cost vs expert at its full cost
        expert_final = np.array([e[-1]["score"] for e in expert])
        proactive_half = np.array([_score_at(c, e[-1]["cost"] / 2)
                                   for c, e in zip(by_method["proactive"], expert, strict=True)])
        reach = [_cost_to_reach(c, e[-1]["score"]) / e[-1]["cost"]
                 for c, e in zip(by_method["proactive"], expert, strict=True)]
        difference = proactive_half - expert_final
        verdict = "met" if (difference >= 0).all() else ("met on average" if difference.mean() >= 0 else "NOT met")
        lines += ["", f"Goal (expert-only accuracy at no more than half its cost), paired over "
                  f"{len(expert)} seeds: proactive at half the cost minus expert at full cost = "
                  f"{difference.mean():+.4f} (per seed {', '.join(f'{d:+.4f}' for d in difference)}): **{verdict}**. "
                  f"Share of the expert's cost proactive needed to reach the expert's final score, per seed: "
                  f"{', '.join('never' if not np.isfinite(r) else f'{r:.2f}' for r in reach)}.", ""]
        axis.set_title(task)
        axis.set_xlabel("annotation cost")
        axis.set_ylabel("accuracy" if task == "ag_news" else "span F1")
        axis.grid(alpha=0.3)
        axis.legend()
    figure.tight_layout()
    figure.savefig(out / "accuracy_vs_cost.png", dpi=110)
    lines += ["![accuracy vs cost](accuracy_vs_cost.png)", ""]
    (out / "report.md").write_text("\n".join(lines))


if __name__ == "__main__":
    main()
