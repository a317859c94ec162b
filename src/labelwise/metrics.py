"""Evaluation metrics per task. Heavy metric packages load only when used.

Multi-label classification (``(n, L)`` 0/1 indicator rows) reports subset accuracy
(exact match of the whole row, also under the key ``accuracy``), micro and macro F1 over
the labels and the Hamming loss; a label that is neither gold nor predicted anywhere
counts as F1 0 in the macro mean, never NaN. ROUGE, sacreBLEU and BLEUVar tokenize with
:mod:`labelwise.data.segmentation`, so Russian, Arabic, Chinese or Thai text is scored on
its own words and characters instead of being dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from labelwise.data import segmentation
from labelwise.errors import ConfigError, DataError

ArrayLike = Sequence[int] | np.ndarray


def _pair(gold: ArrayLike, predicted: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    gold, predicted = np.asarray(gold), np.asarray(predicted)
    if gold.shape != predicted.shape:
        raise DataError(f"gold labels have shape {gold.shape} but predictions {predicted.shape}; "
                        "pass one prediction per gold row (indicator rows of the same width for multi-label).")
    return gold, predicted


def accuracy(gold: ArrayLike, predicted: ArrayLike) -> float:
    """Share of rows predicted exactly (for indicator rows: :func:`subset_accuracy`)."""
    gold, predicted = _pair(gold, predicted)
    if gold.size == 0:
        return 0.0
    if gold.ndim == 2:  # multi-label: exact-match ratio
        return float((gold == predicted).all(axis=1).mean())
    return float((gold == predicted).mean())


def subset_accuracy(gold: ArrayLike, predicted: ArrayLike) -> float:
    """Multi-label exact match: share of rows whose whole label set is right."""
    return accuracy(gold, predicted)


def hamming_loss(gold: ArrayLike, predicted: ArrayLike) -> float:
    """Share of wrong (row, label) decisions, ``(n, L)`` indicators; for class ids the
    share of wrong rows."""
    gold, predicted = _pair(gold, predicted)
    return float((gold != predicted).mean()) if gold.size else 0.0


def _f1(gold: ArrayLike, predicted: ArrayLike, average: str) -> float:
    from sklearn.metrics import f1_score

    gold, predicted = _pair(gold, predicted)
    if gold.size == 0:
        return 0.0
    if gold.ndim == 2:
        gold, predicted = (gold > 0).astype(np.int8), (predicted > 0).astype(np.int8)
    return float(f1_score(gold, predicted, average=average, zero_division=0))


def macro_f1(gold: ArrayLike, predicted: ArrayLike) -> float:
    """Unweighted mean of the per-class (per-label) F1; 0 for a class never seen."""
    return _f1(gold, predicted, "macro")


def micro_f1(gold: ArrayLike, predicted: ArrayLike) -> float:
    """F1 of the pooled true/false positives over all classes (labels)."""
    return _f1(gold, predicted, "micro")


def classification_metrics(gold: ArrayLike, predicted: ArrayLike, multi_label: bool | None = None) -> dict[str, float]:
    """``accuracy`` and ``macro_f1``; for multi-label also ``subset_accuracy``,
    ``micro_f1`` and ``hamming_loss``. ``multi_label`` defaults to 2-D ``gold``."""
    gold, predicted = _pair(gold, predicted)
    result = {"accuracy": accuracy(gold, predicted), "macro_f1": macro_f1(gold, predicted)}
    if multi_label if multi_label is not None else gold.ndim == 2:
        result.update(subset_accuracy=result["accuracy"], micro_f1=micro_f1(gold, predicted),
                      hamming_loss=hamming_loss(gold, predicted))
    return result


def span_f1(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]]) -> dict[str, float]:
    """seqeval span F1 over IOB2 tags: ``{"f1": micro, "f1_PER": ..., ...}``."""
    from seqeval.metrics import classification_report, f1_score
    from seqeval.scheme import IOB2

    gold_lists = [list(s) for s in gold]
    predicted_lists = [list(s) for s in predicted]
    result = {"f1": float(f1_score(gold_lists, predicted_lists, mode="strict", scheme=IOB2, zero_division=0))}
    report = classification_report(gold_lists, predicted_lists, mode="strict", scheme=IOB2,
                                   output_dict=True, zero_division=0)
    for entity, values in report.items():
        if "avg" not in entity:
            result[f"f1_{entity}"] = float(values["f1-score"])
    return result


class RougeTokenizer:
    """A rouge-score tokenizer that keeps every script: lower-cased
    :func:`~labelwise.data.segmentation.segment` tokens without punctuation, Chinese/
    Japanese/Thai as characters. With ``stem=True`` ASCII words longer than 3 letters are
    Porter-stemmed, as rouge-score's default does (which instead drops every non-ASCII
    letter, so a Russian or Chinese summary has no tokens and scores 0)."""

    def __init__(self, stem: bool = True) -> None:
        self.stem = stem
        self._stemmer: Any = None

    def tokenize(self, text: str) -> list[str]:
        tokens = segmentation.word_tokens(text, punctuation=False)
        if not self.stem:
            return tokens
        if self._stemmer is None:
            from nltk.stem import porter

            self._stemmer = porter.PorterStemmer()
        return [self._stemmer.stem(t) if len(t) > 3 and t.isascii() and t.isalpha() else t for t in tokens]


def rouge(references: Sequence[str], hypotheses: Sequence[str], *, stem: bool = True) -> dict[str, float]:
    """Mean ROUGE-1/2/L F-measures (rouge-score with :class:`RougeTokenizer`, so every
    script counts; English words stemmed like rouge-score's default)."""
    from rouge_score import rouge_scorer

    if len(references) != len(hypotheses):
        raise DataError(f"{len(references)} references but {len(hypotheses)} hypotheses; pass one each.")
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], tokenizer=RougeTokenizer(stem))
    totals = {"rouge1": 0.0, "rouge2": 0.0, "rougeL": 0.0}
    for reference, hypothesis in zip(references, hypotheses, strict=True):
        scores = scorer.score(reference, hypothesis)
        for key in totals:
            totals[key] += scores[key].fmeasure
    n = max(len(references), 1)
    return {key: value / n for key, value in totals.items()}


#: sacreBLEU tokenizer per language code; languages not listed use "13a" (spaces and
#: punctuation), which suits every script written with spaces.
SACREBLEU_TOKENIZERS = {"zh": "zh", "ja": "ja-mecab", "ko": "ko-mecab", "th": "char", "lo": "char",
                        "km": "char", "my": "char", "bo": "char"}


def sacrebleu_tokenizer(language: str | None = None, texts: Sequence[str] = ()) -> str:
    """The sacreBLEU tokenizer for ``language`` (an ISO 639-1 code). Without a language:
    ``"zh"`` when the texts hold Chinese or Japanese characters, ``"char"`` for other
    scripts without spaces (Thai, ...), else ``"13a"``. Japanese and Korean need MeCab
    (``pip install "sacrebleu[ja]"`` / ``"sacrebleu[ko]"``); without it they fall back to
    characters."""
    if language is not None:
        code = language.lower().replace("_", "-").split("-")[0]
        name = SACREBLEU_TOKENIZERS.get(code, "13a")
        if name.endswith("-mecab") and not _mecab_available(name):
            return "char"
        return name
    joined = "".join(texts)
    if not segmentation.has_no_space_script(joined):
        return "13a"
    return "zh" if any("\u3040" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff" for ch in joined) else "char"


def _mecab_available(name: str) -> bool:
    from sacrebleu.metrics.bleu import _get_tokenizer

    try:
        _get_tokenizer(name)()
    except Exception:  # MeCab or its dictionary missing: an ImportError, a RuntimeError, ...
        return False
    return True


def sacrebleu_score(references: Sequence[str], hypotheses: Sequence[str], *, language: str | None = None) -> float:
    """Corpus BLEU (0-100) with the tokenizer chosen by :func:`sacrebleu_tokenizer`."""
    import sacrebleu

    if len(references) != len(hypotheses):
        raise DataError(f"{len(references)} references but {len(hypotheses)} hypotheses; pass one each.")
    tokenize = sacrebleu_tokenizer(language, [*references, *hypotheses])
    try:
        return float(sacrebleu.corpus_bleu(list(hypotheses), [list(references)], tokenize=tokenize).score)
    except (ValueError, KeyError) as error:
        raise ConfigError(f"sacreBLEU cannot use tokenizer {tokenize!r} for language {language!r}: {error}") from None


def evaluate(model: Any, test: Any, *, language: str | None = None) -> dict[str, float]:
    """The task's standard metrics of ``model`` on the labeled ``test`` dataset
    (``language`` picks the sacreBLEU tokenizer for seq2seq, see :func:`sacrebleu_tokenizer`)."""
    return test.evaluate(model.predict(test.without_labels()), language=language)  # the dataset's metrics
