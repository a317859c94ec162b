"""PLASM + UPS for NER on CoNLL-2003: training time, inference time and span F1 of the
successor, against the expensive arm (the successor as its own acquisition model).

Arms (the same pool, test set and seed per row; AL with MNLP, queries counted in tokens):

* ``expensive``: AL with the successor (MiniLM ``TransformerTagger``) as the acquisition
  model; the successor is the last AL model.
* one AL run with the cheap acquisition model (``--acquirer embedding``: the frozen-MiniLM
  ``EmbeddingTagger`` with a CRF head, the default; ``bilstm``: a BiLSTM-CRF) and UPS,
  which every cheap arm pays for in full, then:
* ``cheap``: PLASM for tagging: the acquisition model pseudo-labels the unlabeled pool
  (MNLP confidence, top fraction, only sentences with a predicted entity unless
  ``--no-require-entities``), a fresh acquisition-type model trained on gold + pseudo-labels
  gives each a TracIn self-influence, the highest are dropped, and the successor is trained
  once on gold + the rest.
* ``asm`` (gold only): the successor trained once on the acquired gold, no pseudo-labels.
* ``succ``: PLASM with the successor's pseudo-labels (the successor trained on the gold
  labels the pool, as in the PLASM paper), then trained again on gold + kept ones.

Times are CPU seconds of this process (``time.process_time``; one thread), so other jobs on
the machine do not inflate them. Training = every model fit; inference = every pass over the
pool (AL queries, pseudo-labelling, the TracIn pass).

Run one seed per process (they can run side by side), then the report::

    OMP_NUM_THREADS=1 python benchmarks/plasm_tagging_cost.py run --seed 0 --out /tmp/plasm_tagging
    python benchmarks/plasm_tagging_cost.py report --out /tmp/plasm_tagging \
        --write docs/results/plasm_tagging/report.md
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

DATA = Path(os.environ.get("LABELWISE_DATA", "/work/shared/data")) / "conll2003"


def _data(pool_size: int, test_size: int):
    from labelwise.data import load_conll

    train = load_conll(DATA / "train.conll.gz")
    test = load_conll(DATA / "test.conll.gz", tag_names=train.tag_names)
    rng = np.random.default_rng(2026)  # one fixed pool and test set for every seed and arm
    return (train.subset(np.sort(rng.choice(len(train), pool_size, replace=False))),
            test.subset(np.sort(rng.choice(len(test), test_size, replace=False))))


def _successor(args: argparse.Namespace, seed: int):
    from labelwise.models import TransformerTagger

    return TransformerTagger(epochs=args.successor_epochs, learning_rate=args.successor_lr, mixed_precision=False,
                             random_state=seed)


def _acquirer(args: argparse.Namespace, seed: int):
    if args.acquirer == "bilstm":
        from labelwise.models import BiLSTMCRFTagger

        return BiLSTMCRFTagger(epochs=args.acquisition_epochs, random_state=seed)
    from labelwise.models import EmbeddingTagger

    # frozen MiniLM word vectors (no disk cache: encoding the pool is paid, as inference) + a CRF head
    return EmbeddingTagger(min_steps=args.acquisition_min_steps, random_state=seed)


def _active_learning(model, pool, seed: int, budget: int, queries: int, subsampler=None):
    """AL with MNLP; returns the learner and the CPU seconds of training and of inference
    (the model's ``prepare`` of the pool, e.g. encoding it with the frozen encoder, and the
    queries)."""
    from labelwise.loop import ActiveLearner

    started = time.process_time()
    model.prepare(pool.without_labels())  # the learner's own prepare then finds it done
    query_cpu = time.process_time() - started
    learner = ActiveLearner(model, pool, "mnlp", random_state=seed, subsampler=subsampler)
    train_cpu = 0.0
    candidates = []
    for _ in range(queries + 1):
        started = time.process_time()
        batch = learner.query(budget, unit="tokens")
        query_cpu += time.process_time() - started
        candidates.append(len(batch.candidate_indices))
        started = time.process_time()
        learner.teach(batch.indices, [pool.tags[i] for i in batch.indices])
        train_cpu += time.process_time() - started
    return learner, train_cpu, query_cpu, candidates


def _f1(model, test) -> float:
    from labelwise.metrics import span_f1

    return span_f1(test.tags, model.predict(test))["f1"]


def run(args: argparse.Namespace) -> None:
    from labelwise.metrics import span_f1
    from labelwise.plasm import plasm_tagging
    from labelwise.subsampling import UPSSubsampler

    pool, test = _data(args.pool, args.test)
    budget = math.ceil(args.query_share * int(pool.token_counts.sum()))
    seed = args.seed
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    record: dict = {"seed": seed, "pool": len(pool), "pool_tokens": int(pool.token_counts.sum()), "test": len(test),
                    "query_tokens": budget, "queries": args.queries, "config": vars(args)}

    def log(message: str) -> None:
        print(f"[seed {seed}] {message}", file=sys.stderr, flush=True)
        # Written after every arm, so a run cut short keeps what it finished.
        (out / f"seed{seed}{args.label}.json").write_text(json.dumps(record, indent=2), encoding="utf-8")

    if {"cheap", "asm", "succ"} & set(args.arms):
        # One AL run with the cheap acquisition model and UPS; each cheap arm pays for it in full.
        ups = UPSSubsampler(gamma=args.ups_gamma, temperature=args.ups_temperature)
        learner, al_train, al_inference, candidates = _active_learning(_acquirer(args, seed), pool, seed, budget,
                                                                       args.queries, ups)
        acquired = learner.labeled_dataset()
        rest = np.setdiff1d(np.arange(len(pool)), learner.labeled_indices)
        unlabeled = pool.subset(rest)
        record[f"config{args.label}"] = dict(vars(args))
        record[f"al{args.label}"] = {"train_cpu": al_train, "inference_cpu": al_inference, "candidates": candidates,
                        "n_gold": len(acquired), "acquisition_f1": _f1(learner.model, test)}
        log(f"al {record[f'al{args.label}']}")

        def plasm(acquisition_model, fraction: float, require_entities: bool):
            result = plasm_tagging(acquired, unlabeled, lambda: _successor(args, seed),
                                   acquisition_model=acquisition_model, tracin_factory=lambda: _acquirer(args, seed),
                                   pseudo_label_fraction=fraction, require_entities=require_entities,
                                   tracin_filter_fraction=args.tracin_drop, random_state=seed,
                                   timer=time.process_time)
            t = result.timings
            kept = set(result.kept_indices.tolist())
            gold = [unlabeled.tags[i] for i in result.kept_indices]
            predicted = [tuple(acquired.tag_names[x] for x in tags) for k, tags in enumerate(result.pseudo.tags)
                         if result.pseudo.indices[k] in kept]
            return {"train_cpu": al_train + t["train_labeler"] + t["train_tracin"] + t["train_final"],
                    "inference_cpu": al_inference + t["pseudo_label"] + t["tracin"], "plasm": t,
                    "f1": _f1(result.model, test), "n_gold": len(acquired), "n_pseudo": len(result.pseudo),
                    "n_dropped": len(result.dropped_indices),
                    "pseudo_label_f1": span_f1(gold, predicted)["f1"] if predicted else None,
                    "pseudo_with_entities": sum(any(t != "O" for t in tags) for tags in predicted)}

        if "cheap" in args.arms:  # pseudo-labels from the acquisition model
            record[f"cheap{args.label}"] = plasm(learner.model, args.pseudo_fraction, args.require_entities)
            log(f"cheap {record[f'cheap{args.label}']}")
        if "asm" in args.arms:  # the successor trained once on the acquired gold (no pseudo-labels)
            started = time.process_time()
            gold_only = _successor(args, seed)
            gold_only.prepare(pool)
            gold_only.fit(acquired)
            fit = time.process_time() - started
            record[f"asm{args.label}"] = {"f1": _f1(gold_only, test), "fit_cpu": fit, "train_cpu": al_train + fit,
                             "inference_cpu": al_inference, "n_gold": len(acquired)}
            log(f"asm {record[f'asm{args.label}']}")
        if "succ" in args.arms:  # pseudo-labels from the successor trained on the gold (the PLASM paper's)
            record[f"succ{args.label}"] = plasm(None, args.pseudo_fraction, args.require_entities)
            log(f"succ {record[f'succ{args.label}']}")
    if "expensive" in args.arms:
        learner, train_cpu, query_cpu, candidates = _active_learning(_successor(args, seed), pool, seed, budget,
                                                                     args.queries)
        record["expensive"] = {"train_cpu": train_cpu, "inference_cpu": query_cpu, "f1": _f1(learner.model, test),
                               "n_gold": len(learner.labeled_indices), "candidates": candidates}
        log(f"expensive {record['expensive']}")
    record["machine"] = {"python": platform.python_version(), "cpu_count": os.cpu_count(),
                         "omp_threads": os.environ.get("OMP_NUM_THREADS"), "load": os.getloadavg()}
    log("done")


def _interval(values: list[float]) -> tuple[float, float]:
    """Mean and the half-width of its 95 % t-interval."""
    from scipy import stats

    values = np.asarray(values, dtype=np.float64)
    if values.size < 2:
        return float(values.mean()), float("nan")
    half = stats.t.ppf(0.975, values.size - 1) * values.std(ddof=1) / math.sqrt(values.size)
    return float(values.mean()), float(half)


VARIANTS = (
    ("cheap", "PLASM, the acquisition model's pseudo-labels"),
    ("asm", "gold only (the successor trained once on the acquired gold, no pseudo-labels)"),
    ("succ", "PLASM, the successor's pseudo-labels (successor trained on gold labels the pool)"),
)


def report(args: argparse.Namespace) -> str:
    records = [json.loads(p.read_text()) for p in sorted(Path(args.out).glob("seed*.json"))
               if p.stem[4:].isdigit()]  # labelled runs (seed0_fast.json) join through --also
    for folder in args.also:  # labelled cheap runs: their keys join the record of their seed
        extra = {}
        for path in sorted(Path(folder).glob("seed*.json")):
            other = json.loads(path.read_text())
            extra.setdefault(other["seed"], {}).update(other)
        for record in records:
            for key, value in extra.get(record["seed"], {}).items():
                record.setdefault(key, value)
    records = [r for r in records if "expensive" in r and "al" in r]
    labels = [key[2:] for key in records[0] if key.startswith("al") and all(key in r for r in records)] \
        if records else []
    if not records:
        raise SystemExit(f"no finished seeds in {args.out}")
    first = records[0]
    config = first["config"]
    acquirer = {"embedding": "EmbeddingTagger (frozen MiniLM word vectors + shape features, linear CRF head)",
                "bilstm": f"BiLSTM-CRF ({config['acquisition_epochs']} epochs)"}[config.get("acquirer", "bilstm")]

    def row(name: str, values: list[float], fmt: str = "{:.3f}") -> str:
        mean, half = _interval(values)
        return f"| {name} | {fmt.format(mean)} ± {fmt.format(half)} | " + ", ".join(fmt.format(v) for v in values) + " |"

    e = [r["expensive"] for r in records]
    al = [r["al"] for r in records]
    lines = [
        "# PLASM + UPS for NER (CoNLL-2003), scaled to a shared 2-core CPU",
        "",
        f"Pool {first['pool']} sentences ({first['pool_tokens']} tokens) drawn from train, test {first['test']} "
        f"sentences from test (one fixed draw), seed set and each of {first['queries']} queries "
        f"{config['query_share']:.0%} of the pool's tokens ({first['query_tokens']} tokens), MNLP, "
        f"{len(records)} seeds ({', '.join(str(r['seed']) for r in records)}). Successor: packaged MiniLM "
        f"TransformerTagger ({config['successor_epochs']} epochs, lr {config['successor_lr']}); the expensive arm "
        f"runs AL with it. Each cheap configuration (a bold row) runs AL once with the acquisition model {acquirer} "
        f"+ UPS (gamma {config['ups_gamma']}, T {config['ups_temperature']}); each of its arms pays for that run in "
        f"full. PLASM: pseudo-labels on the most confident (MNLP) unlabeled sentences (the fraction in the row)"
        f"{' among those with a predicted entity' if config.get('require_entities') else ''}; TracIn on a fresh "
        "acquisition-type model trained on gold + pseudo-labels drops the highest self-influence.",
        "",
        "Times are CPU seconds of the benchmark process (one thread); inference includes the acquisition model's "
        "encoding of the pool. Cuts are per seed, `1 - cheap / expensive`; ± is the 95 % t-interval over seeds "
        "(paired where a difference).",
        "",
        "| quantity | mean ± 95 % CI | per seed |",
        "| --- | --- | --- |",
        row("training CPU s, expensive", [x["train_cpu"] for x in e], "{:.1f}"),
        row("inference CPU s, expensive", [x["inference_cpu"] for x in e], "{:.1f}"),
        row("span F1, expensive (successor's own AL)", [x["f1"] for x in e]),
        row("gold sentences, expensive", [x["n_gold"] for x in e], "{:.0f}"),
    ]
    for label in labels:
        al = [r[f"al{label}"] for r in records]
        setting = records[0].get(f"config{label}", config)
        lines += [
            f"| **cheap AL{label}** (acquisition min_steps {setting.get('acquisition_min_steps', 400)}, pseudo-labels "
            f"{setting['pseudo_fraction']:.0%}, TracIn drop {setting['tracin_drop']:.0%}) | | |",
            row(f"cheap AL{label}: training CPU s", [x["train_cpu"] for x in al], "{:.1f}"),
            row(f"cheap AL{label}: inference CPU s (pool encoding + queries)", [x["inference_cpu"] for x in al],
                "{:.1f}"),
            row(f"cheap AL{label}: span F1 of the acquisition model", [x["acquisition_f1"] for x in al]),
            row(f"cheap AL{label}: gold sentences", [x["n_gold"] for x in al], "{:.0f}"),
        ]
        for base, title in VARIANTS:
            key = base + label
            if not all(key in r for r in records):
                continue
            c = [r[key] for r in records]
            diffs = [y["f1"] - x["f1"] for x, y in zip(e, c, strict=True)]
            lines += [
                f"| *{key}: {title}* | | |",
                row(f"{key}: training CPU s", [x["train_cpu"] for x in c], "{:.1f}"),
                row(f"**{key}: training-time cut**",
                    [1 - y["train_cpu"] / x["train_cpu"] for x, y in zip(e, c, strict=True)], "{:.1%}"),
                row(f"**{key}: inference-time cut**",
                    [1 - y["inference_cpu"] / x["inference_cpu"] for x, y in zip(e, c, strict=True)], "{:.1%}"),
                row(f"{key}: total (train + inference) cut",
                    [1 - (y["train_cpu"] + y["inference_cpu"]) / (x["train_cpu"] + x["inference_cpu"])
                     for x, y in zip(e, c, strict=True)], "{:.1%}"),
                row(f"{key}: span F1", [x["f1"] for x in c]),
                row(f"**{key}: F1 difference vs expensive (paired)** ({sum(d < 0 for d in diffs)} of "
                    f"{len(diffs)} seeds below)", diffs),
            ]
            if "n_pseudo" in c[0]:
                lines += [row(f"{key}: pseudo-labelled sentences", [x["n_pseudo"] for x in c], "{:.0f}"),
                          row(f"{key}: dropped by TracIn", [x["n_dropped"] for x in c], "{:.0f}"),
                          row(f"{key}: span F1 of the kept pseudo-labels (vs gold)",
                              [x["pseudo_label_f1"] or 0.0 for x in c])]
    al = [r["al"] for r in records]
    lines += [
        "",
        f"UPS candidates per query (cheap AL, seed {records[0]['seed']}): {al[0]['candidates']}; "
        f"the expensive arm scores every unlabeled sentence: {e[0]['candidates']}.",
        "",
        f"Command: `{args.command}`",
        "",
        f"Machine: {first.get('machine', 'not recorded (the run stopped before its last arm)')}",
    ]
    text = "\n".join(lines) + "\n"
    if args.write:
        Path(args.write).parent.mkdir(parents=True, exist_ok=True)
        Path(args.write).write_text(text, encoding="utf-8")
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="what", required=True)
    go = commands.add_parser("run", help="one seed: every arm")
    go.add_argument("--seed", type=int, default=0)
    go.add_argument("--out", required=True)
    go.add_argument("--pool", type=int, default=600)
    go.add_argument("--test", type=int, default=600)
    go.add_argument("--queries", type=int, default=5)
    go.add_argument("--query-share", type=float, default=0.02)
    go.add_argument("--successor-epochs", type=int, default=10)
    go.add_argument("--successor-lr", type=float, default=1e-4)
    go.add_argument("--acquisition-epochs", type=int, default=15)
    go.add_argument("--ups-gamma", type=float, default=0.1)
    go.add_argument("--ups-temperature", type=float, default=0.01)
    go.add_argument("--pseudo-fraction", type=float, default=0.1)
    go.add_argument("--tracin-drop", type=float, default=0.1)
    go.add_argument("--arms", default="cheap,asm,expensive,succ")
    go.add_argument("--acquisition-min-steps", type=int, default=400,
                    help="EmbeddingTagger's min_steps (its fit cost at a few dozen sentences)")
    go.add_argument("--label", default="", help="suffix of the record's keys and file (a second cheap "
                    "configuration run beside the first; merge it with report --also)")
    go.add_argument("--acquirer", choices=("embedding", "bilstm"), default="embedding")
    go.add_argument("--require-entities", action=argparse.BooleanOptionalAction, default=True,
                    help="pseudo-label only sentences with a predicted entity")
    rep = commands.add_parser("report", help="the table of the finished seeds")
    rep.add_argument("--out", required=True)
    rep.add_argument("--also", action="append", default=[], help="folder of labelled runs to merge by seed")
    rep.add_argument("--write", default=None, help="also write the markdown here")
    rep.add_argument("--command", default="see the module docstring", help="the command line to quote")
    args = parser.parse_args()
    if args.what == "run":
        args.arms = tuple(a.strip() for a in args.arms.split(","))
        run(args)
    else:
        print(report(args))


if __name__ == "__main__":
    main()
