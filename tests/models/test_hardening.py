"""Regression tests for issue #13 in the model layer: no pickle in torch model folders,
a clear error for a window stride that does not fit, the TF-IDF pool read once with a
progress bar, and LabelwiseError subclasses instead of plain ValueError / TypeError."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from labelwise.data import ClassificationDataset, TaggingDataset  # noqa: E402
from labelwise.errors import CapabilityError, ConfigError, DataError, LabelwiseError  # noqa: E402
from labelwise.models import BiLSTMCRFTagger, TextCNN, TfidfLogisticRegression, TransformerTagger  # noqa: E402
from labelwise.outputs import ModelOutputs  # noqa: E402

TEXTS = ["a cat sat", "dogs bark loudly", "the cat purrs", "a dog runs", "cats nap", "dogs dig"]
DATA = ClassificationDataset(TEXTS, np.array([0, 1, 0, 1, 0, 1]), ("cat", "dog"))
TAGGED = TaggingDataset([("John", "runs"), ("Mary", "sleeps", "well")], [("B-PER", "O"), ("B-PER", "O", "O")],
                        ("O", "B-PER"))
PICKLE_MAGIC = (b"PK\x03\x04", b"\x80")  # torch.save's zip archive, a raw pickle


def _files_holding_pickles(folder):
    return [p.name for p in folder.rglob("*") if p.is_file() and p.read_bytes()[:4].startswith(PICKLE_MAGIC)]


@pytest.mark.parametrize("make, data", [
    (lambda: TextCNN(embedding_dim=8, n_filters=4, epochs=1), DATA),
    (lambda: BiLSTMCRFTagger(word_dim=8, char_dim=4, char_filters=4, hidden=8, epochs=1), TAGGED),
])
def test_a_saved_torch_model_folder_holds_no_pickle(make, data, tmp_path):
    folder = make().fit(data).save(tmp_path / "model")
    assert (folder / "model.safetensors").is_file()
    assert _files_holding_pickles(folder) == []


def test_weights_from_an_older_torch_save_file_load_with_weights_only(tmp_path, monkeypatch):
    from labelwise.models._estimator import load_state_dict

    module = torch.nn.Linear(2, 2)
    torch.save(module.state_dict(), tmp_path / "weights.pt")
    calls = []
    real = torch.load
    monkeypatch.setattr(torch, "load", lambda *a, **k: calls.append(k) or real(*a, **k))
    load_state_dict(tmp_path / "weights.pt", torch.nn.Linear(2, 2))
    assert calls and all(call.get("weights_only") is True for call in calls)


def test_a_stride_that_does_not_fit_max_length_names_both_parameters():
    tagger = TransformerTagger(max_length=32, epochs=1)  # the default stride is 32
    with pytest.raises(ConfigError, match=r"stride=32.*max_length=32.*Fix"):
        tagger.fit(TAGGED)


def test_tfidf_prepare_reads_each_pool_text_once_per_vectoriser(monkeypatch):
    from sklearn.feature_extraction.text import TfidfVectorizer

    analysed = []
    build = TfidfVectorizer.build_analyzer

    def counting(self):
        analyse = build(self)
        return lambda text: analysed.append(text) or analyse(text)

    monkeypatch.setattr(TfidfVectorizer, "build_analyzer", counting)
    TfidfLogisticRegression().prepare(DATA)
    assert len(analysed) == 2 * len(TEXTS)  # word and character n-grams, once each


def test_tfidf_prepare_shows_progress(monkeypatch):
    import tqdm.auto

    bars = []
    real = tqdm.auto.tqdm

    def recording(*args, **kwargs):
        bars.append(kwargs.get("desc"))
        return real(*args, **kwargs)

    monkeypatch.setattr(tqdm.auto, "tqdm", recording)
    TfidfLogisticRegression().prepare(DATA)
    assert any("TF-IDF" in str(desc) for desc in bars)


def test_errors_raised_to_users_are_labelwise_errors():
    model = TextCNN(embedding_dim=8, n_filters=4, epochs=1).fit(DATA)
    with pytest.raises(CapabilityError):
        model.joint_outputs(DATA, ["probabilities", "generations"])
    with pytest.raises(DataError):
        ModelOutputs.from_arrays(probabilities=np.zeros((3, 2)), embeddings=np.zeros((4, 2)))
    with pytest.raises(LabelwiseError):
        TextCNN(random_state="seven").fit(DATA)


def test_a_classifier_can_stop_early_on_a_held_out_part():
    model = TextCNN(embedding_dim=8, n_filters=4, epochs=4, learning_rate=0.5, validation_fraction=0.34,
                    random_state=0).fit(DATA)
    assert model.is_fitted and 1 <= len(model.train_losses_) <= 4


def test_a_damaged_weights_file_names_the_file(tmp_path):
    folder = TextCNN(embedding_dim=8, n_filters=4, epochs=1).fit(DATA).save(tmp_path / "model")
    weights = folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])
    with pytest.raises(DataError, match=r"model\.safetensors.*cannot be read"):
        TextCNN.load(folder)
