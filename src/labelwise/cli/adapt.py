"""``labelwise adapt``: domain adaptation, masked-LM training of an encoder on the pool."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from labelwise.cli._pools import load_pool, positive
from labelwise.errors import ConfigError


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "adapt", help="adapt an encoder to the pool's domain (masked-LM training on its texts)",
        description="Continue masked-LM training of an encoder on the unlabeled pool (a tagging pool's "
                    "sentences are joined into texts) and save it; use the folder as a transformer model's "
                    "model_name_or_path. A held-out part of the pool measures the MLM loss before and after.")
    parser.add_argument("--pool", required=True,
                        help="unlabeled pool: CoNLL file (tagging) or CSV/TSV/JSON/JSONL (classification)")
    parser.add_argument("--output", required=True, help="folder for the adapted encoder and summary.json")
    parser.add_argument("--model", default=None,
                        help="encoder: 'minilm' (default), 'mpnet' (the successor package) or a model folder")
    parser.add_argument("--text-column", default="text", help="text column of a classification pool")
    parser.add_argument("--steps", type=int, default=200, help="MLM training steps (default: 200)")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--max-length", type=int, default=64)
    parser.add_argument("--learning-rate", type=float, default=5e-5)
    parser.add_argument("--mlm-probability", type=float, default=0.15, help="share of tokens masked")
    parser.add_argument("--eval-size", type=int, default=256, help="pool texts held out to measure the loss")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def run(args: argparse.Namespace) -> int:
    positive(args.steps, "--steps", integer=True)
    positive(args.batch_size, "--batch-size", integer=True)
    positive(args.max_length, "--max-length", integer=True)
    positive(args.eval_size, "--eval-size", integer=True)
    positive(args.learning_rate, "--learning-rate")
    if not 0.0 < args.mlm_probability < 1.0:
        raise ConfigError(f"--mlm-probability must lie in (0, 1), got {args.mlm_probability!r}.")
    model = args.model
    if model is not None and model.lower() in ("mpnet", "successor"):
        from labelwise.models.pretrained import successor_encoder_path

        model = successor_encoder_path()
    elif model is not None and model.lower() == "minilm":
        model = None
    elif model is not None and not Path(model).is_dir():
        raise ConfigError(f"--model {model!r}: not 'minilm', 'mpnet' or an existing model folder.")
    from labelwise.plasm.domain_adaptation import adapt_encoder

    pool = load_pool(args.pool, "--pool", text_column=args.text_column)
    result = adapt_encoder(pool, args.output, model, steps=args.steps, batch_size=args.batch_size,
                           max_length=args.max_length, learning_rate=args.learning_rate,
                           mlm_probability=args.mlm_probability, eval_size=args.eval_size, random_state=args.seed,
                           progress=not args.no_progress)
    summary = {"encoder": result.path, "loss_before": result.loss_before, "loss_after": result.loss_after,
               "steps": len(result.losses), "n_train_texts": result.n_train_texts,
               "n_held_out": len(result.held_out_texts), "seconds": result.seconds}
    from labelwise._io import atomic_write_text

    atomic_write_text(Path(args.output) / "summary.json", json.dumps(summary, indent=2))
    print(json.dumps(summary))
    return 0
