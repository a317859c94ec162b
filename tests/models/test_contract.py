"""One contract for every labelwise model, as tests/strategies/test_contract.py holds the
strategies to theirs: scikit-learn parameters, fit returns self, clone is unfitted,
save -> load gives identical outputs, the same seed the same model, no global generator
touched, and every declared output computable with one row per input.

Transformers run as tiny random-initialised BERTs built here from the packaged MiniLM
tokenizer, so the whole suite takes seconds.
"""

from __future__ import annotations

import inspect
import random

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from sklearn.base import clone  # noqa: E402

from labelwise import models  # noqa: E402
from labelwise.data import ClassificationDataset, Seq2SeqDataset, TaggingDataset  # noqa: E402
from labelwise.models import LabelwiseModel  # noqa: E402
from labelwise.outputs.producers import model_can_produce, output_kind  # noqa: E402

TEXTS = ["the match ended in a draw", "stocks fell sharply today", "a new phone was released",
         "the team won the cup", "markets rallied on the news", "the chip is faster than before",
         "he scored twice", "bond yields rose"] * 2
LABELS = [0, 1, 2, 0, 1, 2, 0, 1] * 2
SENTENCES = [("John", "lives", "in", "New", "York"), ("Mary", "works", "at", "Acme"),
             ("Paris", "is", "big"), ("Bob", "met", "Alice", "in", "Rome")]
TAGS = [("B-PER", "O", "O", "B-LOC", "I-LOC"), ("B-PER", "O", "O", "B-ORG"),
        ("B-LOC", "O", "O"), ("B-PER", "O", "B-PER", "O", "B-LOC")]


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory):
    """A 2-layer, 32-wide BERT with random weights and MiniLM's tokenizer."""
    from tiny_models import save_tiny_bert

    return save_tiny_bert(tmp_path_factory.mktemp("tiny_bert"), head="BertForMaskedLM")


@pytest.fixture(scope="module")
def tiny_seq2seq(tiny_bert, tmp_path_factory):
    from transformers import AutoTokenizer, EncoderDecoderModel

    folder = tmp_path_factory.mktemp("tiny_bert2bert")
    torch.manual_seed(0)
    network = EncoderDecoderModel.from_encoder_decoder_pretrained(tiny_bert, tiny_bert)
    tokenizer = AutoTokenizer.from_pretrained(tiny_bert)
    network.config.decoder_start_token_id = tokenizer.cls_token_id
    network.config.pad_token_id = tokenizer.pad_token_id
    network.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return str(folder)



class _MeanOfWords(torch.nn.Module):
    def __init__(self, n_classes):
        super().__init__()
        self.embedding = torch.nn.Embedding(50, 8, padding_idx=0)
        self.dropout = torch.nn.Dropout(0.2)
        self.out = torch.nn.Linear(8, n_classes)

    def forward(self, input_ids, attention_mask):
        mask = attention_mask.unsqueeze(-1).float()
        return self.out(self.dropout((self.embedding(input_ids) * mask).sum(1) / mask.sum(1)))


def _tokenize(texts):
    return [[sum(map(ord, word)) % 49 + 1 for word in text.split()] for text in texts]


def _classification():
    return ClassificationDataset(TEXTS, np.array(LABELS), ("sport", "business", "tech"))


def _tagging():
    return TaggingDataset(SENTENCES, TAGS, ("O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG"))


def _seq2seq():
    return Seq2SeqDataset(TEXTS[:6], [t.split()[1] for t in TEXTS[:6]])


#: every model class of labelwise.models, in a tiny configuration, with its data
CASES = {
    "TfidfLogisticRegression": (lambda paths, seed: models.TfidfLogisticRegression(
        embedding_dim=4, progress=False, random_state=seed), _classification),
    "TextCNN": (lambda paths, seed: models.TextCNN(embedding_dim=8, n_filters=4, epochs=2, random_state=seed),
                _classification),
    "TorchModuleClassifier": (lambda paths, seed: models.TorchModuleClassifier(
        _MeanOfWords, _tokenize, epochs=2, random_state=seed), _classification),
    "TransformerClassifier": (lambda paths, seed: models.TransformerClassifier(
        paths["bert"], max_length=16, epochs=1, batch_size=8, random_state=seed), _classification),
    "TransformerTagger": (lambda paths, seed: models.TransformerTagger(
        paths["bert"], max_length=16, stride=4, epochs=1, random_state=seed), _tagging),
    "BiLSTMCRFTagger": (lambda paths, seed: models.BiLSTMCRFTagger(
        word_dim=8, char_dim=4, char_filters=4, hidden=8, epochs=2, random_state=seed), _tagging),
    "EmbeddingTagger": (lambda paths, seed: models.EmbeddingTagger(paths["bert"], max_length=16, epochs=2,
                                                                   random_state=seed), _tagging),
    "TransformerSeq2Seq": (lambda paths, seed: models.TransformerSeq2Seq(
        paths["seq2seq"], max_source_length=16, max_target_length=4, num_beams=1, epochs=1,
        random_state=seed), _seq2seq),
    "EmbeddingClassifier": (lambda paths, seed: models.EmbeddingClassifier(
        paths["bert"], max_length=16, progress=False, random_state=seed), _classification),
    "SklearnClassifier": (lambda paths, seed: models.SklearnClassifier(
        features="embeddings", encoder=paths["bert"], max_length=16, progress=False, random_state=seed),
        _classification),
    "SetFitClassifier": (lambda paths, seed: models.SetFitClassifier(
        paths["bert"], num_iterations=1, batch_size=8, max_length=16, random_state=seed), _classification),
    "MaskedLanguageModel": (lambda paths, seed: models.MaskedLanguageModel(
        paths["bert"], max_length=16, mlm_steps=2, batch_size=4, random_state=seed), _classification),
}


def test_every_model_class_is_in_the_suite():
    classes = {name for name in models.__all__
               if inspect.isclass(getattr(models, name)) and issubclass(getattr(models, name), LabelwiseModel)
               and getattr(models, name) is not LabelwiseModel}
    assert classes == set(CASES)


@pytest.fixture(scope="module")
def paths(tiny_bert, tiny_seq2seq):
    return {"bert": tiny_bert, "seq2seq": tiny_seq2seq}


def _global_states():
    return (torch.random.get_rng_state().clone(), np.random.get_state()[1].copy(), random.getstate())  # noqa: NPY002


def _same_states(a, b):
    return torch.equal(a[0], b[0]) and np.array_equal(a[1], b[1]) and a[2] == b[2]


def _fit(name, paths, seed=0):
    make, data = CASES[name]
    model = make(paths, seed)
    dataset = data()
    if callable(getattr(model, "prepare", None)):
        model.prepare(dataset)
    return model, model.fit(dataset), dataset


def _produce(model, kind, dataset):
    value = output_kind(kind).produce(model, dataset, mc_samples=2, random_state=0)
    return value


def _primary(model, dataset):
    """The first declared output, as a comparable array."""
    value = _produce(model, model.provides[0], dataset)
    if value.dtype == object:
        return [np.asarray(v) if not isinstance(v, str) else v for v in value]
    return np.asarray(value.toarray() if hasattr(value, "toarray") else value)


def _assert_same(a, b):
    if isinstance(a, list):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            if isinstance(x, str):
                assert x == y
            else:
                np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-6)
    else:
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", sorted(CASES))
def test_fit_returns_self_and_changes_no_global_generator(name, paths):
    make, data = CASES[name]
    model = make(paths, 0)
    dataset = data()
    before = _global_states()
    if callable(getattr(model, "prepare", None)):
        model.prepare(dataset)
    assert model.fit(dataset) is model
    for kind in model.provides:
        _produce(model, kind, dataset)
    assert _same_states(before, _global_states())


@pytest.mark.parametrize("name", sorted(CASES))
def test_get_params_round_trip_and_clone_is_unfitted(name, paths):
    model, fitted, _ = _fit(name, paths)
    params = model.get_params(deep=False)
    rebuilt = type(model)(**params)
    assert rebuilt.get_params(deep=False) == params
    assert rebuilt.set_params(random_state=7) is rebuilt and rebuilt.random_state == 7
    copy = clone(fitted)
    assert not copy.is_fitted
    assert copy.get_params(deep=False) == params


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_declared_output_is_computable_with_one_row_per_input(name, paths):
    model, _, dataset = _fit(name, paths)
    assert model.provides, "a model declares what it computes"
    for kind in model.provides:
        assert model_can_produce(model, kind)
        value = _produce(model, kind, dataset)
        assert value.shape[0] == len(dataset), kind


@pytest.mark.parametrize("name", sorted(CASES))
def test_save_then_load_gives_identical_outputs(name, paths, tmp_path):
    _, model, dataset = _fit(name, paths)
    folder = model.save(tmp_path / "model")
    assert folder == tmp_path / "model" and (folder / "params.json").is_file()
    assert not list(folder.rglob("*.pt")) and not list(folder.rglob("*.bin"))
    by_class = type(model).load(folder) if name != "TorchModuleClassifier" else \
        type(model).load(folder, module_factory=_MeanOfWords, tokenize=_tokenize)
    by_instance = CASES[name][0](paths, 5).load(folder)
    for loaded in (by_class, by_instance):
        assert loaded is not model and loaded.is_fitted
        assert loaded.random_state == 0
        _assert_same(_primary(loaded, dataset), _primary(model, dataset))


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_same_seed_gives_the_same_model(name, paths):
    _, first, dataset = _fit(name, paths, seed=3)
    _, second, _ = _fit(name, paths, seed=3)
    _assert_same(_primary(first, dataset), _primary(second, dataset))


def test_load_is_the_same_kind_everywhere():
    kinds = {name: type(inspect.getattr_static(getattr(models, name), "load")) for name in CASES}
    assert len(set(kinds.values())) == 1, kinds
