"""``labelwise distill``: distil a fitted teacher into a smaller student on the pool."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from labelwise.cli._pools import load_pool, positive
from labelwise.errors import ConfigError, DataError

TAGGING_STUDENTS = ("bilstm-crf", "minilm")


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "distill", help="distil a fitted teacher (classifier or tagger) into a smaller student on the pool",
        description="Train a student to match a fitted teacher's output distributions on the unlabeled pool "
                    "(classification: softened class probabilities; tagging: token tag distributions, KL with "
                    "the word mask). The student is saved to --output and serves as a cheaper acquisition model.")
    parser.add_argument("--teacher", required=True, help="folder of a fitted labelwise model (written by save())")
    parser.add_argument("--pool", required=True,
                        help="unlabeled pool: a CoNLL file for a tagger, CSV/TSV/JSON/JSONL for a classifier")
    parser.add_argument("--output", required=True, help="folder for the student and summary.json")
    parser.add_argument("--student", default=None,
                        help="tagging: 'bilstm-crf' (default), 'minilm' or a Hugging Face model folder; "
                             "classification: a model name or folder (default: the packaged MiniLM)")
    parser.add_argument("--text-column", default="text", help="text column of a classification pool")
    parser.add_argument("--temperature", type=float, default=None,
                        help="softening temperature (default: 2 for classification, 1 for tagging)")
    parser.add_argument("--epochs", type=int, default=3, help="passes over the pool (default: 3)")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--learning-rate", type=float, default=None,
                        help="default: the student's own (5e-5 for transformers, 3e-3 for the BiLSTM-CRF)")
    parser.add_argument("--max-length", type=int, default=128, help="pieces per sentence/text (transformers)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def _tagging_student(name: str | None, args: argparse.Namespace) -> Any:
    from labelwise.models import BiLSTMCRFTagger, TransformerTagger

    progress = not args.no_progress
    if name is None or name.lower() == "bilstm-crf":
        return BiLSTMCRFTagger(random_state=args.seed, progress=progress)
    path = None if name.lower() == "minilm" else name
    if path is not None and not Path(path).is_dir():
        raise ConfigError(f"--student {name!r}: not one of {TAGGING_STUDENTS} and no such model folder.")
    return TransformerTagger(path, max_length=args.max_length, random_state=args.seed, progress=progress)


def run(args: argparse.Namespace) -> int:
    from labelwise.models import load_model

    positive(args.epochs, "--epochs", integer=True)
    positive(args.batch_size, "--batch-size", integer=True)
    positive(args.max_length, "--max-length", integer=True)
    positive(args.temperature, "--temperature")
    positive(args.learning_rate, "--learning-rate")
    if not Path(args.teacher).is_dir():
        raise DataError(f"--teacher {args.teacher!r}: no such folder.",
                        fix="give the folder a fitted labelwise model was saved to (model.save(folder)).")
    teacher = load_model(args.teacher)
    tagging = callable(getattr(teacher, "token_marginals", None))
    print(f"teacher: {type(teacher).__name__} ({'tagging' if tagging else 'classification'})", file=sys.stderr)
    output = Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    if tagging:
        from labelwise.plasm.distillation import distill_tagger

        pool = load_pool(args.pool, "--pool", tagging=True, tag_names=teacher.tag_names_)
        result = distill_tagger(teacher, pool, _tagging_student(args.student, args),
                                temperature=args.temperature or 1.0, epochs=args.epochs, batch_size=args.batch_size,
                                learning_rate=args.learning_rate, random_state=args.seed,
                                progress=not args.no_progress)
        path = result.model.save(output / "model")
    else:
        from labelwise.plasm.distillation import distill_transformer

        if not callable(getattr(teacher, "predict_proba", None)):
            raise ConfigError(f"--teacher: {type(teacher).__name__} gives no probabilities to distil.")
        names = getattr(teacher, "label_names_", None)
        pool = load_pool(args.pool, "--pool", tagging=False, text_column=args.text_column, label_names=names)
        extra = {} if args.learning_rate is None else {"learning_rate": args.learning_rate}
        result = distill_transformer(teacher, pool, output / "model", args.student,
                                     temperature=args.temperature or 2.0, epochs=args.epochs,
                                     batch_size=args.batch_size, max_length=args.max_length,
                                     random_state=args.seed, progress=not args.no_progress, **extra)
        path = result.path
    summary = {"student": str(path), "kl_before": result.kl_before, "kl_after": result.kl_after,
               "seconds": result.seconds, "n_pool": len(pool)}
    from labelwise._io import atomic_write_text

    atomic_write_text(output / "summary.json", json.dumps(summary, indent=2))
    print(json.dumps(summary))
    return 0
