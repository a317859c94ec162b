"""TracIn for taggers: the closed form equals autograd, and PLASM drops a mislabeled sentence."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from labelwise.data import TaggingDataset  # noqa: E402
from labelwise.models import BiLSTMCRFTagger  # noqa: E402
from labelwise.plasm import plasm_tagging, tagging_self_influence, token_last_layer_outputs  # noqa: E402


def test_closed_form_equals_the_gradient_norm_of_the_summed_token_loss():
    rng = np.random.default_rng(0)
    layer = torch.nn.Linear(5, 4).double()
    sentences = [rng.normal(size=(length, 5)) for length in (3, 1, 6)]
    tags = [rng.integers(0, 4, size=len(s)) for s in sentences]
    expected, outputs = [], []
    for features, labels in zip(sentences, tags, strict=True):
        logits = layer(torch.from_numpy(features))
        loss = torch.nn.functional.cross_entropy(logits, torch.from_numpy(labels), reduction="sum")
        gradients = torch.autograd.grad(loss, list(layer.parameters()))
        expected.append(sum(float((g**2).sum()) for g in gradients))
        outputs.append((features, torch.softmax(logits, dim=1).detach().numpy()))
    np.testing.assert_allclose(tagging_self_influence(outputs, tags), expected, rtol=1e-9)


CITIES = ["Paris", "Berlin", "Rome", "Madrid", "Vienna", "Oslo"]
NAMES = ["John", "Mary", "Peter", "Anna", "Paul", "Eva"]


def _sentence(i: int) -> tuple[tuple[str, ...], tuple[str, ...]]:
    return ((NAMES[i % 6], "lives", "in", CITIES[(i * 5) % 6]), ("B-PER", "O", "O", "B-LOC"))


class _Labeler:
    """An acquisition model that tags every pool sentence right except ``wrong``."""

    def __init__(self, pool: TaggingDataset, truth: list[tuple[str, ...]], wrong: int) -> None:
        self.paths = [("B-LOC", "O", "O", "B-PER") if i == wrong else t for i, t in enumerate(truth)]

    def best_paths(self, pool):
        return self.paths, np.full(len(self.paths), -0.1)

    def token_marginals(self, pool):
        return [np.full((len(s), 3), 1 / 3) for s in pool.tokens]


def test_plasm_for_tagging_drops_the_mislabeled_pseudo_label():
    gold = [_sentence(i) for i in range(30)]
    acquired = TaggingDataset([s for s, _ in gold], [t for _, t in gold], ("O", "B-LOC", "B-PER"))
    truth = [_sentence(i + 30) for i in range(12)]
    pool = TaggingDataset([s for s, _ in truth], None, acquired.tag_names)
    wrong = 7

    def tagger() -> BiLSTMCRFTagger:
        return BiLSTMCRFTagger(word_dim=8, char_dim=4, char_filters=4, hidden=16, epochs=6, batch_size=8,
                               learning_rate=0.02, random_state=0)

    result = plasm_tagging(acquired, pool, tagger, acquisition_model=_Labeler(pool, [t for _, t in truth], wrong),
                           tracin_factory=tagger, pseudo_label_fraction=None, tracin_filter_fraction=1 / 12,
                           random_state=0)
    assert result.dropped_indices.tolist() == [wrong]
    assert int(np.argmax(result.self_influence)) == wrong
    assert wrong not in result.kept_indices and len(result.dataset) == 30 + 11
    assert result.dataset.tags[:30] == acquired.tags  # gold unchanged, first
    # TracIn read the model trained on the pseudo-labels: its outputs, one per pool sentence.
    outputs = token_last_layer_outputs(result.tracin_model, pool)
    assert [o[0].shape[0] for o in outputs] == [4] * 12


def test_token_outputs_of_the_transformer_tagger_match_its_marginals():
    pytest.importorskip("transformers")
    from labelwise.models import TransformerTagger

    data = TaggingDataset([s for s, _ in map(_sentence, range(4))], [t for _, t in map(_sentence, range(4))])
    model = TransformerTagger(max_length=16, stride=4, epochs=1, batch_size=4, random_state=0).fit(data)
    outputs = token_last_layer_outputs(model, data)
    for (features, probabilities), marginals in zip(outputs, model.token_marginals(data), strict=True):
        assert features.shape == (4, model.module_.head.in_features)
        np.testing.assert_allclose(probabilities, marginals, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("hidden", [0, 8])
def test_token_outputs_of_the_embedding_tagger_are_the_emission_inputs_and_marginals(tiny_bert, hidden):
    pytest.importorskip("transformers")
    from labelwise.models import EmbeddingTagger

    data = TaggingDataset([s for s, _ in map(_sentence, range(6))], [t for _, t in map(_sentence, range(6))])
    model = EmbeddingTagger(tiny_bert, hidden=hidden, min_steps=5, epochs=1, random_state=0).fit(data)
    outputs = token_last_layer_outputs(model, data)
    for (features, probabilities), marginals in zip(outputs, model.token_marginals(data), strict=True):
        assert features.shape == (4, model.module_.emit.in_features)
        np.testing.assert_allclose(probabilities, marginals, rtol=1e-4, atol=1e-6)
    # the emissions are the linear layer on those features
    features = torch.from_numpy(outputs[0][0]).float()
    emissions = next(model._emissions(data.subset([0])))[1][0]
    np.testing.assert_allclose(model.module_.emit(features).detach().numpy(), emissions.numpy(), rtol=1e-4,
                               atol=1e-5)
