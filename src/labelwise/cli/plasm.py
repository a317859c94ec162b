"""``labelwise plasm``: train a successor with pseudo-labels cleaned by TracIn."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from labelwise.errors import ConfigError


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "plasm", help="train a successor on acquired data + TracIn-cleaned pseudo-labels (PLASM)",
        description="Train the successor on the acquired gold data, pseudo-label the pool, drop the "
                    "pseudo-labels with the highest TracIn self-influence, retrain on gold + the rest.")
    parser.add_argument("--acquired", required=True,
                        help="labeled file of acquired data: CSV/TSV/JSON/JSONL (classification) or a CoNLL "
                             "file (sequence tagging: PLASM with token-level pseudo-labels)")
    parser.add_argument("--pool", required=True, help="unlabeled file (labels, if present, are ignored)")
    parser.add_argument("--successor", default="tfidf",
                        help="'tfidf', 'minilm', 'mpnet' (the successor package) or a model folder")
    parser.add_argument("--output", required=True, help="output folder")
    parser.add_argument("--text-column", default="text")
    parser.add_argument("--label-column", default="label")
    parser.add_argument("--pseudo-label-fraction", type=float, default=0.5)
    parser.add_argument("--confidence-threshold", type=float, default=None)
    parser.add_argument("--tracin-filter-fraction", type=float, default=0.1)
    parser.add_argument("--epochs", type=int, default=3, help="transformer successors only")
    parser.add_argument("--max-length", type=int, default=128, help="transformer successors only")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--acquisition-model", default=None,
                        help="tagging: folder of the fitted acquisition tagger (model.save()); it pseudo-labels "
                             "the pool and a fresh copy of it is TracIn's model. Default: the successor does both")
    parser.add_argument("--confidence", choices=("mnlp", "mean_max"), default="mnlp",
                        help="tagging: sentence confidence that ranks the pseudo-labels (default: mnlp)")
    parser.add_argument("--require-entities", action="store_true",
                        help="tagging: pseudo-label only sentences with a predicted entity (the fraction still "
                             "counts the whole pool); all-O pseudo-labels from a weak acquisition model hurt")


def _successor_factory(name: str, output: Path, args: argparse.Namespace) -> Any:
    if name.lower() == "tfidf":
        from labelwise.models import TfidfLogisticRegression

        return TfidfLogisticRegression
    from labelwise.models import TransformerClassifier
    from labelwise.models.pretrained import resolve_model_path, successor_encoder_path

    path = successor_encoder_path() if name.lower() in ("mpnet", "successor") else resolve_model_path(name)

    def build() -> Any:
        return TransformerClassifier(path, max_length=args.max_length, epochs=args.epochs,
                                     checkpoint_dir=output / "checkpoints", random_state=args.seed)

    return build


def _run_tagging(args: argparse.Namespace, output: Path) -> int:
    from labelwise.cli._pools import load_pool
    from labelwise.models import TransformerTagger, load_model
    from labelwise.plasm import plasm_tagging

    if args.successor.lower() == "tfidf":
        raise ConfigError("--successor tfidf cannot tag sequences; give 'minilm', 'mpnet' or a model folder.")
    from labelwise.models.pretrained import resolve_model_path, successor_encoder_path

    name = args.successor.lower()
    path = successor_encoder_path() if name in ("mpnet", "successor") else \
        None if name == "minilm" else resolve_model_path(args.successor)
    acquired = load_pool(args.acquired, "--acquired", tagging=True)
    if acquired.tags is None:
        raise ConfigError(f"--acquired {args.acquired!r} holds no tags.")
    pool = load_pool(args.pool, "--pool", tagging=True, tag_names=acquired.tag_names)
    acquisition = None
    if args.acquisition_model is not None:
        if not Path(args.acquisition_model).is_dir():
            raise ConfigError(f"--acquisition-model {args.acquisition_model!r}: no such folder.")
        acquisition = load_model(args.acquisition_model)

    def build() -> Any:
        return TransformerTagger(path, max_length=args.max_length, epochs=args.epochs, random_state=args.seed)

    result = plasm_tagging(acquired, pool, build, acquisition_model=acquisition,
                           pseudo_label_fraction=args.pseudo_label_fraction, confidence=args.confidence,
                           confidence_threshold=args.confidence_threshold,
                           require_entities=args.require_entities,
                           tracin_filter_fraction=args.tracin_filter_fraction, random_state=args.seed)
    with open(output / "train.jsonl", "w", encoding="utf-8") as handle:
        for row, (tokens, tags) in enumerate(zip(result.dataset.tokens, result.dataset.tags, strict=True)):
            source = "gold" if row < result.n_gold else "pseudo"
            handle.write(json.dumps({"tokens": tokens, "tags": tags, "source": source}, ensure_ascii=False) + "\n")
    dropped = set(result.dropped_indices.tolist())
    with open(output / "pseudo_labels.jsonl", "w", encoding="utf-8") as handle:
        for k, position in enumerate(result.pseudo.indices):
            handle.write(json.dumps({"pool_position": int(position),
                                     "tags": [acquired.tag_names[t] for t in result.pseudo.tags[k]],
                                     "confidence": float(result.pseudo.confidence[k]),
                                     "self_influence": float(result.self_influence[k]),
                                     "dropped": int(position) in dropped}, ensure_ascii=False) + "\n")
    summary = {"n_gold": result.n_gold, "n_pseudo": len(result.pseudo), "n_dropped": len(dropped),
               "n_train": len(result.dataset), "timings": result.timings}
    (output / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    result.model.save(output / "model")
    print(json.dumps(summary))
    return 0


def run(args: argparse.Namespace) -> int:
    from labelwise.cli._pools import is_conll
    from labelwise.data import load_classification
    from labelwise.plasm import plasm

    output = Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    if is_conll(args.acquired):
        return _run_tagging(args, output)
    acquired = load_classification(args.acquired, text_column=args.text_column, label_column=args.label_column)
    try:
        pool = load_classification(args.pool, text_column=args.text_column, label_column=None,
                                   label_names=acquired.label_names)
    except TypeError as error:
        raise ConfigError(f"cannot read the pool {args.pool!r}: {error}") from None
    result = plasm(acquired, pool, _successor_factory(args.successor, output, args),
                   pseudo_label_fraction=args.pseudo_label_fraction,
                   confidence_threshold=args.confidence_threshold,
                   tracin_filter_fraction=args.tracin_filter_fraction, random_state=args.seed)
    names = result.dataset.label_names
    with open(output / "train.jsonl", "w", encoding="utf-8") as handle:
        for row, (text, label) in enumerate(zip(result.dataset.texts, result.dataset.labels, strict=True)):
            source = "gold" if row < result.n_gold else "pseudo"
            handle.write(json.dumps({"text": text, "label": names[int(label)], "source": source},
                                    ensure_ascii=False) + "\n")
    dropped = set(result.dropped_indices.tolist())
    with open(output / "pseudo_labels.jsonl", "w", encoding="utf-8") as handle:
        for position, label, influence in zip(result.pseudo_indices, result.pseudo_labels,
                                              result.self_influence, strict=True):
            handle.write(json.dumps({"pool_position": int(position), "label": names[int(label)],
                                     "self_influence": float(influence),
                                     "dropped": int(position) in dropped}, ensure_ascii=False) + "\n")
    summary = {"n_gold": result.n_gold, "n_pseudo": int(len(result.pseudo_indices)),
               "n_dropped": len(dropped), "n_train": len(result.dataset), "timings": result.timings}
    (output / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    if callable(getattr(result.model, "save", None)):
        result.model.save(output / "model")
    else:
        import joblib

        joblib.dump(result.model, output / "model.joblib")
    print(json.dumps(summary))
    return 0
