"""Accuracy per unit of annotation cost with several simulated annotators (issue #19).

Annotators (simulated from the gold labels):
    expert  cost 10 per item, 2 % noise
    crowd-1/2/3  cost 1 per item, 20 / 25 / 30 % noise
    llm     cost 0.2 per item: a TF-IDF model (classification) or a per-token logistic
            regression by SGD (NER) trained on a split disjoint from the pool; its confusion matrix
            is measured on a second disjoint split, and its labels are sampled from that
            matrix given the gold label (class-conditional noise of a real model).
Noise: classification, the label is replaced by another class uniformly; NER, each gold
entity span is, with that probability, dropped, given another type, or shifted by one
token (one of the three at random). NER LLM labels: each token's tag is sampled from the
measured token confusion matrix, then repaired to IOB2.

The loop is labelwise's ActiveLearner (entropy, or mean token entropy for NER; a random
cold start) around PrecomputedModel, a logistic regression on precomputed features whose
``fit`` takes ``sample_weight``; this script only simulates the annotators, aggregates and
teaches. Methods (the same model; entropy sampling for AL):
    proactive  AL; each round, the ``round_cost / cheapest cost`` most uncertain items
               (entropy; the first round: random) are candidates, and
               labelwise.annotators.assign (objective "per_cost": expected information per
               unit of cost, budget ``round_cost``, at most 3 annotators per item, no more
               labels once an item's expected accuracy reaches ``target``) picks which of
               them get labeled and by whom; the rest go back to the pool. All votes so far
               are aggregated by Dawid-Skene with each annotator's prior as a Dirichlet prior
               (per token for NER), reliabilities updated, the learner trained on the
               aggregate weighted by its confidence
    al-expert  AL, the expert labels everything
    al-crowd   AL, crowd-1 (20 % noise) labels everything
    al-llm     AL, the llm labels everything (``round_cost / 0.2`` items per round, random
               first round, as proactive): does assignment add anything to "buy the
               cheapest"? (``--methods al-llm``; not in the default list)
    random     random sampling, the expert labels everything

Run (seeds may run in separate processes, then be merged):
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/annotators_cost.py --tasks ag_news --seeds 0,1,2,3,4 \
        --partial /tmp/ag.json
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/annotators_cost.py --merge /tmp/ag.json,/tmp/ner.json
Writes docs/results/annotators/{results.json,report.md,accuracy_vs_cost.png}.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import time
import warnings
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import scipy.sparse as sp  # noqa: E402
from sklearn.feature_extraction import FeatureHasher  # noqa: E402
from sklearn.feature_extraction.text import TfidfVectorizer  # noqa: E402
from sklearn.linear_model import LogisticRegression, SGDClassifier  # noqa: E402

from labelwise.annotators import (  # noqa: E402
    Annotator,
    aggregate,
    aggregate_tags,
    assign,
    repair_iob2,
    update_reliability,
)
from labelwise.data import ClassificationDataset, TaggingDataset  # noqa: E402
from labelwise.loop import ActiveLearner  # noqa: E402

DATA = Path(os.environ.get("LABELWISE_DATA", "/work/shared/data"))
OUT = Path(__file__).resolve().parents[1] / "docs" / "results" / "annotators"
COSTS = {"expert": 10.0, "crowd-1": 1.0, "crowd-2": 1.0, "crowd-3": 1.0, "llm": 0.2}
NOISE = {"expert": 0.02, "crowd-1": 0.20, "crowd-2": 0.25, "crowd-3": 0.30}
PRIORS = {"expert": 0.95, "crowd-1": 0.7, "crowd-2": 0.7, "crowd-3": 0.7, "llm": 0.7}
# the expert is trusted (known from the start, a strong prior): it anchors Dawid-Skene
STRENGTH = {"expert": 20.0, "crowd-1": 4.0, "crowd-2": 4.0, "crowd-3": 4.0, "llm": 4.0}


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
    return {"task": "classification", "names": names, "texts": texts, "X": features, "y": labels, "pool": pool,
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
    llm_train, llm_measure, pool = order[:1500], order[1500:2500], order[2500:4500]
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
    if data["task"] == "classification":
        model = LogisticRegression(C=10.0, max_iter=150, random_state=seed)
        model.fit(data["X"][rows], np.asarray(labels), sample_weight=weights)
        return model
    # per-token logistic loss by SGD (20 epochs): lbfgs on 2^18 hashed features x 9 tags took
    # 40-100 s per refit on the shared cores, SGD 1-11 s for the same span F1 (measured: 0.60 vs
    # 0.59 on 2000 sentences)
    model = SGDClassifier(loss="log_loss", alpha=1e-5, max_iter=20, tol=None, random_state=seed)
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
class PrecomputedModel:
    """A labelwise model (the protocol ActiveLearner drives) over the benchmark's precomputed
    features: TF-IDF rows (classification) or hashed token features (tagging), found by each
    dataset row's text or token tuple (equal inputs have equal features). ``fit`` takes
    ``sample_weight``, so the learner passes the aggregate's confidence."""

    def __init__(self, data: dict, seed: int) -> None:
        self.data, self.seed = data, seed
        if data["task"] == "classification":
            self.provides = ("probabilities",)
            self.row_of = {text: i for i, text in enumerate(data["texts"])}
        else:
            self.provides = ("token_probabilities",)
            self.row_of = {tuple(tokens): i for i, (tokens, _) in enumerate(data["sentences"])}

    def _rows(self, dataset: object) -> np.ndarray:
        return np.array([self.row_of[tuple(x) if isinstance(x, list) else x] for x in dataset.inputs])

    def fit(self, dataset: object, sample_weight: np.ndarray | None = None) -> PrecomputedModel:
        labels = list(dataset.labels) if self.data["task"] == "classification" else list(dataset.tags)
        self.estimator_ = fit(self.data, self._rows(dataset), labels, sample_weight, self.seed)
        return self

    def predict_proba(self, dataset: object) -> np.ndarray:
        return pool_probabilities(self.data, self.estimator_, self._rows(dataset))

    def token_marginals(self, dataset: object) -> list[np.ndarray]:
        return pool_probabilities(self.data, self.estimator_, self._rows(dataset))


def pool_dataset(data: dict) -> ClassificationDataset | TaggingDataset:
    if data["task"] == "classification":
        return ClassificationDataset([data["texts"][r] for r in data["pool"]], None, data["names"])
    return TaggingDataset([data["sentences"][r][0] for r in data["pool"]], None, data["names"])


def run(data: dict, method: str, seed: int, budget: float, batch: dict, target: float, n_seed: int,
        round_cost: float) -> list[dict]:
    """One learning curve; labelwise's ActiveLearner chooses (entropy, random cold start),
    is taught and retrains; this function only simulates the annotators and aggregates."""
    batch = batch.get(method, 20)
    simulator = Simulator(data, np.random.default_rng(seed + 1000))
    n_classes = len(data["names"])
    pool = np.array(data["pool"])  # pool position -> data row
    strategy = ("random" if method == "random" else "entropy" if data["task"] == "classification"
                else "token_entropy")
    learner = ActiveLearner(PrecomputedModel(data, seed), pool_dataset(data), strategy, random_state=seed)
    team = [Annotator(name, cost_per_item=COSTS[name], prior_accuracy=PRIORS[name], prior_strength=STRENGTH[name],
                      min_overlap=0 if name == "expert" else 20) for name in COSTS]
    n_candidates = int(np.ceil(round_cost / min(COSTS.values())))
    votes: dict[int, dict[str, object]] = {}  # pool position -> annotator -> label
    spent, curve = 0.0, []
    if method == "al-llm":
        batch = n_candidates  # the same spending per round as proactive
    size = n_candidates if method in ("proactive", "al-llm") else n_seed
    while True:
        selection = learner.query(min(size, len(learner.unlabeled_indices)))
        positions = np.asarray(selection.indices, dtype=np.int64)
        if method == "proactive":
            if learner.model_is_fitted:
                probabilities = learner.model.predict_proba(learner.pool.subset(positions)) \
                    if data["task"] == "classification" else learner.model.token_marginals(learner.pool.subset(positions))
            elif data["task"] == "classification":
                probabilities = np.full((len(positions), n_classes), 1.0 / n_classes)
            else:
                probabilities = [np.full((len(learner.pool.tokens[p]), n_classes), 1.0 / n_classes) for p in positions]
            plan = assign(team, probabilities, positions=positions, values=selection.scores, target=target,
                          max_per_item=3, budget=min(round_cost, budget - spent))
            planned = np.array([bool(p) for p in plan.plans])
            learner.release(positions[~planned])  # back to the pool
            if plan.total_cost < 0.01 * round_cost and curve:
                return curve  # nothing left worth buying: the model is sure of the rest of the pool
            for who, chosen in plan.by_annotator().items():
                for position in chosen:
                    votes.setdefault(int(position), {})[who] = simulator.label(who, int(pool[position]))
            spent += plan.total_cost
            labeled = np.array(sorted(votes))
            labels, weights = _aggregate(data, team, votes, labeled)
            # every labeled position again: Dawid-Skene may have changed earlier aggregates
            learner.teach(labeled, labels, weights=weights)
        else:
            who = {"al-crowd": "crowd-1", "al-llm": "llm"}.get(method, "expert")
            labels = [simulator.label(who, int(pool[p])) for p in positions]
            spent += COSTS[who] * len(positions)
            learner.teach(positions, labels)
            size = batch
        curve.append({"cost": spent, "n_items": len(learner.labeled_indices),
                      "score": evaluate(data, learner.model.estimator_)})
        if spent >= budget - 1e-9 or not len(learner.unlabeled_indices):
            return curve


def _aggregate(data: dict, team: list[Annotator], votes: dict, labeled: np.ndarray) -> tuple[list, np.ndarray]:
    ids = [a.id for a in team]
    if data["task"] == "classification":
        matrix = np.full((len(labeled), len(team)), -1, dtype=np.int64)
        for i, row in enumerate(labeled):
            for who, label in votes[int(row)].items():
                matrix[i, ids.index(who)] = label
        result = aggregate(matrix, len(data["names"]), "dawid_skene", annotators=team)
        update_reliability(team, matrix, result)
        return list(result.labels), result.confidence
    sentences = [votes[int(row)] for row in labeled]
    result = aggregate_tags(sentences, ids, data["names"], method="dawid_skene", annotators=team)
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


# Items per AL round: 20 with the expert (cost 200 a round), 100 with the crowd worker;
# proactive: round_cost 200 per round (the same spending per round as the expert).
# CoNLL-2003 is smaller (see load_conll) so that the per-token refit per round stays affordable;
# its target is 1.0 (no cap): a sentence's expected accuracy is the mean over its tokens, mostly
# confident O tokens, so 0.8 was reached before any label and nothing was bought.
SETTINGS = {"ag_news": {"budget": 3000.0, "batch": {"al-crowd": 100}, "target": 0.8, "n_seed": 20,
                        "round_cost": 200.0},
            "conll2003": {"budget": 1000.0, "batch": {"al-crowd": 50}, "target": 1.0, "n_seed": 10,
                          "round_cost": 100.0}}
METHODS = ["proactive", "al-expert", "al-crowd", "random"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", default="0,1,2", help="comma-separated seeds")
    parser.add_argument("--tasks", default="ag_news,conll2003")
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--partial", help="write only this JSON of curves (merge later with --merge)")
    parser.add_argument("--merge", help="comma-separated partial JSONs: write the report from them")
    parser.add_argument("--out", default=str(OUT))
    args = parser.parse_args()
    out = Path(args.out)
    if args.merge:
        results: dict = {}
        seconds = 0.0
        for path in args.merge.split(","):
            part = json.loads(Path(path).read_text())
            seconds += part["seconds"]
            for task, by_method in part["results"].items():
                for method, by_seed in by_method.items():
                    results.setdefault(task, {}).setdefault(method, {}).update(by_seed)
        out.mkdir(parents=True, exist_ok=True)
        (out / "results.json").write_text(json.dumps({"settings": SETTINGS, "costs": COSTS, "noise": NOISE,
                                                      "results": results}, indent=1))
        write_report(results, out, seconds)
        return
    results = {}
    started = time.perf_counter()
    for task in args.tasks.split(","):
        results[task] = {m: {} for m in args.methods.split(",")}
        for seed in [int(s) for s in args.seeds.split(",")]:
            data = (load_ag_news if task == "ag_news" else load_conll)(np.random.default_rng(seed))
            for method in args.methods.split(","):
                curve = run(data, method, seed, **SETTINGS[task])
                results[task][method][str(seed)] = curve
                print(f"{task} seed {seed} {method}: cost {curve[-1]['cost']:.0f} score {curve[-1]['score']:.4f} "
                      f"({time.perf_counter() - started:.0f} s)", flush=True)
    Path(args.partial or out / "partial.json").write_text(json.dumps(
        {"results": results, "seconds": time.perf_counter() - started}))


def _t_interval(values: np.ndarray) -> tuple[float, float]:
    """Mean and the half-width of its 95 % t-interval."""
    from scipy import stats

    mean = float(np.mean(values))
    if len(values) < 2:
        return mean, float("nan")
    return mean, float(stats.t.ppf(0.975, len(values) - 1) * np.std(values, ddof=1) / np.sqrt(len(values)))


def write_report(results: dict, out: Path, seconds: float) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    seeds = {task: sorted(by_method["al-expert"], key=int) for task, by_method in results.items()}
    lines = ["# Annotators with cost and reliability: accuracy per unit of cost", "",
             "Generated by `benchmarks/annotators_cost.py` (seeds run in separate processes, then "
             f"`--merge`; {seconds / 60:.1f} min of runs on the shared 2-core machine). Seeds: "
             + "; ".join(f"{task} {', '.join(s)}" for task, s in seeds.items()) + ".",
             "Simulated annotators (see the script's docstring): expert cost 10 / 2 % noise, crowd-1/2/3 cost 1 / "
             "20, 25, 30 % noise, llm cost 0.2 with the confusion matrix of a model trained on a disjoint split.",
             "Metric: accuracy (AG News, 2000 test rows) of a logistic regression on TF-IDF; span F1 (CoNLL-2003, "
             "1000 test sentences) of a per-token logistic regression (SGD) on hashed token features; both "
             "trained on the aggregated labels (proactive: weighted by the aggregate's confidence).", ""]
    figure, axes = plt.subplots(1, len(results), figsize=(6 * len(results), 4.2), squeeze=False)
    for axis, (task, by_method) in zip(axes[0], results.items(), strict=True):
        settings, order = SETTINGS[task], seeds[task]
        expert = [by_method["al-expert"][s] for s in order]
        full_cost = [e[-1]["cost"] for e in expert]
        metric = "accuracy" if task == "ag_news" else "span F1"
        lines += [f"## {task}", "",
                  f"Budget {settings['budget']:.0f}; items per round: 20 with the expert (and random), "
                  f"{settings['batch']['al-crowd']} with the crowd worker, proactive {settings['round_cost']:.0f} of "
                  f"cost per round (target {settings['target']}, at most 3 annotators per item); seed set "
                  f"{settings['n_seed']} items." + (" Pool 2000 sentences." if task == "conll2003" else ""), "",
                  f"| method | {metric} at the expert's final cost (mean ± sd) | at half of it | cost spent | "
                  "items labeled |", "|---|---|---|---|---|"]
        for method, by_seed in by_method.items():
            curves = [by_seed[s] for s in order]
            full = [_score_at(c, f) for c, f in zip(curves, full_cost, strict=True)]
            half = [_score_at(c, f / 2) for c, f in zip(curves, full_cost, strict=True)]
            lines.append(f"| {method} | {np.mean(full):.4f} ± {np.std(full):.4f} | {np.mean(half):.4f} ± "
                         f"{np.std(half):.4f} | {np.mean([c[-1]['cost'] for c in curves]):.0f} | "
                         f"{np.mean([c[-1]['n_items'] for c in curves]):.0f} |")
            grid = np.linspace(0, settings["budget"], 60)
            values = np.array([[_score_at(c, g) for g in grid] for c in curves])
            with warnings.catch_warnings():  # grid points before a curve's first round are NaN
                warnings.simplefilter("ignore", RuntimeWarning)
                axis.plot(grid, np.nanmean(values, axis=0), label=method)
        # the goal, paired per seed: proactive at half the expert's final cost vs expert at its full cost
        expert_final = np.array([e[-1]["score"] for e in expert])
        proactive = [by_method["proactive"][s] for s in order]
        proactive_half = np.array([_score_at(c, f / 2) for c, f in zip(proactive, full_cost, strict=True)])
        reach = [_cost_to_reach(c, e) / f for c, e, f in zip(proactive, expert_final, full_cost, strict=True)]
        difference = proactive_half - expert_final
        mean, half_width = _t_interval(difference)
        verdict = ("met" if mean - half_width >= 0 else "met on average" if mean >= 0 else "NOT met")
        lines += ["", f"**Goal** (the expert-only {metric} at no more than half its cost), paired over "
                  f"{len(order)} seeds: proactive at half the expert's cost minus expert-only at its full cost = "
                  f"**{mean:+.4f} ± {half_width:.4f}** (mean ± 95 % t-interval; per seed "
                  f"{', '.join(f'{d:+.4f}' for d in difference)}): **{verdict}**.",
                  f"Share of the expert's cost proactive needed to reach the expert's final {metric}, per seed: "
                  f"{', '.join('never' if not np.isfinite(r) else f'{r:.2f}' for r in reach)}."]
        for other, words in (("al-crowd", "AL with one crowd worker"), ("al-llm", "AL with the LLM alone")):
            if other not in by_method:
                continue
            other_half = np.array([_score_at(by_method[other][s], f / 2) for s, f in zip(order, full_cost,
                                                                                          strict=True)])
            mean, half_width = _t_interval(proactive_half - other_half)
            lines.append(f"Proactive minus {words}, both at half the expert's cost: {mean:+.4f} ± "
                         f"{half_width:.4f} (paired, 95 % t-interval).")
        lines.append("")
        axis.set_title(task)
        axis.set_xlabel("annotation cost")
        axis.set_ylabel(metric)
        axis.grid(alpha=0.3)
        axis.legend()
    figure.tight_layout()
    figure.savefig(out / "accuracy_vs_cost.png", dpi=110)
    lines += ["![accuracy vs cost](accuracy_vs_cost.png)", "", READING_MARK, ""]
    previous = (out / "report.md").read_text() if (out / "report.md").exists() else ""
    reading = previous.split(READING_MARK, 1)[1].lstrip("\n") if READING_MARK in previous else ""
    (out / "report.md").write_text("\n".join(lines) + reading)


READING_MARK = "<!-- hand-written below this line; the script keeps it -->"


if __name__ == "__main__":
    main()
