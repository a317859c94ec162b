"""Metrics: multi-label classification, ROUGE / sacreBLEU / BLEUVar on every script."""

from __future__ import annotations

import math

import numpy as np
import pytest

from labelwise.data import ClassificationDataset
from labelwise.errors import DataError
from labelwise.metrics import (
    classification_metrics,
    evaluate,
    hamming_loss,
    macro_f1,
    micro_f1,
    rouge,
    sacrebleu_score,
    sacrebleu_tokenizer,
    subset_accuracy,
)

GOLD = np.array([[1, 0, 1], [0, 1, 0], [1, 1, 0], [0, 0, 0]])
PREDICTED = np.array([[1, 0, 0], [0, 1, 0], [1, 0, 1], [0, 0, 0]])


def test_multi_label_metrics_by_hand():
    # rows right: 2 of 4; wrong cells: 1 + 0 + 2 + 0 = 3 of 12
    assert subset_accuracy(GOLD, PREDICTED) == 0.5
    assert hamming_loss(GOLD, PREDICTED) == pytest.approx(3 / 12)
    # pooled: tp = 3 (cells (0,0), (1,1), (2,0)), fp = 1 (2,2), fn = 2 ((0,2), (2,1))
    assert micro_f1(GOLD, PREDICTED) == pytest.approx(2 * 3 / (2 * 3 + 1 + 2))
    # per label: label 0 tp 2 -> F1 1; label 1 tp 1, fn 1 -> 2/3; label 2 tp 0 fp 1 fn 1 -> 0
    assert macro_f1(GOLD, PREDICTED) == pytest.approx((1 + 2 / 3 + 0) / 3)


def test_macro_f1_is_never_nan_for_a_label_nobody_has():
    gold = np.array([[1, 0], [1, 0]])
    metrics = classification_metrics(gold, gold)
    assert all(math.isfinite(value) for value in metrics.values())
    assert metrics["macro_f1"] == pytest.approx(0.5)  # the empty label counts 0, not NaN


class _Fixed:
    def __init__(self, predicted):
        self.predicted = predicted

    def predict(self, dataset):
        return self.predicted


def test_evaluate_reports_the_multi_label_metrics_without_nan():
    test = ClassificationDataset(["a", "b", "c", "d"], GOLD, ("x", "y", "z"))
    metrics = evaluate(_Fixed(PREDICTED), test)
    assert set(metrics) == {"accuracy", "subset_accuracy", "micro_f1", "macro_f1", "hamming_loss"}
    assert all(math.isfinite(value) for value in metrics.values())
    assert metrics["accuracy"] == metrics["subset_accuracy"] == 0.5


def test_single_label_evaluate_keeps_accuracy_and_macro_f1():
    test = ClassificationDataset(["a", "b", "c"], np.array([0, 1, 1]), ("x", "y"))
    assert evaluate(_Fixed(np.array([0, 1, 0])), test) == pytest.approx({"accuracy": 2 / 3, "macro_f1": 2 / 3})


def test_shape_mismatch_is_a_data_error():
    with pytest.raises(DataError, match="shape"):
        micro_f1(GOLD, PREDICTED[:, :2])


@pytest.mark.parametrize("text", ["Кошка сидит на ковре у окна", "القطة تجلس على السجادة",
                                  "我爱北京天安门", "ภาษาไทยง่ายมาก"])
def test_rouge_scores_identical_non_latin_summaries_one(text):
    # rouge-score's default tokenizer drops every non-ASCII letter: these scored 0.
    assert rouge([text], [text]) == pytest.approx({"rouge1": 1.0, "rouge2": 1.0, "rougeL": 1.0})


def test_rouge_counts_shared_chinese_characters():
    scores = rouge(["我爱北京天安门"], ["我爱北京"])
    assert scores["rouge1"] == pytest.approx(2 * 4 / (7 + 4))


def test_rouge_on_english_equals_rouge_scores_default_with_stemming():
    from rouge_score import rouge_scorer

    references = ["The cats were running quickly across the gardens.", "Stocks fell sharply on Monday."]
    hypotheses = ["A cat runs quickly across the garden!", "On Monday, stocks fell."]
    default = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)
    expected = {key: np.mean([default.score(r, h)[key].fmeasure for r, h in zip(references, hypotheses, strict=True)])
                for key in ("rouge1", "rouge2", "rougeL")}
    assert rouge(references, hypotheses) == pytest.approx(expected)


@pytest.mark.parametrize("text", ["Кошка сидит на ковре у окна", "我爱北京天安门广场"])
def test_sacrebleu_scores_identical_summaries_100(text):
    assert sacrebleu_score([text], [text]) == pytest.approx(100.0)


def test_sacrebleu_tokenizer_by_language():
    assert sacrebleu_tokenizer("zh") == "zh"
    assert sacrebleu_tokenizer("zh-CN") == "zh"
    assert sacrebleu_tokenizer("ru") == "13a"
    assert sacrebleu_tokenizer("th") == "char"
    assert sacrebleu_tokenizer("ja") in {"ja-mecab", "char"}  # MeCab when installed
    assert sacrebleu_tokenizer(None, ["我爱北京"]) == "zh"
    assert sacrebleu_tokenizer(None, ["plain English"]) == "13a"


def test_sacrebleu_chinese_partial_overlap_is_between_0_and_100():
    score = sacrebleu_score(["我爱北京天安门广场"], ["我爱北京天安门"], language="zh")
    assert 0.0 < score < 100.0


def test_bleuvar_sees_chinese_hypotheses_that_differ_by_one_character_as_close():
    from labelwise.strategies.seq2seq import bleu_variance

    # With sacreBLEU's 13a tokens each sentence is one word: BLEU 0, BLEUVar 1 (disjoint).
    close = bleu_variance(["我们今天去北京天安门广场看升旗", "我们今天去北京天安门广场看日出"])
    far = bleu_variance(["我们今天去北京天安门广场看升旗", "他昨天在上海吃了很好吃的小笼包"])
    assert close < 0.5 < far
    assert bleu_variance(["我爱北京", "我爱北京"]) == 0.0
