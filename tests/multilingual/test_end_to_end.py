"""Russian, Chinese and Arabic end to end: load, model, strategy, export, metrics; the
segmenter; a multilingual transformer built from a tokenizer trained here."""

from __future__ import annotations

import json

import numpy as np
import pytest

from labelwise.annotate.exports import export_jsonl
from labelwise.annotate.store import AnnotationStore
from labelwise.data import load_classification
from labelwise.data.segmentation import has_no_space_script, segment, tagging_pool, word_tokens
from labelwise.loop import ActiveLearner
from labelwise.metrics import evaluate, rouge, sacrebleu_score

SAMPLES = {
    "ru": {"sport": ["Футбольный клуб выиграл матч со счётом два один", "Хоккеисты забили гол в третьем периоде",
                     "Теннисистка вышла в финал турнира", "Сборная по футболу начала подготовку к чемпионату",
                     "Бегун установил новый рекорд на стадионе", "Команда проиграла матч на выезде"],
           "economy": ["Центральный банк повысил ключевую ставку", "Курс рубля снизился на бирже",
                       "Инфляция замедлилась в прошлом месяце", "Компания увеличила прибыль и выручку",
                       "Нефть подорожала на мировом рынке", "Банк выдал рекордный объём кредитов"]},
    "zh": {"sport": ["足球队以二比一赢得了比赛", "篮球运动员在决赛中得了三十分", "网球选手进入了决赛",
                     "国家队开始备战世界杯", "运动员在体育场打破了纪录", "球队在客场输掉了比赛"],
           "economy": ["央行提高了基准利率", "人民币汇率在市场上下跌", "上个月通货膨胀放缓",
                       "公司的利润和收入增加了", "国际市场油价上涨", "银行发放了创纪录的贷款"]},
    "ar": {"sport": ["فاز فريق كرة القدم بالمباراة بهدفين", "سجل اللاعب هدفا في الشوط الثاني",
                     "وصلت لاعبة التنس إلى النهائي", "بدأ المنتخب الاستعداد لكأس العالم",
                     "حطم العداء الرقم القياسي في الملعب", "خسر الفريق المباراة خارج أرضه"],
           "economy": ["رفع البنك المركزي سعر الفائدة", "انخفض سعر صرف العملة في البورصة",
                       "تباطأ التضخم في الشهر الماضي", "زادت الشركة أرباحها وإيراداتها",
                       "ارتفع سعر النفط في السوق العالمية", "منح البنك قروضا قياسية"]},
}
LANGUAGES = sorted(SAMPLES)


def _write_jsonl(path, language):
    rows = [{"text": text, "label": label} for label, texts in SAMPLES[language].items() for text in texts]
    order = np.random.default_rng(0).permutation(len(rows))
    path.write_text("\n".join(json.dumps(rows[i], ensure_ascii=False) for i in order) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("language", LANGUAGES)
def test_load_model_strategy_export_metrics(language, tmp_path):
    from labelwise.models import TfidfLogisticRegression

    pool = load_classification(_write_jsonl(tmp_path / f"{language}.jsonl", language))
    assert pool.texts[0] in SAMPLES[language]["sport"] + SAMPLES[language]["economy"]  # text survives intact
    learner = ActiveLearner(TfidfLogisticRegression(), pool, "entropy", random_state=0)
    first = [int(np.flatnonzero(pool.labels == c)[0]) for c in range(2)]
    learner.teach(first, [pool.labels[i] for i in first])
    batch = learner.query(3)
    assert len(set(batch.indices.tolist())) == 3 and np.isfinite(batch.scores).all()
    learner.teach(batch.indices, [pool.labels[i] for i in batch.indices])

    store = AnnotationStore(tmp_path / "store")
    for position in learner.labeled_indices:
        store.record_label(int(position), pool.label_names[pool.labels[position]], iteration=0)
    exported = export_jsonl(store, pool, tmp_path / "export.jsonl")
    back = load_classification(exported)  # what was exported loads back, text unchanged
    assert set(back.texts) <= set(pool.texts) and len(back) == len(learner.labeled_indices)
    assert has_no_space_script(exported.read_text(encoding="utf-8")) == (language == "zh")

    metrics = evaluate(learner.model, pool)
    assert set(metrics) == {"accuracy", "macro_f1"} and 0.0 <= metrics["accuracy"] <= 1.0


@pytest.mark.parametrize("language", LANGUAGES)
def test_textcnn_learns_each_language_on_its_own_tokens(language, tmp_path):
    from labelwise.models.text_cnn import TextCNN

    pool = load_classification(_write_jsonl(tmp_path / f"{language}.jsonl", language))
    model = TextCNN(epochs=3, embedding_dim=16, n_filters=8, filter_widths=(1, 2), random_state=0)
    model.fit(pool)
    probabilities = model.predict_proba(pool)
    assert probabilities.shape == (len(pool), 2) and np.isfinite(probabilities).all()
    vocabulary = set(model.vocabulary_)
    for text in SAMPLES[language]["sport"]:  # every token of the texts is in the vocabulary
        assert set(word_tokens(text)) <= vocabulary
    if language == "zh":  # a Chinese sentence is one token per character, not one token
        assert len(word_tokens(SAMPLES["zh"]["sport"][0])) == len(SAMPLES["zh"]["sport"][0])
        assert "足" in vocabulary


def test_segment_keeps_marks_on_their_letters_and_splits_cjk_and_thai():
    assert segment("Привет, мир!") == ["Привет", ",", "мир", "!"]
    assert segment("مَرْحَبًا بالعالم") == ["مَرْحَبًا", "بالعالم"]  # harakat inside the word
    assert segment("हिन्दी भाषा") == ["हिन्दी", "भाषा"]  # Python's \\w alone splits at the vowel signs
    assert segment("東京タワー") == ["東", "京", "タ", "ワ", "ー"]
    assert segment("ไทย") == ["ไ", "ท", "ย"] and segment("ง่าย")[0] == "ง่"  # tone mark stays on its consonant
    assert segment("안녕 세상") == ["안녕", "세상"]  # Korean is written with spaces
    assert "".join(segment("我爱北京 hello")) == "我爱北京hello"


def test_bilstm_crf_tags_a_chinese_pool_segmented_into_characters():
    from labelwise.models.bilstm_crf import BiLSTMCRFTagger

    texts = ["我在北京工作", "他去上海旅游", "北京很大", "上海很美"]
    pool = tagging_pool(texts)
    assert pool.tokens[0] == ("我", "在", "北", "京", "工", "作")

    def tags(tokens):
        text = "".join(tokens)
        out = ["O"] * len(tokens)
        for city in ("北京", "上海"):
            start = text.find(city)
            if start >= 0:
                out[start], out[start + 1] = "B-LOC", "I-LOC"
        return out

    labeled = pool.with_labels([tags(t) for t in pool.tokens])
    model = BiLSTMCRFTagger(word_dim=16, char_dim=8, char_filters=8, hidden=16, epochs=40, random_state=0)
    model.fit(labeled)
    predicted = model.predict(pool)
    assert [len(p) for p in predicted] == [len(t) for t in pool.tokens]  # one tag per character
    assert "f1" in evaluate(model, labeled)


def test_summaries_in_every_script_score_above_zero():
    for language in LANGUAGES:
        text = SAMPLES[language]["sport"][0]
        assert rouge([text], [text])["rouge1"] == pytest.approx(1.0)
        assert sacrebleu_score([text], [text], language=language) == pytest.approx(100.0)


def _tiny_multilingual_model(folder, texts):
    """A WordPiece tokenizer trained here on the samples and a random 2-layer BERT."""
    tokenizers = pytest.importorskip("tokenizers")
    transformers = pytest.importorskip("transformers")
    from tokenizers import decoders, models, normalizers, pre_tokenizers, trainers
    from tokenizers.processors import TemplateProcessing

    tokenizer = tokenizers.Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)  # splits CJK characters
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.decoder = decoders.WordPiece()
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tokenizer.train_from_iterator(texts, trainers.WordPieceTrainer(vocab_size=600, special_tokens=specials))

    tokenizer.post_processor = TemplateProcessing(single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B [SEP]",
                                                  special_tokens=[("[CLS]", 2), ("[SEP]", 3)])
    fast = transformers.PreTrainedTokenizerFast(tokenizer_object=tokenizer, unk_token="[UNK]", pad_token="[PAD]",
                                                cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]")
    fast.save_pretrained(folder)
    config = transformers.BertConfig(vocab_size=fast.vocab_size, hidden_size=32, num_hidden_layers=2,
                                     num_attention_heads=2, intermediate_size=64, max_position_embeddings=64,
                                     num_labels=2)
    transformers.BertForSequenceClassification(config).save_pretrained(folder)
    return fast


@pytest.mark.slow
def test_a_multilingual_encoder_from_a_local_path_reads_every_script_without_unk(tmp_path):
    from labelwise.models import TransformerClassifier

    texts = [t for language in LANGUAGES for label in SAMPLES[language] for t in SAMPLES[language][label]]
    folder = tmp_path / "tiny-multilingual-bert"
    tokenizer = _tiny_multilingual_model(folder, texts)
    for language in LANGUAGES:
        ids = tokenizer(SAMPLES[language]["economy"][0])["input_ids"]
        assert tokenizer.unk_token_id not in ids, language

    rows = [{"text": t, "label": label} for language in LANGUAGES for label in SAMPLES[language]
            for t in SAMPLES[language][label]]
    path = tmp_path / "all.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    pool = load_classification(path)
    model = TransformerClassifier(folder, epochs=1, batch_size=8, max_length=32, random_state=0)
    learner = ActiveLearner(model, pool, "entropy", random_state=0)
    seed = [0, 6, 12, 18, 24, 30]
    learner.teach(seed, [pool.labels[i] for i in seed])
    batch = learner.query(4)
    assert len(batch) == 4 and np.isfinite(batch.scores).all()
    probabilities = learner.model.predict_proba(pool)  # the learner fits its own copy
    assert probabilities.shape == (len(pool), 2)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
