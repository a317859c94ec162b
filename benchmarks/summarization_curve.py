"""Simulated active learning for abstractive summarization on AESLC (email → subject line).

BERT2BERT warm-started from the packaged MiniLM (or ``--model PATH`` for your own
BART/T5), strategies IDDS, NSP and Random, several seeds; ROUGE-1/2/L per iteration as
mean ± 95% CI, a learning-curve PNG, generation throughput and time per iteration phase.

    OMP_NUM_THREADS=2 HF_HUB_OFFLINE=1 nice -n 10 python benchmarks/summarization_curve.py \\
        --pool 500 --test 100 --initial 10 --query 10 --iterations 3 --seeds 0 1 2

Data: ``/work/shared/data/aeslc/{train,test}.jsonl.gz`` when present (research-only, read
in place), else the bundled 500/150 sample. Output goes to ``--out`` (default
``docs/results/summarization``): ``summarization_curve.md``, ``.png`` and ``.json``.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from labelwise.benchmark import mean_ci, plot_learning_curves, simulate
from labelwise.data import load_aeslc_sample, load_seq2seq

SHARED = Path("/work/shared/data/aeslc")
METRICS = ("rouge1", "rouge2", "rougeL")


def load_data(pool_size: int, test_size: int, seed: int):
    if (SHARED / "train.jsonl.gz").exists() and (SHARED / "test.jsonl.gz").exists():
        train, test, origin = load_seq2seq(SHARED / "train.jsonl.gz"), load_seq2seq(SHARED / "test.jsonl.gz"), str(SHARED)
    else:
        (train, test), origin = load_aeslc_sample(), "bundled sample"
    rng = np.random.default_rng(seed)
    pool = train.subset(np.sort(rng.choice(len(train), size=min(pool_size, len(train)), replace=False)))
    test = test.subset(np.sort(rng.choice(len(test), size=min(test_size, len(test)), replace=False)))
    return pool, test, origin


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None, help="local BART/T5/PEGASUS folder; default BERT2BERT from MiniLM")
    parser.add_argument("--pool", type=int, default=500)
    parser.add_argument("--test", type=int, default=100)
    parser.add_argument("--initial", type=int, default=10)
    parser.add_argument("--query", type=int, default=10)
    parser.add_argument("--iterations", type=int, default=3)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--strategies", nargs="+", default=["idds", "nsp", "random"])
    parser.add_argument("--max-source-length", type=int, default=128)
    parser.add_argument("--max-target-length", type=int, default=16)
    parser.add_argument("--num-beams", type=int, default=1)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--learning-rate", type=float, default=1e-4)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--warm-start", action="store_true",
                        help="first train the model to write each pool email's opening words (label-free "
                             "Lead warm-up, labelwise.plasm.warm_start_seq2seq), then run AL from it")
    parser.add_argument("--warm-start-epochs", type=int, default=3)
    parser.add_argument("--warm-start-learning-rate", type=float, default=5e-4)
    parser.add_argument("--warm-start-dir", default=None,
                        help="folder for the warmed-up model (reused when it exists); default under the temp dir")
    parser.add_argument("--out", default="docs/results/summarization")
    args = parser.parse_args()

    from labelwise.models import TransformerSeq2Seq

    pool, test, origin = load_data(args.pool, args.test, seed=12345)
    print(f"AESLC from {origin}: pool {len(pool)}, test {len(test)}; model {args.model or 'BERT2BERT(MiniLM)'}",
          flush=True)

    args.warm_note = ""
    if args.warm_start:
        import tempfile

        from labelwise.plasm import warm_start_seq2seq

        folder = Path(args.warm_start_dir or Path(tempfile.gettempdir()) / f"labelwise_aeslc_warm_{len(pool)}")
        if not (folder / "config.json").exists():
            result = warm_start_seq2seq(
                pool.without_labels(), folder, args.model, epochs=args.warm_start_epochs,
                max_source_length=args.max_source_length, max_target_length=args.max_target_length,
                batch_size=args.batch_size, learning_rate=args.warm_start_learning_rate, num_beams=args.num_beams,
                progress=False)
            args.warm_note = (f"Lead warm-up on the {len(pool)} unlabeled pool emails (no labels): "
                              f"{args.warm_start_epochs} epochs at lr {args.warm_start_learning_rate}, {result.seconds:.0f} s; held-out token loss "
                              f"{result.loss_before:.2f} → {result.loss_after:.2f}.")
        else:
            args.warm_note = f"Lead warm-up reused from {folder}."
        print(args.warm_note, flush=True)
        args.model = str(folder)

    def factory_for(seed: int):
        return lambda: TransformerSeq2Seq(
            args.model, max_source_length=args.max_source_length, max_target_length=args.max_target_length,
            num_beams=args.num_beams, batch_size=args.batch_size, epochs=args.epochs,
            learning_rate=args.learning_rate, random_state=seed)

    records = []
    started_all = time.perf_counter()
    # Seed-major order, and the table rewritten after every run: a run cut short still
    # leaves balanced, complete results for the seeds it finished.
    for seed in args.seeds:
        for strategy in args.strategies:
            started = time.perf_counter()
            for record in simulate(factory_for(seed), pool, test, strategy, seed=seed, initial_size=args.initial,
                                   query_size=args.query, iterations=args.iterations):
                records.append(record)
                print(f"  {strategy:7s} seed {seed} it {record.iteration} n={record.n_labeled:3d} "
                      f"R1={record.metrics['rouge1']:.4f} R2={record.metrics['rouge2']:.4f} "
                      f"RL={record.metrics['rougeL']:.4f}  "
                      + " ".join(f"{k}={v:.1f}s" for k, v in record.durations.items()), flush=True)
            print(f"{strategy} seed {seed}: {time.perf_counter() - started:.0f}s", flush=True)
            write_report(records, args, pool, test, origin, time.perf_counter() - started_all)


def write_report(records, args, pool, test, origin, total_seconds) -> None:
    strategies = [s for s in args.strategies if any(r.strategy == s for r in records)]
    seeds = sorted({r.seed for r in records})

    by_point: dict[tuple[str, int], list] = defaultdict(list)
    for record in records:
        by_point[(record.strategy, record.iteration)].append(record)

    lines = [
        "# Summarization AL on AESLC (email → subject line)",
        "",
        f"Data: {origin}; pool {len(pool)}, test {len(test)}; initial {args.initial}, query {args.query}, "
        f"{args.iterations} iterations, seeds {seeds} (asked {args.seeds}).",
        f"Model: {args.model or 'BERT2BERT warm-started from MiniLM-L6 (cross-attention random)'}; "
        f"max source/target {args.max_source_length}/{args.max_target_length}, beams {args.num_beams}, "
        f"epochs {args.epochs}, lr {args.learning_rate}.",
        *([args.warm_note] if args.warm_note else []),
        "",
        "ROUGE F1 × 100, mean ± 95% CI (Student t) over seeds.",
        "",
        "| strategy | labeled | ROUGE-1 | ROUGE-2 | ROUGE-L |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    curves: dict[str, tuple[list, list, list]] = {}
    for strategy in strategies:
        xs, means, halves = [], [], []
        for iteration in range(args.iterations + 1):
            group = by_point.get((strategy, iteration), [])
            if not group:
                continue
            cells = []
            for metric in METRICS:
                mean, half = mean_ci([100 * r.metrics[metric] for r in group])
                cells.append(f"{mean:.2f} ± {half:.2f}")
                if metric == "rougeL":
                    xs.append(group[0].n_labeled)
                    means.append(mean)
                    halves.append(half)
            lines.append(f"| {strategy} | {group[0].n_labeled} | " + " | ".join(cells) + " |")
        curves[strategy] = (xs, means, halves)

    # Phase times per query iteration (iterations >= 1), and generation throughput from
    # the evaluation phase (test-set generation) of every record.
    lines += ["", "Seconds per iteration phase (mean over seeds and iterations ≥ 1):", "",
              "| strategy | inference | selection | train | evaluation |", "| --- | ---: | ---: | ---: | ---: |"]
    for strategy in strategies:
        later = [r for r in records if r.strategy == strategy and r.iteration >= 1]
        cells = [f"{np.mean([r.durations.get(p, np.nan) for r in later]):.1f}"
                 for p in ("inference", "selection", "train", "evaluation")]
        lines.append(f"| {strategy} | " + " | ".join(cells) + " |")
    evaluation_seconds = sum(r.durations["evaluation"] for r in records)
    throughput = len(records) * len(test) / evaluation_seconds
    lines += ["", f"Generation throughput (test-set predict + ROUGE, beams {args.num_beams}): "
              f"{throughput:.2f} texts/s over {len(records) * len(test)} texts.",
              f"Total wall time {total_seconds:.0f}s on a 2-core CPU shared with other jobs (nice 10)."]
    table = "\n".join(lines)
    print("\n" + table, flush=True)

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "summarization_curve.md").write_text(table + "\n")
    plot_learning_curves(curves, out / "summarization_curve.png", metric="ROUGE-L × 100",
                         title="AESLC, BERT2BERT(MiniLM): ROUGE-L by labeled emails (mean ± 95% CI)")
    (out / "summarization_curve.json").write_text(json.dumps(
        [{"strategy": r.strategy, "seed": r.seed, "iteration": r.iteration, "n_labeled": r.n_labeled,
          "metrics": r.metrics, "durations": r.durations} for r in records], indent=1))
    print(f"wrote {out}/summarization_curve.md, .png, .json", flush=True)


if __name__ == "__main__":
    main()
